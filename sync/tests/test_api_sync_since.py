"""GET sync/workspaces/{wid}/since: pull after a cursor, grouped, paged, with the horizon (SPEC §3.7, §4)."""

import pytest

from accounts.tests.factories import UserFactory
from documents.services.documents import document_create, document_delete, document_update
from documents.services.folders import folder_create
from documents.services.shares import share_create
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.helpers import ACTORS, assert_problem, assert_validation, client_for, last_seq

pytestmark = pytest.mark.django_db
GROUP_NAMES = ("documents", "folders", "comments", "attachments", "context_files", "members", "workspace")


def _url(workspace) -> str:
    return f"/api/v1/sync/workspaces/{workspace.pk}/since"


@pytest.mark.parametrize("actor", ACTORS)
def test_api_sync_since_members_only(team, actor):
    response = team.client(actor).get(_url(team.workspace), {"cursor": 0})
    expected = {"anonymous": 401, "non_member": 404}.get(actor, 200)
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert set(body) == {*GROUP_NAMES, "cursor", "has_more", "timestamp"}
        last = last_seq(team.workspace)
        assert body["cursor"] == last and body["has_more"] is False


def test_api_sync_since_grantees_and_removed_members_get_404(team):
    owner = team.user("owner")
    document = document_create(actor=owner, workspace=team.workspace, data={"title": "D", "content": "x"})
    guest = UserFactory()
    share_create(actor=owner, document=document, role="editor", user_id=guest.pk)
    assert_problem(client_for(guest).get(_url(team.workspace), {"cursor": 0}), 404, "not-found")
    viewer = team.client("viewer")
    assert viewer.get(_url(team.workspace), {"cursor": 0}).status_code == 200
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("viewer")).update(is_active=False)
    assert_problem(viewer.get(_url(team.workspace), {"cursor": 0}), 404, "not-found")
    assert_problem(team.client("owner").get("/api/v1/sync/workspaces/not-a-uuid/since", {"cursor": 0}), 404,
                   "not-found")


def test_api_sync_since_returns_entries_in_order_grouped_and_paged(team):
    owner = team.user("owner")
    start = last_seq(team.workspace)
    folder = folder_create(actor=owner, workspace=team.workspace, data={"name": "F"})
    document = document_create(actor=owner, workspace=team.workspace, data={"title": "D", "content": "one"})
    document = document_update(actor=owner, document=document, data={"content": "two"}, if_match="*")
    document_delete(actor=owner, document=document)
    client = team.client("editor")
    seen, cursor = [], start
    while True:
        body = client.get(_url(team.workspace), {"cursor": cursor, "limit": 2}).json()
        entries = [entry for name in GROUP_NAMES for entry in body[name]]
        seen += sorted(entries, key=lambda entry: entry["seq"])
        assert body["cursor"] == (max(e["seq"] for e in entries) if entries else cursor)
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    assert [e["seq"] for e in seen] == list(range(start + 1, start + 5))
    assert [(e["entity_id"], e["operation"]) for e in seen] == [
        (str(folder.pk), "create"), (str(document.pk), "create"), (str(document.pk), "update"),
        (str(document.pk), "delete"),
    ]
    update = seen[2]
    assert update["changes"]["new"]["content_hash"] == update["content_hash"] and "content" not in update
    assert update["changed_by"]["id"] == str(owner.pk) and update["device_id"] is None
    assert "content" not in update["data"]  # content travels by hash (decision 3)
    again = client.get(_url(team.workspace), {"cursor": cursor}).json()
    assert all(again[name] == [] for name in GROUP_NAMES) and again["cursor"] == cursor


def test_api_sync_since_inlines_content_only_while_current(team):
    owner = team.user("owner")
    start = last_seq(team.workspace)
    first = document_create(actor=owner, workspace=team.workspace, data={"title": "A", "content": "first text"})
    second = document_create(actor=owner, workspace=team.workspace, data={"title": "B", "content": "stays"})
    document_update(actor=owner, document=first, data={"content": "newer text"}, if_match="*")
    body = team.client("viewer").get(_url(team.workspace), {"cursor": start, "include_content": "true"}).json()
    by_key = {(e["entity_id"], e["operation"]): e for e in body["documents"]}
    assert "content" not in by_key[(str(first.pk), "create")]  # its hash is no longer current
    assert by_key[(str(first.pk), "update")]["content"] == "newer text"
    assert by_key[(str(second.pk), "create")]["content"] == "stays"
    plain = team.client("viewer").get(_url(team.workspace), {"cursor": start}).json()
    assert all("content" not in entry for entry in plain["documents"])


def test_api_sync_since_cursor_below_the_horizon_is_gone(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(sync_horizon=3)
    client = team.client("editor")
    assert_problem(client.get(_url(team.workspace), {"cursor": 2}), 410, "cursor-expired")
    assert client.get(_url(team.workspace), {"cursor": 0}).status_code == 200  # a fresh bootstrap is fine
    assert client.get(_url(team.workspace), {"cursor": 3}).status_code == 200


@pytest.mark.parametrize(
    "params,field",
    [({}, "cursor"), ({"cursor": -1}, "cursor"), ({"cursor": "x"}, "cursor"), ({"cursor": 0, "limit": 501}, "limit"),
     ({"cursor": 0, "limit": 0}, "limit"), ({"cursor": 0, "include_content": "maybe"}, "include_content")],
)
def test_api_sync_since_bad_parameters_are_400(team, params, field):
    assert_validation(team.client("owner").get(_url(team.workspace), params), field)


def test_api_sync_since_queries_do_not_grow_with_the_page(team, django_assert_max_num_queries):
    owner = team.user("owner")
    client = team.client("owner")
    for index in range(3):
        document_create(actor=owner, workspace=team.workspace, data={"title": f"D{index}", "content": f"t{index}"})
    client.get(_url(team.workspace), {"cursor": 0, "include_content": "true"})
    with django_assert_max_num_queries(10) as few:
        client.get(_url(team.workspace), {"cursor": 0, "include_content": "true"})
    count = len(few)
    for index in range(30):
        folder_create(actor=owner, workspace=team.workspace, data={"name": f"F{index}"})
        document_create(actor=owner, workspace=team.workspace, data={"title": f"E{index}", "content": f"u{index}"})
    with django_assert_max_num_queries(count):
        body = client.get(_url(team.workspace), {"cursor": 0, "include_content": "true", "limit": 500}).json()
    assert len(body["documents"]) == 33 and len(body["folders"]) == 30


def test_api_sync_since_up_to_date_cursor_does_not_read_the_log(team, django_assert_max_num_queries):
    owner = team.user("owner")
    client = team.client("owner")
    document_create(actor=owner, workspace=team.workspace, data={"title": "D", "content": "x"})
    cursor = client.get(_url(team.workspace), {"cursor": 0}).json()["cursor"]
    client.get(_url(team.workspace), {"cursor": cursor})
    with django_assert_max_num_queries(2) as captured:  # the user, the membership with its workspace
        body = client.get(_url(team.workspace), {"cursor": cursor}).json()
    assert not [q for q in captured.captured_queries if "sync_synclog" in q["sql"]]
    assert body["cursor"] == cursor and body["has_more"] is False
    assert all(body[name] == [] for name in GROUP_NAMES)
    later = document_create(actor=owner, workspace=team.workspace, data={"title": "Later", "content": "y"})
    body = client.get(_url(team.workspace), {"cursor": cursor}).json()
    assert [entry["entity_id"] for entry in body["documents"]] == [str(later.pk)]
    assert body["cursor"] == Workspace.objects.get(pk=team.workspace.pk).sync_seq
