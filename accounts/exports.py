"""Account export: everything a person owns, as one JSON document (SPEC §3.1).

Identity writes the profile and the sessions; memberships, documents and versions come
from the apps that own them, through `accounts.parts`.
"""

from __future__ import annotations

from accounts.models import RefreshToken, User
from accounts.parts import export_account
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none

EXPORT_FORMAT_VERSION = 1


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
        "created_at": utc_timestamp_or_none(user.created_at),
        "last_seen_at": utc_timestamp_or_none(user.last_seen_at),
    }


def _sessions(user: User) -> list[dict]:
    rows = RefreshToken.objects.filter(user=user).order_by("created_at")
    return [
        {
            "family_id": str(t.family_id),
            "created_at": utc_timestamp_or_none(t.created_at),
            "expires_at": utc_timestamp_or_none(t.expires_at),
            "rotated_at": utc_timestamp_or_none(t.rotated_at),
            "revoked_at": utc_timestamp_or_none(t.revoked_at),
            "revoke_reason": t.revoke_reason or None,
            "user_agent": t.user_agent,
            "ip": t.ip,
            "device_id": t.device_id,
        }
        for t in rows
    ]


def user_export(*, user: User) -> dict:
    """The export document: identity's own sections, then every registered app's (accounts.parts)."""
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": utc_timestamp(),
        "profile": _profile(user),
        **export_account(user),
        "sessions": _sessions(user),
    }
