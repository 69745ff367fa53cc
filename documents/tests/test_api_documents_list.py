"""GET workspaces/{wid}/documents: members; cursor pages per sort and order, filters, 400 on bad params."""

import itertools
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from documents.content import content_hash
from documents.cursors import encode_cursor
from documents.models import Document, DocumentStar, DocumentTag, DocumentVersion
from documents.services.documents import document_delete
from documents.services.search_index import search_vector_expression
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    READERS,
    SUMMARY_FIELDS,
    assert_problem,
    assert_refused,
    assert_summary_matches,
    assert_validation,
    client_for,
    doc_url,
    docs_url,
    outcome,
)
from workspaces.services.operators import membership_deactivate
from workspaces.tests.factories import MemberFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

LIST_FIELDS = {"documents", "cursor", "has_more", "total"}


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_list_every_actor(team, actor):
    mine = [DocumentFactory(workspace=team.workspace, tags=["a"]) for _ in range(2)]
    DocumentFactory()  # another workspace
    response = team.client(actor).get(docs_url(team.workspace))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == LIST_FIELDS
    assert (body["total"], body["has_more"], body["cursor"]) == (2, False, None)
    # Default order: most recently updated first.
    assert [d["id"] for d in body["documents"]] == [str(mine[1].pk), str(mine[0].pk)]
    for item, document in zip(body["documents"], reversed(mine), strict=True):
        assert set(item) == SUMMARY_FIELDS
        assert_summary_matches(item, document, user=team.user(actor))


def test_api_documents_list_summary_has_the_callers_star_and_version_count(team):
    document = DocumentFactory(workspace=team.workspace)
    team.client("editor").patch(f"/api/v1/documents/{document.pk}", {"content": "v2"}, format="json", HTTP_IF_MATCH="*")
    team.client("viewer").post(f"/api/v1/documents/{document.pk}/star")
    viewer = team.client("viewer").get(docs_url(team.workspace)).json()["documents"][0]
    owner = team.client("owner").get(docs_url(team.workspace)).json()["documents"][0]
    assert (viewer["is_starred"], owner["is_starred"]) == (True, False)
    assert viewer["version_count"] == 2 and viewer["last_editor"]["id"] == str(team.user("editor").pk)


def test_api_documents_list_skips_deleted_documents(team):
    live = DocumentFactory(workspace=team.workspace)
    gone = DocumentFactory(workspace=team.workspace)
    document_delete(actor=team.user("owner"), document=gone)
    body = team.client("viewer").get(docs_url(team.workspace)).json()
    assert [d["id"] for d in body["documents"]] == [str(live.pk)] and body["total"] == 1


# --- cursor pagination ---------------------------------------------------------------------------


@pytest.fixture
def paged(team):
    """Seven documents with ties in every sort key, so only the id tie-break keeps pages apart."""
    titles = ["delta", "alpha", "charlie", "charlie", "bravo", "echo", "alpha"]
    documents = [DocumentFactory(workspace=team.workspace, title=title) for title in titles]
    moment = timezone.now() - timedelta(hours=1)
    # Identical timestamps for some rows: ties on updated_at and on created_at.
    Document.objects.filter(pk__in=[documents[0].pk, documents[3].pk, documents[5].pk]).update(updated_at=moment)
    Document.objects.filter(pk__in=[documents[1].pk, documents[2].pk]).update(created_at=moment)
    return list(Document.objects.filter(pk__in=[d.pk for d in documents]))


def _expected(documents, sort: str, order: str) -> list[str]:
    rows = sorted(documents, key=lambda d: (getattr(d, sort), str(d.pk)), reverse=order == "desc")
    return [str(d.pk) for d in rows]


def _walk(client, url, params) -> tuple[list[str], list[dict]]:
    seen, pages, cursor = [], [], None
    for _ in range(20):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        page = response.json()
        pages.append(page)
        seen.extend(d["id"] for d in page["documents"])
        cursor = page["cursor"]
        if not page["has_more"]:
            assert cursor is None
            return seen, pages
        assert cursor
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("sort, order", list(itertools.product(["updated_at", "created_at", "title"], ["asc", "desc"])))
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_api_documents_list_cursor_walks_every_row_once(team, paged, sort, order, limit):
    client = team.client("viewer")
    seen, pages = _walk(client, docs_url(team.workspace), {"sort": sort, "order": order, "limit": limit})
    assert seen == _expected(paged, sort, order)  # no duplicate, no gap, in order
    assert len(seen) == len(set(seen)) == 7
    assert all(page["total"] == 7 for page in pages)
    assert [len(page["documents"]) for page in pages[:-1]] == [limit] * (len(pages) - 1)


