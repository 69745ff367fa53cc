"""GET search: any signed-in caller, over live documents of live workspaces they are an active member of.

PostgreSQL ranks with websearch_to_tsquery over title (A), content (B) and tags (C); the embedded
SQLite default matches every word as a substring. Assertions that differ branch on IS_POSTGRES.
"""

import uuid

import pytest
from django.conf import settings

from documents.content import content_hash
from documents.models import Document, DocumentTag
from documents.services.documents import document_delete
from documents.services.search_index import search_vector_expression
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    SEARCH_RESULT_FIELDS,
    assert_problem,
    assert_summary_matches,
    assert_validation,
    client_for,
    doc_url,
    docs_url,
)
from workspaces.services.operators import membership_deactivate, workspace_soft_delete
from workspaces.tests.factories import MemberFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/search"


def assert_safe_html(fragment: str) -> None:
    """Only <mark> and </mark> survive as markup; everything else is escaped."""
    rest = fragment.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in rest and ">" not in rest, fragment


@pytest.fixture
def corpus(team):
    ws = team.workspace
    return {
        "title": DocumentFactory(workspace=ws, title="Quasar field guide", content="An introduction to the sky."),
        "content": DocumentFactory(
            workspace=ws, title="Astronomy notes", content='Notes: a quasar is where x < y & z, "bright" <b>tags</b>.'
        ),
        "miss": DocumentFactory(workspace=ws, title="Cooking", content="Pasta recipes."),
    }


def _search(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("actor", ACTORS)
def test_api_search_every_actor(team, corpus, actor):
    response = team.client(actor).get(URL, {"q": "quasar"})
    if actor == "anonymous":
        assert_problem(response, 401, "authentication-required")
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "total"}
    if actor == "non_member":  # search is open to anyone signed in, but sees only their own workspaces
        assert body == {"results": [], "total": 0}
        return
    assert body["total"] == 2
    assert [r["document"]["id"] for r in body["results"]] == [str(corpus["title"].pk), str(corpus["content"].pk)]
    for result in body["results"]:
        assert set(result) == SEARCH_RESULT_FIELDS
        document = Document.objects.get(pk=result["document"]["id"])
        assert_summary_matches(result["document"], document, user=team.user(actor))
        assert isinstance(result["rank"], float) and result["rank"] > 0
        assert_safe_html(result["title_highlight"])
        for snippet in result["snippets"]:
            assert_safe_html(snippet)


def test_api_search_ranks_title_hits_above_content_hits(team, corpus):
    results = _search(team.client("viewer"), q="quasar")["results"]
    title, content = results
    assert title["rank"] > content["rank"]
    if settings.IS_POSTGRES:  # ts_rank_cd weights A (title) over B (content)
        assert 0 < content["rank"] < title["rank"]
    else:  # 2 per title hit, 1 per content hit
        assert (title["rank"], content["rank"]) == (2.0, 1.0)


def test_api_search_highlights_the_title(team, corpus):
    results = _search(team.client("viewer"), q="quasar")["results"]
    assert results[0]["title_highlight"] == "<mark>Quasar</mark> field guide"
    assert results[1]["title_highlight"] == "Astronomy notes"


def test_api_search_snippets_mark_hits_and_escape_everything_else(team, corpus):
    result = _search(team.client("viewer"), q="quasar")["results"][1]
    assert result["snippets"], result
    joined = " ".join(result["snippets"])
    assert "<mark>quasar</mark>" in joined
    assert "&lt;" in joined and "&amp;" in joined and "<b>" not in joined
    if settings.IS_POSTGRES:
        assert len(result["snippets"]) <= 2  # MaxFragments 2
    else:
        assert len(result["snippets"]) == 1


def test_api_search_title_with_markup_is_escaped(team):
    DocumentFactory(workspace=team.workspace, title="Quasar <script>alert(1)</script> & co", content="")
    result = _search(team.client("viewer"), q="quasar")["results"][0]
    assert "<mark>Quasar</mark>" in result["title_highlight"] and "&amp;" in result["title_highlight"]
    assert "<script" not in result["title_highlight"]
    assert_safe_html(result["title_highlight"])
    assert result["snippets"] == []  # nothing matched in the (empty) content


def test_api_search_several_words_must_all_match(team, corpus):
    body = _search(team.client("viewer"), q="quasar notes")
    assert [r["document"]["id"] for r in body["results"]] == [str(corpus["content"].pk)]


def test_api_search_no_match(team, corpus):
    assert _search(team.client("viewer"), q="zyzzyva") == {"results": [], "total": 0}


