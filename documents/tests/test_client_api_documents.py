"""The existing web client's document calls (SPEC §3.9), replayed as its code sends them (no If-Match):
`POST documents?workspace_id=`, `GET documents/workspace/{wid}`, and `PATCH documents/{id}` carrying
`expected_yjs_version` and/or `yjs_state_b64`."""

import base64
import uuid

import pycrdt
import pytest
from django.db import connection

from documents.models import Document, DocumentStar, DocumentVersion
from documents.services.documents import document_delete, document_star
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    CREATORS,
    EDITORS,
    MISSING_ID,
    READERS,
    assert_clean_sync,
    assert_problem,
    assert_refused,
    assert_validation,
    doc_url,
    fresh,
    last_seq,
    outcome,
    sha,
    state,
    sync_entries,
    tags_of,
    user_summary,
)
from workspaces.tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

# What the client reads from a document (its api.types `Document`, SelectiveSyncService, BackendWorkspaceService).
CLIENT_READS = {
    "id", "workspace_id", "folder_id", "title", "content", "content_type", "version", "yjs_version", "is_starred",
    "tags", "created_at", "updated_at",
}


def create_url(workspace) -> str:
    return f"/api/v1/documents?workspace_id={getattr(workspace, 'pk', workspace)}"


def list_url(workspace, query: str = "") -> str:
    return f"/api/v1/documents/workspace/{getattr(workspace, 'pk', workspace)}{query}"


def client_doc(*paragraphs: str) -> pycrdt.Doc:
    """A Yjs document as the client's editor holds it: paragraphs in the `content` fragment."""
    doc = pycrdt.Doc()
    fragment = doc.get("content", type=pycrdt.XmlFragment)
    for text in paragraphs:
        fragment.children.append(pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText(text)]))
    return doc


def b64(update: bytes) -> str:
    return base64.b64encode(update).decode("ascii")


def decoded(state_b64: str) -> pycrdt.Doc:
    doc = pycrdt.Doc()
    doc.apply_update(base64.b64decode(state_b64))
    return doc


def live_seq(document) -> int:
    """The last update seq of the document's live state (0 without one), read from the database."""
    return Document.objects.filter(pk=document.pk).values_list("collab_state__last_seq", flat=True).first() or 0


def served_state(client, document) -> dict:
    response = client.get(doc_url(document, "/yjs-state"))
    assert response.status_code == 200
    return response.json()


# --- POST documents?workspace_id= ---------------------------------------------------------------------------


