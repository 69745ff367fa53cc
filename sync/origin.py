"""Where a change came from: one value every writer passes down (STYLE §4b)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import models


class OriginKind(models.TextChoices):
    """The surfaces that change synced entities."""

    REST = "rest"  # the REST API
    LIVE = "live"  # the live document, materialized to markdown
    RESTORE = "restore"  # an old version written back
    PUSH = "push"  # a device's offline changes (sync push)
    ADMIN = "admin"  # support staff in the Django admin
    COMMAND = "command"  # an operator's management command


@dataclass(frozen=True)
class Origin:
    """Where a change came from; a restore carries the version number it brought back."""

    kind: OriginKind = OriginKind.REST
    restored_from: int | None = None

    @classmethod
    def restore(cls, version_number: int) -> Origin:
        """The origin of writing version `version_number` back."""
        return cls(OriginKind.RESTORE, restored_from=version_number)


REST = Origin(OriginKind.REST)
LIVE = Origin(OriginKind.LIVE)
PUSH = Origin(OriginKind.PUSH)
ADMIN = Origin(OriginKind.ADMIN)
COMMAND = Origin(OriginKind.COMMAND)


@dataclass(frozen=True)
class ClientInfo:
    """The device behind a pushed change (SPEC §4): stored on its sync entry."""

    device_id: str | None = None
    client_version: str | None = None
    client_change_id: uuid.UUID | None = None


NO_CLIENT = ClientInfo()
