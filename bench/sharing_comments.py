#!/usr/bin/env python3
"""Latency of a document's comments, of shared-with-me and of search with grants on PostgreSQL; prints figures.

    python bench/sharing_comments.py [--users 1000] [--grants-per-user 10] [--comments 200] [--requests 200]

It asserts nothing. See bench/README.md ("Comments and sharing benchmark") for what is measured and how to
read it.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import redis
from _common import (
    Api,
    QueryPlan,
    Sample,
    TextMaker,
    add_read_options,
    add_seed_options,
    costs,
    engine_urls,
    first_ask_line,
    first_asks,
    latency_line,
    load_avg_line,
    one_daphne,
    percentile_ms,
    prepare_seeded,
    print_costs,
    print_plans,
    print_seeded_header,
    seeded_main,
    served_selects,
    timed_gets,
    vacuum_analyze,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench_sharing"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
BENCH_EMAIL = "sharing-bench@bench.mdcreator.test"  # the grantee who signs in
OWNER_EMAIL = "sharing-owner-{}@bench.mdcreator.test"  # owners 0..4; owner 0 signs in too
USER_EMAIL = "sharing-user-{:04d}@bench.mdcreator.test"  # the other grantees (no usable password)
BENCH_PASSWORD = "Latency-Probe-42x"
SEED_VERSION = 1
OWNERS = 5  # they own the workspaces; all five are members of the first one and write and react to its comments
DOCUMENTS_PER_WORKSPACE = 20
# Grant roles cycle in this order; the bench user's first grant (the comments document) is a commenter.
ROLES = ("commenter", "viewer", "editor")
EMOJI = ("👍", "🎉", "👀")  # each comment: five users, two or three of these
PLANTED_WORD = "quarterly"  # a word planted in a share of the documents (and in the comments document)
PLANTED_SENTENCE = "The quarterly review moved to Thursday."
PLANTED_SHARE = 0.4
COMMON_WORD = "document"
COMMENT_WORDS = (
    "looks good to me, but the second paragraph repeats the intro",
    "can we link the **design doc** here? see [the spec](https://example.com/spec)",
    "typo: *recieve* should be *receive*",
    "I would move this section after the `rollout` plan",
    "agreed, let us ship it this week",
    "numbers are from the last sprint; need a refresh before the review",
    "what about offline clients? they reconnect later and replay edits",
)
SERVICE_GRANTS_DEFAULT = 1000
VERIFY_SAMPLE = 20
SEED_TABLES = (
    "documents_documentshare",
    "documents_documentuserobjectpermission",
    "documents_comment",
    "documents_document",
    "workspaces_workspacemember",
    "accounts_user",
)


# --- command line -----------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line; engine URLs default to the environment, then to localhost."""
    parser = argparse.ArgumentParser(
        description="p50/p95 latency of GET documents/{id}/comments, documents/shared-with-me and search "
        "for a grantee, over a seeded corpus of grants and comments.",
        epilog="Environment: DATABASE_URL (PostgreSQL; created if missing), REDIS_URL.",
    )
    parser.add_argument("--users", type=int, default=1000, help="grantees, the bench user included (1000)")
    parser.add_argument("--grants-per-user", type=int, default=10, help="documents granted to each grantee (10)")
    parser.add_argument(
        "--documents",
        type=int,
        default=0,
        help=f"documents, {DOCUMENTS_PER_WORKSPACE} a workspace (as many as --users)",
    )
    parser.add_argument("--comments", type=int, default=200, help="comments on one document, half roots (200)")
    parser.add_argument(
        "--service-grants",
        type=int,
        default=SERVICE_GRANTS_DEFAULT,
        help=f"grants written one by one through share_create; the rest are bulk-inserted ({SERVICE_GRANTS_DEFAULT})",
    )
    parser.add_argument("--requests", type=int, default=200, help="measured sequential requests per scenario (200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests before each scenario (20)")
    parser.add_argument(
        "--cold-requests", type=int, default=50, help="search requests answered with no kept ranking (50)"
    )
    add_seed_options(parser)
    add_read_options(parser)
    args = parser.parse_args(argv)
    engine_urls(args, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    args.documents = args.documents or args.users
    if args.users < 2 or args.grants_per_user < 1 or args.documents < args.grants_per_user or args.documents < 2:
        parser.error("--users must be >= 2, --grants-per-user >= 1, --documents >= max(2, --grants-per-user)")
    if args.comments < 2 or args.comments > 200:
        parser.error("--comments must be between 2 and 200 (the list reads them in one page of at most 200)")
    if args.requests < 1 or args.warmup < 0 or args.cold_requests < 0 or args.service_grants < 0:
        parser.error("--requests must be >= 1, --warmup, --cold-requests and --service-grants >= 0")
    return args


# --- seeding ------------------------------------------------------------------------
def seed_marker(args: argparse.Namespace) -> str:
    """What the comments workspace's description says once a seed with these parameters finished."""
    return (
        f"bench-sharing seed v{SEED_VERSION} users={args.users} documents={args.documents} "
        f"grants-per-user={args.grants_per_user} comments={args.comments} seed={args.seed}"
    )


def seed_users(args: argparse.Namespace) -> tuple[list, list]:
    """The owners and the grantees (the bench user first), through the account service."""
    from accounts.services.users import user_create

    started = time.perf_counter()
    owners = [
        user_create(
            email=OWNER_EMAIL.format(i),
            password=BENCH_PASSWORD if i == 0 else None,
            display_name=f"Owner {i}",
            email_verified=True,
        )
        for i in range(OWNERS)
    ]
    grantees = [
        user_create(email=BENCH_EMAIL, password=BENCH_PASSWORD, display_name="Sharing bench", email_verified=True)
    ]
    for i in range(1, args.users):
        grantees.append(
            user_create(email=USER_EMAIL.format(i), password=None, display_name=f"User {i}", email_verified=True)
        )
    elapsed = time.perf_counter() - started
    print(f"  {len(owners) + len(grantees)} users (each with its personal workspace) in {elapsed:.1f} s", flush=True)
    return owners, grantees


def seed_workspaces(args: argparse.Namespace, owners: list) -> list:
    """Team workspaces owned in turn by the owners; every owner is also an editor of the first one."""
    from django.utils import timezone

    from workspaces.models import WorkspaceMember
    from workspaces.services.workspaces import workspace_create

    count = max(1, -(-args.documents // DOCUMENTS_PER_WORKSPACE))
    workspaces = [workspace_create(owner=owners[i % OWNERS], name=f"Sharing bench {i}") for i in range(count)]
    WorkspaceMember.objects.bulk_create(
        WorkspaceMember(workspace=workspaces[0], user=owner, role="editor", invitation_accepted_at=timezone.now())
        for owner in owners[1:]
    )
    return workspaces


def seed_documents(args: argparse.Namespace, workspaces: list) -> list:
    """`--documents` documents through document_create (search vector and version 1 as the API writes them)."""
    from documents.services.documents import document_create

    maker, started, documents = TextMaker(args.seed), time.perf_counter(), []
    for index in range(args.documents):
        workspace = workspaces[index % len(workspaces)]
        title = maker.title()
        content = maker.markdown(title, max(40, maker.length() // 2))
        if index == 0 or maker.rng.random() < PLANTED_SHARE:
            content += f"\n{PLANTED_SENTENCE}\n"
        data = {"title": title, "content": content, "tags": maker.tags()}
        documents.append(document_create(actor=workspace.owner, workspace=workspace, data=data))
        if (index + 1) % 250 == 0:
            print(f"  {index + 1:>6} documents ({time.perf_counter() - started:.0f} s)", flush=True)
    elapsed = time.perf_counter() - started
    print(f"  {len(documents)} documents in {elapsed:.1f} s ({elapsed * 1000 / len(documents):.1f} ms each)")
    return documents


def seed_comments(args: argparse.Namespace, document, owners: list) -> None:
    """Threads on one document: a root then its reply, in turn; each comment gets one reaction per owner."""
    from documents.services.comments import comment_create, comment_react

    rng, started, made = random.Random(args.seed + 3), time.perf_counter(), []
    for index in range(args.comments):
        author = owners[index % OWNERS]
        text = " ".join(rng.sample(COMMENT_WORDS, rng.randint(1, 3)))
        if index % 2 == 0:
            start = rng.randint(0, 5000)
            data = {
                "content": text,
                "position": {"from": start, "to": start + rng.randint(3, 40), "blockId": f"block-{index}"},
                "anchor_text": "the quoted words",
            }
        else:
            data = {"content": text, "parent_id": made[-1].pk}
        made.append(comment_create(actor=author, document=document, data=data))
    created = time.perf_counter() - started
    for index, comment in enumerate(made):
        for k, owner in enumerate(owners):
            comment_react(actor=owner, comment=comment, emoji=EMOJI[(index + k) % len(EMOJI)])
    reacted = time.perf_counter() - started - created
    print(
        f"  {len(made)} comments in {created:.1f} s ({created * 1000 / len(made):.1f} ms each), "
        f"{len(made) * len(owners)} reactions in {reacted:.1f} s "
        f"({reacted * 1000 / (len(made) * len(owners)):.1f} ms each)",
        flush=True,
    )


def grant_plan(args: argparse.Namespace, grantees: list, documents: list) -> list[tuple]:
    """(user, document, role) for every grant: grantee u gets documents u, u + step, u + 2 step, ... (mod count)."""
    step = len(documents) // args.grants_per_user
    return [
        (user, documents[(u + j * step) % len(documents)], ROLES[(u + j) % len(ROLES)])
        for u, user in enumerate(grantees)
        for j in range(args.grants_per_user)
    ]


def permission_ids() -> dict[str, list[int]]:
    """Guardian's Permission ids of each grant role (documents.sharing.ROLE_PERMISSIONS)."""
    from django.contrib.auth.models import Permission

    from documents.sharing import ROLE_PERMISSIONS

    ids = dict(
        Permission.objects.filter(content_type__app_label="documents", content_type__model="document").values_list(
            "codename", "pk"
        )
    )
    return {role: [ids[codename] for codename in codenames] for role, codenames in ROLE_PERMISSIONS.items()}


def bulk_grants(plan: list[tuple], batch: int = 2000) -> None:
    """DocumentShare rows and their guardian rows as share_create writes them, in batches."""
    from django.db import transaction

    from documents.models import DocumentShare, DocumentUserObjectPermission

    perms = permission_ids()
    for start in range(0, len(plan), batch):
        chunk = plan[start : start + batch]
        with transaction.atomic():
            DocumentShare.objects.bulk_create(
                DocumentShare(
                    document=document,
                    user=user,
                    role=role,
                    status=DocumentShare.Status.ACTIVE,
                    expires_at=None,
                    granted_by_id=document.workspace.owner_id,
                )
                for user, document, role in chunk
            )
            DocumentUserObjectPermission.objects.bulk_create(
                DocumentUserObjectPermission(user=user, content_object=document, permission_id=pk)
                for user, document, role in chunk
                for pk in perms[role]
            )


def grant_rows(user_id, document_id) -> tuple:
    """What a grant is in the database: the share's fields and the set of guardian permission codenames."""
    from documents.models import DocumentShare, DocumentUserObjectPermission

    share = DocumentShare.objects.values("role", "status", "expires_at", "granted_by_id").get(
        user_id=user_id, document_id=document_id
    )
    codenames = DocumentUserObjectPermission.objects.filter(user_id=user_id, content_object_id=document_id)
    return share, sorted(codenames.values_list("permission__codename", flat=True))


def matches_service(user, document, role: str) -> bool:
    """Whether a bulk-written grant equals what share_create writes: redo it through the service, compare, roll back."""
    from django.db import transaction

    from documents.models import DocumentShare, DocumentUserObjectPermission
    from documents.services.shares import share_create

    with transaction.atomic():
        bulk = grant_rows(user.pk, document.pk)
        DocumentUserObjectPermission.objects.filter(user_id=user.pk, content_object_id=document.pk).delete()
        DocumentShare.objects.filter(user_id=user.pk, document_id=document.pk).delete()
        share_create(actor=document.workspace.owner, document=document, role=role, user_id=user.pk)
        service = grant_rows(user.pk, document.pk)
        transaction.set_rollback(True)  # nothing changes, and the on-commit broadcast never fires
    return bulk == service


def seed_grants(args: argparse.Namespace, grantees: list, documents: list) -> None:
    """The first `--service-grants` grants (the bench user's first) through share_create, the rest in bulk."""
    from documents.services.shares import share_create

    plan = grant_plan(args, grantees, documents)
    through_service, in_bulk = plan[: args.service_grants], plan[args.service_grants :]
    started = time.perf_counter()
    for done, (user, document, role) in enumerate(through_service, 1):
        share_create(actor=document.workspace.owner, document=document, role=role, user_id=user.pk)
        if done % 1000 == 0:
            print(f"  {done:>6} grants through share_create ({time.perf_counter() - started:.0f} s)", flush=True)
    service_s = time.perf_counter() - started
    if through_service:
        each = service_s / len(through_service)
        print(
            f"  {len(through_service)} grants through share_create in {service_s:.1f} s ({each * 1000:.1f} ms each; "
            f"all {len(plan)} that way would take about {each * len(plan):.0f} s)",
            flush=True,
        )
    if not in_bulk:
        print("  every grant written by share_create")
        return
    started = time.perf_counter()
    bulk_grants(in_bulk)
    print(f"  {len(in_bulk)} grants bulk-inserted with their guardian rows in {time.perf_counter() - started:.1f} s")
    sample = random.Random(args.seed + 4).sample(in_bulk, min(VERIFY_SAMPLE, len(in_bulk)))
    same = sum(matches_service(*grant) for grant in sample)
    print(f"  bulk grants equal share_create's (share fields and guardian permissions) on {same}/{len(sample)} sampled")


def seed(args: argparse.Namespace) -> None:
    """Users, workspaces, documents, comments with reactions and grants; then mark the seed done."""
    from workspaces.models import Workspace

    started = time.perf_counter()
    print(
        f"seeding {args.users} grantees x {args.grants_per_user} grants over {args.documents} documents, "
        f"{args.comments} comments (seed {args.seed})",
        flush=True,
    )
    owners, grantees = seed_users(args)
    workspaces = seed_workspaces(args, owners)
    documents = seed_documents(args, workspaces)
    seed_comments(args, documents[0], owners)
    seed_grants(args, grantees, documents)
    vacuum_analyze(SEED_TABLES)
    Workspace.objects.filter(pk=workspaces[0].pk).update(description=seed_marker(args))
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


def prepare(args: argparse.Namespace) -> None:
    """Migrate, then seed unless a finished seed with the same parameters is there."""
    from accounts.models import User

    prepare_seeded(args, marker=seed_marker(args), seed=seed, leftovers=User.objects.exists)


# --- corpus facts -------------------------------------------------------------------
@dataclass
class Corpus:
    """Ids and counts the scenarios and the header need."""

    comments_document_id: str
    bench_grants: int
    lines: list[str]


def describe_corpus() -> Corpus:
    """Users, workspaces, documents, grants by role, guardian rows, comments and table sizes."""
    from django.db import connection
    from django.db.models import Count

    from accounts.models import User
    from documents.models import Comment, Document, DocumentShare, DocumentUserObjectPermission
    from workspaces.models import Workspace

    first = Workspace.objects.get(description__startswith="bench-sharing seed")
    document = Document.objects.filter(workspace=first).order_by("created_at").first()
    roles = dict(DocumentShare.objects.values_list("role").annotate(n=Count("pk")).order_by())
    grantee_count = DocumentShare.objects.values("user").distinct().count()
    bench = User.objects.get(email=BENCH_EMAIL)
    bench_roles = Counter(DocumentShare.objects.filter(user=bench).values_list("role", flat=True))
    comments = Comment.objects.filter(document=document)
    reactions = sum(len(entry["users"]) for row in comments.values_list("reactions", flat=True) for entry in row)
    lines = [
        f"users              {User.objects.count()} ({OWNERS} owners, {grantee_count} grantees), "
        f"{Workspace.objects.filter(is_team=True).count()} team workspaces, {Document.objects.count()} documents",
        f"grants             {sum(roles.values())} ({', '.join(f'{n} {role}' for role, n in sorted(roles.items()))}), "
        f"{DocumentUserObjectPermission.objects.count()} guardian permission rows",
        f"bench user         {bench.email}: {sum(bench_roles.values())} grants "
        f"({', '.join(f'{n} {role}' for role, n in sorted(bench_roles.items()))}), member of no team workspace",
        f"comments document  {document.pk}: {comments.filter(parent__isnull=True).count()} threads, "
        f"{comments.filter(parent__isnull=False).count()} replies, {reactions} reactions; "
        f"{Comment.objects.count()} comments in all",
    ]
    with connection.cursor() as cursor:
        sizes = []
        for table in ("documents_documentshare", "documents_documentuserobjectpermission", "documents_comment"):
            cursor.execute(
                "SELECT pg_size_pretty(pg_table_size(%s)), pg_size_pretty(pg_indexes_size(%s))", [table, table]
            )
            table_size, index_size = cursor.fetchone()
            sizes.append(f"{table.removeprefix('documents_')} {table_size} + indexes {index_size}")
    lines.append("tables             " + "; ".join(sizes))
    return Corpus(comments_document_id=str(document.pk), bench_grants=sum(bench_roles.values()), lines=lines)


# --- scenarios --------------------------------------------------------------------------
@dataclass
class Scenario:
    """One request shape, measured `--requests` times as one signed-in user."""

    name: str
    who: str
    path: str
    params: dict = field(default_factory=dict)
    target_ms: float = 50.0
    cold: bool = False  # search: also measure first asks (no kept ranking)


def scenarios(corpus: Corpus, args: argparse.Namespace) -> list[Scenario]:
    """The comments of the busy document (as a grantee and as a member), shared-with-me, and two searches."""
    comments = f"/api/v1/documents/{corpus.comments_document_id}/comments"
    all_scenarios = [
        Scenario("comments.grantee", "bench", comments, {"limit": 200}, target_ms=30.0),
        Scenario("comments.member", "owner", comments, {"limit": 200}, target_ms=30.0),
        Scenario("shared-with-me", "bench", "/api/v1/documents/shared-with-me"),
        Scenario(f"search.{PLANTED_WORD}", "bench", "/api/v1/search", {"q": PLANTED_WORD}, cold=True),
        Scenario(f"search.{COMMON_WORD}", "bench", "/api/v1/search", {"q": COMMON_WORD}, cold=True),
    ]
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    return [s for s in all_scenarios if not parts or any(part in s.name for part in parts)]


# --- SQL of one request -------------------------------------------------------------------
SHORT_TABLES = {
    "documents_documentuserobjectpermission": "guardian perms",
    "documents_documentshare": "shares",
    "workspaces_workspacemember": "membership",
    "documents_document": "documents",
    "documents_comment": "comments",
    "documents_documenttag": "tags",
    "accounts_user": "user",
    "accounts_refreshtoken": "refresh family",
}


def statement_label(sql: str) -> str:
    """A short name for a statement: the table its outer query reads, or what it computes."""
    if sql.startswith("(") and " UNION " in sql:
        return "search scope (union)" if "documents_documentuserobjectpermission" in sql else "union"
    outer = sql
    while "(" in outer and outer != (stripped := re.sub(r"\([^()]*\)", "", outer)):
        outer = stripped  # drop subqueries and calls, innermost first
    tables = re.findall(r'FROM "(\w+)"', outer)
    table = tables[0] if tables else "?"
    if table == "documents_comment" and sql.startswith("SELECT COUNT(*)"):
        return "comments count"
    if table == "documents_document" and "ts_rank_cd" in sql:
        return "search ranks"
    if table == "documents_document" and "ts_headline" in sql:
        return "search headlines"
    if table == "documents_document" and "OVER ()" in sql:
        return "search matches + total"
    if table == "documents_document" and "documents_documentuserobjectpermission" in sql:
        return "shared page" if '"granted_at"' in sql else "granted documents"
    if table == "documents_document" and '"is_starred"' in sql:
        return "documents + summary"
    return SHORT_TABLES.get(table, table)


@dataclass
class Statements:
    """What a request runs: every statement, and EXPLAIN (ANALYZE, BUFFERS) of each SELECT."""

    count: int
    plans: list[QueryPlan]


def capture_request(token: str, scenario: Scenario) -> Statements:
    """Serve the scenario's request once in this process (nothing kept in the cache), count and EXPLAIN its SQL."""
    # "(SELECT ...) UNION ALL (SELECT ...)" is a SELECT too.
    count, plans = served_selects(token, scenario, statement_label, strip="( ")
    return Statements(count=count, plans=plans)


# --- measurement ----------------------------------------------------------------------------
@dataclass
class Result:
    """Latencies and costs of one scenario."""

    scenario: Scenario
    latencies: list[float]
    rows: int
    total: int | None
    body_bytes: int
    daphne_ms: float
    postgres_ms: float
    sessions: float
    machine_busy: float
    statements: Statements
    cold_latencies: list[float]

    def ms(self, fraction: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        return percentile_ms(self.latencies, fraction)

    def cold_ms(self, fraction: float) -> float | None:
        """The same for the requests answered with no kept ranking."""
        return percentile_ms(self.cold_latencies, fraction) if self.cold_latencies else None

    @property
    def met(self) -> bool:
        """Whether p95 is within the scenario's target."""
        return self.ms(0.95) <= self.scenario.target_ms


def rows_of(body: dict) -> int:
    """Rows on the page of a comments, shared-with-me or search answer."""
    for key in ("comments", "documents", "results"):
        if key in body:
            return len(body[key])
    return 0


def measure(api: Api, scenario: Scenario, daphne_pid: int, args: argparse.Namespace, redis_client) -> Result:
    """Capture the SQL, warm up, send `--requests` sequential requests, then the first asks of a search."""
    statements = capture_request(api.token, scenario)
    api.fresh()
    timed_gets(api, scenario.path, scenario.params, args.warmup)
    before = Sample.take(daphne_pid)
    latencies, response = timed_gets(api, scenario.path, scenario.params, args.requests)
    after, body = Sample.take(daphne_pid), response.json()
    cold = first_asks(api, scenario.path, scenario.params, args.cold_requests if scenario.cold else 0, redis_client)
    return Result(
        scenario=scenario,
        latencies=latencies,
        rows=rows_of(body),
        total=body.get("total"),
        body_bytes=len(response.content),
        statements=statements,
        cold_latencies=cold,
        **costs(before, after, args.requests, args.requests),
    )


# --- report -------------------------------------------------------------------------------
def print_result(result: Result, args: argparse.Namespace) -> None:
    """One scenario's figures, its SQL and, with --plans, the plans of its slow statements."""
    s = result.scenario
    query = "&".join(f"{key}={value}" for key, value in s.params.items())
    who = BENCH_EMAIL if s.who == "bench" else OWNER_EMAIL.format(0)
    print(f"\n[{s.name}]  GET {s.path}{'?' if query else ''}{query}  as {who}")
    print(latency_line(result.latencies, args.warmup))
    if result.cold_latencies:
        print(first_ask_line(result.cold_latencies, "the kept rankings and highlights"))
    print(f"  target       p95 <= {s.target_ms:.0f} ms: {'met' if result.met else 'MISSED'}")
    total = f"total {result.total}, " if result.total is not None else ""
    print(f"  answer       {total}{result.rows} rows, {result.body_bytes / 1024:.1f} KiB")
    print_costs(result)
    plans = result.statements.plans
    executing = sum(plan.execution_ms for plan in plans)
    planning = sum(plan.planning_ms for plan in plans)
    print(
        f"  SQL          {result.statements.count} statements, {len(plans)} SELECTs: "
        f"{executing:.1f} ms executing + {planning:.1f} ms planning"
    )
    print_plans(plans, full=args.plans, width=24)


def print_header(args: argparse.Namespace, versions: dict[str, str], corpus: Corpus) -> None:
    """The machine, software, PostgreSQL settings, corpus and exact command."""
    load = f"{args.requests} sequential requests per scenario on one keep-alive connection, {args.warmup} warm-up"
    print_seeded_header(args, versions, corpus.lines, load)


def print_summary(results: list[Result]) -> None:
    """One line per scenario, for pasting."""
    print(
        f"\n{'scenario':<22}{'rows':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}{'SQL':>5}{'SQL':>8}"
        f"{'daphne':>8}{'pg':>7}  {'target':<8}  {'first ask':>11}"
    )
    print(
        f"{'':<22}{'':>6}{'ms':>8}{'ms':>8}{'ms':>8}{'ms':>8}{'n':>5}{'ms':>8}{'cpu ms':>8}{'cpu ms':>7}"
        f"  {'p95':<8}  p50/p95 ms"
    )
    for r in results:
        sql = sum(plan.execution_ms + plan.planning_ms for plan in r.statements.plans)
        first = f"{r.cold_ms(0.5):.0f}/{r.cold_ms(0.95):.0f}" if r.cold_latencies else "-"
        target = f"<={r.scenario.target_ms:.0f} {'ok' if r.met else 'NO'}"
        print(
            f"{r.scenario.name:<22}{r.rows:>6}{r.ms(0.5):>8.1f}{r.ms(0.95):>8.1f}{r.ms(0.99):>8.1f}"
            f"{statistics.fmean(r.latencies) * 1000:>8.1f}{r.statements.count:>5}{sql:>8.1f}{r.daphne_ms:>8.1f}"
            f"{r.postgres_ms:>7.1f}  {target:<8}  {first:>11}"
        )
    print(load_avg_line("at the end"))


# --- main -----------------------------------------------------------------------------------
def run(args: argparse.Namespace, env: dict[str, str], corpus: Corpus) -> list[Result]:
    """Start daphne, sign in both users, measure each scenario; daphne is stopped on the way out."""
    with one_daphne(env, "mdc-bench-sharing-") as server:
        apis = {
            "bench": Api(server.port, args.timeout, BENCH_EMAIL, BENCH_PASSWORD),
            "owner": Api(server.port, args.timeout, OWNER_EMAIL.format(0), BENCH_PASSWORD),
        }
        for api in apis.values():
            api.login()
        results = []
        redis_client = redis.Redis.from_url(args.redis_url)
        for scenario in scenarios(corpus, args):
            results.append(measure(apis[scenario.who], scenario, server.process.pid, args, redis_client))
            print_result(results[-1], args)
        return results


def main(argv: list[str] | None = None) -> None:
    """Seed when needed, start daphne, measure, print."""
    seeded_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
