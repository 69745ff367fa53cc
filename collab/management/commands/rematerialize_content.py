"""Write the live collaborative content back to the documents' markdown."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from collab.models import CollabState
from collab.services import collab_materialize, collab_materialize_pending


class Command(BaseCommand):
    help = (
        "Materialize live edits that are not yet in Document.content (one --document, or all). Without "
        "--document, only documents whose update log is ahead of their markdown are read, and a document a "
        "running server is catching up on is left to it; servers do the same when they start and every few minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--document", help="Document id.")
        parser.add_argument("--force", action="store_true", help="Rewrite even when nothing seems pending.")

    def handle(self, *args, document: str | None, force: bool, **options):
        if document is None and not force:
            written = collab_materialize_pending()
            self.stdout.write(f"Materialized {written} document(s).")
            return
        states = CollabState.objects.all()
        if document:
            try:
                states = states.filter(document_id=uuid.UUID(document))
            except ValueError:
                raise CommandError(f"{document!r} is not a document id.") from None
            if not states.exists():
                raise CommandError(f"Document {document} has no collaborative state.")
        written = 0
        for document_id in states.values_list("document_id", flat=True):
            if force:
                CollabState.objects.filter(document_id=document_id).update(materialized_seq=-1)
            written += collab_materialize(document_id)
        self.stdout.write(f"Materialized {written} document(s).")
