"""PostgreSQL writes the comments list body exactly as the Python serializer does (selectors.comment_list_json)."""

import itertools
import json

import pytest
from django.utils import timezone

from accounts.models import User
from documents import selectors
from documents import serializers as s
from documents.services.comments import comment_create, comment_delete, comment_react, comment_set_resolved

# PostgreSQL writes the comments page (the embedded default has no JSON writer): this file is not part of
# the SQLite run (tests/test_sqlite_suite.py).
pytestmark = pytest.mark.django_db


@pytest.fixture
def busy(team, document):
    """Threads with replies, a deleted root kept as a placeholder, a hidden deleted leaf, a resolved thread
    whose resolver was then deleted, reactions, mentions, positions and awkward text."""
    owner, editor, commenter = team.user("owner"), team.user("editor"), team.user("commenter")
    first = comment_create(actor=owner, document=document, data={
        "content": "Root **one** \u2028 \"quoted\" <b>tag</b> \U0001f600", "mentions": [str(editor.pk)],
        "position": {"from": 3, "to": 9, "path": [1, {"x": None}]}, "anchor_text": "anchor \u00e9",
    })
    reply = comment_create(actor=editor, document=document, data={"content": "reply", "parent_id": str(first.pk)})
    comment_create(actor=commenter, document=document, data={"content": "deep", "parent_id": str(reply.pk)})
    second = comment_create(actor=commenter, document=document, data={"content": "second"})
    comment_create(actor=owner, document=document, data={"content": "keeps the root", "parent_id": str(second.pk)})
    comment_delete(actor=commenter, comment=second)  # placeholder: it still holds a live reply
    leaf = comment_create(actor=owner, document=document, data={"content": "gone", "parent_id": str(first.pk)})
    comment_delete(actor=owner, comment=leaf)  # hidden
    third = comment_create(actor=editor, document=document, data={"content": "resolved thread"})
    comment_set_resolved(actor=commenter, comment=third, resolved=True)
    User.objects.filter(pk=commenter.pk).update(deleted_at=timezone.now())  # shows as "Deleted user"
    for who, emoji in [(owner, "👍"), (editor, "👍"), (owner, "🎉"), (editor, "👨‍👩‍👧")]:
        comment_react(actor=who, comment=first, emoji=emoji)
    return {"document": document, "threads": [first.thread_id, second.thread_id, third.thread_id, None]}


def test_selectors_comment_page_equals_the_python_payload_for_every_filter(busy):
    document = busy["document"]
    compared = 0
    for resolved, thread_id, (offset, limit) in itertools.product(
        (None, True, False), busy["threads"], ((0, 200), (0, 2), (1, 3), (5, 10), (50, 5))
    ):
        rows = selectors.comment_list(document=document, resolved=resolved, thread_id=thread_id)
        expected = [s.comment_payload(row) for row in selectors.comment_rows(rows[offset : offset + limit])]
        body = selectors.comment_list_json(
            document=document, resolved=resolved, thread_id=thread_id, offset=offset, limit=limit
        )
        assert json.loads(body) == {"comments": expected, "total": rows.count()}, (resolved, thread_id, offset, limit)
        compared += len(expected)
    assert compared > 40
    everything = json.loads(
        selectors.comment_list_json(document=document, resolved=None, thread_id=None, offset=0, limit=200)
    )["comments"]
    assert {c["deleted"] for c in everything} == {True, False}
    assert any(c["author"]["display_name"] == "Deleted user" for c in everything)
    assert any(c["resolved_by"] and c["resolved_by"]["display_name"] == "Deleted user" for c in everything)
    assert any(len(c["reactions"]) == 3 for c in everything)
