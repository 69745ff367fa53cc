"""A document with a known history of versions, written through the services."""

from __future__ import annotations

from documents.models import Document
from documents.services.documents import document_update
from documents.services.restore import version_restore
from documents.services.versions import version_create_manual
from documents.tests.factories import DocumentFactory

V1 = "one\n"
V2 = "one\ntwo\n"
V4 = "one\n2\nthree\n"


def build_history(team) -> Document:
    """v1 auto (owner), v2 auto (editor), v3 manual (admin, "Milestone"), v4 auto (admin), v5 restore of v2 (owner)."""
    document = DocumentFactory(workspace=team.workspace, title="History", content=V1, tags=["t"])
    document_update(actor=team.user("editor"), document=document, data={"content": V2}, if_match="*")
    version_create_manual(document=document, actor=team.user("admin"), tags=["t"], description="Milestone")
    document_update(
        actor=team.user("admin"), document=document, data={"content": V4, "title": "History 4"}, if_match="*"
    )
    version_restore(actor=team.user("owner"), document=document, version_number=2)
    return Document.objects.get(pk=document.pk)
