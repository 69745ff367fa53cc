"""API fuzzing: schemathesis over the OpenAPI schema (`/api/v1/schema/`) against a live daphne (SPEC §9).

Every operation of the schema gets generated requests, valid and invalid (schemathesis's positive and negative
modes), sent as the owner, editor, commenter and viewer of one seeded team workspace (documents of the three
types, folders, versions, comments, a grant, a share link, an invitation, a pending upload and context file) or
anonymously. Path parameters, `workspace_id` query parameters and `*_id` body fields are often swapped for ids of
the seeded objects, so requests reach past the 404 of a random id. The AI endpoints talk to the fake providers
(documents/tests/ai_fakes.py) with the server keys.

Passes when no response is a 5xx and every 4xx is a problem body (`application/problem+json` with type, title,
status and detail). Unknown paths get a 404 problem whatever the method.

Run size: FUZZ_EXAMPLES generated requests per operation (4 in `make test`, a bounded and derandomized run);
`make fuzz` runs 25 per operation with FUZZ_MIN_REQUESTS=2000 (more rounds until that many were sent) and a
random seed, printed for replay with FUZZ_SEED.

Operations sent as their own throwaway users (never as the seeded members, whose sessions the rest needs):
`POST auth/logout` (revokes the caller's session family, or all of them), `POST auth/password/change`
(revokes the caller's other sessions) and `DELETE auth/me` (erases the caller). No operation is left out.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from requests.auth import AuthBase

from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from collab.tests.conftest import DaphneProcess, database_url_of_tests
from documents import storage
from documents.models import Comment, Document, Folder
from documents.services.attachments import attachment_presign
from documents.services.comments import comment_create
from documents.services.context_files import context_file_create
from documents.services.documents import document_create, document_update
from documents.services.folders import folder_create
from documents.services.links import link_create
from documents.services.shares import share_create
from documents.services.versions import version_create_manual
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory, make_invitation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
MIN_REQUESTS = int(os.environ.get("FUZZ_MIN_REQUESTS", "0"))
FUZZ_SEED = os.environ.get("FUZZ_SEED")
ACTORS = ("owner", "editor", "commenter", "viewer", "anonymous")
# Each of these would end the session (or the account) the other requests are sent with: own users.
SELF_DESTRUCTIVE = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password/change"),
                    ("DELETE", "/api/v1/auth/me")}
PROBLEM_KEYS = {"type", "title", "status", "detail"}
# Twisted (under daphne) answers a request line plus headers over 16 KiB with a bare 400 and closes the connection,
# before the application runs (twisted.web.http.HTTPChannel.totalHeadersSize).
DAPHNE_HEAD_LIMIT = 16384


# --- the seeded team and its ids ---------------------------------------------------------------------------------

ROLES = {"editor": "editor", "commenter": "commenter", "viewer": "viewer"}
# Which kind of seeded id a path parameter takes, by the path's first segment after /api/v1/ (None: any path).
PATH_KINDS = {
    ("workspaces", "id"): "workspace", ("workspaces", "wid"): "workspace", ("documents", "wid"): "workspace",
    ("folders", "wid"): "workspace", ("sync", "wid"): "workspace", ("documents", "id"): "document",
    ("comments", "id"): "comment", ("folders", "id"): "folder", ("attachments", "id"): "attachment",
    ("uploads", "id"): "attachment", ("context-files", "id"): "context_file", ("uploads", "signed"): "signed_upload",
    ("files", "signed"): "signed_file", (None, "user_id"): "user", (None, "member_id"): "user",
    (None, "share_id"): "share", (None, "link_id"): "link", (None, "invitation_id"): "invitation",
    (None, "token"): "invitation_token", (None, "number"): "version_number", (None, "sid"): "version",
}
# Query parameters and body fields that name seeded objects.
FIELD_KINDS = {
    "workspace_id": "workspace", "document_id": "document", "folder_id": "folder", "parent_id": "folder",
    "thread_id": "comment", "user_id": "user", "new_owner_id": "user", "entity_id": "document",
}


@dataclass
class Seeded:
    """The seeded team: its members, a fresh access token each, the ids of everything seeded and some emails."""

    users: dict
    workspace: Workspace
    ids: dict[str, list[str]]
    emails: list[str]
    tokens: dict[str, str] = field(default_factory=dict)

    def swap_ids(self, path: str, case, swaps: random.Random) -> None:
        """Replace some generated values of `case` by seeded ones: ids (each with probability 0.75), and in
        bodies emails and passwords of seeded users; `If-Match` becomes `*` half the time."""
        segment = path.removeprefix("/api/v1/").split("/")[0]
        for name in list(case.path_parameters or {}):
            kind = PATH_KINDS.get((segment, name)) or PATH_KINDS.get((None, name))
            if kind and self.ids.get(kind) and swaps.random() < 0.75:
                case.path_parameters[name] = swaps.choice(self.ids[kind])
        for container in (case.query, case.body):
            if not isinstance(container, dict):
                continue
            for name, kind in FIELD_KINDS.items():
                if name in container and swaps.random() < 0.75:
                    container[name] = swaps.choice(self.ids[kind])
        if isinstance(case.body, dict):
            for name, values in (("email", self.emails), ("password", [DEFAULT_PASSWORD]),
                                 ("current_password", [DEFAULT_PASSWORD])):
                if name in case.body and swaps.random() < 0.5:
                    case.body[name] = swaps.choice(values)
        if case.headers and "If-Match" in case.headers and swaps.random() < 0.5:
            case.headers["If-Match"] = "*"

    def renew_tokens(self) -> None:
        """Access tokens live 15 minutes: each round of operations gets fresh ones."""
        self.tokens = {actor: session_start(user=user, client=ClientInfo()).access_token
                       for actor, user in self.users.items()}


def seed_team(server: DaphneProcess) -> Seeded:
    """One team workspace (owner, editor, commenter, viewer), guest access on, with one of everything."""
    owner = UserFactory(display_name="Fuzz Owner")
    workspace = WorkspaceFactory(owner=owner, name="Fuzzed team")
    Workspace.objects.filter(pk=workspace.pk).update(settings={**workspace.settings, "allow_guest_access": True})
    workspace.refresh_from_db()
    users = {"owner": owner}
    for actor, role in ROLES.items():
        users[actor] = UserFactory(display_name=f"Fuzz {actor}")
        MemberFactory(workspace=workspace, user=users[actor], role=role, invited_by=owner)
    folder = folder_create(actor=owner, workspace=workspace, data={"name": "Plans"})
    subfolder = folder_create(actor=owner, workspace=workspace, data={"name": "Q3", "parent_id": folder.pk})
    markdown = document_create(actor=owner, workspace=workspace, data={
        "title": "Roadmap", "content": "# Roadmap\n\nShip it.\n", "folder_id": folder.pk, "tags": ["plan"]})
    document_update(actor=users["editor"], document=markdown, data={"content": "# Roadmap\n\nShip it soon.\n"},
                    if_match="*")
    version = version_create_manual(document=markdown, actor=owner, tags=["plan"], description="Milestone")
    mindmap = document_create(actor=owner, workspace=workspace, data={
        "title": "Map", "type": "mindmap", "content": '{"nodes": [{"id": "root"}], "edges": []}'})
    deck = document_create(actor=owner, workspace=workspace, data={
        "title": "Deck", "type": "presentation", "content": '{"slides": [{"title": "One"}]}'})
    root = comment_create(actor=users["commenter"], document=markdown, data={"content": "Why soon?"})
    reply = comment_create(actor=owner, document=markdown, data={"content": "Because.", "parent_id": root.pk})
    guest = UserFactory(display_name="Fuzz guest")
    share = share_create(actor=owner, document=markdown, role="viewer", user_id=guest.pk)
    link, _ = link_create(actor=owner, document=markdown, mode="comment")
    invitation, invitation_token = make_invitation(workspace=workspace, invited_by=owner, role="viewer")
    attachment, upload_url, _ = attachment_presign(actor=owner, workspace=workspace, document=markdown,
                                                   file_name="notes.txt", content_type="text/plain", size_bytes=5)
    context_file, _, _ = context_file_create(actor=owner, document=markdown, file_name="ref.md", file_type="md",
                                             size_bytes=3, content_hash="a" * 64, storage_mode="local", metadata={})
    file_url = storage.backend().download_url(attachment.s3_key, file_name="notes.txt", content_type="text/plain",
                                              as_attachment=True)
    ids = {
        "workspace": [workspace.pk], "document": [markdown.pk, mindmap.pk, deck.pk], "folder": [folder.pk, subfolder.pk],
        "comment": [root.pk, reply.pk], "user": [user.pk for user in (*users.values(), guest)], "share": [share.pk],
        "link": [link.pk], "invitation": [invitation.pk], "invitation_token": [invitation_token],
        "attachment": [attachment.pk], "context_file": [context_file.pk], "version": [version.pk],
        "version_number": ["1", "2", str(version.version_number)], "signed_upload": [upload_url.rsplit("/", 1)[1]],
        "signed_file": [file_url.rsplit("/", 1)[1]],
    }
    seeded = Seeded(users=users, workspace=workspace, ids={k: [str(v) for v in vs] for k, vs in ids.items()},
                    emails=[user.email for user in (*users.values(), guest)] + [invitation.email])
    seeded.renew_tokens()
    return seeded


def restore_baseline(seeded: Seeded) -> None:
    """Undo what an operation's requests may have changed in the seeded team (ownership, roles, trash), so that
    the next operation starts from the same place; everything else they created stays."""
    owner = seeded.users["owner"]
    Workspace.objects.filter(pk=seeded.workspace.pk).update(
        owner=owner, deleted_at=None, archived_at=None, settings={**seeded.workspace.settings})
    members = WorkspaceMember.objects.filter(workspace=seeded.workspace)
    members.filter(role="owner").exclude(user=owner).update(role="admin")  # a transfer's new owner steps down first
    for actor, user in sorted(seeded.users.items(), key=lambda pair: pair[0] == "owner"):
        WorkspaceMember.objects.update_or_create(
            workspace=seeded.workspace, user=user,
            defaults={"role": ROLES.get(actor, "owner"), "is_active": True, "permissions": {}},
        )
    Document.objects.filter(pk__in=seeded.ids["document"]).update(deleted=False, deleted_at=None, deleted_by=None)
    Folder.objects.filter(pk__in=seeded.ids["folder"]).update(deleted_at=None)
    Comment.objects.filter(pk__in=seeded.ids["comment"]).update(deleted_at=None)


@pytest.fixture(scope="module")
def fuzz_server(django_db_setup, django_db_blocker, tmp_path_factory, fake_providers_server):
    """daphne on the test database, AI calls going to the fake providers with the server keys."""
    with django_db_blocker.unblock():
        database_url = database_url_of_tests()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url, MDCREATOR_VAR_DIR=str(tmp_path_factory.mktemp("fuzz")), DATABASE_CONN_MAX_AGE="0",
        RATE_LIMIT_API="100000/minute", RATE_LIMIT_AI="100000/minute", RATE_LIMIT_AI_HOURLY="100000/hour",
        OPENAI_BASE_URL=fake_providers_server.openai_base_url, OPENAI_API_KEY="sk-server-openai",
        ANTHROPIC_BASE_URL=fake_providers_server.anthropic_base_url, ANTHROPIC_API_KEY="sk-ant-server",
        AI_TIMEOUT_SECONDS="10", AI_KEY_VALIDATION_TIMEOUT_SECONDS="5",
    )
    server = DaphneProcess(env).start()
    yield server
    server.stop()


@dataclass
class Tally:
    """What the run sent and what went wrong."""

    requests: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)
    oversized: int = 0
    by_actor: Counter = field(default_factory=Counter)
    succeeded: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def problem_failure(response) -> str | None:
    """Why a response breaks the rules of SPEC §0/§9 (a 5xx, or a 4xx without a problem body), or None."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status < 400:
        return None
    content_type = response.headers.get("content-type", "")
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if not content_type.startswith("application/problem+json"):
        return f"{status} with Content-Type {content_type!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{status} whose body is not JSON"
    if not isinstance(body, dict) or not PROBLEM_KEYS <= set(body):
        return f"{status} problem without {sorted(PROBLEM_KEYS - set(body or {}))}"
    if body["status"] != status or not str(body["type"]).startswith("https://mdcreator.app/errors/"):
        return f"{status} problem saying status {body['status']!r}, type {body['type']!r}"
    return None


