"""A process killed with SIGKILL in the middle of compacting or of materializing a large document loses nothing,
leaves nothing half-written, and the next process finishes the job (SPEC §5.4).

The kill lands inside the job's transaction every time: a session of the test holds a row lock that the
job's next statement needs, the job waits on it with part of its writes done, and the process is killed
while it waits. Once the lock goes, the database finds the process gone and rolls the job back.
"""

import asyncio
import re
import time
from collections import Counter

import psycopg
import pytest
from django.db import connection

from collab.models import CollabState, CollabUpdate
from collab.tests.conftest import database_url_of_tests
from collab.tests.live import append_to_block, assert_contiguous_log, markdown_of, stored_markdown
from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from documents.models import Document
from documents.services.documents import document_create
from mdcreator.sql import with_tables
from sync.models import SyncLog
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = re.compile(r"kiwi(\d+)")
LONG_MARKDOWN = "# Long\n\n" + "".join(f"Paragraph {index} of a long document, with some words in it.\n\n"
                                         for index in range(400))
TYPED = 80


def _tokens(markdown: str) -> Counter:
    return Counter(int(number) for number in TOKEN.findall(markdown))


class HeldLock:
    """A row lock held by a database session of its own, as a concurrent transaction would hold it."""

    def __init__(self, statement: str, params: list):
        self.session = psycopg.connect(database_url_of_tests())
        self.session.execute(statement, params)  # opens the transaction that holds the lock
        self.pid = self.session.info.backend_pid

    def release(self) -> None:
        self.session.rollback()
        self.session.close()


def _blocked_statement(lock: HeldLock, timeout: float = 60.0) -> tuple[int, str]:
    """The server session waiting on `lock`: (pid, its statement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid, query FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [lock.pid])
            row = cursor.fetchone()
        if row:
            return row
        time.sleep(0.02)
    raise AssertionError(f"no session waited on the lock within {timeout:.0f} s")


def _wait_session_gone(pid: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if not cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError(f"the session {pid} of the killed process is still there after {timeout:.0f} s")


def _wait_until(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


async def _type(steps, server, document, token) -> HocuspocusClient:
    """A Hocuspocus editor types TYPED updates (each carrying one token) into the third block; all acknowledged."""
    writer = steps.keep(await HocuspocusClient.connect(server.ws, document.pk, token))
    await writer.wait_for(lambda: writer.synced.is_set(), 30)
    await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent), 30)
    for index in range(TYPED):
        append_to_block(writer, 2, f" kiwi{index}")
        await asyncio.sleep(0.01)  # within the socket's 50 updates/s
    await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent), 30)
    assert set(writer.statuses) == {1}
    return writer


@pytest.fixture
def long_doc(team):
    return document_create(
        actor=team.user("owner"), workspace=team.workspace, data={"title": "Long", "content": LONG_MARKDOWN}
    )


def test_durability_kills_during_compaction_nothing_lost_and_compaction_redone(
    live_server_factory, steps, team, tokens, long_doc
):
    doomed = live_server_factory()
    writer = steps(_type(steps, doomed, long_doc, tokens["editor"]))
    expected = markdown_of(writer)
    assert _tokens(expected) == Counter(range(TYPED))
    before = assert_contiguous_log(long_doc.pk)
    rows = CollabUpdate.objects.filter(document_id=long_doc.pk).count()
    assert rows >= TYPED and before.state_seq < before.last_seq
    # Compaction deletes the merged rows last: the test keeps one of them from being deleted.
    lock = HeldLock(
        with_tables("SELECT 1 FROM {updates} WHERE document_id = %s AND seq = %s FOR KEY SHARE", updates=CollabUpdate),
        [long_doc.pk, before.state_seq + 1],
    )
    try:
        steps(writer.close())  # the room closes: it materializes, then compacts
        pid, statement = _blocked_statement(lock)
        assert statement.startswith(with_tables("DELETE FROM {updates}", updates=CollabUpdate))
        doomed.kill()
    finally:
        lock.release()
    _wait_session_gone(pid)

    # The compaction was rolled back whole: the old state and every row are still there, nothing is lost.
    after = assert_contiguous_log(long_doc.pk)
    assert (after.state_seq, after.last_seq, bytes(after.state)) == (before.state_seq, before.last_seq, bytes(before.state))
    assert CollabUpdate.objects.filter(document_id=long_doc.pk).count() == rows
    assert stored_markdown(long_doc.pk) == expected
    assert Document.objects.get(pk=long_doc.pk).content == expected  # materialized before compacting

    # Another process serves all of it (y-websocket this time); when its room closes, it compacts.
    restarted = live_server_factory()

    async def edit_again():
        reader = steps.keep(await YWebsocketClient.connect(restarted.ws, long_doc.pk, tokens["owner"]))
        await reader.wait_for(lambda: reader.synced.is_set() and markdown_of(reader) == expected, 30)
        append_to_block(reader, 2, " kiwi1000")
        await reader.sync_round_trip()
        await reader.close()

    steps(edit_again())
    final = expected.replace(f"kiwi{TYPED - 1}", f"kiwi{TYPED - 1} kiwi1000")
    _wait_until(lambda: not CollabUpdate.objects.filter(document_id=long_doc.pk).exists(), "compaction")
    restarted.stop()
    record = CollabState.objects.get(document_id=long_doc.pk)
    assert record.state_seq == record.last_seq == before.last_seq + 1
    assert stored_markdown(long_doc.pk) == final
    assert Document.objects.get(pk=long_doc.pk).content == final


def test_durability_kills_during_materialization_nothing_half_written_and_caught_up(
    live_server_factory, steps, team, tokens, long_doc
):
    doomed = live_server_factory()
    versions = long_doc.versions.count()
    entries = SyncLog.objects.filter(entity_id=long_doc.pk).count()
    # Materialization writes the content, the search vector and a version, then the sync entry, which takes
    # the workspace row's lock: the test holds that lock from the start (live edits never need it).
    lock = HeldLock(
        with_tables("SELECT 1 FROM {workspace} WHERE id = %s FOR NO KEY UPDATE", workspace=Workspace),
        [team.workspace.pk],
    )
    try:
        writer = steps(_type(steps, doomed, long_doc, tokens["editor"]))
        expected = markdown_of(writer)
        pid, statement = _blocked_statement(lock)  # 2 s after the last edit, the room materializes
        assert with_tables("UPDATE {workspace} SET sync_seq", workspace=Workspace) in statement
        doomed.kill()
    finally:
        lock.release()
    _wait_session_gone(pid)

    # Nothing of the materialization stayed: not the content, not a version, not a sync entry.
    document = Document.objects.get(pk=long_doc.pk)
    assert document.content == LONG_MARKDOWN
    assert (long_doc.versions.count(), SyncLog.objects.filter(entity_id=long_doc.pk).count()) == (versions, entries)
    record = assert_contiguous_log(long_doc.pk)
    assert record.materialized_seq < record.last_seq
    assert _tokens(stored_markdown(long_doc.pk)) == Counter(range(TYPED))  # every acknowledged edit is stored

    # The next process to start catches up, with nobody opening the document.
    fresh = live_server_factory()
    _wait_until(lambda: Document.objects.get(pk=long_doc.pk).content == expected, "the markdown caught up")
    fresh.stop()
    assert SyncLog.objects.filter(entity_id=long_doc.pk).count() == entries + 1
    assert long_doc.versions.order_by("-version_number").first().content == expected
    record = CollabState.objects.get(document_id=long_doc.pk)
    assert record.materialized_seq == record.last_seq
    assert stored_markdown(long_doc.pk) == expected
