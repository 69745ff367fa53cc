"""collab services, store and sessions without sockets: merges, materialization, events, limits (SPEC §5.4-§5.6)."""

import asyncio
from datetime import timedelta

import pycrdt
import pytest
from channels.layers import get_channel_layer
from django.contrib.postgres.search import SearchQuery
from django.utils import timezone

from collab import services, sessions, store
from collab.markdown import fragment_to_markdown
from collab.models import CollabState, CollabUpdate, Presence
from collab.protocol import adds_nothing
from collab.tests.live import normalized, stored_doc, stored_markdown
from documents.models import Document, DocumentVersion
from documents.services.documents import document_create, document_delete, document_undelete, document_update
from documents.services.restore import version_restore
from mdcreator.errors import ValidationProblem
from mdcreator.events import document_group
from sync.models import SyncLog

pytestmark = pytest.mark.django_db

TEXT = "# Notes\n\nAlpha block.\n\nBeta block.\n"
# The SPEC's limits (§5.4), written out rather than imported from the code under test.
STATE_MAX_BYTES = 32 * 1024 * 1024
COMPACT_AFTER_ROWS = 500
CONNECTIONS_PER_DOCUMENT = 100
CONNECTIONS_PER_USER = 20


@pytest.fixture
def document(team):
    return document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "S", "content": TEXT})


class Listener:
    """A channel subscribed to a document's group, read on the test's own event loop."""

    def __init__(self, steps, document_id):
        self.steps, self.layer = steps, get_channel_layer()
        self.channel = steps(self.layer.new_channel())
        steps(self.layer.group_add(document_group(document_id), self.channel))

    def take(self, count: int) -> list[dict]:
        """Exactly `count` messages, then nothing more for a short while."""

        async def collect():
            messages = [await asyncio.wait_for(self.layer.receive(self.channel), 5) for _ in range(count)]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(self.layer.receive(self.channel), 0.2)
            return messages

        return self.steps(collect())


def _live_edit(document_id, block: int, suffix: str, *, user) -> bytes:
    """An update a client would send (appending to a block), accepted as the room would: stored, not materialized."""
    doc = stored_doc(document_id)
    before = doc.get_state()
    run = doc.get("content", type=pycrdt.XmlFragment).children[block].children[0]
    run.insert(len(run), suffix)
    update = doc.get_update(before)
    store.append_updates(document_id, [(update, user.pk)])
    return update


# --- REST -> live ------------------------------------------------------------------------------------


def test_services_collab_rest_write_without_live_state_only_updates_content(team, document):
    document_update(actor=team.user("editor"), document=document, data={"content": "# New\n"}, if_match="*")
    assert not CollabState.objects.exists() and not CollabUpdate.objects.exists()
    store.ensure_state(document.pk)  # hydration later starts from the new content
    assert stored_markdown(document.pk) == "# New\n"


def test_services_collab_rest_write_is_merged_persisted_and_broadcast(team, document, steps,
                                                                     django_capture_on_commit_callbacks):
    store.ensure_state(document.pk)
    listener = Listener(steps, document.pk)
    new_text = TEXT.replace("Beta block.", "Beta block, edited.")
    with django_capture_on_commit_callbacks(execute=True):
        updated = document_update(actor=team.user("admin"), document=document, data={"content": new_text},
                                  if_match=f'"{document.content_hash}"')
    update_message, event_message = listener.take(2)
    row = CollabUpdate.objects.get(document=document)
    assert (row.seq, row.user) == (1, team.user("admin"))
    assert update_message == {
        "type": "doc.update", "seqs": [1], "update": bytes(row.update), "origin": services.SERVER_ORIGIN,
    }
    assert event_message == {
        "type": "doc.event", "origin": services.SERVER_ORIGIN,
        "event": {"type": "document", "action": "updated", "content_hash": updated.content_hash},
    }
    assert stored_markdown(document.pk) == new_text
    record = CollabState.objects.get(document=document)
    assert record.materialized_seq == record.last_seq == 1  # the server's own write is not re-materialized
    assert services.collab_materialize(document.pk) is False
    assert Document.objects.get(pk=document.pk).content == new_text


