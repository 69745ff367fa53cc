"""Merge pending Yjs updates into the compacted state."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from collab.models import CollabState
from collab.store import compact


class Command(BaseCommand):
    help = "Compact the collaborative state of one --document, or of every document with --all."

    def add_arguments(self, parser):
        parser.add_argument("--document", help="Document id.")
        parser.add_argument("--all", action="store_true")

    def handle(self, *args, document: str | None, all: bool, **options):
        if bool(document) == bool(all):
            raise CommandError("Give exactly one of --document ID or --all.")
        if document:
            try:
                ids = [uuid.UUID(document)]
            except ValueError:
                raise CommandError(f"{document!r} is not a document id.") from None
            if not CollabState.objects.filter(document_id=ids[0]).exists():
                raise CommandError(f"Document {ids[0]} has no collaborative state.")
        else:
            ids = list(CollabState.objects.values_list("document_id", flat=True))
        merged = sum(compact(document_id) for document_id in ids)
        self.stdout.write(f"Compacted {len(ids)} document(s); merged {merged} update(s).")
