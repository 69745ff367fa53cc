"""Signals sent by the documents services inside their transactions, for the live-collaboration app."""

from django.dispatch import Signal

# kwargs: document (locked, saved), actor, previous (the content before, None if unknown),
# from_collab (True when the live document itself wrote the content)
content_written = Signal()
# kwargs: document, action ("deleted" | "restored" | "version_restored")
lifecycle_changed = Signal()
