"""manage.py create_user, grant_staff and revoke_sessions."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import RefreshToken, User
from accounts.services.sessions import ClientInfo, session_start
from accounts.services.staff import SUPPORT_GROUP
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Cmd-Passw0rd-42"


def run(name: str, *args, **options) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, **options)
    return out.getvalue()


def is_support(user) -> bool:
    user.refresh_from_db()
    return user.is_staff and user.groups.filter(name=SUPPORT_GROUP).exists()


def test_commands_create_user_creates_local_account():
    out = run("create_user", email="New@Example.com", password=PASSWORD, display_name="New Person")
    user = User.objects.get(email="new@example.com")
    assert out == "Created new@example.com.\n"
    assert user.password.startswith("argon2") and user.check_password(PASSWORD)
    assert user.display_name == "New Person"
    assert (user.email_verified, user.is_staff, user.is_superuser) == (False, False, False)


def test_commands_create_user_verified_staff_becomes_support_member(client):
    run("create_user", "--staff", "--verified", email="ops@example.com", password=PASSWORD)
    user = User.objects.get(email="ops@example.com")
    assert user.email_verified is True and user.display_name == "ops"
    assert is_support(user)
    client.force_login(user)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200


def test_commands_create_user_existing_email_changes_nothing_but_added_flags():
    existing = UserFactory(email="taken@example.com", display_name="Original", unverified=True)
    out = run("create_user", "--verified", email="TAKEN@example.com", password=PASSWORD, display_name="Other")
    existing.refresh_from_db()
    assert "already exists" in out and "Marked taken@example.com verified." in out
    assert existing.check_password(DEFAULT_PASSWORD) and existing.display_name == "Original"
    assert existing.email_verified is True and User.objects.count() == 1


def test_commands_create_user_repeat_run_is_a_no_op():
    run("create_user", "--staff", email="again@example.com", password=PASSWORD)
    out = run("create_user", "--staff", email="again@example.com", password=PASSWORD)
    assert out == "again@example.com already exists; its password and name were left unchanged.\n"
    assert User.objects.filter(email="again@example.com").count() == 1


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1A", "password: Use at least 8 characters."),
        ("alllowercase1", "Include an upper-case letter."),
        ("NoDigitsHere", "Include a digit."),
    ],
)
def test_commands_create_user_weak_password_fails_naming_problem(password, problem):
    with pytest.raises(CommandError, match=problem):
        run("create_user", email="weak@example.com", password=password)
    assert not User.objects.filter(email="weak@example.com").exists()


@pytest.mark.parametrize("email", ["not-an-email", "a@", ""])
def test_commands_create_user_bad_email_fails(email):
    with pytest.raises(CommandError, match="not a valid email address"):
        run("create_user", email=email, password=PASSWORD)
    assert not User.objects.exists()


def test_commands_create_user_missing_password_fails():
    with pytest.raises(CommandError, match="--password"):
        run("create_user", email="nopass@example.com")


def test_commands_grant_staff_creates_group_with_every_view_permission(client):
    member = UserFactory(email="helper@example.com")
    out = run("grant_staff", "Helper@Example.com")
    assert out == "helper@example.com is now support staff.\n"
    assert is_support(member)
    group = Group.objects.get(name=SUPPORT_GROUP)
    views = set(Permission.objects.filter(codename__startswith="view_"))
    assert set(group.permissions.all()) == views
    assert {p.codename for p in views} >= {"view_user", "view_refreshtoken", "view_emailcode"}
    client.force_login(member)
    assert client.get(reverse("admin:accounts_refreshtoken_changelist")).status_code == 200


def test_commands_grant_staff_is_idempotent_and_completes_group():
    member = UserFactory(email="helper@example.com")
    group = Group.objects.create(name=SUPPORT_GROUP)
    group.permissions.add(Permission.objects.get(codename="view_user"))
    run("grant_staff", "helper@example.com")
    out = run("grant_staff", "helper@example.com")
    assert out == "helper@example.com already was support staff.\n"
    assert Group.objects.filter(name=SUPPORT_GROUP).count() == 1
    assert group.permissions.count() == Permission.objects.filter(codename__startswith="view_").count()
    assert member.groups.count() == 1


def test_commands_grant_staff_adds_group_to_existing_staff():
    member = UserFactory(email="staff@example.com", is_staff=True)
    assert run("grant_staff", "staff@example.com") == "staff@example.com is now support staff.\n"
    assert is_support(member)


def test_commands_grant_staff_unknown_email_fails():
    with pytest.raises(CommandError, match="No account has the email ghost@example.com"):
        run("grant_staff", "ghost@example.com")
    assert not Group.objects.filter(name=SUPPORT_GROUP).exists()


def test_commands_grant_staff_erased_account_fails():
    UserFactory(email="gone@example.com", deleted_at=timezone.now(), is_active=False)
    with pytest.raises(CommandError, match="was erased"):
        run("grant_staff", "gone@example.com")
    assert not User.objects.get(email="gone@example.com").is_staff


def test_commands_revoke_sessions_revokes_every_family(django_capture_on_commit_callbacks):
    owner, bystander = UserFactory(email="owner@example.com"), UserFactory()
    first = session_start(user=owner, client=ClientInfo())
    session_start(user=owner, client=ClientInfo(device_id="phone"))
    session_start(user=bystander, client=ClientInfo())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first.access_token}")
    assert api.get("/api/v1/auth/me").status_code == 200  # caches the family as live
    with django_capture_on_commit_callbacks(execute=True):
        out = run("revoke_sessions", email="Owner@Example.com")
    assert out == "Revoked 2 refresh token(s) of owner@example.com.\n"
    assert set(RefreshToken.objects.filter(user=owner).values_list("revoke_reason", flat=True)) == {"admin"}
    assert RefreshToken.objects.get(user=bystander).revoked_at is None
    assert api.get("/api/v1/auth/me").status_code == 401
    assert run("revoke_sessions", email="owner@example.com") == "Revoked 0 refresh token(s) of owner@example.com.\n"


def test_commands_revoke_sessions_dry_run_only_counts():
    owner = UserFactory(email="owner@example.com")
    session_start(user=owner, client=ClientInfo())
    out = run("revoke_sessions", "--dry-run", email="owner@example.com")
    assert out == "Would revoke 1 refresh token(s) of owner@example.com.\n"
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()


def test_commands_revoke_sessions_unknown_email_fails():
    with pytest.raises(CommandError, match="No account has the email ghost@example.com"):
        run("revoke_sessions", email="ghost@example.com")
