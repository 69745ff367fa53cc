"""Small helpers for the auth API tests."""

from __future__ import annotations

import re

from accounts.tests.factories import DEFAULT_PASSWORD

PROBLEM = "https://mdcreator.app/errors/"


def problem_slug(response) -> str:
    """The slug of a problem response, after asserting it is one."""
    assert response["Content-Type"].startswith("application/problem+json"), response.content
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith(PROBLEM)
    return body["type"][len(PROBLEM) :]


def code_from_mail(message) -> str:
    """The 6-digit code in an account email."""
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    return match.group(1)


def login(client, email: str, password: str = DEFAULT_PASSWORD, device_id: str | None = None, **headers):
    """POST auth/login; keyword arguments other than device_id are request headers."""
    body = {"email": email, "password": password}
    if device_id is not None:
        body["device_id"] = device_id
    return client.post("/api/v1/auth/login", body, format="json", **headers)


def bearer(client, access_token: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client
