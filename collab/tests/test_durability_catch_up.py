"""Live edits left unmaterialized by a process that died reach the markdown without anyone reopening the
document: a process materializes every document whose update log is ahead of its markdown when it starts
serving, then now and then (SPEC §5.4 "Content materialization")."""

import asyncio
import re
import threading
import time

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection

from collab import services, store
from collab.models import CollabState
from collab.tests.live import stored_markdown
from collab.tests.test_services_collab import _live_edit
from collab.tests.yclient import HocuspocusClient
from documents.models import Document
from documents.services.documents import document_create, document_delete
from sync.models import SyncLog

TOKEN = re.compile(r"kiwi(\d+)")


def _tokens(markdown: str) -> set[int]:
    return {int(number) for number in TOKEN.findall(markdown)}


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_durability_catch_up_a_new_process_materializes_what_a_killed_one_left(
    live_server_factory, steps, team, tokens, live_doc
):
    doomed = live_server_factory()

    async def type_until_killed():
        writer = steps.keep(await HocuspocusClient.connect(doomed.ws, live_doc.pk, tokens["editor"]))
        await writer.wait_for(lambda: writer.synced.is_set())
        await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent))
        first_update = len(writer.sent)  # the i-th update from here on carries token i
        run = writer.fragment.children[2].children[0]
        typed = 0

        async def type_continuously():
            nonlocal typed
            while writer.close_code is None:
                run.insert(len(run), f" kiwi{typed}")
                typed += 1
                await asyncio.sleep(0.003)

        typist = asyncio.create_task(type_continuously())
        # Typing never pauses for the 2 s the room waits before materializing: the last edits are pending.
        await writer.wait_for(lambda: len(writer.statuses) - first_update >= 30)
        await asyncio.get_running_loop().run_in_executor(None, doomed.kill)
        await writer.wait_closed()
        await typist
        acknowledged = writer.statuses[first_update:]
        assert acknowledged == [1] * len(acknowledged)
        return set(range(len(acknowledged)))

    acked = steps(type_until_killed())
    record = CollabState.objects.get(document_id=live_doc.pk)
    assert record.last_seq > record.materialized_seq
    assert not acked <= _tokens(Document.objects.get(pk=live_doc.pk).content)
    assert acked <= _tokens(stored_markdown(live_doc.pk))  # in the update log only
    entries = SyncLog.objects.filter(entity_id=live_doc.pk).count()

    # A new process brings the markdown up to date as soon as it starts: no request reaches it.
    fresh = live_server_factory(request=False)
    _wait_until(
        lambda: acked <= _tokens(Document.objects.get(pk=live_doc.pk).content), 60, "the markdown caught up"
    )
    fresh.stop()
    document = Document.objects.get(pk=live_doc.pk)
    assert document.content == stored_markdown(live_doc.pk)
    assert document.updated_by == team.user("editor")
    record = CollabState.objects.get(document_id=live_doc.pk)
    assert record.materialized_seq == record.last_seq
    # As any materialization: the search index, a version and a sync entry follow the content.
    word = f"kiwi{max(acked)}"
    assert Document.objects.filter(pk=live_doc.pk, search_vector=SearchQuery(word)).exists()
    assert live_doc.versions.order_by("-version_number").first().content == document.content
    assert SyncLog.objects.filter(entity_id=live_doc.pk).count() == entries + 1
    assert SyncLog.objects.filter(entity_id=live_doc.pk).order_by("-seq").first().content_hash == document.content_hash


# --- the catch-up pass itself ------------------------------------------------------------------------


def _document(team, text: str):
    return document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "C", "content": text})


@pytest.mark.django_db
def test_durability_catch_up_materializes_only_documents_behind_their_log(team):
    behind, settled, trashed = _document(team, "Behind\n"), _document(team, "Settled\n"), _document(team, "Gone\n")
    for document in (behind, settled, trashed):
        store.ensure_state(document.pk)
    _live_edit(behind.pk, 0, " and typed", user=team.user("editor"))
    _live_edit(trashed.pk, 0, " and typed", user=team.user("editor"))
    document_delete(actor=team.user("owner"), document=trashed)
    assert services.collab_materialize_pending() == 1
    assert Document.objects.get(pk=behind.pk).content == "Behind and typed\n"
    assert Document.objects.get(pk=settled.pk).content == "Settled\n"
    assert Document.objects.get(pk=trashed.pk).content == "Gone\n"
    assert services.collab_materialize_pending() == 0


@pytest.mark.django_db
def test_durability_catch_up_leaves_recently_edited_documents_to_their_rooms(team):
    document = _document(team, "Busy\n")
    store.ensure_state(document.pk)
    _live_edit(document.pk, 0, " typing", user=team.user("editor"))
    # Periodic passes only take documents whose log has been still for a while: an open room materializes
    # its own edits within seconds.
    assert services.collab_materialize_pending(idle_for=600) == 0
    assert Document.objects.get(pk=document.pk).content == "Busy\n"
    assert services.collab_materialize_pending(idle_for=0) == 1
    assert Document.objects.get(pk=document.pk).content == "Busy typing\n"


@pytest.mark.django_db(transaction=True)
def test_durability_catch_up_skips_a_document_another_process_holds(team):
    document = _document(team, "Shared\n")
    store.ensure_state(document.pk)
    _live_edit(document.pk, 0, " edit", user=team.user("editor"))
    held, release = threading.Event(), threading.Event()

    def other_process():
        try:
            with store.upkeep_lock(document.pk) as acquired:
                assert acquired
                held.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    try:
        assert held.wait(30)
        assert services.collab_materialize_pending() == 0  # the holder does it
        assert Document.objects.get(pk=document.pk).content == "Shared\n"
    finally:
        release.set()
        thread.join(30)
    assert services.collab_materialize_pending() == 1
    assert Document.objects.get(pk=document.pk).content == "Shared edit\n"


@pytest.mark.django_db(transaction=True)
def test_durability_catch_up_runs_again_and_again_in_the_background(team, steps):
    document = _document(team, "Periodic\n")
    store.ensure_state(document.pk)
    _live_edit(document.pk, 0, " first", user=team.user("editor"))

    def in_thread(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()  # the thread's own connection

    async def until(content: str):
        def read() -> str:
            return Document.objects.get(pk=document.pk).content

        while await asyncio.to_thread(in_thread, read) != content:
            await asyncio.sleep(0.05)

    async def scenario():
        catching_up = asyncio.create_task(services.collab_catch_up_forever(interval=0.1, idle_for=0))
        try:
            await until("Periodic first\n")  # the first pass
            await asyncio.to_thread(in_thread, _live_edit, document.pk, 0, " second", user=team.user("editor"))
            await until("Periodic first second\n")  # a later one
        finally:
            catching_up.cancel()

    steps(scenario(), timeout=60)