def test_services_collab_rest_write_equal_to_the_live_text_adds_no_update(team, document):
    store.ensure_state(document.pk)
    document_update(actor=team.user("editor"), document=document, data={"content": TEXT + "\n\n"}, if_match="*")
    assert not CollabUpdate.objects.exists()  # only blank lines differ: the blocks are the same


def test_services_collab_rest_write_keeps_pending_live_edits_and_materializes_both(team, document):
    store.ensure_state(document.pk)
    _live_edit(document.pk, 1, " (live)", user=team.user("editor"))
    rest_text = TEXT.replace("Beta block.", "Beta block (REST).")
    document_update(actor=team.user("owner"), document=document, data={"content": rest_text},
                    if_match=f'"{document.content_hash}"')
    both = "# Notes\n\nAlpha block. (live)\n\nBeta block (REST).\n"
    assert Document.objects.get(pk=document.pk).content == rest_text  # stored verbatim first
    assert stored_markdown(document.pk) == both
    record = CollabState.objects.get(document=document)
    assert record.materialized_seq < record.last_seq == 2  # the live edit is still to be written
    assert services.collab_materialize(document.pk) is True
    assert Document.objects.get(pk=document.pk).content == both


def test_services_collab_rest_write_wins_in_the_block_it_changed(team, document):
    store.ensure_state(document.pk)
    _live_edit(document.pk, 1, " (live)", user=team.user("editor"))
    rest_text = TEXT.replace("Alpha block.", "Alpha rewritten.")
    document_update(actor=team.user("owner"), document=document, data={"content": rest_text}, if_match="*")
    assert stored_markdown(document.pk) == rest_text
    services.collab_materialize(document.pk)
    assert Document.objects.get(pk=document.pk).content == rest_text


def test_services_collab_restore_and_undelete_reach_the_live_state(team, document, steps,
                                                                  django_capture_on_commit_callbacks):
    store.ensure_state(document.pk)
    owner = team.user("owner")
    document_update(actor=team.user("editor"), document=document, data={"content": "# Other\n"}, if_match="*")
    listener = Listener(steps, document.pk)
    with django_capture_on_commit_callbacks(execute=True):
        restored = version_restore(actor=owner, document=document, version_number=1)
    messages = listener.take(3)
    assert [m["type"] for m in messages] == ["doc.update", "doc.event", "doc.event"]
    assert [m["event"]["action"] for m in messages[1:]] == ["updated", "version_restored"]
    assert stored_markdown(document.pk) == normalized(TEXT) == restored.content

    # A live edit not yet materialized when the document goes to the trash: undelete writes the
    # markdown (what REST readers saw) back into the live state.
    _live_edit(document.pk, 2, " unsaved", user=team.user("editor"))
    with django_capture_on_commit_callbacks(execute=True):
        document_delete(actor=owner, document=document)
    (deleted,) = listener.take(1)
    assert deleted == {
        "type": "doc.event", "origin": services.SERVER_ORIGIN, "close": "document-deleted",
        "event": {"type": "document", "action": "deleted", "content_hash": restored.content_hash},
    }
    assert services.collab_materialize(document.pk) is False  # nothing is written into a deleted document
    with django_capture_on_commit_callbacks(execute=True):
        document_undelete(actor=owner, document=document)
    messages = listener.take(3)
    assert [m["event"]["action"] for m in messages if m["type"] == "doc.event"] == ["restored", "updated"]
    assert stored_markdown(document.pk) == Document.objects.get(pk=document.pk).content == normalized(TEXT)


def test_services_collab_mindmap_writes_never_touch_collab_state(team):
    mindmap = document_create(actor=team.user("owner"), workspace=team.workspace,
                              data={"title": "M", "type": "mindmap", "content": '{"nodes": [], "edges": []}'})
    document_update(actor=team.user("owner"), document=mindmap, if_match="*",
                    data={"content": '{"nodes": [{"id": "a"}], "edges": []}'})
    assert not CollabState.objects.exists()
    with pytest.raises(store.NotCollaborativeError):
        store.ensure_state(mindmap.pk)


# --- live -> markdown ------------------------------------------------------------------------------


