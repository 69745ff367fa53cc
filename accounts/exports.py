"""Account export: everything a person owns, as one JSON document (SPEC §3.1).

Identity writes the profile and the sessions; memberships, documents and versions come
from the apps that own them, through `accounts.parts`.
"""

from __future__ import annotations

from accounts.models import ApiKey, RefreshToken, UsageMetric, User
from accounts.parts import export_account
from accounts.serializers import me_body
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none

EXPORT_FORMAT_VERSION = 1


PROFILE_FIELDS = (
    "id", "email", "username", "display_name", "avatar_url", "bio", "email_verified", "settings", "features",
    "subscription_tier", "subscription_status", "auth_source", "created_at", "last_seen_at",
)


def _profile(user: User) -> dict:
    """The profile part of the export: the fields of `Me` a person's data consists of."""
    body = me_body(user)
    return {name: body[name] for name in PROFILE_FIELDS}


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


# What the export says about a stored key; the ciphertext and the hash are never read.
_API_KEY_FIELDS = (
    "id", "provider", "name", "description", "last4", "is_active", "is_valid", "usage_count", "last_used_at",
    "created_at", "revoked_at",
)


def _api_keys(user: User) -> list[dict]:
    """The person's AI provider keys as metadata: never the ciphertext nor the hash."""
    rows = ApiKey.objects.filter(user=user).order_by("created_at", "pk")
    return [
        {
            "id": str(key.pk),
            "provider": key.provider,
            "name": key.name,
            "description": key.description,
            "last4": key.last4,
            "is_active": key.is_active,
            "is_valid": key.is_valid,
            "usage_count": key.usage_count,
            "last_used_at": utc_timestamp_or_none(key.last_used_at),
            "created_at": utc_timestamp_or_none(key.created_at),
            "revoked_at": utc_timestamp_or_none(key.revoked_at),
        }
        for key in rows.only(*_API_KEY_FIELDS)
    ]


def _usage(user: User) -> list[dict]:
    """The person's metered usage (AI calls with their metadata, ...), oldest first."""
    rows = UsageMetric.objects.filter(user=user).order_by("period_start", "pk").values_list(
        "metric_type", "value", "metadata", "period_start", "period_end", "workspace_id"
    )
    return [
        {
            "metric_type": metric_type,
            "value": value,
            "metadata": metadata,
            "period_start": utc_timestamp_or_none(start),
            "period_end": utc_timestamp_or_none(end),
            "workspace_id": str(workspace_id) if workspace_id else None,
        }
        for metric_type, value, metadata, start, end, workspace_id in rows.iterator(chunk_size=2000)
    ]


def user_export(*, user: User) -> dict:
    """The export document: identity's own sections, then every registered app's (accounts.parts)."""
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": utc_timestamp(),
        "profile": _profile(user),
        **export_account(user),
        "sessions": _sessions(user),
        "api_keys": _api_keys(user),
        "usage": _usage(user),
    }