def test_api_documents_list_limit_covering_everything_has_no_cursor(team, paged):
    body = team.client("viewer").get(docs_url(team.workspace), {"limit": 7}).json()
    assert (len(body["documents"]), body["has_more"], body["cursor"], body["total"]) == (7, False, None, 7)
    body = team.client("viewer").get(docs_url(team.workspace), {"limit": 6}).json()
    assert (len(body["documents"]), body["has_more"], body["total"]) == (6, True, 7)


def test_api_documents_list_default_limit_is_50(team):
    workspace = team.workspace
    Document.objects.bulk_create(
        Document(workspace=workspace, title=f"Bulk {i:03d}", content_hash=content_hash(""), created_by=workspace.owner)
        for i in range(55)
    )
    body = team.client("viewer").get(docs_url(workspace)).json()
    assert len(body["documents"]) == 50 and body["has_more"] is True and body["total"] == 55
    rest = team.client("viewer").get(docs_url(workspace), {"cursor": body["cursor"]}).json()
    assert len(rest["documents"]) == 5 and rest["has_more"] is False
    assert not {d["id"] for d in body["documents"]} & {d["id"] for d in rest["documents"]}


def test_api_documents_list_cursor_survives_edits_between_pages(team, paged):
    client = team.client("viewer")
    first = client.get(docs_url(team.workspace), {"sort": "title", "order": "asc", "limit": 3}).json()
    DocumentFactory(workspace=team.workspace, title="aaa first")  # sorts before the cursor: not seen
    DocumentFactory(workspace=team.workspace, title="zulu")  # after it: seen
    rest, _ = _walk(
        client, docs_url(team.workspace), {"sort": "title", "order": "asc", "limit": 3, "cursor": first["cursor"]}
    )
    titles = [Document.objects.get(pk=pk).title for pk in [d["id"] for d in first["documents"]] + rest]
    assert titles == ["alpha", "alpha", "bravo", "charlie", "charlie", "delta", "echo", "zulu"]


# --- filters ----------------------------------------------------------------------------------------


@pytest.fixture
def varied(team):
    folder = FolderFactory(workspace=team.workspace, name="Specs")
    docs = {
        "plan": DocumentFactory(
            workspace=team.workspace,
            title="Plan",
            tags=["Plan", "q3"],
            folder=folder,
            content="The zeppelin launches in spring.",
        ),
        "map": DocumentFactory(workspace=team.workspace, title="Zeppelin map", mindmap=True, tags=["PLAN"]),
        "deck": DocumentFactory(
            workspace=team.workspace, title="Deck", presentation=True, tags=["slides"], folder=folder
        ),
        "notes": DocumentFactory(workspace=team.workspace, title="Notes", content="nothing to see", tags=[]),
    }
    DocumentStar.objects.create(user=team.user("viewer"), document=docs["plan"])
    DocumentStar.objects.create(user=team.user("viewer"), document=docs["deck"])
    DocumentStar.objects.create(user=team.user("owner"), document=docs["notes"])
    return folder, docs


def _titles(team, params, actor="viewer") -> tuple[set[str], int]:
    body = team.client(actor).get(docs_url(team.workspace), params).json()
    assert body["total"] == len(body["documents"])
    return {d["title"] for d in body["documents"]}, body["total"]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"type": "markdown"}, {"Plan", "Notes"}),
        ({"type": "mindmap"}, {"Zeppelin map"}),
        ({"type": "presentation"}, {"Deck"}),
        ({"tags": "plan"}, {"Plan", "Zeppelin map"}),
        ({"tags": "Q3"}, {"Plan"}),
        ({"tags": "SLIDES, q3"}, {"Plan", "Deck"}),
        ({"tags": "none-such"}, set()),
        ({"tags": " , "}, {"Plan", "Zeppelin map", "Deck", "Notes"}),
        ({"starred": "true"}, {"Plan", "Deck"}),
        ({"starred": "false"}, {"Zeppelin map", "Notes"}),
        ({"search": "zeppelin"}, {"Plan", "Zeppelin map"}),
        ({"search": "ZEPPELIN spring"}, {"Plan"}),
        ({"search": "absent-word"}, set()),
        ({"type": "markdown", "tags": "plan", "starred": "true"}, {"Plan"}),
        ({"type": "mindmap", "starred": "true"}, set()),
    ],
)
def test_api_documents_list_filters(team, varied, params, expected):
    assert _titles(team, params) == (expected, len(expected))


