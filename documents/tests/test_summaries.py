"""DocSummary bodies built from rows (`documents.summaries`, what the lists send) are, field for field, what
`DocumentSummarySerializer` writes from the model, in every shape a summary takes."""

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from documents.models import Document
from documents.selectors import with_summary_fields
from documents.serializers import DocumentSummarySerializer
from documents.services.comments import comment_create
from documents.services.documents import document_delete, document_star, document_update
from documents.services.versions import version_create_manual
from documents.summaries import summaries, summary_rows
from documents.tests.factories import DocumentFactory, FolderFactory

pytestmark = pytest.mark.django_db


def _both(documents, user):
    ordered = documents.order_by("created_at", "id")
    from_rows = summaries(summary_rows(ordered, user=user))
    from_models = DocumentSummarySerializer(list(with_summary_fields(ordered, user=user)), many=True).data
    return from_rows, [dict(body) for body in from_models]


def test_summaries_match_the_serializer_in_every_shape(team):
    owner, editor = team.user("owner"), team.user("editor")
    folder = FolderFactory(workspace=team.workspace, name="Plans")
    plain = DocumentFactory(workspace=team.workspace)
    rich = DocumentFactory(workspace=team.workspace, folder=folder, tags=["zeta", "Alpha", "mid"], mindmap=True)
    document_update(actor=editor, document=rich, data={"title": "Edited"}, if_match=None)
    document_star(document=rich, user=owner, starred=True)
    comment_create(actor=owner, document=rich, data={"content": "A thread"})
    version_create_manual(document=rich, actor=owner, tags=["v1"], description="kept")
    gone_author = UserFactory(display_name="Leaver", avatar_url="https://example.com/a.png")
    team.workspace.members.create(user=gone_author, role="editor")
    by_leaver = DocumentFactory(workspace=team.workspace, created_by=gone_author)
    type(gone_author).objects.filter(pk=gone_author.pk).update(deleted_at=timezone.now())
    trashed = DocumentFactory(workspace=team.workspace, presentation=True)
    document_delete(actor=owner, document=trashed)

    for user in (owner, editor, None):  # None: a link's anonymous reader, who has starred nothing
        from_rows, from_models = _both(Document.objects.filter(workspace=team.workspace), user)
        assert [body["id"] for body in from_rows] == [str(d.pk) for d in (plain, rich, by_leaver, trashed)]
        assert from_rows == from_models
        assert [list(body) for body in from_rows] == [list(body) for body in from_models]  # the same key order
    rich_body = summaries(summary_rows(Document.objects.filter(pk=rich.pk), user=owner))[0]
    assert rich_body["tags"] == ["zeta", "Alpha", "mid"] and rich_body["is_starred"] is True
    assert rich_body["folder_id"] == str(folder.pk) and rich_body["last_editor"]["display_name"]
    assert rich_body["comment_count"] == 1 and rich_body["version_count"] == rich.versions.count() >= 2
    leaver_body = summaries(summary_rows(Document.objects.filter(pk=by_leaver.pk), user=owner))[0]
    assert leaver_body["creator"] == {"id": str(gone_author.pk), "display_name": "Deleted user", "avatar_url": None}
    assert leaver_body["last_editor"] == leaver_body["creator"]  # created through document_create: its own editor


def test_summaries_of_no_rows_read_no_tags(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert summaries([]) == []
