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


@pytest.mark.django_db(transaction=True)
def test_comments_a_comment_write_locks_the_comment_only():
    """While a reaction's transaction holds its comment, the document and the author can still be written."""
    from django.db import transaction

    from accounts.models import User
    from documents.models import Document

    document = DocumentFactory()
    owner = document.workspace.owner
    comment = comment_create(actor=owner, document=document, data={"content": "Hold"})
    holding, release, failures = threading.Event(), threading.Event(), []

    def react_and_hold():
        try:
            with transaction.atomic():
                comment_react(actor=owner, comment=comment, emoji="👍")
                holding.set()
                release.wait(10)
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=react_and_hold)
    thread.start()
    try:
        assert holding.wait(10)
        with transaction.atomic():  # NOWAIT: fails at once if the reaction had locked these rows too
            Document.objects.select_for_update(no_key=True, nowait=True).get(pk=document.pk)
            User.objects.select_for_update(no_key=True, nowait=True).get(pk=owner.pk)
    finally:
        release.set()
        thread.join(10)
    assert not thread.is_alive() and failures == []