def test_api_documents_list_filter_by_folder(team, varied):
    folder, _ = varied
    assert _titles(team, {"folder_id": str(folder.pk)}) == ({"Plan", "Deck"}, 2)
    assert _titles(team, {"folder_id": str(uuid.uuid4())}) == (set(), 0)
    foreign = FolderFactory()
    assert _titles(team, {"folder_id": str(foreign.pk)}) == (set(), 0)


def test_api_documents_list_starred_is_per_caller(team, varied):
    assert _titles(team, {"starred": "true"}, actor="owner") == ({"Notes"}, 1)


def test_api_documents_list_search_keeps_the_requested_sort(team, varied):
    body = (
        team.client("viewer")
        .get(docs_url(team.workspace), {"search": "zeppelin", "sort": "title", "order": "asc"})
        .json()
    )
    assert [d["title"] for d in body["documents"]] == ["Plan", "Zeppelin map"]
    body = (
        team.client("viewer")
        .get(docs_url(team.workspace), {"search": "zeppelin", "sort": "title", "order": "desc"})
        .json()
    )
    assert [d["title"] for d in body["documents"]] == ["Zeppelin map", "Plan"]


def test_api_documents_list_filters_page_with_the_cursor(team, varied):
    client = team.client("viewer")
    seen, pages = _walk(
        client, docs_url(team.workspace), {"tags": "plan,slides", "limit": 1, "sort": "title", "order": "asc"}
    )
    assert [Document.objects.get(pk=pk).title for pk in seen] == ["Deck", "Plan", "Zeppelin map"]
    assert {page["total"] for page in pages} == {3}


# --- bad parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -5},
        {"limit": "ten"},
        {"type": "mixed"},
        {"sort": "views"},
        {"sort": "-title"},
        {"order": "sideways"},
        {"folder_id": "not-a-uuid"},
        {"starred": "maybe"},
        {"deleted": "perhaps"},
        {"search": "x" * 257},
        {"cursor": "garbage"},
        {"cursor": ""},
    ],
)
def test_api_documents_list_bad_query_params_are_400(team, params):
    DocumentFactory(workspace=team.workspace)
    response = team.client("viewer").get(docs_url(team.workspace), params)
    if params == {"cursor": ""}:  # an empty cursor is no cursor
        assert response.status_code == 200
        return
    assert_validation(response, *params)


def test_api_documents_list_tampered_cursor_is_400(team, paged):
    client = team.client("viewer")
    cursor = client.get(docs_url(team.workspace), {"limit": 2}).json()["cursor"]
    value, signature = cursor.rsplit(":", 1)
    for tampered in (value + ":" + signature[::-1], value[:-2] + "AA:" + signature, cursor + "x", cursor[1:]):
        assert_validation(client.get(docs_url(team.workspace), {"limit": 2, "cursor": tampered}), "cursor")


def test_api_documents_list_forged_cursor_without_a_signature_is_400(team, paged):
    forged = encode_cursor({"s": "updated_at", "o": "desc", "v": "2000-01-01T00:00:00+00:00", "id": str(uuid.uuid4())})
    unsigned = forged.rsplit(":", 1)[0]
    assert_validation(team.client("viewer").get(docs_url(team.workspace), {"cursor": unsigned}), "cursor")


@pytest.mark.parametrize(
    "made_for, used_with",
    [
        ({"sort": "title", "order": "asc"}, {"sort": "created_at", "order": "asc"}),
        ({"sort": "title", "order": "asc"}, {"sort": "title", "order": "desc"}),
        ({"sort": "updated_at", "order": "desc"}, {}),  # the defaults match: accepted
    ],
)
def test_api_documents_list_cursor_from_another_sort_is_400(team, paged, made_for, used_with):
    client = team.client("viewer")
    cursor = client.get(docs_url(team.workspace), {**made_for, "limit": 2}).json()["cursor"]
    response = client.get(docs_url(team.workspace), {**used_with, "limit": 2, "cursor": cursor})
    if not used_with:
        assert response.status_code == 200
        return
    assert_validation(response, "cursor")


