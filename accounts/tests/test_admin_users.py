"""Django admin for accounts.User: access, search, filters, secrets, actions, add and password forms."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import EmailCode, RefreshToken, User
from accounts.services.codes import email_code_issue
from accounts.services.sessions import ClientInfo, session_start
from accounts.services.staff import staff_grant
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import code_from_mail
from accounts.tests.operators import signed_in

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")
ADD = reverse("admin:accounts_user_add")
NEW_PASSWORD = "Fresh-Passw0rd-7"


def change_url(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def password_url(user) -> str:
    return reverse("admin:auth_user_password_change", args=[user.pk])


def api_session(user) -> APIClient:
    """An API client holding a fresh access token of `user`."""
    tokens = session_start(user=user, client=ClientInfo())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}")
    return api


def run_action(client, action: str, users, capture):
    with capture(execute=True):
        return client.post(CHANGELIST, {"action": action, "_selected_action": [str(u.pk) for u in users]})


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_changelist_operator_lists_accounts(client, operator):
    listed = UserFactory(email="listed@example.com")
    response = signed_in(client, operator).get(CHANGELIST)
    assert response.status_code == 200
    assert listed.email in response.content.decode()


def test_admin_users_changelist_staff_outside_support_group_forbidden(client):
    response = signed_in(client, UserFactory(is_staff=True)).get(CHANGELIST)
    assert response.status_code == 403


@pytest.mark.parametrize("actor", ["non_staff", "anonymous"])
def test_admin_users_changelist_non_staff_redirected_to_login(client, actor):
    if actor == "non_staff":
        client.force_login(UserFactory())
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("field", "term"),
    [
        ("email", lambda u: "needle@"),
        ("username", lambda u: "needle_name"),
        ("display_name", lambda u: "Needle Person"),
        ("oidc_sub", lambda u: u.oidc_sub),
        ("id", lambda u: str(u.pk)),
    ],
)
def test_admin_users_search_finds_match_only(client, superuser, field, term):
    target = UserFactory(
        email="needle@example.com", username="needle_name", display_name="Needle Person", oidc_sub="sub-needle-1"
    )
    other = UserFactory(email="hay@example.com", display_name="Hay")
    response = signed_in(client, superuser).get(CHANGELIST, {"q": term(target)})
    html = response.content.decode()
    assert response.status_code == 200
    assert target.email in html and other.email not in html


@pytest.mark.parametrize("source", ["local", "oidc", "linked"])
def test_admin_users_filter_auth_source(client, superuser, source):
    accounts = {
        "local": UserFactory(email="local@example.com"),
        "oidc": UserFactory(email="oidc@example.com", oidc_only=True),
        "linked": UserFactory(email="linked@example.com", oidc_issuer="https://issuer.example", oidc_sub="sub-l"),
    }
    response = signed_in(client, superuser).get(CHANGELIST, {"auth_source": source})
    html = response.content.decode()
    assert response.status_code == 200
    for name, account in accounts.items():
        assert (account.email in html) is (name == source)


@pytest.mark.parametrize(
    ("params", "matching", "other"),
    [
        ({"is_active__exact": "0"}, {"is_active": False}, {"is_active": True}),
        ({"is_staff__exact": "1"}, {"is_staff": True}, {"is_staff": False}),
        ({"email_verified__exact": "0"}, {"email_verified": False}, {"email_verified": True}),
        ({"subscription_tier__exact": "pro"}, {"subscription_tier": "pro"}, {"subscription_tier": "free"}),
    ],
)
def test_admin_users_filter_flags(client, superuser, params, matching, other):
    shown = UserFactory(email="match@example.com", **matching)
    hidden = UserFactory(email="other@example.com", **other)
    response = signed_in(client, superuser).get(CHANGELIST, params)
    html = response.content.decode()
    assert response.status_code == 200
    assert shown.email in html and hidden.email not in html


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_pages_never_show_password_hash(client, operator):
    target = UserFactory(email="secret@example.com")
    digest = target.password.rsplit("$", 1)[-1]
    signed_in(client, operator)
    pages = [client.get(CHANGELIST), client.get(change_url(target)), client.get(change_url(operator))]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert target.password not in html and digest not in html and "argon2" not in html
        assert operator.password.rsplit("$", 1)[-1] not in html
    assert "Set: can sign in with a password." in pages[1].content.decode()


def test_admin_users_change_view_shows_missing_password_for_oidc_account(client, superuser):
    target = UserFactory(oidc_only=True)
    html = signed_in(client, superuser).get(change_url(target)).content.decode()
    assert "None: no password sign-in." in html and "Set: can sign in" not in html


def test_admin_users_password_page_never_shows_hash(client, superuser):
    target = UserFactory()
    response = signed_in(client, superuser).get(password_url(target))
    html = response.content.decode()
    assert response.status_code == 200
    assert target.password.rsplit("$", 1)[-1] not in html and "argon2" not in html


def test_admin_users_support_cannot_edit(client, support):
    target = UserFactory(display_name="Before")
    signed_in(client, support)
    page = client.get(change_url(target))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = client.post(change_url(target), {"email": target.email, "display_name": "After"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.display_name == "Before"


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_nobody_hard_deletes(client, operator):
    target = UserFactory()
    signed_in(client, operator)
    assert client.get(reverse("admin:accounts_user_delete", args=[target.pk])).status_code == 403
    assert 'value="delete_selected"' not in client.get(CHANGELIST).content.decode()
    data = {"action": "delete_selected", "_selected_action": [str(target.pk)], "post": "yes"}
    response = client.post(CHANGELIST, data)
    assert response.status_code == 302  # an action not offered is refused with "No action selected."
    assert User.objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_deactivate_revokes_every_family(client, operator, django_capture_on_commit_callbacks):
    target = UserFactory()
    api = api_session(target)
    session_start(user=target, client=ClientInfo(device_id="second"))
    assert api.get("/api/v1/auth/me").status_code == 200  # caches the family as live
    response = run_action(signed_in(client, operator), "deactivate", [target], django_capture_on_commit_callbacks)
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_active is False
    tokens = RefreshToken.objects.filter(user=target)
    assert tokens.count() == 2
    assert set(tokens.values_list("revoke_reason", flat=True)) == {"admin"}
    assert not tokens.filter(revoked_at__isnull=True).exists()
    assert api.get("/api/v1/auth/me").status_code == 401


def test_admin_users_deactivate_skips_self_and_support_skips_superusers(
    client, support, superuser, django_capture_on_commit_callbacks
):
    plain = UserFactory()
    signed_in(client, support)
    run_action(client, "deactivate", [support, superuser, plain], django_capture_on_commit_callbacks)
    states = dict(User.objects.filter(pk__in=[support.pk, superuser.pk, plain.pk]).values_list("pk", "is_active"))
    assert states == {support.pk: True, superuser.pk: True, plain.pk: False}
    messages = [str(m) for m in client.get(CHANGELIST).context["messages"]]
    assert "Deactivated 1 account(s); revoked 0 refresh token(s)." in messages
    assert any(m.startswith("Skipped 2 selected row(s)") for m in messages)


def test_admin_users_superuser_may_deactivate_other_superuser(client, superuser, django_capture_on_commit_callbacks):
    other = UserFactory(is_staff=True, is_superuser=True)
    run_action(signed_in(client, superuser), "deactivate", [other], django_capture_on_commit_callbacks)
    other.refresh_from_db()
    assert other.is_active is False


def test_admin_users_action_by_staff_outside_support_forbidden(client, django_capture_on_commit_callbacks):
    target = UserFactory()
    session_start(user=target, client=ClientInfo())
    signed_in(client, UserFactory(is_staff=True))
    response = run_action(client, "deactivate", [target], django_capture_on_commit_callbacks)
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active is True
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_reactivate_restores_inactive_not_erased(client, operator, django_capture_on_commit_callbacks):
    inactive = UserFactory(is_active=False)
    erased = UserFactory(is_active=False, deleted_at=timezone.now())
    run_action(signed_in(client, operator), "reactivate", [inactive, erased], django_capture_on_commit_callbacks)
    inactive.refresh_from_db()
    erased.refresh_from_db()
    assert inactive.is_active is True
    assert erased.is_active is False


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_revoke_sessions_keeps_account_active(client, operator, django_capture_on_commit_callbacks):
    target, bystander = UserFactory(), UserFactory()
    api, bystander_api = api_session(target), api_session(bystander)
    assert api.get("/api/v1/auth/me").status_code == 200
    run_action(signed_in(client, operator), "revoke_sessions", [target], django_capture_on_commit_callbacks)
    target.refresh_from_db()
    assert target.is_active is True
    assert RefreshToken.objects.get(user=target).revoke_reason == "admin"
    assert RefreshToken.objects.get(user=bystander).revoked_at is None
    assert api.get("/api/v1/auth/me").status_code == 401
    assert bystander_api.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_mark_verified_burns_pending_codes(client, operator, django_capture_on_commit_callbacks):
    target = UserFactory(unverified=True)
    email_code_issue(user=target, purpose=EmailCode.Purpose.CONFIRM_EMAIL)
    run_action(signed_in(client, operator), "mark_verified", [target], django_capture_on_commit_callbacks)
    target.refresh_from_db()
    assert target.email_verified is True
    assert not EmailCode.objects.filter(user=target, used_at__isnull=True).exists()


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_users_resend_confirmation_mails_unverified_only(
    client, operator, mailoutbox, django_capture_on_commit_callbacks
):
    unverified, verified = UserFactory(unverified=True), UserFactory()
    signed_in(client, operator)
    run_action(client, "resend_confirmation", [unverified, verified], django_capture_on_commit_callbacks)
    assert [message.to for message in mailoutbox] == [[unverified.email]]
    code_from_mail(mailoutbox[0])
    assert EmailCode.objects.filter(user=unverified, purpose="confirm_email", used_at__isnull=True).count() == 1
    assert not EmailCode.objects.filter(user=verified).exists()


def test_admin_users_add_form_renders_without_password_fields_leaking(client, superuser):
    response = signed_in(client, superuser).get(ADD)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="password1"' in html and 'name="usable_password"' in html
    assert "argon2" not in html and superuser.password.rsplit("$", 1)[-1] not in html


def test_admin_users_add_creates_hashed_password_account(client, superuser):
    response = signed_in(client, superuser).post(
        ADD,
        {
            "email": "New.Person@Example.com",
            "display_name": "New Person",
            "username": "New_Person",
            "email_verified": "on",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    created = User.objects.get(email="new.person@example.com")
    assert response.status_code == 302 and response["Location"] == change_url(created)
    assert created.password.startswith("argon2") and created.check_password(NEW_PASSWORD)
    assert (created.username, created.display_name, created.email_verified) == ("new_person", "New Person", True)
    assert created.is_staff is False and created.is_superuser is False


def test_admin_users_add_without_password_makes_password_less_account(client, superuser):
    signed_in(client, superuser).post(ADD, {"email": "sso@example.com", "usable_password": "false"})
    created = User.objects.get(email="sso@example.com")
    assert created.has_usable_password() is False and created.display_name == "sso"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "weak@example.com", "password1": "short", "password2": "short"}, "Use at least 8 characters."),
        ({"email": "LISTED@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, "already exists"),
        ({"email": "not-an-email", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, "valid email"),
        ({"email": "ok@example.com", "username": "x", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, "3 to 40"),
    ],
)
def test_admin_users_add_bad_input_shows_error_and_creates_nothing(client, superuser, data, message):
    UserFactory(email="listed@example.com")
    before = User.objects.count()
    response = signed_in(client, superuser).post(ADD, {"usable_password": "true", **data})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == before


def test_admin_users_add_forbidden_to_support(client, support):
    response = signed_in(client, support).post(
        ADD, {"email": "x@example.com", "usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_admin_users_set_password_signs_out_every_session(client, superuser, django_capture_on_commit_callbacks):
    target = UserFactory()
    api = api_session(target)
    assert api.get("/api/v1/auth/me").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(client, superuser).post(
            password_url(target), {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.check_password(NEW_PASSWORD) and not target.check_password(DEFAULT_PASSWORD)
    assert RefreshToken.objects.get(user=target).revoke_reason == "password_change"
    assert api.get("/api/v1/auth/me").status_code == 401


def test_admin_users_set_password_rejects_weak_password(client, superuser):
    target = UserFactory()
    response = signed_in(client, superuser).post(
        password_url(target), {"usable_password": "true", "password1": "weakweak", "password2": "weakweak"}
    )
    assert response.status_code == 200 and "Include a digit." in response.content.decode()
    target.refresh_from_db()
    assert target.check_password(DEFAULT_PASSWORD)


def test_admin_users_set_password_forbidden_to_support(client, support):
    target = UserFactory()
    response = signed_in(client, support).post(
        password_url(target), {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.check_password(DEFAULT_PASSWORD)


def test_admin_users_edit_unticking_active_revokes_sessions(client, superuser, django_capture_on_commit_callbacks):
    target = UserFactory(email="edit@example.com", display_name="Edit Me")
    api = api_session(target)
    assert api.get("/api/v1/auth/me").status_code == 200
    # Unticked checkboxes are absent from a form post: is_active is left out on purpose.
    data = {
        "email": "Edited@Example.com",
        "display_name": "Edit Me",
        "username": "",
        "avatar_url": "",
        "bio": "",
        "settings": '{"theme": "dark"}',
        "features": '{"collaboration": true}',
        "subscription_tier": "free",
        "subscription_status": "active",
        "subscription_expires_at_0": "",
        "subscription_expires_at_1": "",
        "email_verified": "on",
    }
    signed_in(client, superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(target), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    target.refresh_from_db()
    assert (target.email, target.is_active, target.settings) == ("edited@example.com", False, {"theme": "dark"})
    assert (target.username, target.avatar_url) == (None, None)  # cleared fields are NULL, never ""
    assert RefreshToken.objects.get(user=target).revoke_reason == "admin"
    assert api.get("/api/v1/auth/me").status_code == 401


def test_admin_user_export_data_downloads_one_accounts_json(db):
    staff, target = UserFactory(), UserFactory()
    staff_grant(user=staff)
    client = Client()
    client.force_login(staff)
    response = client.post("/admin/accounts/user/", {"action": "export_data", "_selected_action": [str(target.pk)]})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert json.loads(response.content)["profile"]["email"] == target.email
    both = client.post("/admin/accounts/user/", {"action": "export_data", "_selected_action": [str(target.pk), str(staff.pk)]})
    assert both.status_code == 302
