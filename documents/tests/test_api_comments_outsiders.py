"""Comments for people outside the workspace: grantees of each role and share-link holders (SPEC §2.3)."""

import pytest

from documents.models import Comment, DocumentShare, ShareLink
from documents.services.comments import comment_create
from documents.services.links import link_revoke
from documents.services.shares import share_revoke
from documents.tests.helpers import assert_problem, doc_url

pytestmark = pytest.mark.django_db

# Who may do what, SPEC §2.3: create/react = comment flag; edit own = author; delete = own;
# resolve = editor, or a commenter on their own thread; links never resolve.
EXPECTED = {
    #                  read  create  react  edit-own  delete-own  resolve-other  resolve-own
    "grant-viewer":    (200, 403,    403,   None,     None,       403,           None),
    "grant-commenter": (200, 201,    201,   200,      204,        403,           200),
    "grant-editor":    (200, 201,    201,   200,      204,        200,           200),
    "link-view":       (200, 403,    403,   None,     None,       403,           None),
    "link-comment":    (200, 201,    201,   200,      204,        403,           403),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_api_comments_outsiders_get_exactly_their_rights(team, document, outsider, kind):
    read, create, react, edit, delete, resolve_other, resolve_own = EXPECTED[kind]
    person, client, headers = outsider(kind)
    other = comment_create(actor=team.user("editor"), document=document, data={"content": "Member's thread"})
    assert client.get(doc_url(document, "/comments"), **headers).status_code == read
    assert client.get(f"/api/v1/comments/{other.pk}", **headers).status_code == read
    made = client.post(doc_url(document, "/comments"), {"content": "Outside view"}, format="json", **headers)
    assert made.status_code == create
    reacted = client.post(f"/api/v1/comments/{other.pk}/reactions", {"emoji": "👀"}, format="json", **headers)
    assert reacted.status_code == react
    assert client.post(f"/api/v1/comments/{other.pk}/resolve", **headers).status_code == resolve_other
    assert client.patch(f"/api/v1/comments/{other.pk}", {"content": "x"}, format="json", **headers).status_code == 403
    assert client.delete(f"/api/v1/comments/{other.pk}", **headers).status_code == 403
    if create != 201:
        assert not Comment.objects.filter(author=person).exists()
        return
    mine = made.json()["id"]
    assert client.patch(f"/api/v1/comments/{mine}", {"content": "Edited"}, format="json", **headers).status_code == edit
    assert client.post(f"/api/v1/comments/{mine}/resolve", **headers).status_code == resolve_own
    assert client.delete(f"/api/v1/comments/{mine}", **headers).status_code == delete


@pytest.mark.parametrize("kind", ["grant-editor", "link-comment"])
def test_api_comments_outsiders_lose_everything_once_their_grant_or_link_is_revoked(team, document, outsider, kind):
    person, client, headers = outsider(kind)
    comment = comment_create(actor=team.user("editor"), document=document, data={"content": "Before"})
    assert client.get(doc_url(document, "/comments"), **headers).status_code == 200
    if kind.startswith("grant-"):
        share_revoke(share=DocumentShare.objects.get(document=document, user=person))
    else:
        link_revoke(link=ShareLink.objects.get(document=document))
    count = Comment.objects.count()
    assert_problem(client.get(doc_url(document, "/comments"), **headers), 404, "not-found")
    assert_problem(client.get(f"/api/v1/comments/{comment.pk}", **headers), 404, "not-found")
    made = client.post(doc_url(document, "/comments"), {"content": "After"}, format="json", **headers)
    assert_problem(made, 404, "not-found")
    assert Comment.objects.count() == count


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_api_documents_outsiders_read_the_document_and_its_history_by_source(team, document, outsider, kind):
    """Grantees read the document, its history and presence, and star it; a link opens the document (and its
    live state) only."""
    _, client, headers = outsider(kind)
    body = client.get(doc_url(document), **headers).json()
    assert body["access"]["source"] == kind.split("-")[0]
    expected = 200 if kind.startswith("grant-") else 403
    for suffix in ("/versions", "/versions/1", "/versions/diff?from=1", "/presence"):
        assert client.get(doc_url(document, suffix), **headers).status_code == expected, suffix
    assert client.post(doc_url(document, "/star"), **headers).status_code == expected
    assert client.get(doc_url(document, "/yjs-state"), **headers).status_code == 200  # what a live reader loads
    assert client.get(f"/api/v1/workspaces/{team.workspace.pk}", **headers).status_code == 404
    assert client.delete(doc_url(document), **headers).status_code == 403
