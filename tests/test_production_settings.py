"""Production settings (PostgreSQL, DEBUG off): secure cookies, HSTS, a clean `check --deploy`; the embedded
default keeps working on plain http://localhost.

Settings are read in fresh processes, as a server would start, so each case sees exactly its environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from accounts.services.staff import staff_grant
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
DROPPED = (
    "DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "OIDC_ISSUER",
    "EMAIL_URL", "EMAIL_BACKEND", "DJANGO_DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_SSL_REDIRECT",
)
# Only a URL: reading settings and the deploy checks open no connection (a database by this name does not exist).
PRODUCTION = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/mdcreator_settings_only",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
}
SECURITY_SETTINGS = (
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_HTTPONLY", "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY", "EMAIL_BACKEND", "EMAIL_DELIVERY_BACKEND",
)
READ_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    f"print(json.dumps({{name: getattr(s, name, None) for name in {SECURITY_SETTINGS!r}}}))"
)


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED}
    env.update(MDCREATOR_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="mdcreator.settings", **extra)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def _settings(env: dict[str, str]) -> dict:
    result = _run(env, "-c", READ_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_production_settings_deploy_check_is_clean(tmp_path):
    result = _run(_env(tmp_path, **PRODUCTION), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_production_settings_secure_cookies_and_hsts(tmp_path):
    found = _settings(_env(tmp_path, **PRODUCTION))
    assert found["DEBUG"] is False
    assert found["SESSION_COOKIE_SECURE"] is True and found["CSRF_COOKIE_SECURE"] is True
    assert found["SESSION_COOKIE_HTTPONLY"] is True
    assert found["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert found["SECURE_HSTS_PRELOAD"] is False  # a one-way commitment of the whole domain: the operator's call
    assert found["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert found["X_FRAME_OPTIONS"] == "DENY" and found["SECURE_REFERRER_POLICY"] == "same-origin"
    # TLS ends at the load balancer, which redirects plain http; daphne trusts its X-Forwarded-Proto.
    assert found["SECURE_SSL_REDIRECT"] is False
    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_settings_can_be_relaxed_for_a_plain_http_stack(tmp_path):
    found = _settings(_env(tmp_path, **PRODUCTION, SESSION_COOKIE_SECURE="False", CSRF_COOKIE_SECURE="False",
                           SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="True"))
    assert found["SESSION_COOKIE_SECURE"] is False and found["CSRF_COOKIE_SECURE"] is False
    assert found["SECURE_HSTS_SECONDS"] == 0 and found["SECURE_SSL_REDIRECT"] is True


def test_production_settings_embedded_default_keeps_plain_http_localhost(tmp_path):
    found = _settings(_env(tmp_path))
    assert found["SESSION_COOKIE_SECURE"] is False and found["CSRF_COOKIE_SECURE"] is False
    assert found["SECURE_HSTS_SECONDS"] == 0 and found["SECURE_SSL_REDIRECT"] is False


def test_production_settings_mail_goes_through_the_background_sender(tmp_path):
    production = _settings(_env(tmp_path, **PRODUCTION, EMAIL_URL="smtp://mailer:secret@127.0.0.1:2525"))
    assert production["EMAIL_BACKEND"] == "accounts.emails.BackgroundEmailBackend"
    assert production["EMAIL_DELIVERY_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    embedded = _settings(_env(tmp_path))
    assert embedded["EMAIL_BACKEND"] == "accounts.emails.BackgroundEmailBackend"
    assert embedded["EMAIL_DELIVERY_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


@pytest.mark.django_db
def test_production_settings_admin_cookies_are_secure_over_https():
    """The suite itself runs on production settings: the admin's cookies and the HSTS header as a browser gets them
    behind the TLS-terminating proxy."""
    staffer = UserFactory(email="secure.staffer@example.com")
    staff_grant(user=staffer)
    client = Client(enforce_csrf_checks=True)
    https = {"secure": True, "HTTP_X_FORWARDED_PROTO": "https"}
    page = client.get("/admin/login/", **https)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert page["X-Content-Type-Options"] == "nosniff"
    csrf = client.cookies["csrftoken"]
    assert csrf["secure"] is True
    signed_in = client.post(
        "/admin/login/",
        {"username": staffer.email, "password": DEFAULT_PASSWORD, "next": "/admin/", "csrfmiddlewaretoken": csrf.value},
        HTTP_REFERER="https://testserver/admin/login/", **https,
    )
    assert signed_in.status_code == 302
    session = signed_in.cookies["sessionid"]
    assert session["secure"] is True and session["httponly"] is True
