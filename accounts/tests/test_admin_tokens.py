"""Django admin for RefreshToken and EmailCode: read-only lists, hidden hashes, revoke actions."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import EmailCode, RefreshToken
from accounts.services.codes import email_code_issue
from accounts.services.sessions import ClientInfo, session_refresh, session_start
from accounts.tests.factories import UserFactory
from accounts.tests.operators import signed_in

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:accounts_refreshtoken_changelist")
CODES = reverse("admin:accounts_emailcode_changelist")


def token_url(name: str, token) -> str:
    return reverse(f"admin:accounts_refreshtoken_{name}", args=[token.pk])


def code_url(name: str, code) -> str:
    return reverse(f"admin:accounts_emailcode_{name}", args=[code.pk])


def family_of_two(user):
    """A login and its first refresh: two tokens of one family, and the latest access token."""
    first = session_start(user=user, client=ClientInfo(ip="203.0.113.7", device_id="laptop-1"))
    second = session_refresh(refresh_token=first.refresh_token, client=ClientInfo())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {second.access_token}")
    return RefreshToken.objects.filter(family_id=first.session_id), api


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_tokens_changelist_lists_sessions_without_hash(client, operator):
    tokens, _ = family_of_two(UserFactory(email="owner@example.com"))
    signed_in(client, operator)
    token = tokens.first()
    for response in (client.get(TOKENS), client.get(token_url("change", token))):
        html = response.content.decode()
        assert response.status_code == 200
        assert "owner@example.com" in html and str(token.family_id) in html and "laptop-1" in html
        assert all(t.token_hash not in html for t in tokens)
        assert "token_hash" not in html and "Token hash" not in html


def test_admin_tokens_staff_outside_support_group_forbidden(client):
    family_of_two(UserFactory())
    assert signed_in(client, UserFactory(is_staff=True)).get(TOKENS).status_code == 403


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_tokens_read_only_for_everyone(client, operator):
    tokens, _ = family_of_two(UserFactory())
    token = tokens.first()
    signed_in(client, operator)
    assert client.get(reverse("admin:accounts_refreshtoken_add")).status_code == 403
    assert client.post(token_url("change", token), {"revoke_reason": "logout"}).status_code == 403
    assert client.post(token_url("delete", token), {"post": "yes"}).status_code == 403
    assert 'name="_save"' not in client.get(token_url("change", token)).content.decode()
    token.refresh_from_db()
    assert token.revoke_reason == "" and RefreshToken.objects.count() == 2


@pytest.mark.parametrize("by", ["email", "family"])
def test_admin_tokens_search_by_email_or_family(client, superuser, by):
    wanted, _ = family_of_two(UserFactory(email="wanted@example.com"))
    other, _ = family_of_two(UserFactory(email="other@example.com"))
    term = "wanted@example.com" if by == "email" else str(wanted.first().family_id)
    html = signed_in(client, superuser).get(TOKENS, {"q": term}).content.decode()
    assert str(wanted.first().family_id) in html
    assert str(other.first().family_id) not in html and "other@example.com" not in html


@pytest.mark.parametrize(
    ("params", "expect"),
    [({"revoked": "yes"}, "revoked"), ({"revoked": "no"}, "live"), ({"expired": "yes"}, "expired")],
)
def test_admin_tokens_filter_revoked_and_expired(client, superuser, params, expect):
    families = {}
    for name in ("live", "revoked", "expired"):
        tokens, _ = family_of_two(UserFactory(email=f"{name}@example.com"))
        families[name] = tokens
    families["revoked"].update(revoked_at=timezone.now(), revoke_reason="logout")
    families["expired"].update(expires_at=timezone.now() - timedelta(days=1))
    html = signed_in(client, superuser).get(TOKENS, params).content.decode()
    for name in families:
        shown = name == expect or (params == {"revoked": "no"} and name == "expired")
        assert (f"{name}@example.com" in html) is shown


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_tokens_revoke_family_revokes_whole_family_only(client, operator, django_capture_on_commit_callbacks):
    owner = UserFactory()
    target, api = family_of_two(owner)
    other, other_api = family_of_two(owner)
    assert api.get("/api/v1/auth/me").status_code == 200  # caches the family as live
    selected = target.order_by("created_at").first()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(client, operator).post(
            TOKENS, {"action": "revoke_family", "_selected_action": [str(selected.pk)]}
        )
    assert response.status_code == 302
    assert set(target.values_list("revoke_reason", flat=True)) == {"admin"}
    assert not target.filter(revoked_at__isnull=True).exists()
    assert not other.filter(revoked_at__isnull=False).exists()
    assert api.get("/api/v1/auth/me").status_code == 401
    assert other_api.get("/api/v1/auth/me").status_code == 200


def test_admin_tokens_revoke_family_support_skips_superuser_sessions(
    client, support, superuser, django_capture_on_commit_callbacks
):
    tokens, _ = family_of_two(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(client, support).post(
            TOKENS, {"action": "revoke_family", "_selected_action": [str(tokens.first().pk)]}
        )
    assert not tokens.filter(revoked_at__isnull=False).exists()


def test_admin_tokens_revoke_family_forbidden_to_staff_outside_support(client):
    tokens, _ = family_of_two(UserFactory())
    response = signed_in(client, UserFactory(is_staff=True)).post(
        TOKENS, {"action": "revoke_family", "_selected_action": [str(tokens.first().pk)]}
    )
    assert response.status_code == 403
    assert not tokens.filter(revoked_at__isnull=False).exists()


def issue_code(user, purpose=EmailCode.Purpose.CONFIRM_EMAIL):
    email_code_issue(user=user, purpose=purpose)
    return EmailCode.objects.filter(user=user, purpose=purpose).latest("created_at")


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_codes_pages_never_show_code_or_hash(client, operator):
    owner = UserFactory(email="coded@example.com", unverified=True)
    plain = email_code_issue(user=owner, purpose=EmailCode.Purpose.CONFIRM_EMAIL)
    code = EmailCode.objects.get(user=owner)
    signed_in(client, operator)
    for response in (client.get(CODES), client.get(code_url("change", code))):
        html = response.content.decode()
        assert response.status_code == 200
        assert "coded@example.com" in html and "confirm_email" in html
        assert code.code_hash not in html and "code_hash" not in html and plain not in html


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_codes_read_only_for_everyone(client, operator):
    code = issue_code(UserFactory(unverified=True))
    signed_in(client, operator)
    assert client.get(reverse("admin:accounts_emailcode_add")).status_code == 403
    assert client.post(code_url("change", code), {"attempts": 0}).status_code == 403
    assert client.post(code_url("delete", code), {"post": "yes"}).status_code == 403
    assert EmailCode.objects.filter(pk=code.pk, used_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"used": "yes"}, {"used"}),
        ({"used": "no"}, {"live", "reset"}),
        ({"purpose__exact": "reset_password"}, {"reset"}),
    ],
)
def test_admin_codes_filter_used_and_purpose(client, superuser, params, expect):
    codes = {
        "live": issue_code(UserFactory(email="live@example.com", unverified=True)),
        "used": issue_code(UserFactory(email="used@example.com", unverified=True)),
        "reset": issue_code(UserFactory(email="reset@example.com"), EmailCode.Purpose.RESET_PASSWORD),
    }
    EmailCode.objects.filter(pk=codes["used"].pk).update(used_at=timezone.now())
    html = signed_in(client, superuser).get(CODES, params).content.decode()
    for name in codes:
        assert (f"{name}@example.com" in html) is (name in expect)


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_codes_revoke_marks_used_and_code_stops_working(client, operator, api_client):
    owner = UserFactory(unverified=True)
    plain = email_code_issue(user=owner, purpose=EmailCode.Purpose.CONFIRM_EMAIL)
    code = EmailCode.objects.get(user=owner)
    response = signed_in(client, operator).post(CODES, {"action": "revoke_codes", "_selected_action": [str(code.pk)]})
    assert response.status_code == 302
    code.refresh_from_db()
    assert code.used_at is not None
    confirm = api_client.post(
        "/api/v1/auth/confirm", {"email": owner.email, "confirmation_code": plain}, format="json"
    )
    assert confirm.status_code == 400
    owner.refresh_from_db()
    assert owner.email_verified is False


def test_admin_codes_revoke_forbidden_to_staff_outside_support(client):
    code = issue_code(UserFactory(unverified=True))
    response = signed_in(client, UserFactory(is_staff=True)).post(
        CODES, {"action": "revoke_codes", "_selected_action": [str(code.pk)]}
    )
    assert response.status_code == 403
    assert EmailCode.objects.filter(pk=code.pk, used_at__isnull=True).exists()