def test_api_search_filters_by_workspace_and_type(team, corpus):
    other = WorkspaceFactory(owner=team.user("viewer"))
    elsewhere = DocumentFactory(workspace=other, title="Quasar mindmap", mindmap=True)
    client = team.client("viewer")
    assert _search(client, q="quasar")["total"] == 3
    body = _search(client, q="quasar", workspace_id=str(other.pk))
    assert [r["document"]["id"] for r in body["results"]] == [str(elsewhere.pk)] and body["total"] == 1
    assert _search(client, q="quasar", workspace_id=str(team.workspace.pk))["total"] == 2
    body = _search(client, q="quasar", type="mindmap")
    assert [r["document"]["id"] for r in body["results"]] == [str(elsewhere.pk)]
    assert _search(client, q="quasar", type="presentation")["total"] == 0
    assert _search(client, q="quasar", workspace_id=str(uuid.uuid4())) == {"results": [], "total": 0}


def test_api_search_limit_and_offset(team):
    for i in range(5):
        DocumentFactory(workspace=team.workspace, title=f"Quasar {i}", content="quasar " * i)
    client = team.client("viewer")
    everything = _search(client, q="quasar")
    ids = [r["document"]["id"] for r in everything["results"]]
    assert len(ids) == 5 and everything["total"] == 5
    page = _search(client, q="quasar", limit=2, offset=1)
    assert [r["document"]["id"] for r in page["results"]] == ids[1:3] and page["total"] == 5
    assert _search(client, q="quasar", offset=5) == {"results": [], "total": 5}
    assert _search(client, q="quasar", offset=500)["results"] == []
    assert len(_search(client, q="quasar", limit=50)["results"]) == 5


def test_api_search_default_limit_is_20(team):
    Document.objects.bulk_create(
        Document(
            workspace=team.workspace,
            title=f"Quasar {i}",
            content="",
            content_hash=content_hash(""),
            created_by=team.user("owner"),
        )
        for i in range(25)
    )
    if settings.IS_POSTGRES:
        Document.objects.update(search_vector=search_vector_expression([]))
    body = _search(team.client("viewer"), q="quasar")
    assert len(body["results"]) == 20 and body["total"] == 25


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 257}, "q"),
        ({"q": "a", "limit": 0}, "limit"),
        ({"q": "a", "limit": 51}, "limit"),
        ({"q": "a", "limit": "all"}, "limit"),
        ({"q": "a", "offset": -1}, "offset"),
        ({"q": "a", "offset": 501}, "offset"),
        ({"q": "a", "type": "mixed"}, "type"),
        ({"q": "a", "workspace_id": "nope"}, "workspace_id"),
    ],
)
def test_api_search_bad_params_are_400(team, params, field):
    assert_validation(team.client("viewer").get(URL, params), field)


@pytest.mark.parametrize("q", ["q", "x" * 256, "  quasar  "])
def test_api_search_q_of_1_to_256_chars(team, corpus, q):
    response = team.client("viewer").get(URL, {"q": q})
    assert response.status_code == 200
    if q.strip() == "quasar":
        assert response.json()["total"] == 2


def test_api_search_skips_deleted_documents(team, corpus):
    document_delete(actor=team.user("owner"), document=corpus["content"])
    body = _search(team.client("viewer"), q="quasar")
    assert [r["document"]["id"] for r in body["results"]] == [str(corpus["title"].pk)] and body["total"] == 1


def test_api_search_follows_title_and_content_changes(team, corpus):
    client = team.client("editor")
    client.patch(doc_url(corpus["title"]), {"title": "Pulsar field guide"}, format="json")
    client.patch(doc_url(corpus["miss"]), {"content": "A quasar recipe."}, format="json", HTTP_IF_MATCH="*")
    ids = {r["document"]["id"] for r in _search(client, q="quasar")["results"]}
    assert ids == {str(corpus["content"].pk), str(corpus["miss"].pk)}
    assert [r["document"]["id"] for r in _search(client, q="pulsar")["results"]] == [str(corpus["title"].pk)]


# --- PostgreSQL ranking and query syntax, with the SQLite matcher's answer alongside ----------------


