"""Roles, effective flags, override guard rails and the access resolver (SPEC §2.1, §2.2, §2.4)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from workspaces.access import Access, invitable_roles, resolve
from workspaces.models import Workspace, WorkspaceMember
from workspaces.roles import FLAGS, Role, clean_overrides, effective_flags, override_errors, rank
from workspaces.tests.helpers import FLAG_NAMES, MEMBER_ROLES, ROLE_FLAGS, flags

# What each role may be granted beyond its defaults (SPEC §2.2 guard rails).
GRANTABLE = {
    "owner": set(),
    "admin": {"can_manage_workspace"},
    "editor": {"can_delete_documents", "can_invite_members"},
    "commenter": {"can_invite_members"},
    "viewer": {"can_comment", "can_invite_members"},
}
NON_OWNER = ("admin", "editor", "commenter", "viewer")


def test_roles_are_declared_lowest_to_highest_with_spec_ranks():
    assert [role.value for role in Role] == ["viewer", "commenter", "editor", "admin", "owner"]
    assert [rank(role) for role in ("owner", "admin", "editor", "commenter", "viewer")] == [5, 4, 3, 2, 1]
    assert rank(None) == 0 and rank("") == 0 and rank("boss") == 0


def test_flags_are_the_six_of_the_spec():
    assert tuple(FLAGS) == FLAG_NAMES


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_effective_flags_defaults_match_the_spec_table(role):
    assert effective_flags(role) == ROLE_FLAGS[role]
    assert effective_flags(role, {}) == ROLE_FLAGS[role]
    assert effective_flags(Role(role), None) == ROLE_FLAGS[role]


def test_effective_flags_of_no_role_are_all_false():
    assert effective_flags(None) == flags()
    assert effective_flags(None, {"can_comment": True}) == flags()


@pytest.mark.parametrize("role", NON_OWNER)
@pytest.mark.parametrize("flag", FLAG_NAMES)
def test_effective_flags_revoke_any_flag_of_a_non_owner(role, flag):
    assert effective_flags(role, {flag: False}) == {**ROLE_FLAGS[role], flag: False}


@pytest.mark.parametrize("role", NON_OWNER)
@pytest.mark.parametrize("flag", FLAG_NAMES)
def test_effective_flags_grant_only_within_the_guard_rails(role, flag):
    granted = effective_flags(role, {flag: True})[flag]
    assert granted is (ROLE_FLAGS[role][flag] or flag in GRANTABLE[role])


@pytest.mark.parametrize("flag", FLAG_NAMES)
def test_effective_flags_of_the_owner_ignore_overrides(flag):
    assert effective_flags("owner", {flag: False}) == ROLE_FLAGS["owner"]


def test_effective_flags_ignore_unknown_flags_and_non_boolean_values():
    assert effective_flags("viewer", {"can_fly": True}) == ROLE_FLAGS["viewer"]
    assert effective_flags("viewer", {"can_comment": "yes"}) == ROLE_FLAGS["viewer"]
    assert effective_flags("editor", {"can_comment": 0}) == ROLE_FLAGS["editor"]
    assert set(effective_flags("viewer", {"can_fly": True})) == set(FLAG_NAMES)


def test_effective_flags_combine_several_overrides():
    assert effective_flags(
        "editor", {"can_delete_documents": True, "can_comment": False, "can_invite_members": True}
    ) == flags("create", "edit", "delete", "invite")


@pytest.mark.parametrize("role", NON_OWNER)
@pytest.mark.parametrize("flag", FLAG_NAMES)
def test_override_errors_for_grants(role, flag):
    problems = override_errors(role, {flag: True})
    allowed = ROLE_FLAGS[role][flag] or flag in GRANTABLE[role]
    assert (problems == {}) is allowed
    if not allowed:
        assert list(problems) == [flag] and problems[flag]


@pytest.mark.parametrize("role", NON_OWNER)
@pytest.mark.parametrize("flag", FLAG_NAMES)
def test_override_errors_never_for_revocations(role, flag):
    assert override_errors(role, {flag: False}) == {}


@pytest.mark.parametrize("value", [True, False])
def test_override_errors_any_override_of_the_owner(value):
    problems = override_errors("owner", {"can_comment": value, "can_manage_workspace": value})
    assert set(problems) == {"can_comment", "can_manage_workspace"}


def test_override_errors_unknown_flags_and_non_booleans():
    problems = override_errors("editor", {"can_fly": True, "can_comment": "no", "can_edit_documents": None})
    assert set(problems) == {"can_fly", "can_comment", "can_edit_documents"}


def test_clean_overrides_keeps_only_effective_valid_changes():
    overrides = {
        "can_create_documents": True,  # already the editor default: dropped
        "can_comment": False,  # a revocation: kept
        "can_delete_documents": True,  # grantable to editors: kept
        "can_manage_workspace": True,  # not grantable to editors: dropped
        "can_fly": True,  # unknown: dropped
        "can_edit_documents": "yes",  # not a boolean: dropped
    }
    assert clean_overrides("editor", overrides) == {"can_comment": False, "can_delete_documents": True}


def test_clean_overrides_for_a_new_role():
    assert clean_overrides("viewer", {"can_delete_documents": True, "can_invite_members": True}) == {
        "can_invite_members": True
    }
    assert clean_overrides("admin", {"can_invite_members": True, "can_manage_workspace": True}) == {
        "can_manage_workspace": True
    }
    assert clean_overrides("owner", {"can_comment": False}) == {}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("owner", ["viewer", "commenter", "editor", "admin"]),
        ("admin", ["viewer", "commenter", "editor"]),
        ("editor", ["viewer", "commenter", "editor"]),
        ("commenter", ["viewer", "commenter"]),
        ("viewer", ["viewer"]),
    ],
)
def test_invitable_roles_are_up_to_editor_and_own_rank(role, expected):
    access = Access(role=role, flags=effective_flags(role), source="member")
    assert invitable_roles(access) == expected


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_workspace_abilities_follow_the_matrix(role):
    abilities = Access(role=role, flags=effective_flags(role), source="member").abilities
    assert abilities["retrieve"] and abilities["list_members"] and abilities["leave"]
    assert abilities["partial_update"] is (role == "owner")
    assert abilities["destroy"] is (role == "owner") and abilities["transfer_ownership"] is (role == "owner")
    for name in ("invite", "list_invitations", "revoke_invitation"):
        assert abilities[name] is (role in ("owner", "admin"))
    assert abilities["update_member"] is (role in ("owner", "admin"))
    assert abilities["remove_member"] is (role in ("owner", "admin"))


@pytest.mark.django_db
def test_resolve_gives_the_members_role_and_flags(team):
    access = resolve(team.user("editor"), team.workspace)
    assert (access.role, access.source, access.flags) == ("editor", "member", ROLE_FLAGS["editor"])
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("viewer")).update(
        permissions={"can_comment": True}
    )
    assert resolve(team.user("viewer"), team.workspace).flags == flags("comment")


@pytest.mark.django_db
def test_resolve_accepts_objects_carrying_a_workspace_id(team):
    member = team.member("commenter")
    assert resolve(team.user("commenter"), member).role == "commenter"


@pytest.mark.django_db
def test_resolve_is_none_for_outsiders_former_members_and_deleted_workspaces(team):
    assert resolve(team.user("non_member"), team.workspace) is None
    assert resolve(AnonymousUser(), team.workspace) is None
    assert resolve(None, team.workspace) is None
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("viewer")).update(is_active=False)
    assert resolve(team.user("viewer"), team.workspace) is None
    Workspace.objects.filter(pk=team.workspace.pk).update(deleted_at=timezone.now())
    assert resolve(team.user("owner"), team.workspace) is None
