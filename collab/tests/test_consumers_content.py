"""Markdown and the live document kept in step: hydration, materialization, REST writes merged live (SPEC §5.4)."""

import time

import pycrdt
import pytest
from django.contrib.postgres.search import SearchQuery

from collab.markdown import fragment_to_markdown
from collab.models import CollabState
from collab.tests.live import (
    api,
    append_to_block,
    block_text,
    markdown_of,
    normalized,
    settle,
    stored_markdown,
    wait_servers_idle,
)
from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from documents.models import Document, DocumentVersion
from documents.services.documents import document_create
from sync.models import SyncLog

pytestmark = pytest.mark.django_db(transaction=True)

RICH = """# Plan

Intro with **bold**, *italic*, `code` and a [link](https://example.com).

- one
- two
  - nested

1. first
2. second

- [ ] open
- [x] done

> quoted

```python
print("hi")
```

| a | b |
| --- | --- |
| 1 | 2 |

---
"""


def test_consumers_content_first_open_hydrates_from_markdown(daphne, steps, team, tokens):
    document = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "R", "content": RICH})
    assert not CollabState.objects.filter(document=document).exists()

    async def scenario():
        first = steps.keep(await YWebsocketClient.connect(daphne.ws, document.pk, tokens["viewer"]))
        second = steps.keep(await HocuspocusClient.connect(daphne.ws, document.pk, tokens["commenter"]))
        for client in (first, second):
            await client.wait_for(lambda c=client: c.synced.is_set())
        return first, second

    first, second = steps(scenario())
    assert markdown_of(first) == markdown_of(second) == normalized(RICH)
    # Both clients hold the one CRDT history the server seeded (same items, same ids).
    assert first.doc.get_state() == second.doc.get_state()
    record = CollabState.objects.get(document=document)
    assert (record.state_seq, record.last_seq, record.materialized_seq) == (0, 0, 0)
    seeded = pycrdt.Doc()
    seeded.apply_update(bytes(record.state))
    assert fragment_to_markdown(seeded.get("content", type=pycrdt.XmlFragment)) == normalized(RICH)
    assert seeded.get_state() == first.doc.get_state()
    document.refresh_from_db()
    assert document.content == RICH  # hydration never rewrites the markdown


def test_consumers_content_live_edits_materialized_after_two_quiet_seconds(daphne, steps, team, tokens, live_doc):
    editor = team.user("editor")
    versions_before = DocumentVersion.objects.filter(document=live_doc).count()

    async def connect():
        client = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await client.wait_for(lambda: client.synced.is_set() and len(client.statuses) == len(client.sent))
        return client

    client = steps(connect())
    last_edit = None
    for word in (" zebra", " quagga", " okapi"):  # a burst of edits 0.6 s apart

        async def edit(word=word):
            acknowledged = len(client.statuses)
            append_to_block(client, 1, word)
            await client.wait_for(lambda: len(client.statuses) > acknowledged)

        steps(edit())
        last_edit = time.monotonic()
        assert Document.objects.get(pk=live_doc.pk).content == live_doc.content  # not yet
        time.sleep(0.6)
    while Document.objects.get(pk=live_doc.pk).content == live_doc.content:
        assert time.monotonic() - last_edit < 6, "never materialized"
        time.sleep(0.05)
    waited = time.monotonic() - last_edit
    assert waited >= 1.8  # 2 s after the last update, not after the first

    document = Document.objects.get(pk=live_doc.pk)
    expected = normalized(live_doc.content).replace("First paragraph.", "First paragraph. zebra quagga okapi")
    assert document.content == expected == markdown_of(client)
    assert document.updated_by == editor and document.last_edited_at is not None
    record = CollabState.objects.get(document=live_doc)
    assert record.materialized_seq == record.last_seq
    version = DocumentVersion.objects.filter(document=live_doc).order_by("-version_number").first()
    assert DocumentVersion.objects.filter(document=live_doc).count() == versions_before + 1
    assert (version.source, version.created_by, version.content) == ("auto", editor, expected)
    entry = SyncLog.objects.filter(entity_id=live_doc.pk).order_by("-seq").first()
    assert (entry.operation, entry.changed_by, entry.content_hash) == ("update", editor, document.content_hash)
    assert Document.objects.filter(pk=live_doc.pk, search_vector=SearchQuery("quagga")).exists()


def test_consumers_content_client_binding_content_as_text_never_empties_the_markdown(
    daphne, steps, team, tokens, live_doc
):
    """A client that treats `content` as Y.Text clears it and types: its update is refused, nothing is stored and
    the markdown stays (SPEC §5.4, §5.7; what is already stored is collab/tests/test_materialize_robust.py's)."""

    async def scenario():
        client = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await client.wait_for(lambda: client.synced.is_set())
        text = client.doc.get("content", type=pycrdt.Text)
        with client.doc.transaction():
            del text[0 : len(text)]
            text.insert(0, "plain words")
        await client.wait_for(lambda: client.events_of("error"))
        await client.ping()
        await client.close()
        return client

    client = steps(scenario())
    wait_servers_idle()
    assert [error["code"] for error in client.events_of("error")] == ["invalid_update"]
    assert CollabState.objects.get(document=live_doc).last_seq == 0  # nothing stored
    assert stored_markdown(live_doc.pk) == normalized(live_doc.content)
    document = Document.objects.get(pk=live_doc.pk)
    assert (document.content, document.content_hash) == (live_doc.content, live_doc.content_hash)


