"""Comments: documents/{id}/comments and comments/{id} with replies, mentions, edits, deletes (SPEC §3.5, §2.3)."""

import uuid

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from documents.models import Comment
from documents.services.comments import comment_create
from documents.services.shares import share_create
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    assert_problem,
    assert_validation,
    client_for,
    doc_url,
    docs_url,
    last_seq,
    outcome,
    sync_entries,
)
from workspaces.tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

COMMENTERS = ("owner", "admin", "editor", "commenter")
ALL_MEMBERS = (*COMMENTERS, "viewer")


def _url(comment, suffix: str = "") -> str:
    return f"/api/v1/comments/{comment.pk if hasattr(comment, 'pk') else comment}{suffix}"


def _say(team, document, actor="commenter", **data):
    return comment_create(actor=team.user(actor), document=document, data={"content": "A remark", **data})


@pytest.mark.parametrize("actor", ACTORS)
def test_api_comments_create_every_actor(team, document, actor):
    seq = last_seq(team.workspace)
    response = team.client(actor).post(doc_url(document, "/comments"), {"content": "Looks **good**"}, format="json")
    expected = outcome(actor, COMMENTERS, ok=201)
    if expected != 201:
        assert response.status_code == expected and not Comment.objects.exists()
        assert last_seq(team.workspace) == seq
        return
    body = response.json()
    assert body["content"] == "Looks **good**" and body["content_html"] == "<p>Looks <strong>good</strong></p>\n"
    assert body["thread_id"] == body["id"] and body["depth"] == 0 and body["parent_id"] is None
    assert body["author"]["id"] == str(team.user(actor).pk) and body["deleted"] is False
    assert body["reactions"] == [] and body["reply_count"] == 0 and body["resolved"] is False
    entries = sync_entries(team.workspace, after=seq)
    assert [(e.entity_type, e.operation, str(e.entity_id)) for e in entries] == [("comment", "create", body["id"])]
    assert entries[0].data["content"] == "Looks **good**"


def test_api_comments_create_with_a_taken_id_is_409(team, document):
    first = _say(team, document)
    seq, count = last_seq(team.workspace), Comment.objects.count()
    response = team.client("editor").post(
        doc_url(document, "/comments"), {"id": str(first.pk), "content": "Mine now"}, format="json"
    )
    assert_problem(response, 409, "id-exists")
    assert Comment.objects.count() == count and Comment.objects.get(pk=first.pk).content == "A remark"
    assert last_seq(team.workspace) == seq


@pytest.mark.parametrize("role,status", [("viewer", 403), ("commenter", 201), ("editor", 201)])
def test_api_comments_grantees_comment_by_their_role(team, document, role, status):
    guest = UserFactory()
    share_create(actor=team.user("owner"), document=document, role=role, user_id=guest.pk)
    response = client_for(guest).post(doc_url(document, "/comments"), {"content": "From outside"}, format="json")
    assert response.status_code == status
    assert client_for(guest).get(doc_url(document, "/comments")).status_code == 200


def test_api_comments_replies_take_the_thread_and_stop_at_depth_5(team, document):
    client = team.client("editor")
    parent = client.post(doc_url(document, "/comments"), {"content": "root", "position": {"from": 1, "to": 4,
                                                          "blockId": "b1"}, "anchor_text": "Plan"}, format="json").json()
    root_id = parent["id"]
    for depth in range(1, 6):
        parent = client.post(doc_url(document, "/comments"), {"content": f"reply {depth}", "parent_id": parent["id"],
                                                              "position": {"from": 0, "to": 0, "blockId": "x"}},
                             format="json").json()
        assert (parent["thread_id"], parent["depth"], parent["position"]) == (root_id, depth, None)
    too_deep = client.post(doc_url(document, "/comments"), {"content": "six", "parent_id": parent["id"]},
                           format="json")
    assert_validation(too_deep, "parent_id")
    other = _say(team, DocumentFactory(workspace=team.workspace))
    assert_validation(client.post(doc_url(document, "/comments"), {"content": "x", "parent_id": str(other.pk)},
                                  format="json"), "parent_id")
    root = client.get(_url(root_id)).json()
    assert root["reply_count"] == 1 and [r["depth"] for r in root["replies"]] == [1]
    assert root["position"] == {"from": 1, "to": 4, "blockId": "b1"} and root["anchor_text"] == "Plan"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"content": ""}, "content"),
        ({"content": "   "}, "content"),
        ({"content": "x" * 10_001}, "content"),
        ({"content": 5}, "content"),
        ({"content": "x", "position": {"from": 3, "to": 2, "blockId": "b"}}, "position"),
        ({"content": "x", "position": {"from": -1, "to": 2, "blockId": "b"}}, "position"),
        ({"content": "x", "position": {"from": 0, "to": 2, "blockId": "b" * 129}}, "position"),
        ({"content": "x", "anchor_text": "a" * 1001}, "anchor_text"),
        ({"content": "x", "mentions": ["not-a-uuid"]}, "mentions.0"),
        ({"content": "x", "mentions": [str(uuid.uuid4()) for _ in range(51)]}, "mentions"),
        ({"content": "x", "mentions": [str(uuid.uuid4())]}, "mentions"),
    ],
)
def test_api_comments_create_bad_input_is_400(team, document, body, field):
    seq = last_seq(team.workspace)
    assert_validation(team.client("owner").post(doc_url(document, "/comments"), body, format="json"), field)
    assert not Comment.objects.exists() and last_seq(team.workspace) == seq