def test_api_search_tags_are_searched_with_the_lowest_weight(team):
    tagged = DocumentFactory(workspace=team.workspace, title="Catalogue", content="Objects.", tags=["nebula"])
    titled = DocumentFactory(workspace=team.workspace, title="Nebula atlas", content="Objects.")
    ids = [r["document"]["id"] for r in _search(team.client("viewer"), q="nebula")["results"]]
    if settings.IS_POSTGRES:
        assert ids == [str(titled.pk), str(tagged.pk)]
        team.client("owner").patch(doc_url(tagged), {"tags": ["galaxy"]}, format="json")
        ids = [r["document"]["id"] for r in _search(team.client("viewer"), q="nebula")["results"]]
        assert ids == [str(titled.pk)]
        assert [r["document"]["id"] for r in _search(team.client("viewer"), q="galaxy")["results"]] == [str(tagged.pk)]
    else:  # the substring matcher looks at title and content only
        assert ids == [str(titled.pk)]


def test_api_search_stems_words(team):
    running = DocumentFactory(workspace=team.workspace, title="Engines", content="The engines were running smoothly.")
    ids = [r["document"]["id"] for r in _search(team.client("viewer"), q="runs")["results"]]
    if settings.IS_POSTGRES:
        assert ids == [str(running.pk)]
    else:
        assert ids == []
    assert [r["document"]["id"] for r in _search(team.client("viewer"), q="running")["results"]] == [str(running.pk)]


def test_api_search_websearch_syntax(team, corpus):
    client = team.client("viewer")
    excluded = [r["document"]["id"] for r in _search(client, q="quasar -guide")["results"]]
    phrase = [r["document"]["id"] for r in _search(client, q='"field guide"')["results"]]
    either = {r["document"]["id"] for r in _search(client, q="pasta or quasar")["results"]}
    if settings.IS_POSTGRES:
        assert excluded == [str(corpus["content"].pk)]
        assert phrase == [str(corpus["title"].pk)]
        assert either == {str(d.pk) for d in corpus.values()}
    else:  # every word, quotes and dashes included, must appear as a substring
        assert excluded == [] and phrase == [] and either == set()


def test_api_search_rank_orders_by_density_on_postgres(team):
    once = DocumentFactory(workspace=team.workspace, title="Log one", content="comet sighted. " + "filler words. " * 40)
    often = DocumentFactory(workspace=team.workspace, title="Log two", content="comet comet comet, the comet again.")
    results = _search(team.client("viewer"), q="comet")["results"]
    assert [r["document"]["id"] for r in results] == [str(often.pk), str(once.pk)]
    if not settings.IS_POSTGRES:
        assert [r["rank"] for r in results] == [4.0, 1.0]


# --- isolation across workspaces -------------------------------------------------------------------------


def test_api_search_never_reaches_a_workspace_the_caller_is_not_a_member_of(team):
    me = team.user("editor")
    client = team.client("editor")
    mine = DocumentFactory(workspace=team.workspace, title="Quasar mine", content="quasar public-words here")
    foreign_ws = WorkspaceFactory(name="Foreign")
    foreign = DocumentFactory(workspace=foreign_ws, title="Quasar secret-title", content="quasar secret-content here")
    # Two workspaces where the caller is a member for now.
    doomed_ws, left_ws = WorkspaceFactory(name="Doomed"), WorkspaceFactory(name="Left")
    MemberFactory(workspace=doomed_ws, user=me)
    member_left = MemberFactory(workspace=left_ws, user=me)
    doomed = DocumentFactory(workspace=doomed_ws, title="Quasar doomed-title", content="quasar doomed-content")
    left = DocumentFactory(workspace=left_ws, title="Quasar left-title", content="quasar left-content")

    before = _search(client, q="quasar")
    assert {r["document"]["id"] for r in before["results"]} == {str(mine.pk), str(doomed.pk), str(left.pk)}
    assert before["total"] == 3

    workspace_soft_delete(workspace=doomed_ws, actor=doomed_ws.owner)
    membership_deactivate(member=member_left, actor=left_ws.owner)

    for params in (
        {"q": "quasar"},
        {"q": "quasar", "limit": 50},
        {"q": "quasar", "offset": 1},
        {"q": "secret-title"},
        {"q": "secret"},
        {"q": "doomed"},
        {"q": "left"},
        {"q": "quasar", "type": "markdown"},
    ):
        body = _search(client, **params)
        ids = {r["document"]["id"] for r in body["results"]}
        assert ids <= {str(mine.pk)}, params
        assert body["total"] == (1 if params["q"] == "quasar" else 0), params
        text = repr(body)
        for leaked in ("secret", "doomed", "left-", "Foreign"):
            assert leaked not in text, (params, leaked)
    for workspace in (foreign_ws, doomed_ws, left_ws):
        assert _search(client, q="quasar", workspace_id=str(workspace.pk)) == {"results": [], "total": 0}
        assert_problem(client.get(docs_url(workspace), {"search": "quasar"}), 404, "not-found")
    # The owners still find their own documents: the filter is per caller, not a broken index.
    assert _search(client_for(foreign_ws.owner), q="secret")["total"] == 1
    assert _search(client_for(left_ws.owner), q="quasar")["total"] == 1
    # Live elsewhere; the deleted workspace's document went to the trash with it.
    assert Document.objects.filter(pk__in=[foreign.pk, left.pk], deleted=False).count() == 2
    assert Document.objects.get(pk=doomed.pk).deleted


