"""Materialization and REST writes on a live document that already holds non-XML items in its root `content`
(a Y.Text, Y.Array, Y.Map or a plain value put there by a foreign client before such updates were refused).

Such an item hides every later sibling from pycrdt's view of the fragment; the editors still see them.
Materialization skips the foreign items and serializes every XML node; a REST write removes them, so the
live document and the markdown hold the same blocks again (SPEC §5.4, §5.7).
"""

import pycrdt
import pytest

from collab import services, store
from collab.markdown import content_fragment, markdown_to_update
from collab.models import CollabState
from collab.tests.live import LIVE_MARKDOWN, normalized, stored_doc, stored_markdown
from documents.models import Document

pytestmark = pytest.mark.django_db

FOREIGN = {
    "text": lambda: pycrdt.Text("stray text"),
    "array": lambda: pycrdt.Array([1, "two"]),
    "map": lambda: pycrdt.Map({"key": "value"}),
    "value": lambda: "a plain string",
}
EDITED = "# Title\n\nFirst paragraph.\n\nSecond paragraph. Typed live.\n\nAdded live.\n"


def _store(document_id, edit, user) -> None:
    """Apply `edit(doc)` to the stored document and accept the resulting update as a room would."""
    doc = stored_doc(document_id)
    before = doc.get_state()
    edit(doc)
    store.append_updates(document_id, [(doc.get_update(before), user.pk)])


def _put_foreign(document_id, kind: str, index: int, user) -> None:
    """A foreign client's update: `content` used as a Y.Array, one non-XML item inserted at `index`."""
    _store(document_id, lambda doc: doc.get("content", type=pycrdt.Array).insert(index, FOREIGN[kind]()), user)


def _editor_view(doc: pycrdt.Doc) -> list[str]:
    """The XML nodes an editor binds, in order, as XML text (read through an array view: nothing is hidden)."""
    items = doc.get("content", type=pycrdt.Array)
    return [str(item) for item in items if isinstance(item, pycrdt.XmlElement | pycrdt.XmlText)]


def _hydrated_view(markdown: str) -> list[str]:
    doc = pycrdt.Doc()
    doc.apply_update(markdown_to_update(markdown))
    return _editor_view(doc)


def _type_live(document_id, user) -> None:
    """An editor's edits after the foreign item: text appended to the last block, a new block at the end."""

    def edit(doc):
        fragment = content_fragment(doc)
        last = max(index for index, item in enumerate(doc.get("content", type=pycrdt.Array))
                   if isinstance(item, pycrdt.XmlElement))
        run = fragment.children[last].children[0]
        run.insert(len(run), " Typed live.")
        fragment.children.insert(len(fragment.children), pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText()]))
        fragment.children[len(fragment.children) - 1].children[0].insert(0, "Added live.")

    _store(document_id, edit, user)


@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("index", [0, 2], ids=["first", "between_blocks"])
def test_materialize_robust_later_live_edits_reach_the_markdown(team, live_doc, kind, index):
    store.ensure_state(live_doc.pk)
    _put_foreign(live_doc.pk, kind, index, team.user("editor"))
    _type_live(live_doc.pk, team.user("editor"))
    assert services.collab_materialize(live_doc.pk) is True
    document = Document.objects.get(pk=live_doc.pk)
    assert document.content == EDITED
    assert document.versions.order_by("-version_number").first().content == EDITED
    assert stored_markdown(live_doc.pk) == EDITED
    record = CollabState.objects.get(document_id=live_doc.pk)
    assert record.materialized_seq == record.last_seq


@pytest.mark.parametrize("kind", FOREIGN)
def test_materialize_robust_rest_write_brings_live_and_markdown_together(team, live_doc, kind):
    store.ensure_state(live_doc.pk)
    _put_foreign(live_doc.pk, kind, 2, team.user("editor"))
    written = LIVE_MARKDOWN.replace("First paragraph.", "First paragraph, rewritten.") + "\nA third one.\n"
    response = team.client("editor").patch(
        f"/api/v1/documents/{live_doc.pk}", {"content": written}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 200, response.content
    assert Document.objects.get(pk=live_doc.pk).content == written
    # What the editors see is what was written; the foreign item is gone, nothing hides behind it.
    doc = stored_doc(live_doc.pk)
    assert _editor_view(doc) == _hydrated_view(written)
    assert len(doc.get("content", type=pycrdt.Array)) == len(_hydrated_view(written))
    # Live edits after the write reach the markdown.
    _type_live(live_doc.pk, team.user("editor"))
    assert services.collab_materialize(live_doc.pk) is True
    expected = normalized(written.replace("A third one.", "A third one. Typed live.") + "\nAdded live.\n")
    assert Document.objects.get(pk=live_doc.pk).content == expected
    assert _editor_view(stored_doc(live_doc.pk)) == _hydrated_view(expected)


def test_materialize_robust_unknown_elements_are_kept_next_to_foreign_items(team, live_doc):
    store.ensure_state(live_doc.pk)

    def add_callout(doc):
        callout = pycrdt.XmlElement("callout", {"kind": "note"}, [pycrdt.XmlElement("paragraph", {})])
        content_fragment(doc).children.insert(1, callout)
        callout.children[0].children.insert(0, pycrdt.XmlText("Careful here."))

    _store(live_doc.pk, add_callout, team.user("editor"))
    _put_foreign(live_doc.pk, "text", 0, team.user("editor"))
    _type_live(live_doc.pk, team.user("editor"))
    assert services.collab_materialize(live_doc.pk) is True
    # An unknown element contributes its text (SPEC §5.7).
    materialized = Document.objects.get(pk=live_doc.pk).content
    assert materialized == EDITED.replace("# Title\n\n", "# Title\n\nCareful here.\n\n")
    callout = next(item for item in _editor_view(stored_doc(live_doc.pk)) if item.startswith("<callout"))
    # A REST write that leaves its block alone keeps the unknown element as it is in the CRDT.
    written = materialized.replace("Added live.", "Added live, then rewritten.")
    response = team.client("editor").patch(
        f"/api/v1/documents/{live_doc.pk}", {"content": written}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 200, response.content
    view = _editor_view(stored_doc(live_doc.pk))
    assert callout in view and view.index(callout) == 1
    assert stored_markdown(live_doc.pk) == written
