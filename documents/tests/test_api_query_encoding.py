"""Query parameters that are not valid UTF-8 once percent-decoded are refused with a 400 naming them (SPEC §9).

Django decodes a query string leniently: every invalid byte becomes U+FFFD, so without a check `q=%FF`
searches for "�" and `tags=%80` filters on a tag nobody wrote. Valid text, U+FFFD itself included, still
gets through.
"""

import pytest

from documents.tests.factories import DocumentFactory
from documents.tests.helpers import assert_validation, doc_url, docs_url

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/search"
# Percent-encoded byte sequences that are not UTF-8: a stray continuation byte, bytes UTF-8 never uses, a
# truncated sequence, an overlong "/", an encoded surrogate, a sequence cut short by the next character.
INVALID = ["%80", "%FF", "%FE%FF", "%C3", "%C0%AF", "%ED%A0%80", "%E2%82", "caf%C3", "%C3%28"]


@pytest.mark.parametrize("raw", INVALID)
def test_api_query_encoding_search_q_is_400(team, raw):
    response = team.client("viewer").get(f"{SEARCH}?q={raw}")
    assert_validation(response, "q")


@pytest.mark.parametrize("raw", INVALID)
@pytest.mark.parametrize("name", ["search", "tags"])
def test_api_query_encoding_document_list_search_and_tags_are_400(team, name, raw):
    response = team.client("viewer").get(f"{docs_url(team.workspace)}?{name}={raw}")
    assert_validation(response, name)


def test_api_query_encoding_names_the_parameter_whatever_its_position(team):
    response = team.client("viewer").get(f"{docs_url(team.workspace)}?limit=5&tags=plan,%FF&sort=title")
    body = assert_validation(response, "tags")
    assert set(body["errors"]) == {"tags"}


def test_api_query_encoding_nul_in_a_query_is_400(team):
    assert_validation(team.client("viewer").get(f"{SEARCH}?q=a%00b"), "q")
    assert_validation(team.client("viewer").get(f"{docs_url(team.workspace)}?search=a%00b"), "search")


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/comments", "resolved=%FF", "resolved"),
        ("/versions", "source=%FF", "source"),
        ("/versions/diff", "from=1&to=%FF", "to"),
        ("/attachments", "limit=%FF", "limit"),
    ],
)
def test_api_query_encoding_other_document_endpoints_say_why(team, path, query, name):
    document = DocumentFactory(workspace=team.workspace)
    body = assert_validation(team.client("viewer").get(f"{doc_url(document, path)}?{query}"), name)
    assert body["errors"][name] == ["Not valid UTF-8."]


def test_api_query_encoding_shared_with_me_and_folders_say_why(team):
    client = team.client("viewer")
    body = assert_validation(client.get("/api/v1/documents/shared-with-me?cursor=%FF"), "cursor")
    assert body["errors"]["cursor"] == ["Not valid UTF-8."]
    body = assert_validation(client.get(f"/api/v1/workspaces/{team.workspace.pk}/folders?tree=%FF"), "tree")
    assert body["errors"]["tree"] == ["Not valid UTF-8."]


def test_api_query_encoding_valid_utf8_still_searches_and_filters(team):
    document = DocumentFactory(
        workspace=team.workspace, title="Café notes", content="Crème brûlée \ufffd marker", tags=["été"]
    )
    client = team.client("viewer")
    found = client.get(f"{SEARCH}?q=caf%C3%A9")
    assert found.status_code == 200, found.content
    assert [hit["document"]["id"] for hit in found.json()["results"]] == [str(document.pk)]
    # U+FFFD itself is a valid character (EF BF BD).
    assert client.get(f"{SEARCH}?q=%EF%BF%BD").status_code == 200
    listed = client.get(f"{docs_url(team.workspace)}?tags=%C3%A9t%C3%A9&search=cr%C3%A8me")
    assert listed.status_code == 200, listed.content
    assert [row["id"] for row in listed.json()["documents"]] == [str(document.pk)]
