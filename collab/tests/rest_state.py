"""What the REST tests of a document's live Yjs state share (yjs-state, the client's snapshot): the readers, the
text the `document` fixture starts from, the served state fetched, decoded and edited as a client would, and the
markdown the document then serves."""

from __future__ import annotations

import base64

import pycrdt

from collab.markdown import fragment_to_markdown

READERS = ("owner", "admin", "editor", "commenter", "viewer")
TEXT = "# Shared\n\nOne paragraph.\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def yjs_state_url(document_id) -> str:
    return f"/api/v1/documents/{document_id}/yjs-state"


def served_state(client, document_id) -> bytes:
    """The document's live state as GET yjs-state serves it to `client`."""
    response = client.get(yjs_state_url(document_id))
    assert response.status_code == 200, response.content
    return base64.b64decode(response.json()["state_b64"])


def post_update(client, document_id, update: bytes):
    """POST yjs-state of `update` by `client`; the response."""
    return client.post(yjs_state_url(document_id), {"update_b64": b64(update)}, format="json")


def content_of(client, document_id) -> str:
    """The document's markdown as GET documents/{id} serves it to `client`."""
    response = client.get(f"/api/v1/documents/{document_id}")
    assert response.status_code == 200, response.content
    return response.json()["content"]


def served_doc(state_b64: str, base: pycrdt.Doc | None = None) -> pycrdt.Doc:
    """`base` (a fresh Doc when None) with the base64 state or update applied."""
    doc = base or pycrdt.Doc()
    doc.apply_update(base64.b64decode(state_b64))
    return doc


def content_markdown(doc: pycrdt.Doc) -> str:
    return fragment_to_markdown(doc.get("content", type=pycrdt.XmlFragment))


def appended(state_b64: str, suffix: str, *, whole: bool = False) -> bytes:
    """A client's edit appending `suffix` to the last paragraph of the served state: the update since that state,
    or with `whole` the client's whole state after the edit (`Y.encodeStateAsUpdate(ydoc)`)."""
    doc = served_doc(state_b64)
    before = doc.get_state()
    blocks = doc.get("content", type=pycrdt.XmlFragment).children
    run = blocks[len(blocks) - 1].children[0]
    run.insert(len(run), suffix)
    return doc.get_update() if whole else doc.get_update(before)