def test_client_api_documents_create_as_selective_sync_pushes_it(team):
    """SelectiveSyncService.pushDocument's body: client id, content, the editor's whole Yjs state, a star, tags."""
    folder = FolderFactory(workspace=team.workspace, name="Notes")
    document_id, seq = uuid.uuid4(), last_seq(team.workspace)
    editor = client_doc("Hello there", "Second paragraph")
    body = {
        "id": str(document_id), "title": "Pushed", "content_type": "markdown", "folder_id": str(folder.pk),
        "is_starred": True, "tags": ["alpha", "Beta"], "content": "Hello there\n\nSecond paragraph\n",
        "yjs_state_b64": b64(editor.get_update()),
    }
    response = team.client("editor").post(create_url(team.workspace), body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    document = fresh(Document(pk=document_id))
    assert response["Location"] == f"/api/v1/documents/{document_id}"
    assert response["ETag"] == f'"{document.content_hash}"'
    assert CLIENT_READS | {"yjs_state_b64"} <= set(data)
    # The content is materialized from the state, each paragraph once.
    assert document.content == "Hello there\n\nSecond paragraph\n" == data["content"]
    assert data["content_hash"] == sha(document.content)
    assert (data["id"], data["folder_id"], data["title"]) == (str(document_id), str(folder.pk), "Pushed")
    assert (data["type"], data["content_type"]) == ("markdown", "markdown")
    assert data["is_starred"] is True
    assert DocumentStar.objects.filter(user=team.user("editor"), document=document).exists()
    assert data["tags"] == tags_of(document) == ["alpha", "Beta"]
    assert data["version"] == data["version_count"] == document.versions.count() == 1
    served = served_state(team.client("viewer"), document)
    assert data["yjs_version"] == served["last_seq"] >= 1
    assert data["yjs_state_b64"] == served["state_b64"]
    # The server's live document is exactly the client's: its next push merges instead of duplicating, and
    # no empty paragraph of the (empty) starting content sits next to the client's blocks.
    served_doc = decoded(data["yjs_state_b64"])
    assert served_doc.get_state() == editor.get_state()
    assert len(served_doc.get("content", type=pycrdt.XmlFragment).children) == 2
    assert (data["creator"], data["access"]["role"]) == (user_summary(team.user("editor")), "editor")
    entries = sync_entries(team.workspace, seq)
    assert [(entry.entity_id, entry.operation) for entry in entries][0] == (document_id, "create")
    assert entries[-1].content_hash == document.content_hash
    for entry in entries:
        assert_clean_sync(entry)


def test_client_api_documents_create_as_the_offline_queue_sends_it(team):
    """SyncManager's create: no id, no state; `workspace_id` only in the query string."""
    body = {"title": "Offline", "content": "# Written offline\n", "content_type": "markdown", "folder_id": None}
    response = team.client("owner").post(create_url(team.workspace), body, format="json")
    assert response.status_code == 201
    data = response.json()
    document = fresh(Document(pk=data["id"]))
    assert document.workspace_id == team.workspace.pk and document.content == "# Written offline\n"
    assert (data["content_type"], data["version"], data["is_starred"], data["tags"]) == ("markdown", 1, False, [])
    assert document.versions.get().source == DocumentVersion.Source.AUTO
    assert data["yjs_version"] == 0 and "yjs_state_b64" in data


def test_client_api_documents_create_text_is_markdown_and_mindmaps_keep_their_type(team):
    text = team.client("owner").post(create_url(team.workspace), {"title": "T", "content_type": "text"}, format="json")
    assert text.status_code == 201 and text.json()["content_type"] == "markdown"
    content = '{"nodes": [], "edges": []}'
    body = {"title": "Map", "content_type": "mindmap", "content": content}
    mindmap = team.client("owner").post(create_url(team.workspace), body, format="json")
    assert mindmap.status_code == 201
    assert (mindmap.json()["type"], mindmap.json()["content_type"]) == ("mindmap", "mindmap")
    assert "yjs_state_b64" not in mindmap.json() and fresh(Document(pk=mindmap.json()["id"])).content == content


def test_client_api_documents_create_keeps_the_markdown_when_the_state_holds_no_content(team):
    """A state without the editor's `content` fragment is merged, but the markdown sent is not lost."""
    other = pycrdt.Doc()
    other.get("notes", type=pycrdt.Text).insert(0, "not the editor")
    body = {"title": "Odd", "content": "Kept text\n", "yjs_state_b64": b64(other.get_update())}
    response = team.client("owner").post(create_url(team.workspace), body, format="json")
    assert response.status_code == 201
    assert fresh(Document(pk=response.json()["id"])).content == "Kept text\n" == response.json()["content"]


def test_client_api_documents_create_null_optional_fields_are_absent(team):
    body = {"title": "Nulls", "content": "x\n", "tags": None, "is_starred": None, "yjs_state_b64": None}
    response = team.client("owner").post(create_url(team.workspace), body, format="json")
    assert response.status_code == 201
    assert (response.json()["tags"], response.json()["is_starred"]) == ([], False)


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_documents_create_every_actor(team, actor):
    before = state(team.workspace)
    body = {"title": "Mine", "content": "text\n", "content_type": "markdown", "is_starred": True,
            "yjs_state_b64": b64(client_doc("text").get_update())}
    response = team.client(actor).post(create_url(team.workspace), body, format="json")
    expected = outcome(actor, CREATORS, ok=201)
    if expected != 201:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 201
    assert fresh(Document(pk=response.json()["id"])).created_by == team.user(actor)


def test_client_api_documents_create_in_a_missing_workspace_is_404(team):
    response = team.client("owner").post(create_url(MISSING_ID), {"title": "T"}, format="json")
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ("", {"title": "T"}, "workspace_id"),
        ("?workspace_id=nope", {"title": "T"}, "workspace_id"),
        (None, {"content": "no title"}, "title"),
        (None, {"title": "T", "content_type": "json"}, "content_type"),
        (None, {"title": "T", "yjs_state_b64": "%%% not base64"}, "yjs_state_b64"),
        (None, {"title": "T", "is_starred": "yes"}, "is_starred"),
        (None, {"title": "T", "folder_id": "nope"}, "folder_id"),
        (None, {"title": "T", "folder_id": MISSING_ID}, "folder_id"),
    ],
)
def test_client_api_documents_create_bad_input_is_400_and_writes_nothing(team, query, body, field):
    before = state(team.workspace)
    url = create_url(team.workspace) if query is None else f"/api/v1/documents{query}"
    assert_validation(team.client("owner").post(url, body, format="json"), field)
    assert state(team.workspace) == before


