"""The collab store and the document services under concurrent transactions, on real connections (SPEC §5.4).

Each writer of the interleaving runs on a thread of its own, hence on its own database
connection, and commits before the test goes on.
"""

from concurrent.futures import ThreadPoolExecutor

import pycrdt
import pytest
from django.db import connection, transaction

from collab import store
from collab.markdown import fragment_to_markdown
from collab.models import CollabState, CollabUpdate
from collab.tests.live import stored_doc
from documents.services.documents import document_create, document_delete, document_tags, document_undelete
from documents.services.restore import version_restore
from documents.services.versions import version_create_manual

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "# Notes\n\nAlpha block.\n\nBeta block.\n"


@pytest.fixture
def document(team):
    return document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "C", "content": TEXT})


def _on_other_connection(fn, *args):
    """Run `fn` on another thread (its own connection) to its end; its result."""

    def run():
        try:
            return fn(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=30)


def _store_edits(document_id, count: int, *, user) -> None:
    """`count` updates as a client would send them (appending to a block), each stored as its own row."""
    for index in range(count):
        doc = stored_doc(document_id)
        before = doc.get_state()
        run = doc.get("content", type=pycrdt.XmlFragment).children[1].children[0]
        run.insert(len(run), f" edit{index}")
        store.append_updates(document_id, [(doc.get_update(before), user.pk)])


def _markdown(doc: pycrdt.Doc) -> str:
    return fragment_to_markdown(doc.get("content", type=pycrdt.XmlFragment))


def _compacting_before_the_rows_are_read(document_id, merged: list[int]):
    """An execute wrapper: before the snapshot's first read of update rows, a compaction commits elsewhere."""

    def wrapper(execute, sql, params, many, context):
        if not merged and "collab_collabupdate" in sql:
            merged.append(_on_other_connection(store.compact, document_id))
        return execute(sql, params, many, context)

    return wrapper


def test_services_collab_snapshot_holds_every_update_when_a_compaction_commits_between_its_reads(team, document):
    store.ensure_state(document.pk)
    _store_edits(document.pk, 4, user=team.user("editor"))
    expected = stored_doc(document.pk)
    merged: list[int] = []

    with connection.execute_wrapper(_compacting_before_the_rows_are_read(document.pk, merged)):
        snapshot = store.load_snapshot(document.pk)

    assert merged == [4]  # the compaction did commit between the snapshot's two reads
    assert CollabState.objects.get(document=document).state_seq == 4
    assert not CollabUpdate.objects.filter(document=document).exists()
    loaded = snapshot.as_doc()
    assert loaded.get_state() == expected.get_state()
    assert _markdown(loaded) == _markdown(expected)
    assert "edit3" in _markdown(loaded) and snapshot.last_seq == 4


def test_services_collab_repair_snapshot_holds_every_later_update_when_a_compaction_commits_between_its_reads(
    team, document
):
    store.ensure_state(document.pk)
    _store_edits(document.pk, 4, user=team.user("editor"))
    expected = stored_doc(document.pk)
    room = pycrdt.Doc()  # a room that applied seqs 1-2 and now repairs from seq 2 on
    room.apply_update(bytes(CollabState.objects.get(document=document).state))
    for update in CollabUpdate.objects.filter(document=document, seq__lte=2).order_by("seq"):
        room.apply_update(bytes(update.update))
    merged: list[int] = []

    with connection.execute_wrapper(_compacting_before_the_rows_are_read(document.pk, merged)):
        snapshot = store.load_snapshot(document.pk, after_seq=2)

    assert merged == [4]
    for update in ([snapshot.state] if snapshot.state else []) + [update for _, update in snapshot.updates]:
        room.apply_update(update)
    assert room.get_state() == expected.get_state()
    assert _markdown(room) == _markdown(expected) and snapshot.last_seq == 4


def _insert_referencing_row(document_id) -> int:
    """Insert a row referencing the document, giving up after 2 s of waiting for a lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        row = CollabUpdate.objects.create(document_id=document_id, seq=10**9, update=b"\x00\x00")
    return row.seq


def _delete(team, document):
    document_delete(actor=team.user("owner"), document=document)


def _undelete(team, document):
    document_undelete(actor=team.user("owner"), document=document)


def _manual_version(team, document):
    version_create_manual(document=document, actor=team.user("owner"), tags=document_tags(document))


def _restore(team, document):
    version_restore(actor=team.user("owner"), document=document, version_number=1)


@pytest.mark.parametrize("write", [_delete, _undelete, _manual_version, _restore], ids=lambda w: w.__name__[1:])
def test_services_collab_document_writes_do_not_block_rows_referencing_the_document(team, document, write):
    """FOR NO KEY UPDATE on the document: live updates (and versions, sync entries) still go in meanwhile."""
    store.ensure_state(document.pk)
    if write is _undelete:
        _delete(team, document)
    with transaction.atomic():
        write(team, document)  # its row lock is held until this block ends
        inserted = _on_other_connection(_insert_referencing_row, document.pk)
    assert inserted == 10**9
    assert CollabUpdate.objects.filter(document=document, seq=10**9).exists()
