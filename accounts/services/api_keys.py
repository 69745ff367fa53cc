"""Users' AI provider keys at rest (SPEC §1.1): re-encrypting them under the newest Fernet key."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from accounts import encryption
from accounts.models import ApiKey


def stored_keys():
    """Keys that still hold a secret (a revoked key's ciphertext is wiped)."""
    return ApiKey.objects.exclude(encrypted_key="")


@dataclass
class Batch:
    """What one batch found: the last primary key seen, how many it rotated, the ids no key opens."""

    last_pk: object = None
    seen: int = 0
    rotated: int = 0
    unreadable: list = field(default_factory=list)


@transaction.atomic
def keys_rotate_batch(*, after, size: int, dry_run: bool) -> Batch:
    """Rotate up to `size` stored keys with a primary key above `after`, locked for the batch's transaction.

    Keys already under the newest key are skipped; keys no configured key opens are left as they are and
    listed. A dry run reads without locking and writes nothing.
    """
    rows = stored_keys().order_by("pk").only("pk", "encrypted_key")
    if after is not None:
        rows = rows.filter(pk__gt=after)
    if not dry_run:
        rows = rows.select_for_update()
    batch, changed = Batch(), []
    for row in rows[:size]:
        batch.last_pk, batch.seen = row.pk, batch.seen + 1
        if encryption.is_current(row.encrypted_key):
            continue
        try:
            row.encrypted_key = encryption.rotate(row.encrypted_key)
        except encryption.InvalidToken:
            batch.unreadable.append(row.pk)
            continue
        changed.append(row)
    if changed and not dry_run:
        # bulk_update leaves updated_at alone: the key itself did not change.
        ApiKey.objects.bulk_update(changed, ["encrypted_key"])
    batch.rotated = len(changed)
    return batch
