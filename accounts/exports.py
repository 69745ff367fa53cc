"""Account export: everything a person owns, as one JSON document (SPEC §3.1)."""

from __future__ import annotations

from accounts.models import RefreshToken, User
from mdcreator.problems import utc_timestamp
from workspaces.models import WorkspaceMember

EXPORT_FORMAT_VERSION = 1


def _ts(value):
    return utc_timestamp(value) if value else None


def _profile(user: User) -> dict:
    return {
        "id": str(user.pk),
        "email": user.email,
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "bio": user.bio,
        "email_verified": user.email_verified,
        "settings": user.settings,
        "features": user.features,
        "subscription_tier": user.subscription_tier,
        "subscription_status": user.subscription_status,
        "auth_source": user.auth_source,
        "created_at": _ts(user.created_at),
        "last_seen_at": _ts(user.last_seen_at),
    }


def _memberships(user: User) -> list[dict]:
    rows = WorkspaceMember.objects.filter(user=user).select_related("workspace").order_by("joined_at")
    return [
        {
            "workspace_id": str(m.workspace_id),
            "workspace_name": m.workspace.name,
            "is_personal": m.workspace.is_personal,
            "role": m.role,
            "permission_overrides": m.permissions,
            "is_active": m.is_active,
            "joined_at": _ts(m.joined_at),
            "workspace_deleted_at": _ts(m.workspace.deleted_at),
        }
        for m in rows
    ]


def _sessions(user: User) -> list[dict]:
    rows = RefreshToken.objects.filter(user=user).order_by("created_at")
    return [
        {
            "family_id": str(t.family_id),
            "created_at": _ts(t.created_at),
            "expires_at": _ts(t.expires_at),
            "rotated_at": _ts(t.rotated_at),
            "revoked_at": _ts(t.revoked_at),
            "revoke_reason": t.revoke_reason or None,
            "user_agent": t.user_agent,
            "ip": t.ip,
            "device_id": t.device_id,
        }
        for t in rows
    ]


def user_export(*, user: User) -> dict:
    """The export document; documents, comments and files join as their apps arrive."""
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": utc_timestamp(),
        "profile": _profile(user),
        "memberships": _memberships(user),
        "sessions": _sessions(user),
    }