class Bearer(AuthBase):
    """`Authorization: Bearer <token>`, set when the request is prepared: after schemathesis chose its headers (its
    negative cases drop a generated Authorization header, which would make every such case anonymous)."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def head_size(case, base_url: str) -> int:
    """Bytes of the request line and headers `case` will be sent with (about: the transport adds a few)."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    prepared = requests.Request(
        method=kwargs["method"], url=kwargs["url"], params=kwargs.get("params"), headers=kwargs.get("headers")
    ).prepare()
    return len(prepared.method) + len(prepared.path_url) + 400 + sum(
        len(str(name)) + len(str(value)) + 4 for name, value in prepared.headers.items()
    )


class Fuzzer:
    """Generates, sends and checks the requests of one operation at a time."""

    def __init__(self, server: DaphneProcess, seeded: Seeded, tally: Tally):
        self.server, self.seeded, self.tally = server, seeded, tally
        self.session = requests.Session()
        self.sent = 0

    def auth_for(self, actor: str) -> Bearer | None:
        if actor == "anonymous":
            return None
        if actor == "throwaway":
            return Bearer(session_start(user=UserFactory(), client=ClientInfo()).access_token)
        return Bearer(self.seeded.tokens[actor])

    def send(self, operation, case, actor: str, swaps) -> None:
        """Send one case as `actor`, after swapping in seeded ids where `swaps` (a random source) says so."""
        self.seeded.swap_ids(operation.path, case, swaps)
        if case.headers:
            case.headers.pop("Authorization", None)  # who calls is the actor's choice (anonymous included)
        label, auth = f"{operation.method.upper()} {operation.path}", self.auth_for(actor)
        oversized = head_size(case, self.server.http) > DAPHNE_HEAD_LIMIT
        try:
            response = case.call(
                base_url=self.server.http, session=self.session, auth=auth, timeout=60, allow_redirects=False
            )
        except (requests.RequestException, TimeoutError) as exc:
            if oversized and isinstance(exc, requests.ConnectionError):
                self.refused_by_daphne(label)  # its 400 raced the close: the client saw only the close
                return
            self.tally.failures.append({
                "operation": label, "actor": actor, "error": repr(exc)[:300], "path": case.formatted_path,
                "query": repr(case.query)[:300], "body": repr(case.body)[:300],
            })
            return
        if oversized and response.status_code == 400 and not response.content:
            self.refused_by_daphne(label)
            return
        self.tally.requests[label] += 1
        self.tally.statuses[response.status_code] += 1
        self.tally.by_actor[(actor, response.status_code)] += 1
        if response.status_code < 300:
            self.tally.succeeded.add(label)
        problem = problem_failure(response)
        if problem:
            request = response.request
            self.tally.failures.append({
                "operation": label, "actor": actor, "problem": problem, "url": request.url[:300],
                "body": (request.body or b"")[:300], "response": response.content[:500],
            })

    def refused_by_daphne(self, label: str) -> None:
        """A request head over daphne's limit is answered by daphne itself (a bare 400, then the connection is
        closed) before the application sees it; the server must still be there."""
        self.tally.requests[label] += 1
        self.tally.oversized += 1
        self.session.close()
        assert requests.get(f"{self.server.http}/healthz", timeout=30).status_code == 200

    def fuzz(self, operation, *, examples: int, round_seed: int | None) -> None:
        """Run `examples` generated cases of `operation` (fewer when its inputs allow fewer)."""
        method_path = (operation.method.upper(), operation.path)
        actors = ("throwaway", "anonymous") if method_path in SELF_DESTRUCTIVE else ACTORS
        strategies = [operation.as_strategy(generation_mode=mode)
                      for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)]

        @settings(
            max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
            suppress_health_check=list(HealthCheck), derandomize=round_seed is None,
        )
        # Actor and id swaps come from a Random seeded per case: Hypothesis's own draws favour their simplest
        # values (the first actor, always swapping), which would leave most requests to the owner.
        @given(case=st.one_of(strategies), salt=st.integers(min_value=0, max_value=2**63))
        def run(case, salt):
            self.sent += 1
            swaps = random.Random(f"{method_path}:{self.sent}:{salt}")
            self.send(operation, case, swaps.choice(actors), swaps)

        if round_seed is not None:
            run = seed(round_seed)(run)
        run()