def test_services_collab_materialize_writes_content_version_sync_and_search(team, document):
    store.ensure_state(document.pk)
    assert services.collab_materialize(document.pk) is False  # nothing pending
    editor = team.user("editor")
    _live_edit(document.pk, 2, " Marmalade", user=editor)
    entries = SyncLog.objects.count()
    assert services.collab_materialize(document.pk) is True
    fresh = Document.objects.get(pk=document.pk)
    assert fresh.content == "# Notes\n\nAlpha block.\n\nBeta block. Marmalade\n"
    assert fresh.updated_by == editor
    version = fresh.versions.order_by("-version_number").first()
    assert (version.created_by, version.source, version.content) == (editor, "auto", fresh.content)
    entry = SyncLog.objects.order_by("-seq").first()
    assert SyncLog.objects.count() == entries + 1
    assert (entry.entity_id, entry.operation, entry.content_hash) == (document.pk, "update", fresh.content_hash)
    assert Document.objects.filter(pk=document.pk, search_vector=SearchQuery("marmalade")).exists()
    record = CollabState.objects.get(document=document)
    assert record.materialized_seq == record.last_seq
    assert services.collab_materialize(document.pk) is False  # only once


def test_services_collab_materialize_of_an_unchanged_text_writes_no_version(team, document):
    store.ensure_state(document.pk)
    doc = stored_doc(document.pk)
    before = doc.get_state()
    doc.get("content", type=pycrdt.XmlFragment).children[1].children[0].format(0, 5, {"comment": {"commentId": "c"}})
    store.append_updates(document.pk, [(doc.get_update(before), team.user("editor").pk)])
    versions = DocumentVersion.objects.count()
    assert services.collab_materialize(document.pk) is True
    assert DocumentVersion.objects.count() == versions and Document.objects.get(pk=document.pk).content == TEXT
    record = CollabState.objects.get(document=document)
    assert record.materialized_seq == record.last_seq


def _clear_content_as_text(doc: pycrdt.Doc, typed: str) -> None:
    """What a client binding `content` as Y.Text does on select-all + type: every block goes, text comes."""
    text = doc.get("content", type=pycrdt.Text)
    with doc.transaction():
        del text[0 : len(text)]
        text.insert(0, typed)


def _clear_content_then_map(doc: pycrdt.Doc) -> bytes:
    """Every block deleted, then `content` used as a Y.Map by another client: one update of both."""
    before = doc.get_state()
    fragment = doc.get("content", type=pycrdt.XmlFragment)
    with doc.transaction():
        del fragment.children[0 : len(fragment.children)]
    foreign = pycrdt.Doc()
    foreign["content"] = pycrdt.Map({"title": "not a fragment"})
    return pycrdt.merge_updates(doc.get_update(before), foreign.get_update())


@pytest.mark.parametrize("root", ["text", "map"])
def test_services_collab_materialize_never_empties_content_when_content_is_no_fragment(team, document, root, caplog):
    store.ensure_state(document.pk)
    doc = stored_doc(document.pk)
    before = doc.get_state()
    if root == "text":
        _clear_content_as_text(doc, "plain words")
        update = doc.get_update(before)
    else:
        update = _clear_content_then_map(doc)
    store.append_updates(document.pk, [(update, team.user("editor").pk)])
    versions, entries = DocumentVersion.objects.count(), SyncLog.objects.count()
    assert fragment_to_markdown(stored_doc(document.pk).get("content", type=pycrdt.XmlFragment)) == ""

    assert services.collab_materialize(document.pk) is True

    fresh = Document.objects.get(pk=document.pk)
    assert fresh.content == TEXT and fresh.content_hash == document.content_hash  # the last good content
    assert (DocumentVersion.objects.count(), SyncLog.objects.count()) == (versions, entries)
    record = CollabState.objects.get(document=document)
    assert record.materialized_seq == record.last_seq == 1
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and r.name == "collab.services"]
    assert len(warnings) == 1 and str(document.pk) in warnings[0].getMessage()
    # A later REST write brings blocks back; materializing from there on works as before.
    document_update(actor=team.user("editor"), document=fresh, data={"content": "# Back\n"}, if_match="*")
    _live_edit(document.pk, 0, " again", user=team.user("editor"))
    assert services.collab_materialize(document.pk) is True
    assert Document.objects.get(pk=document.pk).content == "# Back again\n"


