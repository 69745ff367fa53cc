"""The pull never skips an entry, even when writers commit out of order (SPEC §4 "Guarantee").

Real PostgreSQL connections, one per thread. The second test is built to catch the classic
bug: it runs the same interleaving with seqs taken from a PostgreSQL sequence (outside the
workspace row lock) and shows that the puller then misses an entry, which it never does with
the real allocator.
"""

import random
import threading
import time

import psycopg
import pytest
from django.db import connection

from collab import services as collab_services
from collab import store
from collab.tests.test_services_collab import _live_edit
from documents.services.documents import document_create, document_update
from sync import services as sync_services
from sync.models import SyncLog
from sync.pull import sync_pull
from sync.push import push_one, pusher_for
from sync.services import ClientInfo

pytestmark = pytest.mark.django_db(transaction=True)


def _pull_until_idle(user, workspace, cursor: int, seen: list[int]) -> int:
    while True:
        page = sync_pull(user=user, workspace_id=workspace.pk, cursor=cursor, limit=7)
        seen += sorted(e["seq"] for entries in page.groups.values() for e in entries)
        cursor = page.cursor
        if not page.has_more:
            return cursor


def _thread(target, *args, errors: list | None = None):
    def run():
        try:
            target(*args)
        except Exception as error:  # a writer that dies must fail the test, not shrink it
            if errors is None:
                raise
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sync_concurrency_eight_writers_and_a_puller_see_every_entry_once(team):
    owner = team.user("owner")
    workspace = team.workspace
    documents = [document_create(actor=owner, workspace=workspace, data={"title": f"D{i}", "content": f"# D{i}\n\nx\n"})
                 for i in range(4)]
    live = documents[0]
    store.ensure_state(live.pk)
    start = SyncLog.objects.filter(workspace=workspace).order_by("-seq").first().seq
    done, errors, seen = threading.Event(), [], []

    def rest_writer(index):
        for step in range(6):
            document = documents[1 + index % 3]
            document_update(actor=owner, document=document, data={"title": f"T{index}-{step}"}, if_match=None)
            time.sleep(random.random() / 100)

    def push_writer(index):
        for step in range(6):
            change = {"change_id": f"00000000-0000-4000-8000-{index:06d}{step:06d}", "entity_type": "folder",
                      "operation": "create", "entity_id": f"00000000-0000-4000-9000-{index:06d}{step:06d}",
                      "data": {"name": f"F{index}-{step}"}}
            result = push_one(pusher=pusher_for(owner, workspace.pk), workspace=workspace, change=change,
                              client=ClientInfo(device_id=f"d{index}"))
            if result["status"] != "success":
                errors.append(result)

    def live_writer(index):
        for step in range(4):
            _live_edit(live.pk, 1, f" {index}.{step}", user=owner)
            collab_services.collab_materialize(live.pk)

    def puller():
        cursor = start
        while not done.is_set():
            cursor = _pull_until_idle(owner, workspace, cursor, seen)
        _pull_until_idle(owner, workspace, cursor, seen)

    pulling = _thread(puller, errors=errors)
    writers = [_thread(kind, index, errors=errors) for index, kind in enumerate(
        [rest_writer, rest_writer, rest_writer, push_writer, push_writer, push_writer, live_writer, live_writer])]
    for thread in writers:
        thread.join(120)
        assert not thread.is_alive(), "a writer is stuck"
    done.set()
    pulling.join(60)
    assert not pulling.is_alive() and errors == []
    final = list(SyncLog.objects.filter(workspace=workspace, seq__gt=start).order_by("seq").values_list("seq", flat=True))
    assert len(final) >= 3 * 6 + 3 * 6 + 2  # the REST updates, the pushed folders, some materializations
    assert final == list(range(start + 1, start + 1 + len(final)))  # gap-free
    assert seen == final  # every entry once, in order


