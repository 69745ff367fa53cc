"""create_workspace, export_user_data, delete_user and seed_demo."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.services.users import user_create
from accounts.tests.factories import UserFactory
from documents.management.commands.seed_demo import demo_password
from workspaces.models import Workspace, WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_workspace_team_is_idempotent():
    owner = UserFactory()
    first = _run("create_workspace", "--owner", owner.email.upper(), "--name", "Ops", "--team")
    second = _run("create_workspace", "--owner", owner.email, "--name", "Ops", "--team")
    assert first.startswith("Created") and second.startswith("Exists")
    workspace = Workspace.objects.get(owner=owner, name="Ops")
    assert workspace.is_team and WorkspaceMember.objects.get(workspace=workspace).role == Role.OWNER


def test_create_workspace_personal_reports_existing_one():
    owner = user_create(email="p@example.com", password=None, email_verified=True)
    output = _run("create_workspace", "--owner", owner.email, "--name", "Anything")
    assert output.startswith("Exists")
    assert Workspace.objects.filter(owner=owner, is_personal=True).count() == 1


@pytest.mark.parametrize("args,message", [(("--owner", "ghost@example.com", "--name", "X"), "No account"),
                                          (("--owner", "a@example.com", "--name", "  "), "--name")])
def test_create_workspace_bad_input_is_a_command_error(args, message):
    UserFactory(email="a@example.com")
    with pytest.raises(CommandError, match=message):
        call_command("create_workspace", *args)
    assert not Workspace.objects.exists()


def test_export_user_data_writes_the_export(tmp_path):
    user = UserFactory()
    workspace_create(owner=user, name="Mine")
    target = tmp_path / "export.json"
    _run("export_user_data", "--email", user.email, "--output", str(target))
    document = json.loads(target.read_text())
    assert document["profile"]["id"] == str(user.pk)
    assert document["memberships"][0]["workspace_name"] == "Mine"


def test_export_user_data_unknown_email_or_unwritable_path(tmp_path):
    with pytest.raises(CommandError, match="No account"):
        call_command("export_user_data", "--email", "ghost@example.com", "--output", str(tmp_path / "x.json"))
    user = UserFactory()
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_user_data", "--email", user.email, "--output", str(tmp_path / "missing" / "x.json"))


def test_delete_user_erases_and_dry_run_changes_nothing():
    user = UserFactory()
    assert "Would erase" in _run("delete_user", "--email", user.email, "--dry-run")
    user.refresh_from_db()
    assert user.deleted_at is None
    _run("delete_user", "--email", user.email)
    user.refresh_from_db()
    assert user.deleted_at is not None and not user.is_active
    with pytest.raises(CommandError, match="No account"):
        call_command("delete_user", "--email", "ghost@example.com")


def test_delete_user_refuses_owner_of_shared_workspace():
    user = UserFactory()
    team = workspace_create(owner=user, name="Shared")
    WorkspaceMember.objects.create(workspace=team, user=UserFactory(), role=Role.EDITOR)
    with pytest.raises(CommandError, match="Shared"):
        call_command("delete_user", "--email", user.email)
    user.refresh_from_db()
    assert user.deleted_at is None


def test_seed_demo_creates_team_with_each_role_idempotently():
    first = _run("seed_demo")
    _run("seed_demo")
    password = demo_password()
    assert f"demo@mdcreator.local / {password}" in first
    assert f"guest@mdcreator.local / {password}" in first
    assert User.objects.get(email="demo@mdcreator.local").check_password(password)
    team = Workspace.objects.get(name="Demo Team")
    roles = sorted(WorkspaceMember.objects.filter(workspace=team).values_list("role", flat=True))
    assert roles == sorted(["owner", "admin", "editor", "commenter", "viewer"])
    assert User.objects.count() == 6  # five members, one per role, and a guest holding a document grant
    guest = User.objects.get(email="guest@mdcreator.local")
    assert not WorkspaceMember.objects.filter(workspace=team, user=guest).exists()
    assert all(Workspace.objects.filter(owner=user, is_personal=True).exists() for user in User.objects.all())


def test_seed_demo_password_belongs_to_the_installation(settings):
    """No published password: another secret key gives another one, and reseeding applies it to existing accounts."""
    _run("seed_demo")
    first = demo_password()
    settings.SECRET_KEY = "another-installation-secret-key-of-sufficient-length"
    second = demo_password()
    assert second != first and "Password" not in second
    assert f"demo@mdcreator.local / {second}" in _run("seed_demo")
    demo = User.objects.get(email="demo@mdcreator.local")
    assert demo.check_password(second) and not demo.check_password(first)