def test_services_collab_post_update_is_synchronous(team, document, steps, django_capture_on_commit_callbacks):
    listener = Listener(steps, document.pk)
    store.ensure_state(document.pk)
    doc = stored_doc(document.pk)
    before = doc.get_state()
    run = doc.get("content", type=pycrdt.XmlFragment).children[1].children[0]
    run.insert(0, "Posted ")
    update = doc.get_update(before)
    with django_capture_on_commit_callbacks(execute=True):
        content_hash, state_vector, last_seq = services.collab_post_update(
            document=document, actor=team.user("editor"), update=update
        )
    (message,) = listener.take(1)
    assert message == {"type": "doc.update", "seqs": [1], "update": update, "origin": services.SERVER_ORIGIN}
    fresh = Document.objects.get(pk=document.pk)
    assert fresh.content_hash == content_hash and "Posted Alpha block." in fresh.content
    assert (state_vector, last_seq) == (doc.get_state(), 1)


def test_services_collab_state_diff_and_bad_state_vector(team, document):
    full, vector, last_seq = services.collab_state(document=document, state_vector=None)
    assert last_seq == 0
    nothing, _, _ = services.collab_state(document=document, state_vector=vector)
    assert len(nothing) < len(full)
    with pytest.raises(ValidationProblem):
        services.collab_state(document=document, state_vector=b"\x05")


# --- store -----------------------------------------------------------------------------------------


def test_services_collab_store_seqs_are_contiguous_and_compaction_keeps_the_state(team, document):
    store.ensure_state(document.pk)
    user = team.user("editor")
    for index in range(4):
        _live_edit(document.pk, 1, f" {index}", user=user)
    assert list(CollabUpdate.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]
    before = stored_doc(document.pk)
    snapshot = store.load_snapshot(document.pk, after_seq=2)
    assert (snapshot.state, [seq for seq, _ in snapshot.updates], snapshot.last_seq) == (b"", [3, 4], 4)
    assert store.compact(document.pk) == 4
    record = CollabState.objects.get(document=document)
    assert (record.state_seq, record.last_seq, record.size_bytes) == (4, 4, len(bytes(record.state)))
    assert not CollabUpdate.objects.exists()
    after = stored_doc(document.pk)
    assert after.get_state() == before.get_state()
    assert fragment_to_markdown(after.get("content", type=pycrdt.XmlFragment)) == fragment_to_markdown(
        before.get("content", type=pycrdt.XmlFragment)
    )
    # Compacted away: a room that asks for rows after seq 2 gets the whole state instead.
    assert store.load_snapshot(document.pk, after_seq=2).state == bytes(record.state)
    assert store.compact(document.pk) == 0
    _live_edit(document.pk, 1, " 5", user=user)
    assert CollabUpdate.objects.get().seq == 5  # the sequence goes on after compaction


def test_services_collab_store_refuses_updates_beyond_the_size_limit(team, document):
    store.ensure_state(document.pk)
    CollabState.objects.filter(document=document).update(size_bytes=STATE_MAX_BYTES - 10)
    with pytest.raises(store.DocumentTooLargeError):
        store.append_updates(document.pk, [(b"\x00" * 11, None)])
    assert not CollabUpdate.objects.exists()
    assert store.append_updates(document.pk, [(b"\x00" * 10, None)]) == [1]


def test_services_collab_store_compaction_threshold(team, document):
    store.ensure_state(document.pk)
    store.append_updates(document.pk, [(b"\x00\x00", None)] * COMPACT_AFTER_ROWS)
    assert store.needs_compaction(document.pk) is False
    store.append_updates(document.pk, [(b"\x00\x00", None)])
    assert store.needs_compaction(document.pk) is True


# --- sessions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "read_only"),
    [("owner", False), ("admin", False), ("editor", False), ("commenter", True), ("viewer", True)],
)
def test_services_collab_document_access_by_role(team, document, actor, read_only):
    access = sessions.document_access(team.user(actor), str(document.pk))
    assert (access.role, access.read_only, access.collaborative) == (actor, read_only, True)


def test_services_collab_document_access_hides_everything_else(team, document):
    for user, target in ((team.user("non_member"), str(document.pk)), (team.user("owner"), "nope")):
        with pytest.raises(sessions.SessionRefused) as refused:
            sessions.document_access(user, target)
        assert (refused.value.code, refused.value.reason) == (4404, "not-found")