def test_client_api_documents_create_with_an_undecodable_state_creates_nothing(team):
    before = state(team.workspace)
    body = {"title": "T", "content": "x\n", "yjs_state_b64": b64(b"\xff\x01 not a yjs update")}
    response = team.client("owner").post(create_url(team.workspace), body, format="json")
    assert set(assert_problem(response, 400, "invalid-yjs-update")["errors"]) == {"yjs_state_b64"}
    assert state(team.workspace) == before


def test_client_api_documents_create_a_mindmap_with_a_state_is_409_and_creates_nothing(team):
    before = state(team.workspace)
    body = {"title": "M", "content_type": "mindmap", "yjs_state_b64": b64(client_doc("x").get_update())}
    response = team.client("owner").post(create_url(team.workspace), body, format="json")
    assert_problem(response, 409, "not-collaborative")
    assert state(team.workspace) == before


def test_client_api_documents_create_with_an_existing_id_is_409(team, document):
    body = {"id": str(document.pk), "title": "Again", "content": "x\n"}
    assert_problem(team.client("owner").post(create_url(team.workspace), body, format="json"), 409, "id-exists")


# --- GET documents/workspace/{wid} --------------------------------------------------------------------------


def test_client_api_documents_list_gives_every_live_document_with_content(team, document):
    second = DocumentFactory(workspace=team.workspace, title="Second", content="Two\n", tags=["t"])
    gone = DocumentFactory(workspace=team.workspace, title="Trashed")
    document_delete(actor=team.user("owner"), document=gone)
    DocumentFactory(workspace=WorkspaceFactory(owner=team.user("viewer")), title="Elsewhere")
    document_star(document=second, user=team.user("viewer"), starred=True)
    edit = client_doc("Live edit")
    assert team.client("editor").post(
        doc_url(document, "/yjs-state"), {"update_b64": b64(edit.get_update())}, format="json"
    ).status_code == 200
    response = team.client("viewer").get(list_url(team.workspace))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"items", "total"} and data["total"] == 2
    items = {item["id"]: item for item in data["items"]}
    assert set(items) == {str(document.pk), str(second.pk)}
    assert [item["id"] for item in data["items"]] == [str(document.pk), str(second.pk)]  # last changed first
    for item in data["items"]:
        assert CLIENT_READS <= set(item)
        stored = fresh(Document(pk=item["id"]))
        assert (item["content"], item["content_type"], item["title"]) == (stored.content, stored.type, stored.title)
        assert item["version"] == item["version_count"] == stored.versions.count()
        assert item["tags"] == tags_of(stored)
        assert "yjs_state_b64" not in item  # lists do not carry the state (SPEC §3.3)
    assert (items[str(second.pk)]["is_starred"], items[str(document.pk)]["is_starred"]) == (True, False)
    assert items[str(document.pk)]["yjs_version"] == served_state(team.client("viewer"), document)["last_seq"] > 0
    assert items[str(second.pk)]["yjs_version"] == 0
    assert items[str(document.pk)]["access"]["role"] == "viewer"


def test_client_api_documents_list_statements_do_not_grow_with_the_documents(team, django_assert_max_num_queries):
    DocumentFactory(workspace=team.workspace, tags=["a"])
    client = team.client("editor")
    client.get(list_url(team.workspace))  # the token's session check is cached from here on
    statements = []
    # Counted by a wrapper: a request's start clears the connection's query log that CaptureQueriesContext reads.
    with connection.execute_wrapper(lambda execute, *args: statements.append(1) or execute(*args)):
        assert client.get(list_url(team.workspace)).status_code == 200
    for number in range(25):
        document = DocumentFactory(workspace=team.workspace, tags=["a", f"t{number}"])
        document_star(document=document, user=team.user("editor"), starred=bool(number % 2))
        if number % 5 == 0:  # some with a live state
            client.post(doc_url(document, "/yjs-state"), {"update_b64": b64(client_doc("x").get_update())},
                        format="json")
    with django_assert_max_num_queries(len(statements)):
        response = client.get(list_url(team.workspace))
    assert response.json()["total"] == 26 and len(response.json()["items"]) == 26


def test_client_api_documents_list_pages_with_skip_and_limit(team):
    made = [DocumentFactory(workspace=team.workspace, title=f"D{n}") for n in range(5)]
    newest_first = [str(document.pk) for document in reversed(made)]
    page = team.client("viewer").get(list_url(team.workspace, "?skip=1&limit=2")).json()
    assert page["total"] == 5 and [item["id"] for item in page["items"]] == newest_first[1:3]
    rest = team.client("viewer").get(list_url(team.workspace, "?skip=3")).json()
    assert rest["total"] == 5 and [item["id"] for item in rest["items"]] == newest_first[3:]


