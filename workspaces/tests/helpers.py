"""Shapes, URLs and database snapshots shared by the workspaces tests."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.helpers import bearer, problem_slug
from sync.models import SyncLog
from workspaces.models import Workspace

ACTORS = ("owner", "admin", "editor", "commenter", "viewer", "non_member", "anonymous")
MEMBER_ROLES = ("owner", "admin", "editor", "commenter", "viewer")
OUTCOME_WORDS = {
    200: "ok",
    201: "created",
    204: "no_content",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "gone",
}




def invitee_only(ok: int) -> dict:
    """The outcomes of an invitation answered by its invitee only: `ok` for the invitee (the non-member, by
    email), 403 `invitation-email-mismatch` for every member, 401 when signed out."""
    return {
        **dict.fromkeys(MEMBER_ROLES, (403, "invitation-email-mismatch")),
        "non_member": (ok, None),
        "anonymous": (401, "authentication-required"),
    }


def actor_params(outcomes: dict) -> list:
    """One `actor` parameter per actor, named `<actor>_<outcome>` (`admin_forbidden`) after its expected status."""
    assert set(outcomes) == set(ACTORS), outcomes
    params = []
    for actor in ACTORS:
        expected = outcomes[actor]
        status = expected[0] if isinstance(expected, tuple) else expected
        params.append(pytest.param(actor, id=f"{actor}_{OUTCOME_WORDS[status]}"))
    return params


FLAG_NAMES = (
    "can_create_documents",
    "can_edit_documents",
    "can_delete_documents",
    "can_comment",
    "can_invite_members",
    "can_manage_workspace",
)


SHORT_FLAGS = dict(zip(("create", "edit", "delete", "comment", "invite", "manage"), FLAG_NAMES, strict=True))


def flags(*granted: str) -> dict[str, bool]:
    """The six flags, true for the short names given (`create`, `edit`, `delete`, `comment`, `invite`, `manage`)."""
    names = {SHORT_FLAGS[name] for name in granted}
    return {flag: flag in names for flag in FLAG_NAMES}


# SPEC §2.2, written out independently of workspaces.roles.
ROLE_FLAGS = {
    "owner": flags("create", "edit", "delete", "comment", "invite", "manage"),
    "admin": flags("create", "edit", "delete", "comment", "invite"),
    "editor": flags("create", "edit", "comment"),
    "commenter": flags("comment"),
    "viewer": flags(),
}

WORKSPACE_FIELDS = {
    "id",
    "name",
    "slug",
    "description",
    "icon",
    "color",
    "is_personal",
    "is_team",
    "role",
    "permissions",
    "settings",
    "storage_used_bytes",
    "storage_limit_bytes",
    "member_limit",
    "document_count",
    "member_count",
    "created_at",
    "updated_at",
}
WORKSPACE_DETAIL_FIELDS = WORKSPACE_FIELDS | {"owner"}
MEMBER_FIELDS = {
    "user_id",
    "display_name",
    "email",
    "avatar_url",
    "role",
    "permissions",
    "joined_at",
    "last_accessed_at",
    "is_active",
}
INVITATION_FIELDS = {
    "id",
    "email",
    "role",
    "status",
    "message",
    "invited_by",
    "created_at",
    "expires_at",
    "document_id",
}
INVITATION_CREATED_FIELDS = {"invitation_id", "email", "role", "status", "token", "expires_at", "invitation_link"}
USER_SUMMARY_FIELDS = {"id", "display_name", "avatar_url"}
DEFAULT_SETTINGS = {
    "default_permissions": "editor",
    "require_invitation": True,
    "allow_guest_access": False,
    "ai_enabled": True,
}

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MISSING_ID = "00000000-0000-4000-8000-000000000000"


def client_for(user) -> APIClient:
    """An API client holding a fresh access token of `user` (None: anonymous)."""
    client = APIClient()
    if user is not None:
        bearer(client, session_start(user=user, client=ClientInfo()).access_token)
    return client


def ws_url(workspace, suffix: str = "") -> str:
    workspace_id = workspace if isinstance(workspace, str) else workspace.pk
    return f"/api/v1/workspaces/{workspace_id}{suffix}"


def is_timestamp(value) -> bool:
    return isinstance(value, str) and bool(TIMESTAMP.match(value))


def user_summary(user) -> dict:
    return {"id": str(user.pk), "display_name": user.display_name, "avatar_url": user.avatar_url}


def assert_problem(response, status: int, slug: str) -> dict:
    """Assert a problem response with this status and slug; returns its body."""
    assert response.status_code == status, (response.status_code, response.content)
    assert problem_slug(response) == slug, response.json()
    body = response.json()
    assert body["instance"] == response.wsgi_request.path
    return body


def assert_validation(response, *fields: str) -> dict:
    """Assert a 400 validation-error naming every field given."""
    body = assert_problem(response, 400, "validation-error")
    for name in fields:
        assert name in body["errors"], body["errors"]
    return body


SLUG = {401: "authentication-required", 403: "permission-denied", 404: "not-found"}


def outcome(actor: str, allowed: tuple[str, ...], ok: int = 200) -> int:
    """The status `actor` gets on an action that `allowed` roles may do."""
    if actor == "anonymous":
        return 401
    if actor == "non_member":
        return 404
    return ok if actor in allowed else 403


def assert_refused(response, status: int) -> None:
    assert_problem(response, status, SLUG[status])


def allowed(response, actor: str, roles: tuple[str, ...]) -> bool:
    """Whether `actor` may do the action `roles` may do, judged on its `response`: a 200 then; otherwise the
    refusal `outcome` gives is asserted and the test checks what the refusal left unchanged."""
    expected = outcome(actor, roles)
    if expected != 200:
        assert_refused(response, expected)
        return False
    assert response.status_code == 200
    return True


# What each actor gets from a read open to every member.
EVERY_MEMBER_READS = {actor: outcome(actor, MEMBER_ROLES) for actor in ACTORS}


def db_state(workspace: Workspace) -> dict:
    """Everything a workspace request could change, to prove a refusal changed nothing."""
    fresh = Workspace.objects.get(pk=workspace.pk)
    return {
        "workspace": {field.attname: getattr(fresh, field.attname) for field in Workspace._meta.concrete_fields},
        "members": sorted(
            fresh.members.values_list("user_id", "role", "permissions", "is_active", "invitation_accepted_at"),
            key=str,
        ),
        "invitations": sorted(
            fresh.invitations.values_list("id", "email", "role", "status", "accepted_at", "declined_at", "user_id"),
            key=str,
        ),
        "sync": list(SyncLog.objects.filter(workspace=fresh).order_by("seq").values_list("seq", "entity_type")),
    }


def sync_entries(workspace, after: int = 0) -> list[SyncLog]:
    """Sync entries of a workspace with seq > after, in seq order."""
    return list(SyncLog.objects.filter(workspace_id=getattr(workspace, "pk", workspace), seq__gt=after).order_by("seq"))


def allow_guests(workspace) -> None:
    """Turn on `allow_guest_access` (share links need it), keeping the other settings; `workspace` is refreshed."""
    Workspace.objects.filter(pk=workspace.pk).update(settings={**workspace.settings, "allow_guest_access": True})
    workspace.refresh_from_db()


def last_seq(workspace) -> int:
    return Workspace.objects.values_list("sync_seq", flat=True).get(pk=getattr(workspace, "pk", workspace))