def test_api_documents_list_unknown_workspace_is_404(team):
    assert_problem(team.client("owner").get(docs_url(uuid.uuid4())), 404, "not-found")
    assert_problem(team.client("owner").get(docs_url("123")), 404, "not-found")


def test_api_documents_list_after_removal_is_404(team):
    DocumentFactory(workspace=team.workspace)
    client = team.client("commenter")
    assert client.get(docs_url(team.workspace)).status_code == 200
    membership_deactivate(member=team.member("commenter"), actor=team.user("owner"))
    assert_problem(client.get(docs_url(team.workspace)), 404, "not-found")


# --- query count ---------------------------------------------------------------------------------------


def _bulk_documents(workspace, user, count: int) -> None:
    """`count` documents, each with two tags, a version and the caller's star, written in bulk."""
    documents = Document.objects.bulk_create(
        Document(
            workspace=workspace,
            title=f"Doc {i:03d}",
            content=f"text {i}",
            content_hash=content_hash(f"text {i}"),
            created_by=workspace.owner,
            updated_by=user,
        )
        for i in range(count)
    )
    DocumentTag.objects.bulk_create(DocumentTag(document=d, tag=tag) for d in documents for tag in ("one", "two"))
    DocumentVersion.objects.bulk_create(
        DocumentVersion(
            document=d, version_number=1, content=d.content, content_hash=d.content_hash, created_by=workspace.owner
        )
        for d in documents
    )
    DocumentStar.objects.bulk_create(DocumentStar(user=user, document=d) for d in documents)
    if settings.IS_POSTGRES:  # bulk writes skip the service that fills the search vector
        Document.objects.filter(workspace=workspace).update(search_vector=search_vector_expression(["one", "two"]))


@pytest.mark.parametrize("params", [{}, {"tags": "one", "starred": "true", "search": "text", "sort": "title"}])
def test_api_documents_list_query_count_is_constant(django_assert_max_num_queries, params):
    few_ws, many_ws = WorkspaceFactory(), WorkspaceFactory()
    few_user, many_user = MemberFactory(workspace=few_ws).user, MemberFactory(workspace=many_ws).user
    _bulk_documents(few_ws, few_user, 5)
    _bulk_documents(many_ws, many_user, 100)
    few_client, many_client = client_for(few_user), client_for(many_user)
    for client, workspace in ((few_client, few_ws), (many_client, many_ws)):
        client.get(docs_url(workspace), {"limit": 1})  # warm the per-session caches alike
    with django_assert_max_num_queries(8) as few_queries:
        few = few_client.get(docs_url(few_ws), {"limit": 100, **params}).json()
    with django_assert_max_num_queries(len(few_queries)) as many_queries:
        many = many_client.get(docs_url(many_ws), {"limit": 100, **params}).json()
    assert (len(few["documents"]), len(many["documents"])) == (5, 100)
    assert len(many_queries) == len(few_queries)
    assert all(d["tags"] == ["one", "two"] and d["is_starred"] and d["version_count"] == 1 for d in many["documents"])


def test_api_documents_list_capture_shows_no_per_row_query(team):
    _bulk_documents(team.workspace, team.user("viewer"), 30)
    client = team.client("viewer")
    client.get(docs_url(team.workspace), {"limit": 1})
    with CaptureQueriesContext(connection) as ten:
        client.get(docs_url(team.workspace), {"limit": 10})
    with CaptureQueriesContext(connection) as thirty:
        client.get(docs_url(team.workspace), {"limit": 30})
    assert len(ten) == len(thirty)


def test_api_documents_list_total_follows_every_change(team, paged):
    """The total is kept for the next pages of a list; any change to the workspace's documents ends that."""
    client, editor = team.client("viewer"), team.client("editor")
    before = client.get(docs_url(team.workspace), {"limit": 2, "search": "alpha"}).json()["total"]
    created = editor.post(docs_url(team.workspace), {"title": "alpha three", "content": "x"}, format="json")
    assert created.status_code == 201
    after = client.get(docs_url(team.workspace), {"limit": 2, "search": "alpha"}).json()
    assert after["total"] == before + 1
    following = client.get(docs_url(team.workspace), {"limit": 2, "search": "alpha", "cursor": after["cursor"]})
    assert following.json()["total"] == before + 1
    assert team.client("owner").delete(doc_url(created.json()["id"])).status_code == 204
    assert client.get(docs_url(team.workspace), {"limit": 2, "search": "alpha"}).json()["total"] == before
