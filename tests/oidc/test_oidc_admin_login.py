"""The admin's browser sign-in: /oidc/authenticate/ -> provider -> /oidc/callback/ (SPEC §3.1)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings

from accounts.models import User
from accounts.services.staff import SUPPORT_GROUP
from accounts.services.users import user_deactivate
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BACKEND = "accounts.oidc_admin.AdminOIDCAuthenticationBackend"


def _sso(client, provider, person, next_url="/admin/"):
    """Start at /oidc/authenticate/, sign in at the provider, return the callback's response."""
    start = client.get("/oidc/authenticate/", {"next": next_url})
    assert start.status_code == 302
    authorization_url = start["Location"]
    query = parse_qs(urlsplit(authorization_url).query)
    assert authorization_url.startswith(f"{provider.issuer}/auth?")
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [provider.redirect_uri]
    callback = urlsplit(provider.authorize(authorization_url, person))
    assert callback.path == "/oidc/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def test_oidc_admin_login_staff_group_opens_admin(client, oidc_provider, person):
    staff_person = {**person, "groups": ["readers", django_settings.OIDC_STAFF_GROUP]}

    callback = _sso(client, oidc_provider, staff_person)

    assert callback.status_code == 302 and callback["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    user = User.objects.get(oidc_issuer=oidc_provider.issuer, oidc_sub=person["sub"])
    assert user.is_staff and user.email_verified and not user.has_usable_password()
    assert user.groups.filter(name=SUPPORT_GROUP).exists()
    assert client.session["_auth_user_backend"] == BACKEND


def test_oidc_admin_login_without_staff_group_cannot_open_admin(client, oidc_provider, person):
    callback = _sso(client, oidc_provider, {**person, "groups": ["readers"]})

    assert callback.status_code == 302
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith("/admin/login/")
    user = User.objects.get(oidc_sub=person["sub"])
    assert not user.is_staff
    assert client.session["_auth_user_id"] == str(user.pk)


def test_oidc_admin_session_of_deactivated_user_ends(client, oidc_provider, person):
    _sso(client, oidc_provider, {**person, "groups": [django_settings.OIDC_STAFF_GROUP]})
    assert client.get("/admin/").status_code == 200

    user_deactivate(user=User.objects.get(oidc_sub=person["sub"]))

    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith("/admin/login/")


def test_oidc_admin_login_never_removes_staff(client, oidc_provider, person):
    UserFactory(email=person["email"], is_staff=True, oidc_issuer=oidc_provider.issuer, oidc_sub=person["sub"])

    _sso(client, oidc_provider, person)

    assert client.get("/admin/").status_code == 200
    assert User.objects.get(oidc_sub=person["sub"]).is_staff


def test_oidc_admin_login_unverified_email_of_local_account_returns_to_login(client, oidc_provider, person):
    local = UserFactory(email=person["email"])

    callback = _sso(client, oidc_provider, {**person, "email_verified": False})

    assert callback.status_code == 302 and callback["Location"] == "/admin/login/"
    page = client.get("/admin/login/")
    assert "Sign in with your email and password" in page.content.decode()
    local.refresh_from_db()
    assert local.oidc_sub is None
    assert "_auth_user_id" not in client.session


def test_oidc_admin_login_with_provider_down_returns_to_login(client, settings, disposable_provider):
    settings.OIDC_ISSUER = disposable_provider.issuer
    disposable_provider.stop()

    start = client.get("/oidc/authenticate/")

    assert start.status_code == 302 and start["Location"] == "/admin/login/"
    assert "cannot be reached" in client.get("/admin/login/").content.decode()


def test_oidc_admin_login_page_offers_sso_only_when_enabled(client, settings):
    page = client.get("/admin/login/", {"next": "/admin/"}).content.decode()
    assert "Sign in with SSO" in page and 'href="/oidc/authenticate/?next=/admin/"' in page

    settings.OIDC_ENABLED = False
    assert "Sign in with SSO" not in client.get("/admin/login/").content.decode()