def test_api_comments_mentions_render_validate_and_mail_once(team, document, django_capture_on_commit_callbacks):
    editor, viewer, outsider = team.user("editor"), team.user("viewer"), team.user("non_member")
    viewer.settings = {**viewer.settings, "notifications_enabled": False}
    viewer.save(update_fields=["settings"])
    text = f"Hi @[Ed](user:{editor.pk}) and @[Vi](user:{viewer.pk}) and @[Me](user:{team.user('admin').pk})"
    client = team.client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        body = client.post(doc_url(document, "/comments"), {"content": text, "mentions": [
            str(editor.pk), str(viewer.pk), str(team.user("admin").pk)]}, format="json").json()
    assert f'<span class="mention" data-user-id="{editor.pk}">@Ed</span>' in body["content_html"]
    assert [m.to for m in mail.outbox] == [[editor.email]]  # not the author, not who opted out
    assert document.title in mail.outbox[0].subject and "Hi" in mail.outbox[0].body
    bad = client.post(doc_url(document, "/comments"), {"content": "x", "mentions": [str(outsider.pk)]},
                      format="json")
    assert str(outsider.pk) in assert_validation(bad, "mentions")["errors"]["mentions"][0]
    mail.outbox.clear()
    commenter = team.user("commenter")
    with django_capture_on_commit_callbacks(execute=True):
        edited = client.patch(_url(body["id"]), {"content": text + f" @[Co](user:{commenter.pk})",
                                                 "mentions": [str(editor.pk), str(commenter.pk)]}, format="json")
    assert edited.status_code == 200
    assert [m.to for m in mail.outbox] == [[commenter.email]]  # only the newly mentioned
    mail.outbox.clear()
    for mentions in ([str(commenter.pk)], [str(editor.pk), str(commenter.pk)]):  # Ed dropped, then back
        with django_capture_on_commit_callbacks(execute=True):
            again = client.patch(_url(body["id"]), {"content": text, "mentions": mentions}, format="json")
        assert again.status_code == 200 and again.json()["mentions"] == mentions
    assert mail.outbox == []  # never twice for one comment


def test_api_comments_edit_by_the_author_only_keeps_history(team, document):
    comment = _say(team, document, "commenter")
    assert_problem(team.client("owner").patch(_url(comment), {"content": "mine now"}, format="json"), 403,
                   "permission-denied")
    response = team.client("commenter").put(_url(comment), {"content": "Second thought"}, format="json")
    assert response.status_code == 200 and response.json()["edited"] is True
    stored = Comment.objects.get(pk=comment.pk)
    assert stored.content == "Second thought" and [h["content"] for h in stored.edit_history] == ["A remark"]
    assert_problem(team.client("non_member").patch(_url(comment), {"content": "x"}, format="json"), 404, "not-found")


@pytest.mark.parametrize(
    "actor,status",
    [("owner", 204), ("admin", 204), ("editor", 403), ("commenter", 204), ("viewer", 403), ("non_member", 404),
     ("anonymous", 401)],
)
def test_api_comments_delete_by_author_admin_or_owner(team, document, actor, status):
    comment = _say(team, document, "commenter")
    response = team.client(actor).delete(_url(comment))
    assert response.status_code == status
    assert (Comment.objects.get(pk=comment.pk).deleted_at is not None) is (status == 204)


