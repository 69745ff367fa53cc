"""A real OpenID provider (tests/node/oidc_provider.mjs, panva's oidc-provider) for the OIDC tests.

The provider runs in Node on a free loopback port. Python plays the browser
over plain HTTP: the provider signs in whoever the `login_hint` describes and
grants every requested scope, so the authorization code + PKCE flow needs no
page to click through.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from accounts.models import User
from accounts.oidc import clear_provider_cache

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "oidc_provider.mjs"
CLIENT_ID = "mdcreator"
OTHER_CLIENT_ID = "other-app"
CLIENT_SECRET = "mdcreator-test-secret-0123456789abcdef"
REDIRECT_URI = "http://testserver/oidc/callback/"
API_RESOURCE = "urn:mdcreator:api"
STAFF_GROUP = "mdcreator-staff"
GROUPS_CLAIM = "cognito:groups"
BACKEND = "accounts.oidc_admin.AdminOIDCAuthenticationBackend"
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def login_hint(person: dict) -> str:
    """The `login_hint` that makes the test provider sign `person` in."""
    return _b64url(json.dumps(person).encode("utf-8"))


class OidcProvider:
    """One tests/node/oidc_provider.mjs process; `restart()` keeps the port and makes a new key."""

    client_id = CLIENT_ID
    other_client_id = OTHER_CLIENT_ID
    api_resource = API_RESOURCE
    redirect_uri = REDIRECT_URI

    def __init__(self, port: int):
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.events: list[dict] = []
        self.output: list[str] = []
        self._ready = threading.Event()
        self._seen = threading.Condition()

    def start(self) -> None:
        node = shutil.which("node")
        assert node, "Node.js is needed for the OIDC tests"
        assert (NODE_DIR / "node_modules" / "oidc-provider").is_dir(), "run `make node` first"
        env = {
            **os.environ,
            "OIDC_PROVIDER_CLIENT_IDS": f"{CLIENT_ID},{OTHER_CLIENT_ID}",
            "OIDC_PROVIDER_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_PROVIDER_REDIRECT_URIS": REDIRECT_URI,
            "OIDC_PROVIDER_GROUPS_CLAIM": GROUPS_CLAIM,
            "OIDC_PROVIDER_API_RESOURCE": API_RESOURCE,
        }
        self.events, self.output = [], []
        self._ready.clear()
        self.process = subprocess.Popen(
            [node, str(SCRIPT), str(self.port)],
            cwd=NODE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            self.stop()
            raise RuntimeError("the OIDC provider did not start:\n" + "\n".join(self.output))

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                self.output.append(line.rstrip())
                continue
            with self._seen:
                self.events.append(event)
                self._seen.notify_all()
            if event.get("event") == "ready":
                self._ready.set()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port: same issuer, new signing key, no sessions."""
        self.stop()
        self.start()

    def requests_to(self, path: str) -> int:
        """How many requests for `path` this process has received so far."""
        # The log is ordered: once a marker request shows up, every earlier request has been read.
        marker = f"/__count/{uuid.uuid4().hex}"
        requests.get(self.issuer + marker, timeout=5)
        with self._seen:
            assert self._seen.wait_for(lambda: any(e.get("path") == marker for e in self.events), timeout=10)
            return sum(1 for e in self.events if e.get("event") == "request" and e.get("path") == path)

    def follow_to_client(self, browser: requests.Session, url: str) -> str:
        """Follow the provider's redirects until one leaves it; return that URL (the client's callback)."""
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            assert response.status_code in (302, 303), response.text
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(self.issuer + "/"):
                return url
        raise AssertionError("the provider kept redirecting")

    def authorize(self, authorization_url: str, person: dict) -> str:
        """Sign `person` in at an authorization URL a client built; return the client callback URL."""
        separator = "&" if "?" in authorization_url else "?"
        with requests.Session() as browser:
            return self.follow_to_client(browser, f"{authorization_url}{separator}login_hint={login_hint(person)}")

    def sign_in(
        self,
        person: dict,
        *,
        client_id: str = CLIENT_ID,
        scope: str = "openid email profile",
        resource: str | None = API_RESOURCE,
    ) -> dict:
        """Run authorization code + PKCE for `person`; return the token endpoint's JSON answer."""
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": f"{scope} api" if resource else scope,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": _b64url(hashlib.sha256(verifier.encode("ascii")).digest()),
            "code_challenge_method": "S256",
            "login_hint": login_hint(person),
        }
        if resource:
            params["resource"] = resource
        with requests.Session() as browser:
            callback = self.follow_to_client(browser, f"{self.issuer}/auth?{urlencode(params)}")
        query = parse_qs(urlsplit(callback).query)
        assert query["state"] == [params["state"]], callback
        response = requests.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                "client_secret": CLIENT_SECRET,
                "code_verifier": verifier,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def oidc_provider():
    """The provider shared by the OIDC tests (a test may restart it with a new key)."""
    provider = OidcProvider(free_port())
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def disposable_provider():
    """A second provider with its own issuer and key, stopped at teardown."""
    provider = OidcProvider(free_port())
    provider.start()
    yield provider
    provider.stop()


def point_settings_at(settings, provider_issuer: str) -> None:
    """Configure Django for the provider at `provider_issuer` and forget cached metadata."""
    clear_provider_cache()
    settings.OIDC_ISSUER = provider_issuer
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_STAFF_GROUP = STAFF_GROUP
    settings.OIDC_GROUPS_CLAIM = GROUPS_CLAIM
    if BACKEND not in settings.AUTHENTICATION_BACKENDS:
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    clear_provider_cache()


@pytest.fixture(autouse=True)
def oidc_settings(settings, oidc_provider):
    """Every OIDC test runs against the shared provider, with nothing cached from an earlier test."""
    point_settings_at(settings, oidc_provider.issuer)
    yield settings
    clear_provider_cache()


@pytest.fixture
def person():
    """Claims of a fresh provider user: new subject, verified email, a name, no groups."""
    sub = f"op-{uuid.uuid4().hex[:16]}"
    return {"sub": sub, "email": f"{sub}@example.test", "email_verified": True, "name": "Ada Lovelace"}


@pytest.fixture
def stored_users():
    """A function returning every user row as stored, to prove a request changed nothing."""

    def rows() -> list[tuple]:
        fields = ("id", "email", "email_verified", "oidc_issuer", "oidc_sub", "is_staff", "password", "updated_at")
        return sorted(User.objects.values_list(*fields), key=lambda row: str(row[0]))

    return rows
