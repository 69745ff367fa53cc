"""GET documents/{id} carries the live Yjs state of a markdown document (SPEC decision 39)."""

import base64

import pycrdt
import pytest

from collab.markdown import content_fragment, fragment_to_markdown
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import doc_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(team):
    return DocumentFactory(workspace=team.workspace, title="Design notes", content="# Plan\n\nFirst line.\n")


def test_api_document_detail_carries_the_live_state_that_holds_each_block_once(team, document):
    """The state in the detail is the server's hydrated document: applied by a client, its content
    fragment renders the stored markdown (so the client need not seed it), and live edits show in it."""
    reader = team.client("viewer")
    body = reader.get(doc_url(document)).json()
    doc = pycrdt.Doc()
    doc.apply_update(base64.b64decode(body["yjs_state_b64"]))
    assert fragment_to_markdown(content_fragment(doc)) == document.content
    before = doc.get_state()
    content_fragment(doc).children.append(pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText("Second line.")]))
    edit = doc.get_update(before)
    assert team.client("editor").post(
        f"/api/v1/documents/{document.pk}/yjs-state", {"update_b64": base64.b64encode(edit).decode()}, format="json"
    ).status_code == 200
    later = reader.get(doc_url(document)).json()
    assert later["yjs_version"] > body["yjs_version"]
    again = pycrdt.Doc()
    again.apply_update(base64.b64decode(later["yjs_state_b64"]))
    assert fragment_to_markdown(content_fragment(again)) == "# Plan\n\nFirst line.\n\nSecond line.\n" == later["content"]