def test_api_comments_deleted_root_with_replies_stays_as_a_placeholder(team, document):
    root = _say(team, document, "editor")
    reply = _say(team, document, "commenter", parent_id=root.pk)
    alone = _say(team, document, "editor")
    client = team.client("editor")
    assert client.delete(_url(root)).status_code == 204 and client.delete(_url(alone)).status_code == 204
    listed = team.client("viewer").get(doc_url(document, "/comments")).json()
    assert [(c["id"], c["deleted"], c["content"]) for c in listed["comments"]] == [
        (str(root.pk), True, ""), (str(reply.pk), False, "A remark")
    ]
    assert listed["total"] == 2
    assert_problem(client.get(_url(alone)), 404, "not-found")
    assert_problem(client.patch(_url(root), {"content": "back"}, format="json"), 404, "not-found")
    summary = team.client("owner").get(docs_url(team.workspace)).json()["documents"][0]
    assert summary["comment_count"] == 1


@pytest.mark.parametrize(
    "actor,own_thread,status",
    [("owner", False, 200), ("admin", False, 200), ("editor", False, 200), ("commenter", True, 200),
     ("commenter", False, 403), ("viewer", False, 403), ("non_member", False, 404)],
)
def test_api_comments_resolve_and_reopen_act_on_the_thread(team, document, actor, own_thread, status):
    root = _say(team, document, actor if own_thread else "editor")
    reply = _say(team, document, "admin", parent_id=root.pk)
    seq = last_seq(team.workspace)
    response = team.client(actor).post(_url(reply, "/resolve"))
    assert response.status_code == status
    if status != 200:
        assert not Comment.objects.filter(resolved=True).exists() and last_seq(team.workspace) == seq
        return
    assert response.json()["resolved"] is True and response.json()["resolved_by"]["id"] == str(team.user(actor).pk)
    assert set(Comment.objects.values_list("resolved", flat=True)) == {True}
    entries = sync_entries(team.workspace, after=seq)  # every comment of the thread changed: devices hear of each
    assert sorted((e.entity_type, e.operation, str(e.entity_id)) for e in entries) == sorted(
        ("comment", "update", str(pk)) for pk in (root.pk, reply.pk)
    )
    assert all(e.data["resolved"] is True for e in entries)
    listed = team.client("viewer").get(doc_url(document, "/comments"), {"resolved": "false"}).json()
    assert listed == {"comments": [], "total": 0}
    assert team.client(actor).post(_url(root, "/reopen")).json() == {"resolved": False}
    assert set(Comment.objects.values_list("resolved", flat=True)) == {False}


def test_api_comments_reactions_toggle_and_validate(team, document):
    comment = _say(team, document)
    url = _url(comment, "/reactions")
    added = team.client("editor").post(url, {"emoji": "👍"}, format="json")
    assert added.status_code == 201 and added.json()["added"] is True
    both = team.client("admin").post(url, {"emoji": "👍"}, format="json").json()["reactions"]
    assert both == [{"emoji": "👍", "users": [str(team.user("editor").pk), str(team.user("admin").pk)], "count": 2}]
    removed = team.client("editor").post(url, {"emoji": "👍"}, format="json")
    assert removed.status_code == 200 and removed.json()["added"] is False
    assert team.client("admin").post(url, {"emoji": "👍"}, format="json").json()["reactions"] == []
    for bad in ("", "ab", "👍👍", "<b>", "x" * 17):
        assert_validation(team.client("admin").post(url, {"emoji": bad}, format="json"), "emoji")
    assert_problem(team.client("viewer").post(url, {"emoji": "👍"}, format="json"), 403, "permission-denied")
    many = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "😚",
            "🙂", "🤗"]
    for emoji in many:
        assert team.client("owner").post(url, {"emoji": emoji}, format="json").status_code == 201
    assert_validation(team.client("owner").post(url, {"emoji": "🤩"}, format="json"), "emoji")


