"""What both socket dialects share: authentication, access, limits, presence and the per-document session."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from accounts.authentication import authenticate_token
from accounts.serializers import user_summary
from collab.errors import CloseCode, SessionRefused
from collab.models import Presence
from collab.protocol import loads_json
from collab.store import is_collaborative
from documents.models import Document
from mdcreator import errors
from workspaces.access import resolve

PRESENCE_TTL = timedelta(minutes=5)
MAX_CONNECTIONS_PER_DOCUMENT = 100
MAX_CONNECTIONS_PER_USER = 20
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class RateLimiter:
    """Average rate over a window: `rate` messages per second averaged over `window` seconds."""

    def __init__(self, rate: float, window: float = 5.0):
        self.capacity = rate * window
        self.rate = rate
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def query_params(scope) -> dict[str, str]:
    """First value of each query-string parameter."""
    raw = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {key: values[0] for key, values in raw.items() if values}


def origin_allowed(scope) -> bool:
    """Browsers must come from the allow-list; clients without Origin rely on their token."""
    origin = dict(scope.get("headers", [])).get(b"origin")
    return origin is None or origin.decode("latin-1") in settings.CORS_ALLOWED_ORIGINS


def authenticate(token: str | None):
    """The user behind a bearer token; SessionRefused(4401) otherwise."""
    if not token:
        raise SessionRefused(CloseCode.UNAUTHORIZED)
    try:
        user, _ = authenticate_token(token)
    except errors.ProblemError:
        raise SessionRefused(CloseCode.UNAUTHORIZED) from None
    return user


@dataclass
class DocumentAccess:
    """What a session may do on its document, from the resolver's abilities."""

    document: Document
    role: str
    read_only: bool
    share_token: str | None = None  # re-checked with the session, so a revoked link closes it

    @property
    def collaborative(self) -> bool:
        return is_collaborative(self.document)


def document_access(user, document_id: str, share_token: str | None = None) -> DocumentAccess:
    """Resolve a caller's access to a live document (a share link's token counts too); 4404 when not visible.

    A share token holding NUL matches no link (and never reaches a database string): it counts as none.
    """
    if share_token is not None and "\x00" in share_token:
        share_token = None
    document = Document.objects.filter(pk=document_id, deleted=False).first() if _is_uuid(document_id) else None
    access = resolve(user, document, share_token) if document is not None else None
    if access is None or not access.can("collaborate_read"):
        raise SessionRefused(CloseCode.NOT_FOUND)
    return DocumentAccess(
        document=document, role=access.role, read_only=not access.can("collaborate_write"), share_token=share_token
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


_PRESENCE_REOPENED = ("user", "document", "device_type", "is_active", "disconnected_at", "expires_at", "last_activity_at")


def presence_open(*, user, document: Document, connection_id: str, device_type: str) -> bool:
    """Record a live connection (limits enforced); returns whether it is the user's first on this document.

    Two statements: one counts the document's, the user's and the user's own connections to the document
    at once, one inserts the row (or revives it: a Hocuspocus socket may open an address again).
    """
    now = timezone.now()
    live = Presence.objects.filter(Q(document=document) | Q(user=user), is_active=True, expires_at__gt=now)
    counts = live.aggregate(
        on_document=Count("pk", filter=Q(document=document)),
        of_user=Count("pk", filter=Q(user=user)),
        of_user_here=Count("pk", filter=Q(user=user, document=document)),
    )
    if counts["on_document"] >= MAX_CONNECTIONS_PER_DOCUMENT or counts["of_user"] >= MAX_CONNECTIONS_PER_USER:
        raise SessionRefused(CloseCode.TOO_MANY)
    row = Presence(
        connection_id=connection_id, user=user, document=document, device_type=device_type, is_active=True,
        disconnected_at=None, expires_at=now + PRESENCE_TTL, last_activity_at=now,
    )  # fmt: skip
    Presence.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["connection_id"], update_fields=list(_PRESENCE_REOPENED)
    )
    return counts["of_user_here"] == 0


def presence_heartbeat(connection_id: str, *, is_typing: bool | None = None) -> None:
    """Keep a connection's presence alive for five more minutes."""
    now = timezone.now()
    fields = {"last_activity_at": now, "expires_at": now + PRESENCE_TTL}
    if is_typing is not None:
        fields["is_typing"] = is_typing
    Presence.objects.filter(connection_id=connection_id, is_active=True).update(**fields)


def presence_close(*, connection_id: str) -> tuple[object, object, bool] | None:
    """Close a connection's presence; returns (user id, document id, was it the user's last) or None."""
    row = Presence.objects.filter(connection_id=connection_id, is_active=True).first()
    if row is None:
        return None
    now = timezone.now()
    Presence.objects.filter(pk=row.pk).update(is_active=False, disconnected_at=now, is_typing=False)
    others = Presence.objects.filter(
        user_id=row.user_id, document_id=row.document_id, is_active=True, expires_at__gt=now
    ).exists()
    return row.user_id, row.document_id, not others


def presence_purge_stale(*, dry_run: bool = False) -> int:
    """Delete presence rows whose heartbeat stopped more than five minutes ago (purge_expired)."""
    stale = Presence.objects.filter(expires_at__lte=timezone.now())
    return stale.count() if dry_run else stale.delete()[0]


def presence_users(document_id) -> list[dict]:
    """Users connected to a document (one entry per user), for `presence_list` and the REST endpoint."""
    rows = (
        Presence.objects.filter(document_id=document_id, is_active=True, expires_at__gt=timezone.now())
        .select_related("user")
        .order_by("connected_at")
    )
    users: dict = {}
    for row in rows:
        entry = users.setdefault(row.user_id, {**user_summary(row.user), "device_type": row.device_type})
        entry["is_typing"] = entry.get("is_typing", False) or row.is_typing
        entry["last_activity_at"] = row.last_activity_at
    return list(users.values())


def device_type(scope) -> str:
    """web, desktop (Tauri) or unknown, from the Origin and User-Agent."""
    headers = dict(scope.get("headers", []))
    origin = headers.get(b"origin", b"").decode("latin-1")
    agent = headers.get(b"user-agent", b"").decode("latin-1").lower()
    if origin.startswith("tauri://") or "tauri" in origin or "tauri" in agent:
        return Presence.DeviceType.DESKTOP
    if "mobile" in agent:
        return Presence.DeviceType.MOBILE
    return Presence.DeviceType.WEB if origin else Presence.DeviceType.UNKNOWN


def parse_event(text: str) -> dict | None:
    """A client JSON event, or None when it is not a JSON object with a string `type`, not strict JSON, nested
    deeper than SPEC §9's 32 levels (found without recursing), or holding an integer JavaScript cannot (events are
    re-encoded and relayed, through the channel layer too)."""
    try:
        event = loads_json(text, safe_integers=True)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("type"), str) else None