def test_api_search_sees_a_workspace_again_after_rejoining(team):
    outsider = team.user("non_member")
    document = DocumentFactory(workspace=team.workspace, title="Quasar shared")
    client = team.client("non_member")
    assert _search(client, q="quasar")["total"] == 0
    member = MemberFactory(workspace=team.workspace, user=outsider, role="viewer")
    assert [r["document"]["id"] for r in _search(client, q="quasar")["results"]] == [str(document.pk)]
    membership_deactivate(member=member, actor=team.user("owner"))
    assert _search(client, q="quasar")["total"] == 0


# --- query count ------------------------------------------------------------------------------------------


def _bulk_hits(workspace, count: int) -> None:
    documents = Document.objects.bulk_create(
        Document(
            workspace=workspace,
            title=f"Quasar {i:03d}",
            content=f"quasar body {i}",
            content_hash=content_hash(f"quasar body {i}"),
            created_by=workspace.owner,
        )
        for i in range(count)
    )
    DocumentTag.objects.bulk_create(DocumentTag(document=d, tag="star") for d in documents)
    if settings.IS_POSTGRES:
        Document.objects.filter(workspace=workspace).update(search_vector=search_vector_expression(["star"]))


def test_api_search_query_count_is_constant(django_assert_max_num_queries):
    few_ws, many_ws = WorkspaceFactory(), WorkspaceFactory()
    _bulk_hits(few_ws, 5)
    _bulk_hits(many_ws, 60)
    few_client, many_client = client_for(few_ws.owner), client_for(many_ws.owner)
    few_client.get(URL, {"q": "warmup"})
    many_client.get(URL, {"q": "warmup"})
    # user, memberships, savepoint + planner settings + candidates and total + release, ranks, page, tags,
    # highlights
    with django_assert_max_num_queries(10) as few_queries:
        few = few_client.get(URL, {"q": "quasar", "limit": 50}).json()
    with django_assert_max_num_queries(len(few_queries)) as many_queries:
        many = many_client.get(URL, {"q": "quasar", "limit": 50}).json()
    assert (len(few["results"]), few["total"]) == (5, 5)
    assert (len(many["results"]), many["total"]) == (50, 60)
    assert len(many_queries) == len(few_queries)
    assert all(r["document"]["tags"] == ["star"] and r["snippets"] for r in many["results"])


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "a & b | !c", "<->", "quasar:*", "\\", "'; drop table documents_document; --", "(((", "-", "or"],
)
def test_api_search_any_query_text_is_answered_not_an_error(team, corpus, q):
    body = _search(team.client("viewer"), q=q)
    assert body["total"] == len(body["results"])
    for result in body["results"]:
        assert_safe_html(result["title_highlight"])
    assert team.client("viewer").get(docs_url(team.workspace), {"search": q}).status_code == 200
    assert Document.objects.count() == 3


@pytest.mark.parametrize("q", ["%", "_", "%quasar%"])
def test_api_search_like_wildcards_are_literal(team, corpus, q):
    body = _search(team.client("viewer"), q=q)
    if settings.IS_POSTGRES and q == "%quasar%":  # the parser drops the punctuation and keeps the word
        assert body["total"] == 2
    else:
        assert body == {"results": [], "total": 0}


def test_api_search_nul_in_the_query_is_400(team, corpus):
    assert_validation(team.client("viewer").get(URL, {"q": "qua\x00sar"}), "q")
    assert_validation(team.client("viewer").get(docs_url(team.workspace), {"search": "qua\x00sar"}), "search")


# --- rank window --------------------------------------------------------------------------------------------