def _waiting_on_a_lock() -> int:
    """How many backends of this database wait for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _out_of_order(team, *, locked: bool) -> tuple[list[int], list[int]]:
    """A holds its transaction after writing entry N; B writes N+1; the puller pulls; then A commits.

    With the row lock, B waits for A (seen in pg_stat_activity) and the puller sees neither entry yet;
    without it, B commits at once and the puller sees N+1 before N exists."""
    owner = team.user("owner")
    workspace = team.workspace
    first = document_create(actor=owner, workspace=workspace, data={"title": "A", "content": "a"})
    second = document_create(actor=owner, workspace=workspace, data={"title": "B", "content": "b"})
    start = cursor = SyncLog.objects.filter(workspace=workspace).order_by("-seq").first().seq
    holding, release, b_done = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def writer_a():
        from django.db import transaction

        with transaction.atomic():
            document_update(actor=owner, document=first, data={"title": "A2"}, if_match=None)
            holding.set()
            release.wait(10)

    def writer_b():
        document_update(actor=owner, document=second, data={"title": "B2"}, if_match=None)
        b_done.set()

    a = _thread(writer_a)
    assert holding.wait(10)
    b = _thread(writer_b)
    if locked:
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _waiting_on_a_lock() == 1 and not b_done.is_set(), "B waits for A's workspace row"
    else:
        assert b_done.wait(10), "B commits while A still holds its transaction"
    cursor = _pull_until_idle(owner, workspace, cursor, seen)
    release.set()
    a.join(10)
    b.join(10)
    assert not a.is_alive() and not b.is_alive()
    _pull_until_idle(owner, workspace, cursor, seen)
    final = list(SyncLog.objects.filter(workspace=workspace, seq__gt=start).order_by("seq").values_list("seq", flat=True))
    return seen, final


def test_sync_concurrency_out_of_order_commits_are_never_skipped(team):
    seen, final = _out_of_order(team, locked=True)
    assert len(seen) == 2 and seen == final


def test_sync_concurrency_the_test_catches_seqs_taken_outside_the_row_lock(team, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS sync_test_unlocked_seq START 100000")
    monkeypatch.setattr(sync_services, "_store", _store_unlocked)
    seen, final = _out_of_order(team, locked=False)
    assert len(final) == 2 and len(seen) == 1  # the puller skipped A's entry: the bug this design prevents


def _store_unlocked(entry) -> None:
    entry.seq = _unlocked_seq(entry.workspace_id)
    entry.save(force_insert=True)


def _unlocked_seq(workspace_id) -> int:
    """The broken design: a number from a global counter, taken without holding the workspace row and
    published at once (its own connection, autocommit), before the entry it numbers commits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('sync_test_unlocked_seq')")
        seq = cursor.fetchone()[0]
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432,
        password=settings["PASSWORD"] or None, autocommit=True,
    ) as counter:
        counter.execute(
            "UPDATE workspaces_workspace SET sync_seq = GREATEST(sync_seq, %s) WHERE id = %s", [seq, workspace_id]
        )
    return seq




def test_sync_concurrency_compaction_while_writers_run_keeps_every_current_state(team):
    """purge_sync_log in a loop while four writers append: a bootstrap afterwards holds every entity's latest state."""
    from sync.compaction import compact_sync_log

    owner = team.user("owner")
    workspace = team.workspace
    documents = [document_create(actor=owner, workspace=workspace, data={"title": f"C{i}", "content": f"c{i}"})
                 for i in range(4)]
    done, errors = threading.Event(), []

    def writer(index):
        for step in range(10):
            document_update(actor=owner, document=documents[index], data={"title": f"C{index}-{step}"}, if_match=None)

    def compactor():
        while not done.is_set():
            compact_sync_log()

    compacting = _thread(compactor, errors=errors)
    writers = [_thread(writer, index, errors=errors) for index in range(4)]
    for thread in writers:
        thread.join(60)
        assert not thread.is_alive(), "a writer is stuck"
    done.set()
    compacting.join(60)
    assert not compacting.is_alive()
    compact_sync_log()
    assert errors == []
    seen: list[int] = []
    _pull_until_idle(owner, workspace, 0, seen)
    page = sync_pull(user=owner, workspace_id=workspace.pk, cursor=0, limit=500)
    titles = {entry["entity_id"]: entry["data"]["title"] for entry in page.groups["documents"]}
    assert titles == {str(d.pk): f"C{i}-9" for i, d in enumerate(documents)}
    assert len(seen) == len(set(seen)) == SyncLog.objects.filter(workspace=workspace).count()
