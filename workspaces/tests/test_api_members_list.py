"""GET workspaces/{id}/members: every member reads the active members; non-members get 404."""

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from workspaces.models import WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    EVERY_MEMBER_READS,
    MEMBER_FIELDS,
    MEMBER_ROLES,
    MISSING_ID,
    ROLE_FLAGS,
    actor_params,
    allowed,
    assert_problem,
    assert_validation,
    client_for,
    flags,
    is_timestamp,
    ws_url,
)

pytestmark = pytest.mark.django_db

OUTCOME = EVERY_MEMBER_READS


def _members_url(workspace) -> str:
    return ws_url(workspace, "/members")


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_members_list_every_actor(team, actor):
    MemberFactory(workspace=WorkspaceFactory())  # someone else's member, never listed
    response = team.client(actor).get(_members_url(team.workspace))
    if not allowed(response, actor, MEMBER_ROLES):
        return
    body = response.json()
    assert set(body) == {"members", "total", "data", "workspace_id"}  # data, workspace_id: SPEC §3.9
    assert body["total"] == 5
    rows = {row["role"]: row for row in body["members"]}
    assert set(rows) == {"owner", "admin", "editor", "commenter", "viewer"}
    for role, row in rows.items():
        user = team.user(role)
        assert set(row) >= MEMBER_FIELDS  # plus the client aliases of SPEC §3.9
        assert row["user_id"] == str(user.pk)
        assert row["display_name"] == user.display_name and row["email"] == user.email
        assert row["avatar_url"] is None
        assert row["permissions"] == ROLE_FLAGS[role]
        assert row["is_active"] is True
        assert is_timestamp(row["joined_at"]) and row["last_accessed_at"] is None
    assert body["members"][0]["role"] == "owner"


def test_api_members_list_permissions_are_effective_flags(team):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).update(
        permissions={"can_delete_documents": True, "can_comment": False}
    )
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("viewer")).update(
        permissions={"can_invite_members": True}
    )
    rows = {r["role"]: r for r in team.client("viewer").get(_members_url(team.workspace)).json()["members"]}
    assert rows["editor"]["permissions"] == flags("create", "edit", "delete")
    assert rows["viewer"]["permissions"] == flags("invite")


def test_api_members_list_hides_former_members(team):
    MemberFactory(workspace=team.workspace, inactive=True)
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("viewer")).update(is_active=False)
    body = team.client("owner").get(_members_url(team.workspace)).json()
    assert body["total"] == 4
    assert str(team.user("viewer").pk) not in {r["user_id"] for r in body["members"]}


def test_api_members_list_deleted_account_reads_deleted_user(team):
    User.objects.filter(pk=team.user("commenter").pk).update(
        deleted_at=timezone.now(), avatar_url="https://x.test/a.png"
    )
    rows = {r["role"]: r for r in team.client("owner").get(_members_url(team.workspace)).json()["members"]}
    assert rows["commenter"]["display_name"] == "Deleted user"
    assert rows["commenter"]["email"] is None


def test_api_members_list_avatar_url(team):
    User.objects.filter(pk=team.user("admin").pk).update(avatar_url="https://cdn.test/admin.png")
    rows = {r["role"]: r for r in team.client("owner").get(_members_url(team.workspace)).json()["members"]}
    assert rows["admin"]["avatar_url"] == "https://cdn.test/admin.png"


def test_api_members_list_limit_and_offset(team):
    client = team.client("owner")
    everyone = [r["user_id"] for r in client.get(_members_url(team.workspace)).json()["members"]]
    page = client.get(_members_url(team.workspace), {"limit": 2, "offset": 2}).json()
    assert [r["user_id"] for r in page["members"]] == everyone[2:4]
    assert page["total"] == 5
    assert client.get(_members_url(team.workspace), {"offset": 5}).json()["members"] == []


def test_api_members_list_personal_workspace_has_only_its_owner():
    user = UserFactory()
    workspace = WorkspaceFactory(owner=user, personal=True)
    body = client_for(user).get(_members_url(workspace)).json()
    assert body["total"] == 1 and body["members"][0]["role"] == "owner"


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"limit": "ten"}, {"limit": "-5"}, {"offset": -1}, {"offset": "1e3"}],
)
def test_api_members_list_bad_query_params_are_400(team, params):
    assert_validation(team.client("viewer").get(_members_url(team.workspace), params), *params)


@pytest.mark.parametrize("workspace_id", ["bad-id", MISSING_ID])
def test_api_members_list_malformed_or_unknown_workspace_is_404(team, workspace_id):
    assert_problem(team.client("owner").get(_members_url(workspace_id)), 404, "not-found")


def test_api_members_list_query_count_is_constant(team, django_assert_max_num_queries):
    small = WorkspaceFactory()
    large = WorkspaceFactory()
    for workspace, count in ((small, 4), (large, 199)):
        users = User.objects.bulk_create(UserFactory.build_batch(count))
        WorkspaceMember.objects.bulk_create(WorkspaceMember(workspace=workspace, user=u, role="viewer") for u in users)
    small_client, large_client = client_for(small.owner), client_for(large.owner)
    with django_assert_max_num_queries(5) as small_queries:
        small_body = small_client.get(_members_url(small), {"limit": 200}).json()
    with django_assert_max_num_queries(len(small_queries)) as large_queries:
        large_body = large_client.get(_members_url(large), {"limit": 200}).json()
    assert (len(small_body["members"]), len(large_body["members"])) == (5, 200)
    assert large_body["total"] == 200
    assert len(large_queries) == len(small_queries)
