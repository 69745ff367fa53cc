"""The sync log write path: gap-free per-workspace seq, written and rolled back with the change (SPEC §4)."""

import threading
import uuid

import pytest
from django.db import connection, transaction

from accounts.tests.factories import UserFactory
from mdcreator.errors import ProblemError
from sync.models import SyncLog
from sync.origin import PUSH, OriginKind
from sync.services import ClientInfo, diff_fields, record_change
from workspaces.access import access_from_membership
from workspaces.models import Workspace, WorkspaceMember
from workspaces.services.invitations import invitation_accept
from workspaces.services.members import membership_remove, membership_update
from workspaces.services.workspaces import (
    workspace_create,
    workspace_delete,
    workspace_transfer_ownership,
    workspace_update,
)
from workspaces.tests.factories import WorkspaceFactory, make_invitation
from workspaces.tests.helpers import last_seq, sync_entries


def _record(workspace, **extra):
    return record_change(
        workspace_id=workspace.pk,
        entity_type=SyncLog.EntityType.WORKSPACE,
        entity_id=workspace.pk,
        operation=SyncLog.Operation.UPDATE,
        **{"old": None, "new": None, "actor": None, **extra},
    )


def _access(team, actor):
    return access_from_membership(team.member(actor))


@pytest.mark.django_db
def test_sync_log_workspace_create_starts_the_workspace_at_seq_1_and_2():
    owner = UserFactory()
    workspace = workspace_create(owner=owner, name="Fresh")
    entries = sync_entries(workspace)
    assert [(e.seq, e.entity_type, e.operation) for e in entries] == [
        (1, "workspace", "create"),
        (2, "member", "create"),
    ]
    assert last_seq(workspace) == 2


@pytest.mark.django_db
def test_sync_log_seq_is_per_workspace():
    first, second = WorkspaceFactory(), WorkspaceFactory()
    assert [_record(first).seq for _ in range(3)] == [3, 4, 5]
    assert _record(second).seq == 3
    assert (last_seq(first), last_seq(second)) == (5, 3)


@pytest.mark.django_db
def test_sync_log_is_gap_free_across_every_workspace_and_member_service(team):
    owner, workspace = team.user("owner"), team.workspace
    start = last_seq(workspace)
    workspace_update(workspace=workspace, actor=owner, data={"name": "Renamed"})
    membership_update(
        workspace=workspace,
        actor=owner,
        actor_access=_access(team, "owner"),
        user_id=team.user("viewer").pk,
        role="commenter",
    )
    membership_remove(
        workspace=workspace, actor=owner, actor_access=_access(team, "owner"), user_id=team.user("editor").pk
    )
    _, token = make_invitation(workspace=workspace, email=team.user("non_member").email)
    invitation_accept(token=token, user=team.user("non_member"))
    workspace_transfer_ownership(workspace=workspace, actor=owner, new_owner_id=team.user("admin").pk)
    entries = sync_entries(workspace, after=start)
    assert [e.seq for e in entries] == list(range(start + 1, start + 8))
    assert [(e.entity_type, e.operation) for e in entries] == [
        ("workspace", "update"),
        ("member", "update"),
        ("member", "delete"),
        ("member", "create"),
        ("member", "update"),
        ("member", "update"),
        ("workspace", "update"),
    ]
    assert last_seq(workspace) == start + 7
    assert SyncLog.objects.filter(workspace=workspace).count() == start + 7


@pytest.mark.django_db
def test_sync_log_entries_roll_back_with_the_change(team):
    owner, workspace = team.user("owner"), team.workspace
    seq, count = last_seq(workspace), SyncLog.objects.count()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            workspace_update(workspace=workspace, actor=owner, data={"name": "Never"})
            membership_remove(
                workspace=workspace, actor=owner, actor_access=_access(team, "owner"), user_id=team.user("viewer").pk
            )
            assert last_seq(workspace) == seq + 2  # written inside the transaction...
            raise RuntimeError("the surrounding change fails after the entries were written")
    # ...and gone with it: no entry, no counter increment, no change.
    assert (last_seq(workspace), SyncLog.objects.count()) == (seq, count)
    assert Workspace.objects.get(pk=workspace.pk).name == "Team Space"
    assert team.member("viewer").is_active
    # The next change takes the very next number.
    workspace_update(workspace=workspace, actor=owner, data={"name": "Later"})
    assert [e.seq for e in sync_entries(workspace, after=seq)] == [seq + 1]


