"""Reactions toggled by many people at once keep exact counts (SPEC §3.5: a row lock per toggle)."""

import threading

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from documents.models import Comment
from documents.services.comments import comment_create, comment_react
from documents.tests.factories import DocumentFactory
from workspaces.tests.factories import MemberFactory

PEOPLE = 12


@pytest.mark.django_db(transaction=True)
def test_comments_concurrent_reactions_keep_exact_counts():
    document = DocumentFactory()
    people = [UserFactory() for _ in range(PEOPLE)]
    for person in people:
        MemberFactory(workspace=document.workspace, user=person, role="commenter")
    comment = comment_create(actor=document.workspace.owner, document=document, data={"content": "Vote"})
    start, failures = threading.Barrier(PEOPLE), []

    def toggle(person, emoji):
        try:
            start.wait()
            comment_react(actor=person, comment=comment, emoji=emoji)
        except Exception as error:  # reported below, with the thread it came from
            failures.append(error)
        finally:
            connection.close()

    # Everyone adds 👍 at the same moment; the odd ones also add 🎉.
    threads = [threading.Thread(target=toggle, args=(person, "👍")) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    start = threading.Barrier(PEOPLE // 2)
    threads = [threading.Thread(target=toggle, args=(person, "🎉")) for person in people[1::2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    reactions = {entry["emoji"]: entry["users"] for entry in Comment.objects.get(pk=comment.pk).reactions}
    assert sorted(reactions["👍"]) == sorted(str(p.pk) for p in people)
    assert sorted(reactions["🎉"]) == sorted(str(p.pk) for p in people[1::2])