def test_services_collab_presence_limits_and_last_connection(team, document):
    editor = team.user("editor")
    assert sessions.presence_open(user=editor, document=document, connection_id="c0", device_type="web") is True
    assert sessions.presence_open(user=editor, document=document, connection_id="c1", device_type="web") is False
    for index in range(2, CONNECTIONS_PER_USER):
        sessions.presence_open(user=editor, document=document, connection_id=f"c{index}", device_type="web")
    with pytest.raises(sessions.SessionRefused) as refused:
        sessions.presence_open(user=editor, document=document, connection_id="one-too-many", device_type="web")
    assert refused.value.code == 4429
    # An expired row does not count.
    Presence.objects.filter(connection_id="c0").update(expires_at=timezone.now() - timedelta(seconds=1))
    sessions.presence_open(user=editor, document=document, connection_id="replacement", device_type="web")
    assert sessions.presence_close(connection_id="c1")[2] is False
    assert sessions.presence_close(connection_id="c1") is None  # already closed


def test_services_collab_presence_per_document_limit(team, document):
    users = [team.user(actor) for actor in ("owner", "admin", "editor", "commenter", "viewer")]
    for index in range(CONNECTIONS_PER_DOCUMENT):
        sessions.presence_open(user=users[index % 5], document=document, connection_id=f"d{index}", device_type="web")
    with pytest.raises(sessions.SessionRefused) as refused:
        sessions.presence_open(user=team.user("owner"), document=document, connection_id="d-last", device_type="web")
    assert refused.value.code == 4429


def test_services_collab_rate_limiter_averages_over_the_window():
    limiter = sessions.RateLimiter(50)
    assert all(limiter.allow() for _ in range(250)) and limiter.allow() is False


def test_services_collab_adds_nothing_sees_incremental_updates_and_deletions(document):
    store.ensure_state(document.pk)
    server = stored_doc(document.pk)
    client = pycrdt.Doc()
    client.apply_update(server.get_update())
    updates = []
    subscription = client.observe(lambda event: updates.append(event.update))
    run = client.get("content", type=pycrdt.XmlFragment).children[1].children[0]
    run.insert(len(run), " one")
    run.insert(len(run), " two")  # incremental: its own state vector is empty
    del run[0:6]  # deletion only: no new clock at all
    client.unobserve(subscription)

    def check(update):
        vector = server.get_state()
        return adds_nothing(pycrdt.get_update(update, vector), server.get_update(vector))

    assert [check(update) for update in updates] == [False, False, False]
    assert check(client.get_update(server.get_state())) is False
    for update in updates:
        server.apply_update(update)
    assert [check(update) for update in updates] == [True, True, True]
    assert check(client.get_update(server.get_state())) is True  # a step 2 from an up-to-date client
    assert check(b"\x00\x00") is True


def test_services_collab_append_stores_a_batch_with_contiguous_seqs_and_each_author(team, document):
    store.ensure_state(document.pk)
    doc = stored_doc(document.pk)
    run = doc.get("content", type=pycrdt.XmlFragment).children[0].children[0]
    updates = []
    for suffix in (" one", " two", " three"):
        before = doc.get_state()
        run.insert(len(run), suffix)
        updates.append(doc.get_update(before))
    authors = [team.user("editor").pk, None, team.user("owner").pk]
    first = store.append_updates(document.pk, [(updates[0], authors[0])])
    rest = store.append_updates(document.pk, list(zip(updates[1:], authors[1:], strict=True)))
    assert first == [1] and rest == [2, 3]
    rows = list(CollabUpdate.objects.filter(document=document).order_by("seq").values_list("seq", "update", "user_id"))
    assert [(seq, bytes(update), user) for seq, update, user in rows] == list(
        zip([1, 2, 3], updates, authors, strict=True)
    )
    state = CollabState.objects.get(document=document)
    assert state.last_seq == 3 and state.size_bytes == len(bytes(state.state)) + sum(map(len, updates))
    assert " one two three" in fragment_to_markdown(stored_doc(document.pk).get("content", type=pycrdt.XmlFragment))
