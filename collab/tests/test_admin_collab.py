"""The admin pages of CollabState, CollabUpdate and Presence (SPEC §8)."""

from datetime import timedelta

import pycrdt
import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from collab import store
from collab.models import CollabState, CollabUpdate, Presence
from collab.sessions import presence_open
from collab.tests.live import stored_doc
from documents.models import Document
from documents.services.documents import document_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(team):
    """A document with a live state, two pending updates and two presence rows (one stale)."""
    document = document_create(actor=team.user("owner"), workspace=team.workspace,
                               data={"title": "Admin doc", "content": "Admin text\n"})
    store.ensure_state(document.pk)
    for suffix in (" one", " two"):
        doc = stored_doc(document.pk)
        before = doc.get_state()
        run = doc.get("content", type=pycrdt.XmlFragment).children[0].children[0]
        run.insert(len(run), suffix)
        store.append_updates(document.pk, [(doc.get_update(before), team.user("editor").pk)])
    presence_open(user=team.user("editor"), document=document, connection_id="live-conn", device_type="web")
    presence_open(user=team.user("viewer"), document=document, connection_id="stale-conn", device_type="desktop")
    Presence.objects.filter(connection_id="stale-conn").update(expires_at=timezone.now() - timedelta(minutes=1))
    return document


def _action(client, model, action, ids):
    return client.post(f"/admin/collab/{model}/", {"action": action, "_selected_action": [str(i) for i in ids]},
                       follow=True)


@pytest.mark.parametrize("model", ["collabstate", "collabupdate", "presence"])
def test_admin_collab_changelists_open_for_support(support_client, live, model):
    response = support_client.get(f"/admin/collab/{model}/")
    assert response.status_code == 200
    assert "Admin doc" in response.content.decode()


def test_admin_collab_detail_pages_never_render_the_binary_columns(support_client, live):
    record = CollabState.objects.get(document=live)
    update = CollabUpdate.objects.order_by("seq").first()
    pages = {
        "state": support_client.get(f"/admin/collab/collabstate/{live.pk}/change/"),
        "update": support_client.get(f"/admin/collab/collabupdate/{update.pk}/change/"),
    }
    for response in pages.values():
        assert response.status_code == 200
        page = response.content.decode()
        assert "memoryview" not in page and "\\x" not in page and "b&#x27;" not in page
    assert 'field-state"' not in pages["state"].content.decode() and 'name="state"' not in pages["state"].content.decode()
    assert 'field-update"' not in pages["update"].content.decode()
    assert f">{record.last_seq}<" in pages["state"].content.decode()


def test_admin_collab_support_cannot_edit_or_delete(support_client, live):
    record = CollabState.objects.get(document=live)
    response = support_client.post(f"/admin/collab/collabstate/{live.pk}/change/", {"last_seq": 0})
    assert response.status_code == 403
    assert support_client.get(f"/admin/collab/collabstate/{live.pk}/delete/").status_code == 403
    assert support_client.get("/admin/collab/presence/add/").status_code == 403
    assert CollabState.objects.get(document=live).last_seq == record.last_seq


def test_admin_collab_compact_and_rematerialize_action(support_client, live):
    before = stored_doc(live.pk).get_state()
    response = _action(support_client, "collabstate", "compact_and_rematerialize", [live.pk])
    assert "Compacted 1 document(s)." in response.content.decode()
    record = CollabState.objects.get(document=live)
    assert (record.state_seq, record.materialized_seq, record.last_seq) == (2, 2, 2)
    assert not CollabUpdate.objects.exists()
    assert stored_doc(live.pk).get_state() == before
    assert Document.objects.get(pk=live.pk).content == "Admin text one two\n"


def test_admin_collab_purge_stale_presence_keeps_live_rows(support_client, live):
    ids = Presence.objects.values_list("pk", flat=True)
    response = _action(support_client, "presence", "purge_stale", ids)
    page = response.content.decode()
    assert "Purged 1 stale row(s)." in page and "Skipped 1 selected row(s): still live." in page
    assert list(Presence.objects.values_list("connection_id", flat=True)) == ["live-conn"]


def test_admin_collab_staff_outside_support_cannot_run_actions(live):
    staff = UserFactory(is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/collab/collabstate/").status_code == 403
    _action(client, "presence", "purge_stale", Presence.objects.values_list("pk", flat=True))
    assert Presence.objects.count() == 2


def test_admin_collab_non_staff_is_sent_to_login(live):
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/admin/collab/collabstate/")
    assert response.status_code == 302 and "/login/" in response["Location"]