def test_api_comments_list_filters_pages_and_keeps_queries_flat(team, document, django_assert_max_num_queries):
    roots = [_say(team, document, "editor", content=f"root {i}") for i in range(3)]
    for root in roots:
        _say(team, document, "commenter", parent_id=root.pk)
    client = team.client("viewer")
    client.get(doc_url(document, "/comments"))
    with django_assert_max_num_queries(12) as few:
        body = client.get(doc_url(document, "/comments")).json()
    assert body["total"] == 6 and len(body["comments"]) == 6
    assert [c["reply_count"] for c in body["comments"] if c["depth"] == 0] == [1, 1, 1]
    for index in range(40):
        comment = _say(team, document, "editor", content=f"more {index}")
        _say(team, document, "admin", parent_id=comment.pk)
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(doc_url(document, "/comments"), {"limit": 200}).json()["comments"]) == 86
    page = client.get(doc_url(document, "/comments"), {"limit": 2, "offset": 2}).json()
    assert page["total"] == 86 and len(page["comments"]) == 2
    thread = client.get(doc_url(document, "/comments"), {"thread_id": str(roots[0].pk)}).json()
    assert [c["depth"] for c in thread["comments"]] == [0, 1]
    assert_validation(client.get(doc_url(document, "/comments"), {"limit": 201}), "limit")
    assert_problem(team.client("non_member").get(doc_url(document, "/comments")), 404, "not-found")
    assert team.client("anonymous").get(doc_url(document, "/comments")).status_code == 401


def test_comment_body_equals_the_declared_fields(team, document):
    """The fast rendering of a comment is exactly DRF's field-by-field rendering of the declared fields."""
    from rest_framework import serializers

    from accounts.serializers import UserSummarySerializer
    from documents.selectors import comment_rows, comments_with_counts
    from documents.serializers import CommentSerializer, comment_payload
    from documents.services.comments import comment_react, comment_set_resolved

    root = _say(team, document, "editor", content=f"Hi @[Ad](user:{team.user('admin').pk})",
                mentions=[team.user("admin").pk], position={"from": 1, "to": 2, "blockId": "b"}, anchor_text="x")
    reply = _say(team, document, "commenter", parent_id=root.pk)
    comment_react(actor=team.user("admin"), comment=root, emoji="👍")
    comment_set_resolved(actor=team.user("owner"), comment=reply, resolved=True)
    for comment in comments_with_counts().select_related("author", "resolved_by").filter(document=document):
        declared = serializers.Serializer.to_representation(CommentSerializer(), comment)
        declared["author"] = serializers.Serializer.to_representation(UserSummarySerializer(), comment.author)
        if comment.resolved_by_id:
            declared["resolved_by"] = serializers.Serializer.to_representation(UserSummarySerializer(),
                                                                              comment.resolved_by)
        assert CommentSerializer(comment).data == declared
        (row,) = comment_rows(comments_with_counts().filter(pk=comment.pk))
        assert comment_payload(row) == declared


@pytest.mark.parametrize("actor", ACTORS)
def test_api_comments_every_endpoint_every_actor(team, document, actor):
    """Reading, reacting to, editing and deleting someone else's comment, for each member role, a non-member
    and an anonymous caller (resolve: test_api_comments_resolve_and_reopen_act_on_the_thread): the §2.3
    status, and the comment's stored state after each call."""
    other = MemberFactory(workspace=team.workspace, role="editor").user  # the author is none of the actors
    theirs = comment_create(actor=other, document=document, data={"content": "Someone else's"})
    client = team.client(actor)

    def state():
        stored = Comment.objects.get(pk=theirs.pk)
        return stored.content, stored.reactions, stored.deleted_at is not None

    calls = [
        ("get", doc_url(document, "/comments"), None, 200, ALL_MEMBERS, lambda old, new: new == old),
        ("get", _url(theirs), None, 200, ALL_MEMBERS, lambda old, new: new == old),
        ("post", _url(theirs, "/reactions"), {"emoji": "👍"}, 201, COMMENTERS, lambda old, new: new[1] != old[1]),
        ("patch", _url(theirs), {"content": "Rewritten"}, 200, (), None),
        ("delete", _url(theirs), None, 204, ("owner", "admin"), lambda old, new: new[2]),
    ]
    for method, url, body, ok, allowed, changed in calls:
        before = state()
        response = getattr(client, method)(url, body, format="json")
        expected = outcome(actor, allowed, ok=ok)
        assert response.status_code == expected, (method, url, response.content)
        if expected == ok:
            assert changed(before, state()), (method, url)
        else:
            assert state() == before, (method, url)
