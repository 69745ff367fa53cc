"""Housekeeping of identity's rows (purge_expired, SPEC §8)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import EmailCode, RefreshToken


@transaction.atomic
def credentials_purge_expired(*, dry_run: bool = False) -> dict[str, int]:
    """Delete email codes and refresh tokens past their expiry; returns how many of each."""
    now = timezone.now()
    codes = EmailCode.objects.filter(expires_at__lte=now)
    tokens = RefreshToken.objects.filter(expires_at__lte=now)
    counts = {"email codes": codes.count(), "refresh tokens": tokens.count()}
    if not dry_run:
        codes.delete()
        tokens.delete()
    return counts