@pytest.mark.django_db
def test_sync_log_rolled_back_savepoint_leaves_no_gap(team):
    workspace = team.workspace
    seq = last_seq(workspace)
    with transaction.atomic():
        _record(workspace)
        try:
            with transaction.atomic():
                _record(workspace)
                raise RuntimeError
        except RuntimeError:
            pass
        _record(workspace)
    assert [e.seq for e in sync_entries(workspace, after=seq)] == [seq + 1, seq + 2]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "refused",
    [
        "bad_override",
        "owner_row",
        "remove_owner",
        "transfer_to_outsider",
        "delete_with_members",
        "admin_promotes",
    ],
)
def test_sync_log_refused_services_consume_no_seq(team, refused):
    owner, workspace = team.user("owner"), team.workspace
    calls = {
        "bad_override": lambda: membership_update(
            workspace=workspace,
            actor=owner,
            actor_access=_access(team, "owner"),
            user_id=team.user("viewer").pk,
            role="commenter",
            permissions={"can_edit_documents": True},
        ),
        "owner_row": lambda: membership_update(
            workspace=workspace, actor=owner, actor_access=_access(team, "owner"), user_id=owner.pk, role="viewer"
        ),
        "remove_owner": lambda: membership_remove(
            workspace=workspace, actor=team.user("admin"), actor_access=_access(team, "admin"), user_id=owner.pk
        ),
        "transfer_to_outsider": lambda: workspace_transfer_ownership(
            workspace=workspace, actor=owner, new_owner_id=team.user("non_member").pk
        ),
        "delete_with_members": lambda: workspace_delete(workspace=workspace, actor=owner),
        "admin_promotes": lambda: membership_update(
            workspace=workspace,
            actor=team.user("admin"),
            actor_access=_access(team, "admin"),
            user_id=team.user("viewer").pk,
            role="admin",
        ),
    }
    seq, members = (
        last_seq(workspace),
        sorted(WorkspaceMember.objects.values_list("user_id", "role", "is_active"), key=str),
    )
    with pytest.raises(ProblemError):
        calls[refused]()
    assert last_seq(workspace) == seq and sync_entries(workspace, after=seq) == []
    assert sorted(WorkspaceMember.objects.values_list("user_id", "role", "is_active"), key=str) == members


@pytest.mark.django_db
def test_record_change_stores_origin_client_actor_and_payload(team):
    client = ClientInfo(device_id="laptop-1", client_version="2.3.0", client_change_id=uuid.uuid4())
    entry = _record(
        team.workspace,
        actor=team.user("editor"),
        old={"a": 1, "content_hash": "e" * 64},
        new={"a": 2, "b": 3, "content_hash": "f" * 64},
        origin=PUSH,
        client=client,
    )
    entry.refresh_from_db()
    assert (entry.device_id, entry.client_version, entry.client_change_id) == (
        "laptop-1",
        "2.3.0",
        client.client_change_id,
    )
    assert entry.origin == OriginKind.PUSH
    assert entry.changed_by == team.user("editor") and entry.content_hash == "f" * 64
    assert entry.changes == {"old": {"a": 1, "b": None, "content_hash": "e" * 64}, "new": {"a": 2, "b": 3, "content_hash": "f" * 64}}
    assert entry.data == {"a": 2, "b": 3, "content_hash": "f" * 64}
    assert entry.timestamp is not None


@pytest.mark.django_db
def test_record_change_without_actor_or_payload(team):
    entry = _record(team.workspace)
    assert entry.changed_by is None and entry.changes == {"old": {}, "new": {}} and entry.data == {}
    assert entry.device_id is None and entry.client_change_id is None
    assert entry.origin == OriginKind.REST and entry.content_hash is None


def test_diff_fields_keeps_only_changed_fields():
    assert diff_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {
        "old": {"b": 2, "c": None},
        "new": {"b": 3, "c": 4},
    }
    assert diff_fields({}, {}) == {"old": {}, "new": {}}


def _in_thread(target, *args):
    """Run `target` on its own database connection; returns the started thread."""

    def run():
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_commits", [True, False])
def test_sync_log_writers_of_one_workspace_wait_for_each_other(first_commits):
    """A second writer blocks on the workspace row until the first ends; a rollback gives its number back."""
    workspace, elsewhere = WorkspaceFactory(), WorkspaceFactory()
    holding, release = threading.Event(), threading.Event()
    seqs: dict[str, int] = {}

    def first():
        try:
            with transaction.atomic():
                seqs["first"] = _record(workspace).seq
                holding.set()
                release.wait(10)
                if not first_commits:
                    raise RuntimeError("roll back")
        except RuntimeError:
            pass

    def second():
        with transaction.atomic():
            seqs["second"] = _record(workspace).seq

    one = _in_thread(first)
    assert holding.wait(10)
    # The uncommitted entry is invisible to everybody else.
    assert last_seq(workspace) == 2 and len(sync_entries(workspace)) == 2
    two = _in_thread(second)
    two.join(0.5)
    assert two.is_alive(), "the second writer should wait for the first transaction"
    # Other workspaces are not held up.
    assert _record(elsewhere).seq == 3
    release.set()
    one.join(10)
    two.join(10)
    assert not one.is_alive() and not two.is_alive()
    assert seqs["first"] == 3
    assert seqs["second"] == (4 if first_commits else 3)
    assert [e.seq for e in sync_entries(workspace)] == ([1, 2, 3, 4] if first_commits else [1, 2, 3])
    assert last_seq(workspace) == (4 if first_commits else 3)
