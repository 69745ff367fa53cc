"""GET documents/{id}/versions/diff: readers; unified diff and summary between versions or against `current`."""

import pytest

from documents.tests.helpers import (
    ACTORS,
    READERS,
    assert_problem,
    assert_refused,
    assert_validation,
    doc_url,
    outcome,
)
from documents.tests.history import build_history

pytestmark = pytest.mark.django_db

URL = "/versions/diff"


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_versions_diff_every_actor(team, actor):
    document = build_history(team)
    response = team.client(actor).get(doc_url(document, URL), {"from": 1, "to": 4})
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    assert response.status_code == 200
    assert response.json() == {
        "from": 1,
        "to": 4,
        "unified_diff": "--- v1\n+++ v4\n@@ -1 +1,3 @@\n one\n+2\n+three\n",
        "changes_summary": {"lines_added": 2, "lines_removed": 0, "lines_modified": 0},
    }


def test_api_documents_versions_diff_between_two_versions_replaced_lines(team):
    document = build_history(team)  # v2 "one\ntwo\n", v4 "one\n2\nthree\n"
    body = team.client("viewer").get(doc_url(document, URL), {"from": 2, "to": 4}).json()
    assert body["unified_diff"] == "--- v2\n+++ v4\n@@ -1,2 +1,3 @@\n one\n-two\n+2\n+three\n"
    assert body["changes_summary"] == {"lines_added": 1, "lines_removed": 0, "lines_modified": 1}
    reverse = team.client("viewer").get(doc_url(document, URL), {"from": 4, "to": 2}).json()
    assert reverse["changes_summary"] == {"lines_added": 0, "lines_removed": 1, "lines_modified": 1}


def test_api_documents_versions_diff_to_current_is_the_default(team):
    document = build_history(team)  # current content = v2 (restored)
    body = team.client("viewer").get(doc_url(document, URL), {"from": 4}).json()
    assert body["to"] == "current"
    assert body["unified_diff"] == "--- v4\n+++ current\n@@ -1,3 +1,2 @@\n one\n-2\n-three\n+two\n"
    assert body["changes_summary"] == {"lines_added": 0, "lines_removed": 1, "lines_modified": 1}
    explicit = team.client("viewer").get(doc_url(document, URL), {"from": 4, "to": "current"}).json()
    assert explicit == body


def test_api_documents_versions_diff_of_identical_contents_is_empty(team):
    document = build_history(team)
    body = team.client("viewer").get(doc_url(document, URL), {"from": 2, "to": 5}).json()
    assert body["unified_diff"] == ""
    assert body["changes_summary"] == {"lines_added": 0, "lines_removed": 0, "lines_modified": 0}


def test_api_documents_versions_diff_context_lines(team):
    client = team.client("owner")
    document = build_history(team)
    old = "".join(f"line {i}\n" for i in range(1, 11))
    new = old.replace("line 5\n", "line five\n")
    client.patch(doc_url(document), {"content": old}, format="json", HTTP_IF_MATCH="*")
    client.post(doc_url(document, "/versions"), format="json")
    client.patch(doc_url(document), {"content": new}, format="json", HTTP_IF_MATCH="*")
    number = document.versions.order_by("-version_number").first().version_number - 1  # the manual snapshot of `old`
    zero = client.get(doc_url(document, URL), {"from": number, "context": 0}).json()["unified_diff"]
    assert zero == f"--- v{number}\n+++ current\n@@ -5 +5 @@\n-line 5\n+line five\n"
    one = client.get(doc_url(document, URL), {"from": number, "context": 1}).json()["unified_diff"]
    assert one == f"--- v{number}\n+++ current\n@@ -4,3 +4,3 @@\n line 4\n-line 5\n+line five\n line 6\n"
    default = client.get(doc_url(document, URL), {"from": number}).json()["unified_diff"]
    assert default.count("\n line ") == 6  # three lines of context each side


@pytest.mark.parametrize("params", [{"from": 9}, {"from": 1, "to": 9}, {"from": 99999999999}])
def test_api_documents_versions_diff_unknown_versions_are_404(team, params):
    document = build_history(team)
    assert_problem(team.client("viewer").get(doc_url(document, URL), params), 404, "not-found")


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "from"),
        ({"from": ""}, "from"),
        ({"from": "abc"}, "from"),
        ({"from": 0}, "from"),
        ({"from": -1}, "from"),
        ({"from": "current"}, "from"),
        ({"from": 1, "to": "latest"}, "to"),
        ({"from": 1, "to": 0}, "to"),
        ({"from": 1, "to": "-2"}, "to"),
        ({"from": 1, "context": -1}, "context"),
        ({"from": 1, "context": "many"}, "context"),
        ({"from": 1, "context": 1001}, "context"),
        # Unicode digits are not version numbers: superscript two (int() refuses it), Arabic-Indic and
        # fullwidth one (int() reads both as 1).
        ({"from": "\u00b2"}, "from"),
        ({"from": "\u0661"}, "from"),
        ({"from": "\uff11"}, "from"),
        ({"from": 1, "to": "\u00b2"}, "to"),
        ({"from": 1, "to": "\u0661"}, "to"),
        ({"from": 1, "to": "2\u00b2"}, "to"),
    ],
)
def test_api_documents_versions_diff_bad_params_are_400(team, params, field):
    document = build_history(team)
    assert_validation(team.client("viewer").get(doc_url(document, URL), params), field)
