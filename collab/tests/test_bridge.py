"""collab.bridge, the documents → live seam: origins, lifecycle events, workspace deletion (SPEC §5.4, §5.6)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from collab import services, store
from collab.models import CollabUpdate, Presence
from collab.tests.live import stored_markdown
from collab.tests.test_services_collab import TEXT, Listener, _live_edit
from documents.models import Document
from documents.services.documents import document_create, document_undelete, document_update
from documents.services.restore import version_restore
from sync.models import SyncLog
from sync.origin import ADMIN, LIVE, OriginKind
from workspaces.services.operators import workspace_restore, workspace_soft_delete
from workspaces.services.workspaces import workspace_create, workspace_delete

pytestmark = pytest.mark.django_db


def _document(workspace, owner, title="Doc"):
    return document_create(actor=owner, workspace=workspace, data={"title": title, "content": TEXT})


def _last_origin(document) -> str:
    return SyncLog.objects.filter(entity_id=document.pk).order_by("-seq").values_list("origin", flat=True).first()


def test_bridge_a_live_origin_is_never_merged_back_into_the_live_document(team):
    document = _document(team.workspace, team.user("owner"))
    store.ensure_state(document.pk)
    document_update(actor=team.user("editor"), document=document, data={"content": "# Live\n"}, if_match="*",
                    origin=LIVE)
    assert not CollabUpdate.objects.filter(document=document).exists()
    assert _last_origin(document) == OriginKind.LIVE
    document_update(actor=team.user("editor"), document=document, data={"content": "# Rest\n"}, if_match="*")
    assert CollabUpdate.objects.filter(document=document).count() == 1
    assert stored_markdown(document.pk) == "# Rest\n"
    assert _last_origin(document) == OriginKind.REST


def test_bridge_each_surface_leaves_its_origin_on_the_sync_entry(team):
    owner = team.user("owner")
    document = _document(team.workspace, owner)
    store.ensure_state(document.pk)
    _live_edit(document.pk, 2, " typed", user=team.user("editor"))
    assert services.collab_materialize(document.pk) is True
    assert _last_origin(document) == OriginKind.LIVE
    version_restore(actor=owner, document=document, version_number=1)
    entry = SyncLog.objects.filter(entity_id=document.pk).order_by("-seq").first()
    assert entry.origin == OriginKind.RESTORE
    assert Document.objects.get(pk=document.pk).versions.order_by("-version_number").first().restored_from == 1
    Document.objects.filter(pk=document.pk).update(deleted=True)
    document_undelete(actor=owner, document=document, origin=ADMIN)
    assert _last_origin(document) == OriginKind.ADMIN


def _open(document, user, connection: str) -> None:
    Presence.objects.create(user=user, document=document, connection_id=connection,
                            expires_at=timezone.now() + timedelta(minutes=5))


def test_bridge_deleting_a_workspace_closes_only_the_rooms_of_open_documents(team, steps,
                                                                         django_capture_on_commit_callbacks):
    owner = team.user("owner")
    workspace = workspace_create(owner=owner, name="Short-lived")
    opened, closed = _document(workspace, owner, "Open"), _document(workspace, owner, "Closed")
    _open(opened, owner, "conn-1")
    open_listener, closed_listener = Listener(steps, opened.pk), Listener(steps, closed.pk)
    with django_capture_on_commit_callbacks(execute=True):
        workspace_delete(workspace=workspace, actor=owner)
    (message,) = open_listener.take(1)
    assert message == {
        "type": "doc.event", "origin": services.SERVER_ORIGIN, "close": "document-deleted",
        "event": {"type": "document", "action": "deleted", "content_hash": opened.content_hash},
    }
    assert closed_listener.take(0) == []
    assert set(Document.objects.filter(workspace=workspace).values_list("deleted", flat=True)) == {True}
    # The workspace's own delete entry stands for its documents.
    assert not SyncLog.objects.filter(entity_type="document", operation="delete", workspace=workspace).exists()


def test_bridge_restoring_a_workspace_brings_back_only_what_went_down_with_it(team):
    owner = team.user("owner")
    workspace = workspace_create(owner=owner, name="Comes back")
    kept, earlier = _document(workspace, owner, "Kept"), _document(workspace, owner, "Earlier trash")
    Document.objects.filter(pk=earlier.pk).update(deleted=True, deleted_at=timezone.now() - timedelta(days=1))
    assert workspace_soft_delete(workspace=workspace, actor=owner) is True
    assert workspace_restore(workspace=workspace, actor=owner) is True
    assert Document.objects.get(pk=kept.pk).deleted is False
    assert Document.objects.get(pk=earlier.pk).deleted is True
    assert list(SyncLog.objects.filter(workspace=workspace, entity_type="workspace").order_by("seq")
                .values_list("operation", "origin")) == [("create", "rest"), ("delete", "admin"), ("update", "admin")]


def test_bridge_comment_events_reach_the_room_after_commit(team, steps, django_capture_on_commit_callbacks):
    from documents.services.comments import comment_create, comment_react

    document = _document(team.workspace, team.user("owner"))
    listener = Listener(steps, document.pk)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        comment = comment_create(actor=team.user("editor"), document=document, data={"content": "Nice"})
    assert listener.take(0) == []  # nothing before commit
    for callback in pending:
        callback()
    (created,) = listener.take(1)
    assert created["type"] == "doc.event" and created["origin"] == services.SERVER_ORIGIN
    event = created["event"]
    assert (event["type"], event["action"], event["document_id"]) == ("comment", "create", str(document.pk))
    assert event["comment"]["id"] == str(comment.pk) and event["comment"]["content_html"] == "<p>Nice</p>\n"
    with django_capture_on_commit_callbacks(execute=True):
        comment_react(actor=team.user("admin"), comment=comment, emoji="🎉")
    (reacted,) = listener.take(1)
    assert reacted["event"]["action"] == "react"
    assert reacted["event"]["comment"]["reactions"] == [{"emoji": "🎉", "users": [str(team.user("admin").pk)],
                                                         "count": 1}]
