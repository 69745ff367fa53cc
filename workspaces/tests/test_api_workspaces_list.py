"""GET workspaces: the caller's own workspaces only, paged by limit/offset, filterable by type."""

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    DEFAULT_SETTINGS,
    ROLE_FLAGS,
    WORKSPACE_FIELDS,
    actor_params,
    assert_problem,
    assert_validation,
    client_for,
    is_timestamp,
)

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": 200,
    "admin": 200,
    "editor": 200,
    "commenter": 200,
    "viewer": 200,
    "non_member": 200,
    "anonymous": 401,
}

URL = "/api/v1/workspaces"


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_workspaces_list_every_actor(team, actor):
    WorkspaceFactory(name="Someone else's")  # never listed for anybody here
    response = team.client(actor).get(URL)
    if actor == "anonymous":
        assert_problem(response, 401, "authentication-required")
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"workspaces", "items", "total", "limit", "offset"}  # items: SPEC §3.9
    assert body["limit"] == 50 and body["offset"] == 0
    if actor == "non_member":
        assert body == {"workspaces": [], "items": [], "total": 0, "limit": 50, "offset": 0}
        return
    assert body["total"] == 1
    [row] = body["workspaces"]
    assert set(row) == WORKSPACE_FIELDS
    assert row["id"] == str(team.workspace.pk) and row["name"] == "Team Space"
    assert row["slug"] == team.workspace.slug
    assert row["role"] == actor and row["permissions"] == ROLE_FLAGS[actor]
    assert row["is_personal"] is False and row["is_team"] is True
    assert row["settings"] == DEFAULT_SETTINGS
    assert row["member_count"] == 5 and row["document_count"] == 0
    assert row["storage_used_bytes"] == 0 and row["storage_limit_bytes"] == 1024**3 and row["member_limit"] == 10
    assert is_timestamp(row["created_at"]) and is_timestamp(row["updated_at"])


def test_api_workspaces_list_personal_first_then_by_name_with_own_roles():
    user = UserFactory()
    WorkspaceFactory(owner=user, name="Zeta")
    WorkspaceFactory(owner=user, personal=True, name="Mine")
    MemberFactory(workspace=WorkspaceFactory(name="Alpha"), user=user, role="viewer")
    MemberFactory(
        workspace=WorkspaceFactory(name="Beta"), user=user, role="admin", permissions={"can_manage_workspace": True}
    )
    body = client_for(user).get("/api/v1/workspaces").json()
    assert [(w["name"], w["role"]) for w in body["workspaces"]] == [
        ("Mine", "owner"),
        ("Alpha", "viewer"),
        ("Beta", "admin"),
        ("Zeta", "owner"),
    ]
    assert body["workspaces"][2]["permissions"]["can_manage_workspace"] is True
    assert body["workspaces"][1]["permissions"] == ROLE_FLAGS["viewer"]
    assert [w["member_count"] for w in body["workspaces"]] == [1, 2, 2, 1]
    assert body["total"] == 4


def test_api_workspaces_list_hides_deleted_workspaces_and_left_memberships():
    user = UserFactory()
    kept = WorkspaceFactory(owner=user, name="Kept")
    WorkspaceFactory(owner=user, name="Gone", deleted_at=timezone.now())
    MemberFactory(workspace=WorkspaceFactory(name="Left"), user=user, inactive=True)
    body = client_for(user).get(URL).json()
    assert [w["id"] for w in body["workspaces"]] == [str(kept.pk)] and body["total"] == 1


@pytest.mark.parametrize(
    ("kind", "expected"), [("personal", ["Mine"]), ("team", ["Alpha", "Zeta"]), ("", ["Mine", "Alpha", "Zeta"])]
)
def test_api_workspaces_list_type_filter(kind, expected):
    user = UserFactory()
    WorkspaceFactory(owner=user, personal=True, name="Mine")
    WorkspaceFactory(owner=user, name="Zeta")
    MemberFactory(workspace=WorkspaceFactory(name="Alpha"), user=user)
    body = client_for(user).get(URL, {"type": kind}).json()
    assert [w["name"] for w in body["workspaces"]] == expected
    assert body["total"] == len(expected)


def test_api_workspaces_list_limit_and_offset_page_the_rows_and_total_counts_all():
    user = UserFactory()
    for name in ("A", "B", "C", "D", "E"):
        WorkspaceFactory(owner=user, name=name)
    client = client_for(user)
    body = client.get(URL, {"limit": 2, "offset": 1}).json()
    assert [w["name"] for w in body["workspaces"]] == ["B", "C"]
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)
    body = client.get(URL, {"limit": 100, "offset": 5}).json()
    assert body["workspaces"] == [] and body["total"] == 5


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"limit": "abc"},
        {"limit": "1.5"},
        {"limit": "99999999999999999999999"},
        {"offset": -1},
        {"offset": "x"},
        {"offset": "99999999999999999999999"},
        {"type": "shared"},
        {"type": "PERSONAL"},
    ],
)
def test_api_workspaces_list_bad_query_params_are_400(team, params):
    response = team.client("owner").get(URL, params)
    assert_validation(response, *params)


def _bulk_memberships(user, count: int) -> None:
    """`count` team workspaces with `user` as editor and one other member each, written in bulk."""
    owners = UserFactory.create_batch(count)
    workspaces = Workspace.objects.bulk_create(
        Workspace(owner=owner, name=f"Bulk {i:03d}", slug=f"bulk-{user.pk.hex[:8]}-{i}")
        for i, owner in enumerate(owners)
    )
    WorkspaceMember.objects.bulk_create(
        [WorkspaceMember(workspace=w, user=w.owner, role="owner") for w in workspaces]
        + [WorkspaceMember(workspace=w, user=user, role="editor") for w in workspaces]
    )


def test_api_workspaces_list_query_count_is_constant(django_assert_max_num_queries):
    few, many = UserFactory(), UserFactory()
    _bulk_memberships(few, 5)
    _bulk_memberships(many, 100)
    few_client, many_client = client_for(few), client_for(many)
    with django_assert_max_num_queries(5) as few_queries:
        few_body = few_client.get(URL, {"limit": 100}).json()
    with django_assert_max_num_queries(len(few_queries)) as many_queries:
        many_body = many_client.get(URL, {"limit": 100}).json()
    assert len(few_body["workspaces"]) == 5 and len(many_body["workspaces"]) == 100
    assert len(many_queries) == len(few_queries)
    assert {w["member_count"] for w in many_body["workspaces"]} == {2}


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer"])
def test_api_workspaces_list_bad_credentials_are_401(api_client, header):
    response = api_client.get(URL, HTTP_AUTHORIZATION=header)
    assert_problem(response, 401, "invalid-token")