@pytest.mark.parametrize(("query", "field"), [("?limit=0", "limit"), ("?limit=x", "limit"), ("?skip=-1", "skip")])
def test_client_api_documents_list_bad_paging_is_400(team, query, field):
    assert_validation(team.client("viewer").get(list_url(team.workspace, query)), field)


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_documents_list_every_actor(team, document, actor):
    response = team.client(actor).get(list_url(team.workspace))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    assert [item["id"] for item in response.json()["items"]] == [str(document.pk)]


@pytest.mark.parametrize("wid", [MISSING_ID, "not-a-uuid"])
def test_client_api_documents_list_of_an_unknown_workspace_is_404(team, wid):
    assert_problem(team.client("owner").get(list_url(wid)), 404, "not-found")


# --- PATCH documents/{id} in the client's dialect -----------------------------------------------------------


def _opened(client, document) -> tuple[pycrdt.Doc, int]:
    """What the client does on opening a document: apply the detail's state, remember its version."""
    body = client.get(doc_url(document)).json()
    return decoded(body["yjs_state_b64"]), body["yjs_version"]


def test_client_api_documents_patch_as_selective_sync_pushes_it(team, document):
    """pushDocument's PATCH: metadata, the markdown, the whole state and the version it last saw."""
    client = team.client("editor")
    folder = FolderFactory(workspace=team.workspace)
    editor, seen = _opened(client, document)
    editor.get("content", type=pycrdt.XmlFragment).children.append(
        pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText("Second line.")])
    )
    seq, versions = last_seq(team.workspace), document.versions.count()
    body = {
        "title": "Renamed", "folder_id": str(folder.pk), "is_starred": True, "tags": ["pushed"],
        "content": "# Plan\n\nFirst line.\n\nSecond line.\n", "yjs_state_b64": b64(editor.get_update()),
        "expected_yjs_version": seen,
    }
    response = client.patch(doc_url(document), body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    stored = fresh(document)
    assert stored.content == "# Plan\n\nFirst line.\n\nSecond line.\n" == data["content"]  # each block once
    assert (stored.title, stored.folder_id, tags_of(stored)) == ("Renamed", folder.pk, ["pushed"])
    assert data["is_starred"] is True and DocumentStar.objects.filter(user=team.user("editor"), document=document).exists()
    assert stored.versions.count() == data["version"] == versions + 1
    served = served_state(client, document)
    assert data["yjs_version"] == served["last_seq"] == live_seq(document) > seen
    assert data["yjs_state_b64"] == served["state_b64"]
    assert response["ETag"] == f'"{stored.content_hash}"'
    assert sync_entries(team.workspace, seq)[-1].content_hash == stored.content_hash
    # The version it answered with is the precondition of the next push.
    again = client.patch(doc_url(document), {"title": "Again", "expected_yjs_version": data["yjs_version"]},
                         format="json")
    assert again.status_code == 200 and fresh(document).title == "Again"


def test_client_api_documents_patch_with_a_stale_yjs_version_is_409_and_changes_nothing(team, document):
    client = team.client("editor")
    editor, seen = _opened(client, document)
    live = client_doc("Someone else, live")
    assert client.post(doc_url(document, "/yjs-state"), {"update_b64": b64(live.get_update())},
                       format="json").status_code == 200
    before, seq_before = state(team.workspace), live_seq(document)
    body = {"title": "Mine", "content": "mine\n", "yjs_state_b64": b64(editor.get_update()),
            "expected_yjs_version": seen, "is_starred": True}
    response = client.patch(doc_url(document), body, format="json")
    problem = assert_problem(response, 409, "edit-conflict")
    stored = fresh(document)
    assert problem["server_version"] == {
        "content_hash": stored.content_hash, "title": stored.title, "updated_at": problem["server_version"]["updated_at"],
        "updated_by": user_summary(stored.updated_by), "yjs_version": seq_before,
    }
    assert state(team.workspace) == before and live_seq(document) == seq_before


def test_client_api_documents_patch_content_with_a_current_yjs_version_needs_no_if_match(team, document):
    client = team.client("editor")
    _, seen = _opened(client, document)
    response = client.patch(doc_url(document), {"content": "Replaced.\n", "expected_yjs_version": seen},
                            format="json")
    assert response.status_code == 200
    assert fresh(document).content == "Replaced.\n" == response.json()["content"]
    assert response.json()["yjs_version"] == live_seq(document)


def test_client_api_documents_patch_a_never_opened_document_expects_version_0(team, document):
    response = team.client("editor").patch(doc_url(document), {"content": "New.\n", "expected_yjs_version": 0},
                                           format="json")
    assert response.status_code == 200 and fresh(document).content == "New.\n"


def test_client_api_documents_patch_state_wins_over_the_markdown_sent(team, document):
    """With a state and no precondition the state is merged; the markdown sent is not written over it."""
    client = team.client("editor")
    editor, _ = _opened(client, document)
    editor.get("content", type=pycrdt.XmlFragment).children.append(
        pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText("Added.")])
    )
    body = {"content": "Something else entirely\n", "yjs_state_b64": b64(editor.get_update())}
    response = client.patch(doc_url(document), body, format="json")
    assert response.status_code == 200
    assert fresh(document).content == "# Plan\n\nFirst line.\n\nAdded.\n" == response.json()["content"]