def test_api_fuzz_no_server_errors_and_problem_bodies_everywhere(fuzz_server, fake_providers_server):
    seeded = seed_team(fuzz_server)
    schema = schemathesis.openapi.from_url(f"{fuzz_server.http}/api/v1/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 100, "the schema lost operations"
    tally, started = Tally(), time.monotonic()
    fuzzer = Fuzzer(fuzz_server, seeded, tally)
    base_seed = int(FUZZ_SEED) if FUZZ_SEED else (random.randrange(2**32) if MIN_REQUESTS else None)
    rounds = 0
    while True:
        round_seed = None if base_seed is None else base_seed + rounds
        seeded.renew_tokens()
        for operation in operations:
            fuzzer.fuzz(operation, examples=EXAMPLES, round_seed=round_seed)
            restore_baseline(seeded)
        rounds += 1
        if tally.total >= MIN_REQUESTS or base_seed is None or rounds >= 10:
            break
    elapsed = time.monotonic() - started
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    print(f"\nfuzz: {tally.total} requests over {len(tally.requests)}/{len(labels)} operations in {elapsed:.0f} s "
          f"({rounds} round(s), seed {base_seed if base_seed is not None else 'derandomized'}); "
          f"statuses {dict(sorted(tally.statuses.items()))}; {tally.oversized} over daphne's head limit")
    print(f"  2xx at least once: {len(tally.succeeded)}/{len(labels)}; never: {sorted(labels - tally.succeeded)}")
    for actor in (*ACTORS, "throwaway"):
        print(f"  {actor}: {dict(sorted((status, n) for (who, status), n in tally.by_actor.items() if who == actor))}")
    assert not tally.failures, json.dumps(tally.failures[:20], indent=1, default=str)
    assert set(tally.requests) == labels, f"never sent: {sorted(labels - set(tally.requests))}"
    assert tally.total >= MIN_REQUESTS


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/documents/x/y/z", "/nowhere", "/api/v2/auth/me"])
def test_api_fuzz_unknown_paths_are_404_problems_for_every_method(fuzz_server, method, path):
    response = requests.request(method, f"{fuzz_server.http}{path}", json={"a": 1}, timeout=30)
    assert response.status_code == 404, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_KEYS <= set(body) and body["status"] == 404 and body["type"].endswith("/not-found")


def test_api_fuzz_seeded_ids_reach_the_objects(fuzz_server):
    """The id swapping is worth something only if the seeded ids resolve: spot-check them as their owner."""
    seeded = seed_team(fuzz_server)
    headers = {"Authorization": f"Bearer {seeded.tokens['owner']}"}
    for document_id in seeded.ids["document"]:
        assert requests.get(f"{fuzz_server.http}/api/v1/documents/{document_id}", headers=headers,
                            timeout=30).status_code == 200
    for folder_id in seeded.ids["folder"]:
        assert requests.get(f"{fuzz_server.http}/api/v1/folders/{folder_id}", headers=headers,
                            timeout=30).status_code == 200
    for comment_id in seeded.ids["comment"]:
        assert requests.get(f"{fuzz_server.http}/api/v1/comments/{comment_id}", headers=headers,
                            timeout=30).status_code == 200
    assert uuid.UUID(seeded.ids["workspace"][0])