def test_api_search_ranks_the_most_recent_matches_when_more_than_the_window_match(team, monkeypatch):
    """PostgreSQL ranks at most RANK_WINDOW matches, the most recently updated; SQLite scores every match."""
    from datetime import timedelta

    from django.utils import timezone

    from documents import search

    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    now = timezone.now()
    # Newest first: two weak matches, one strong; then, older than the window, the strongest of all.
    bodies = ["quasar once", "quasar once more", "quasar quasar quasar", "quasar quasar quasar quasar quasar"]
    ids = []
    for age, body in enumerate(bodies):
        document = DocumentFactory(workspace=team.workspace, title=f"Note {age}", content=body)
        Document.objects.filter(pk=document.pk).update(updated_at=now - timedelta(hours=age))
        ids.append(str(document.pk))
    body = _search(team.client("viewer"), q="quasar")
    assert body["total"] == 4
    if not settings.IS_POSTGRES:
        assert body["results"][0]["document"]["id"] == ids[3] and len(body["results"]) == 4
        return
    assert [r["document"]["id"] for r in body["results"]] == [ids[2], ids[0], ids[1]]
    assert body["results"][0]["rank"] > body["results"][1]["rank"]
    beyond = _search(team.client("viewer"), q="quasar", offset=3)
    assert (beyond["results"], beyond["total"]) == ([], 4)


# --- the ranking kept between pages, and what ends it -----------------------------------------------------


def test_api_search_follows_every_change_after_a_search(team, corpus):
    """The ranking of a search is kept for its next pages; any change to the workspace's documents ends it."""
    client, editor, owner = team.client("viewer"), team.client("editor"), team.client("owner")
    assert _search(client, q="quasar")["total"] == 2
    editor.patch(doc_url(corpus["miss"]), {"content": "A quasar recipe."}, format="json", HTTP_IF_MATCH="*")
    assert _search(client, q="quasar")["total"] == 3
    assert owner.delete(doc_url(corpus["miss"])).status_code == 204
    assert _search(client, q="quasar")["total"] == 2
    assert owner.post(doc_url(corpus["miss"], "/undelete")).status_code == 200
    assert _search(client, q="quasar")["total"] == 3
    assert editor.patch(doc_url(corpus["title"]), {"tags": ["nebula"]}, format="json").status_code == 200
    assert {r["document"]["id"]: r["document"]["tags"] for r in _search(client, q="quasar")["results"]}[
        str(corpus["title"].pk)
    ] == ["nebula"]
    created = editor.post(docs_url(team.workspace), {"title": "Quasar two", "content": "x"}, format="json").json()
    body = _search(client, q="quasar")
    assert body["total"] == 4 and created["id"] in {r["document"]["id"] for r in body["results"]}


def test_api_search_pages_through_one_ranking(team):
    for i in range(7):
        DocumentFactory(workspace=team.workspace, title=f"Orbit {i}", content="orbit " * (i + 1))
    client = team.client("viewer")
    pages = [_search(client, q="orbit", limit=3, offset=offset) for offset in (0, 3, 6)]
    ids = [r["document"]["id"] for page in pages for r in page["results"]]
    ranks = [r["rank"] for page in pages for r in page["results"]]
    assert len(ids) == len(set(ids)) == 7 and all(page["total"] == 7 for page in pages)
    assert ranks == sorted(ranks, reverse=True)


def test_api_search_repeated_search_reuses_its_ranking(team, corpus, django_assert_max_num_queries):
    client = team.client("viewer")
    first = _search(client, q="quasar")
    with django_assert_max_num_queries(4):  # user, memberships, page, tags: ranking and highlights are kept
        again = _search(client, q="quasar")
    assert again == first


def test_api_search_snippet_of_a_hit_deep_in_a_long_document(team):
    long_text = "Filler sentence about the weather. " * 400 + "Here the comet finally appears."
    document = DocumentFactory(workspace=team.workspace, title="Diary", content=long_text)
    [hit] = _search(team.client("viewer"), q="comet")["results"]
    assert hit["document"]["id"] == str(document.pk)
    assert any("<mark>comet</mark>" in snippet.lower() for snippet in hit["snippets"])


def test_api_search_snippets_follow_content_and_title_changes(team, corpus):
    client, editor = team.client("viewer"), team.client("editor")
    document = corpus["content"]

    def hit():
        return next(r for r in _search(client, q="quasar")["results"] if r["document"]["id"] == str(document.pk))

    assert "bright" in " ".join(hit()["snippets"])
    editor.patch(doc_url(document), {"content": "A dim quasar, far away."}, format="json", HTTP_IF_MATCH="*")
    assert "<mark>quasar</mark>, far away" in " ".join(hit()["snippets"])
    editor.patch(doc_url(document), {"title": "Quasar notes"}, format="json")
    assert hit()["title_highlight"] == "<mark>Quasar</mark> notes"
