"""Versions without HTTP: `changes_summary` on concrete texts and the 10-minute auto-version throttle."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from documents.models import DocumentVersion
from documents.services.documents import document_create, document_update
from documents.services.restore import version_restore
from documents.services.versions import changes_summary, unified_diff, version_create_manual
from documents.tests.factories import DocumentFactory
from workspaces.tests.factories import MemberFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _summary(added: int, removed: int, modified: int) -> dict:
    return {"lines_added": added, "lines_removed": removed, "lines_modified": modified}


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("", "", _summary(0, 0, 0)),
        ("same\ntext\n", "same\ntext\n", _summary(0, 0, 0)),
        ("", "a\nb\n", _summary(2, 0, 0)),
        ("a\nb\n", "", _summary(0, 2, 0)),
        ("a\nb\nc\n", "a\nB\nc\n", _summary(0, 0, 1)),
        ("a\nb\nc\nd\n", "a\nX\nd\n", _summary(0, 1, 1)),  # 2 lines replaced by 1: 1 modified + 1 removed
        ("a\nb\n", "a\nX\nY\nZ\n", _summary(2, 0, 1)),  # 1 line replaced by 3: 1 modified + 2 added
        ("keep\nold1\nkeep2\nold2\n", "keep\nnew1\nkeep2\nold2\nextra\n", _summary(1, 0, 1)),
        ("top\nmiddle\nbottom\n", "top\nbottom\n", _summary(0, 1, 0)),
        ("top\nbottom\n", "top\ninserted\nbottom\n", _summary(1, 0, 0)),
        ("one\ntwo\nthree\n", "uno\ndos\ntres\n", _summary(0, 0, 3)),
        ("a", "a\n", _summary(0, 0, 0)),  # lines, not bytes: a final newline is not a line
        ("a\r\nb\r\n", "a\nb\n", _summary(0, 0, 0)),
        (
            "# Title\n\nPara one.\n\nPara two.\n",
            "# Title\n\nPara one, edited.\n\nPara two.\n\nPara three.\n",
            _summary(2, 0, 1),
        ),
    ],
)
def test_services_versions_changes_summary(old, new, expected):
    assert changes_summary(old, new) == expected


def test_services_versions_unified_diff():
    diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", from_label="v1", to_label="v2", context=1)
    assert diff == "--- v1\n+++ v2\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    assert unified_diff("same\n", "same\n", from_label="v1", to_label="current") == ""


@pytest.fixture
def authors():
    workspace = WorkspaceFactory()
    return workspace, workspace.owner, MemberFactory(workspace=workspace).user


def _edit(document, actor, content: str):
    return document_update(actor=actor, document=document, data={"content": content}, if_match="*")


def _rows(document) -> list[tuple]:
    return list(
        DocumentVersion.objects.filter(document=document)
        .order_by("version_number")
        .values_list("version_number", "source", "content", "created_by")
    )


def test_services_versions_auto_versions_coalesce_per_author_for_ten_minutes_from_creation(authors):
    workspace, alice, _ = authors
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        document = document_create(actor=alice, workspace=workspace, data={"title": "T", "content": "one\n"})
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        _edit(document, alice, "one\ntwo\n")
    with time_machine.travel(start + timedelta(minutes=9, seconds=59), tick=False):
        _edit(document, alice, "one\ntwo\nthree\n")
    version = DocumentVersion.objects.get(document=document)
    assert (version.version_number, version.content, version.created_at) == (1, "one\ntwo\nthree\n", start)
    assert version.updated_at == start + timedelta(minutes=9, seconds=59)
    assert version.changes_summary == _summary(3, 0, 0)  # against the version before it: none
    # Ten minutes after the version's creation a new one starts, although the last edit was 1 s ago.
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        _edit(document, alice, "one\ntwo\nthree\nfour\n")
    assert _rows(document) == [
        (1, "auto", "one\ntwo\nthree\n", alice.pk),
        (2, "auto", "one\ntwo\nthree\nfour\n", alice.pk),
    ]
    assert DocumentVersion.objects.get(document=document, version_number=2).changes_summary == _summary(1, 0, 0)


def test_services_versions_coalescing_summarises_against_the_previous_version(authors):
    workspace, alice, bob = authors
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        document = document_create(actor=alice, workspace=workspace, data={"title": "T", "content": "a\nb\n"})
        _edit(document, bob, "a\nB\n")
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        _edit(document, bob, "a\nB\nc\n")
    second = DocumentVersion.objects.get(document=document, version_number=2)
    assert (second.content, second.changes_summary) == ("a\nB\nc\n", _summary(1, 0, 1))
    assert second.metadata_snapshot == {"metadata": document.metadata, "tags": []}


def test_services_versions_a_change_of_author_starts_a_new_version(authors):
    workspace, alice, bob = authors
    document = document_create(actor=alice, workspace=workspace, data={"title": "T", "content": "1"})
    _edit(document, bob, "2")
    _edit(document, alice, "3")
    _edit(document, alice, "4")
    assert _rows(document) == [(1, "auto", "1", alice.pk), (2, "auto", "2", bob.pk), (3, "auto", "4", alice.pk)]


def test_services_versions_manual_and_restore_versions_are_never_coalesced(authors):
    workspace, alice, _ = authors
    document = document_create(actor=alice, workspace=workspace, data={"title": "T", "content": "1"})
    version_create_manual(document=document, actor=alice, tags=[], description="keep")
    _edit(document, alice, "2")
    _edit(document, alice, "3")
    version_restore(actor=alice, document=document, version_number=1)
    _edit(document, alice, "4")
    assert _rows(document) == [
        (1, "auto", "1", alice.pk),
        (2, "manual", "1", alice.pk),
        (3, "auto", "3", alice.pk),
        (4, "restore", "1", alice.pk),
        (5, "auto", "4", alice.pk),
    ]
    assert DocumentVersion.objects.get(document=document, version_number=2).change_description == "keep"
    assert DocumentVersion.objects.get(document=document, version_number=4).restored_from == 1


def test_services_versions_title_or_metadata_changes_add_no_version(authors):
    workspace, alice, _ = authors
    document = document_create(actor=alice, workspace=workspace, data={"title": "T", "content": "1"})
    document_update(
        actor=alice, document=document, data={"title": "T2", "tags": ["x"], "metadata": {"a": 1}}, if_match=None
    )
    assert DocumentVersion.objects.filter(document=document).count() == 1


def test_services_versions_content_edit_of_an_empty_document_starts_at_one(authors):
    workspace, alice, _ = authors
    document = document_create(actor=alice, workspace=workspace, data={"title": "T"})
    assert not DocumentVersion.objects.filter(document=document).exists()
    _edit(document, alice, "first words")
    assert _rows(document) == [(1, "auto", "first words", alice.pk)]


def test_services_versions_numbers_follow_the_highest(authors):
    workspace, alice, bob = authors
    document = document_create(actor=alice, workspace=workspace, data={"title": "T", "content": "1"})
    _edit(document, bob, "2")
    DocumentVersion.objects.filter(document=document, version_number=1).delete()  # as pruning would
    _edit(document, alice, "3")
    assert [row[0] for row in _rows(document)] == [2, 3]


def test_services_versions_a_new_author_after_another_user_is_new(authors):
    workspace, alice, bob = authors
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        document = document_create(actor=alice, workspace=workspace, data={"title": "T", "content": "a"})
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        _edit(document, bob, "b")
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        _edit(document, alice, "c")
    assert [row[1:3] for row in _rows(document)] == [("auto", "a"), ("auto", "b"), ("auto", "c")]


def test_services_versions_api_edits_follow_the_throttle(team):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        document = DocumentFactory(workspace=team.workspace, created_by=team.user("editor"), content="v")
    client = team.client("editor")  # token issued now, valid 15 minutes
    for minutes, content in ((2, "v2"), (11, "v3")):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            response = client.patch(
                f"/api/v1/documents/{document.pk}", {"content": content}, format="json", HTTP_IF_MATCH="*"
            )
            assert response.status_code == 200
    assert [row[1:3] for row in _rows(document)] == [("auto", "v2"), ("auto", "v3")]
