"""factory_boy factories for documents and folders, written through the services.

Going through `document_create` / `folder_create` gives every row what a real
write gives it: version 1, tags, the mindmap projection, the search vector and
its sync entry.
"""

from __future__ import annotations

import factory

from documents.models import Document, Folder
from documents.services.documents import document_create
from documents.services.folders import folder_create
from workspaces.tests.factories import WorkspaceFactory

_DOCUMENT_DATA = ("id", "title", "type", "content", "folder_id", "tags", "metadata", "settings")
_FOLDER_DATA = ("id", "name", "parent_id", "icon", "color", "position", "is_expanded")


class DocumentFactory(factory.django.DjangoModelFactory):
    """A markdown document created by the workspace's owner (`created_by=` for another author)."""

    class Meta:
        model = Document

    workspace = factory.SubFactory(WorkspaceFactory)
    created_by = factory.LazyAttribute(lambda o: o.workspace.owner)
    title = factory.Sequence(lambda n: f"Document {n}")
    type = Document.Type.MARKDOWN
    content = factory.Sequence(lambda n: f"# Heading {n}\n\nBody of document {n}.\n")

    class Params:
        mindmap = factory.Trait(
            type=Document.Type.MINDMAP, content='{"nodes": [{"id": "root", "label": "Root"}], "edges": []}'
        )
        presentation = factory.Trait(type=Document.Type.PRESENTATION, content='{"slides": [{"title": "One"}]}')
        empty = factory.Trait(content="")

    @classmethod
    def _create(cls, model_class, *args, workspace, created_by, **kwargs):
        data = {name: kwargs.pop(name) for name in _DOCUMENT_DATA if name in kwargs}
        if "folder" in kwargs:
            folder = kwargs.pop("folder")
            data["folder_id"] = folder.pk if folder else None
        if kwargs:
            raise TypeError(f"DocumentFactory does not set {sorted(kwargs)}")
        return document_create(actor=created_by, workspace=workspace, data=data)


class FolderFactory(factory.django.DjangoModelFactory):
    """A root folder (`parent=` for a subfolder) created by the workspace's owner."""

    class Meta:
        model = Folder

    workspace = factory.SubFactory(WorkspaceFactory)
    created_by = factory.LazyAttribute(lambda o: o.workspace.owner)
    name = factory.Sequence(lambda n: f"Folder {n}")

    @classmethod
    def _create(cls, model_class, *args, workspace, created_by, **kwargs):
        if "parent" in kwargs:
            parent = kwargs.pop("parent")
            kwargs["parent_id"] = parent.pk if parent else None
        data = {name: kwargs.pop(name) for name in _FOLDER_DATA if name in kwargs}
        if kwargs:
            raise TypeError(f"FolderFactory does not set {sorted(kwargs)}")
        return folder_create(actor=created_by, workspace=workspace, data=data)
