"""Real-time side effects of services: channel-layer messages sent after commit (STYLE §4)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def document_group(document_id) -> str:
    """The group shared by every process's room of a document."""
    return f"doc.{document_id}"


def user_group(user_id) -> str:
    """The group every live socket of a user joins (access changes)."""
    return f"user.{user_id}"


def broadcast_on_commit(group: str, message: dict) -> None:
    """Send to a channel-layer group once the surrounding transaction has committed."""

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(group, message)
        except Exception:  # rooms repair from the database and re-check access every 60 s
            logger.exception("group_send to %s failed", group)

    transaction.on_commit(send)