def _put(client, document_id, content, etag):
    return client.put(f"/documents/{document_id}", json={"title": "Live notes", "content": content},
                      headers={"If-Match": f'"{etag}"'})


def test_consumers_content_rest_put_is_merged_block_wise_into_the_live_document(daphne, steps, team, tokens, live_doc):
    new_text = "# Title\n\nFirst paragraph.\n\nSecond paragraph, rewritten over REST.\n"

    async def scenario():
        live = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        other = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        await live.wait_for(lambda: live.synced.is_set() and other.synced.is_set())
        # Data markdown cannot hold: a comment mark on the first paragraph.
        first_run = block_text(live, 1)
        first_run.format(0, 5, {"comment": {"commentId": "c-1"}})
        await other.wait_for(lambda: "commentId" in other.text)
        async with api(daphne, tokens["editor"]) as http:
            response = await _put(http, live_doc.pk, new_text, live_doc.content_hash)
        await settle(live, other)
        await live.wait_for(lambda: "rewritten" in live.text and live.events_of("document"))
        return live, other, first_run, response

    live, other, first_run, response = steps(scenario())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["content"] == new_text and Document.objects.get(pk=live_doc.pk).content == new_text
    for client in (live, other):
        assert markdown_of(client) == normalized(new_text)
        assert client.events_of("document") == [
            {"type": "document", "action": "updated", "content_hash": body["content_hash"]}
        ]
    # The untouched block is the same CRDT item: its comment mark survived, the client's handle still works.
    assert first_run.diff()[0] == ("First", {"comment": {"commentId": "c-1"}})
    assert '<comment commentId="c-1">First</comment>' in other.text
    versions = DocumentVersion.objects.filter(document=live_doc).count()

    async def leave():
        await live.close()
        await other.close()

    steps(leave())
    wait_servers_idle()  # the room closed: it materialized what was pending
    # The REST text stays verbatim (the hash its writer got back); the server's write made no new version.
    document = Document.objects.get(pk=live_doc.pk)
    assert (document.content, document.content_hash) == (new_text, body["content_hash"])
    assert DocumentVersion.objects.filter(document=live_doc).count() == versions
    record = CollabState.objects.get(document=live_doc)
    assert record.materialized_seq == record.last_seq


def test_consumers_content_concurrent_live_edit_in_another_block_survives(daphne, steps, team, tokens, live_doc):
    rest_text = "# Title\n\nFirst paragraph.\n\nSecond paragraph, from REST.\n"

    async def scenario():
        live = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await live.wait_for(lambda: live.synced.is_set() and len(live.statuses) == len(live.sent))
        acknowledged = len(live.statuses)
        append_to_block(live, 1, " typed live")
        await live.wait_for(lambda: len(live.statuses) > acknowledged)
        # The REST writer still has the last materialized text (the live edit is < 2 s old).
        async with api(daphne, tokens["owner"]) as http:
            response = await _put(http, live_doc.pk, rest_text, live_doc.content_hash)
        await live.wait_for(lambda: "from REST" in live.text)
        return live, response

    live, response = steps(scenario())
    assert response.status_code == 200, response.text
    both = "# Title\n\nFirst paragraph. typed live\n\nSecond paragraph, from REST.\n"
    assert markdown_of(live) == both
    assert stored_markdown(live_doc.pk) == both
    # Both end up in the markdown once the live edit is materialized.
    deadline = time.monotonic() + 6
    while Document.objects.get(pk=live_doc.pk).content != both:
        assert time.monotonic() < deadline, Document.objects.get(pk=live_doc.pk).content
        time.sleep(0.05)


def test_consumers_content_rest_patch_and_restore_reach_live_clients(daphne, steps, team, tokens, live_doc):
    patched = "# Title\n\nFirst paragraph, patched.\n\nSecond paragraph.\n"

    async def scenario():
        live = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["commenter"]))
        await live.wait_for(lambda: live.synced.is_set())
        async with api(daphne, tokens["admin"]) as http:
            response = await http.patch(
                f"/documents/{live_doc.pk}", json={"content": patched}, headers={"If-Match": f'"{live_doc.content_hash}"'}
            )
            assert response.status_code == 200, response.text
            await live.wait_for(lambda: "patched" in live.text)
            restored = await http.post(f"/documents/{live_doc.pk}/restore-version", json={"version_number": 1})
            assert restored.status_code == 200, restored.text
        await live.wait_for(lambda: "patched" not in live.text and live.events_of("document", action="version_restored"))
        return live, response.json(), restored.json()

    live, patch_body, restore_body = steps(scenario())
    assert markdown_of(live) == normalized(live_doc.content)
    actions = [(event["action"], event["content_hash"]) for event in live.events_of("document")]
    assert actions == [
        ("updated", patch_body["content_hash"]),
        ("updated", restore_body["content_hash"]),
        ("version_restored", restore_body["content_hash"]),
    ]
    document = Document.objects.get(pk=live_doc.pk)
    assert document.content == live_doc.content and document.content_hash == restore_body["content_hash"]
    assert DocumentVersion.objects.filter(document=live_doc, source="restore", restored_from=1).exists()
    assert stored_markdown(live_doc.pk) == normalized(live_doc.content)
