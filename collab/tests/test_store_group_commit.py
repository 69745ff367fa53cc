"""`store.append_updates_many`, the group commit of live edits: several documents in one transaction, each
with contiguous seqs, a refused document leaving the others committed, and no deadlock between processes."""

from __future__ import annotations

import threading
import uuid

import pycrdt
import pytest
from django.db import connection

from collab import store
from collab.errors import DocumentTooLargeError
from collab.models import CollabState, CollabUpdate
from documents.tests.factories import DocumentFactory
from workspaces.tests.factories import UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _update(text: str) -> bytes:
    doc = pycrdt.Doc()
    doc["t"] = pycrdt.Text(text)
    return doc.get_update()


@pytest.fixture
def documents():
    owner = UserFactory()
    workspace = WorkspaceFactory(owner=owner)
    made = [DocumentFactory(workspace=workspace, content=f"# Doc {i}\n") for i in range(6)]
    for document in made:
        store.ensure_state(document.pk)
    return owner, made


def test_store_group_commit_allocates_each_documents_seqs_in_one_transaction(documents):
    owner, (first, second, third, *_) = documents
    before = {d.pk: store.last_seq(d.pk) for d in (first, second, third)}
    groups = [
        (first.pk, [(_update("a"), owner.pk), (_update("b"), owner.pk)]),
        (second.pk, [(_update("c"), None)]),
        (third.pk, [(_update("d"), owner.pk), (_update("e"), owner.pk), (_update("f"), None)]),
    ]
    results = store.append_updates_many(groups)
    assert results == [
        [before[first.pk] + 1, before[first.pk] + 2],
        [before[second.pk] + 1],
        [before[third.pk] + 1, before[third.pk] + 2, before[third.pk] + 3],
    ]
    for (document_id, items), seqs in zip(groups, results, strict=True):
        stored = list(CollabUpdate.objects.filter(document_id=document_id, seq__in=seqs).order_by("seq")
                      .values_list("update", "user_id"))
        assert [(bytes(u), user) for u, user in stored] == [(u, user) for u, user in items]
        assert store.last_seq(document_id) == seqs[-1]


def test_store_group_commit_refuses_one_document_and_commits_the_others(documents):
    owner, (fits, too_large, *_) = documents
    CollabState.objects.filter(document_id=too_large.pk).update(size_bytes=store.MAX_STATE_BYTES - 1)
    missing = uuid.uuid4()
    before = store.last_seq(fits.pk)
    results = store.append_updates_many([
        (too_large.pk, [(_update("x" * 10), owner.pk)]),
        (fits.pk, [(_update("y"), owner.pk)]),
        (missing, [(_update("z"), owner.pk)]),
    ])
    assert isinstance(results[0], DocumentTooLargeError)
    assert results[1] == [before + 1]
    assert isinstance(results[2], CollabState.DoesNotExist)
    assert not CollabUpdate.objects.filter(document_id=too_large.pk).exists() and store.last_seq(too_large.pk) == 0


def test_store_group_commit_groups_of_two_processes_in_opposite_orders_never_deadlock(documents):
    """Two committers locking the same documents, listed in opposite orders, over and over: the state rows
    are locked in id order, so neither waits for the other forever; every seq is allocated once."""
    owner, made = documents
    failures: list[BaseException] = []

    def commit(order):
        try:
            for _ in range(40):
                results = store.append_updates_many([(d.pk, [(_update("w"), owner.pk)]) for d in order])
                assert all(isinstance(r, list) for r in results), results
        except Exception as error:  # an AssertionError included: reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=commit, args=(made,)), threading.Thread(target=commit, args=(made[::-1],))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    for document in made:
        seqs = list(CollabUpdate.objects.filter(document_id=document.pk).values_list("seq", flat=True))
        assert len(seqs) == len(set(seqs)) == 80 and store.last_seq(document.pk) == max(seqs)