def test_client_api_documents_patch_the_same_state_twice_changes_nothing_more(team, document):
    client = team.client("editor")
    editor, _ = _opened(client, document)
    editor.get("content", type=pycrdt.XmlFragment).children.append(
        pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText("Once.")])
    )
    body = {"yjs_state_b64": b64(editor.get_update())}
    first = client.patch(doc_url(document), body, format="json").json()
    seq, versions = last_seq(team.workspace), fresh(document).versions.count()
    second = client.patch(doc_url(document), body, format="json").json()
    assert second["yjs_version"] == first["yjs_version"] and second["content"] == first["content"]
    assert (last_seq(team.workspace), fresh(document).versions.count()) == (seq, versions)


def test_client_api_documents_patch_content_without_any_precondition_is_still_428(team, document):
    """SyncManager's update: content, no If-Match, no version, no state (nulls are absent)."""
    before = state(team.workspace)
    body = {"title": "T", "content": "x\n", "expected_yjs_version": None, "yjs_state_b64": None}
    assert_problem(team.client("editor").patch(doc_url(document), body, format="json"), 428, "precondition-required")
    assert state(team.workspace) == before


def test_client_api_documents_patch_stale_if_match_wins_over_the_state(team, document):
    client = team.client("editor")
    editor, seen = _opened(client, document)
    before, seq_before = state(team.workspace), live_seq(document)
    body = {"yjs_state_b64": b64(client_doc("x").get_update()), "expected_yjs_version": seen}
    response = client.patch(doc_url(document), body, format="json", HTTP_IF_MATCH='"stale"')
    assert_problem(response, 412, "edit-conflict")
    assert state(team.workspace) == before and live_seq(document) == seq_before


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_documents_patch_with_a_state_every_actor(team, document, actor):
    editor, seen = _opened(team.client("owner"), document)
    editor.get("content", type=pycrdt.XmlFragment).children.append(
        pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText("By someone.")])
    )
    before, seq_before = state(team.workspace), live_seq(document)
    body = {"yjs_state_b64": b64(editor.get_update()), "expected_yjs_version": seen, "content": "x\n"}
    response = team.client(actor).patch(doc_url(document), body, format="json")
    expected = outcome(actor, EDITORS)
    if expected != 200:
        assert_refused(response, expected)
        assert state(team.workspace) == before and live_seq(document) == seq_before
        return
    assert response.status_code == 200
    assert fresh(document).content.endswith("By someone.\n")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"yjs_state_b64": "%%%"}, "yjs_state_b64"),
        ({"expected_yjs_version": -1}, "expected_yjs_version"),
        ({"expected_yjs_version": "latest"}, "expected_yjs_version"),
        ({"yjs_state_b64": 12}, "yjs_state_b64"),
    ],
)
def test_client_api_documents_patch_bad_client_fields_are_400(team, document, body, field):
    before = state(team.workspace)
    assert_validation(team.client("editor").patch(doc_url(document), body, format="json"), field)
    assert state(team.workspace) == before


def test_client_api_documents_patch_an_undecodable_state_is_400_and_changes_nothing(team, document):
    before, seq_before = state(team.workspace), live_seq(document)
    body = {"title": "Not applied", "yjs_state_b64": b64(b"\xff\x00garbage")}
    refused = assert_problem(team.client("editor").patch(doc_url(document), body, format="json"), 400, "invalid-yjs-update")
    assert set(refused["errors"]) == {"yjs_state_b64"}
    assert state(team.workspace) == before and live_seq(document) == seq_before
