"""The admin's static files and the API docs are served by the application itself, in both modes.

Collected files have hashed names, gzip copies and a one-year immutable cache; the Swagger UI is
drf-spectacular-sidecar's pinned copy, so the docs page names no other origin.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from collab.tests.conftest import DaphneProcess

ROOT = Path(__file__).resolve().parent.parent
IMMUTABLE = "max-age=315360000, public, immutable"
ENGINE_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "OIDC_ISSUER", "EMAIL_URL", "DJANGO_SECRET_KEY", "JWT_SIGNING_KEY",
)


class _Links(HTMLParser):
    """Every URL an HTML page makes the browser load or link: src, href, and URLs in inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.urls += re.findall(r"""(?:https?:)?//[^\s"'`)]+""", data)


def links_of(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def _assert_same_origin(urls: list[str]) -> None:
    assert urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not on our origin"


def _stylesheet(html: str, name: str) -> str:
    return next(url for url in links_of(html) if re.search(rf"/static/{re.escape(name)}(\.[0-9a-f]{{12}})?\.css$", url))


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """collectstatic into a fresh STATIC_ROOT, as `make run` and the image do."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield root


def test_static_and_docs_admin_css_is_hashed_compressed_and_cached_a_year(collected):
    client = Client()
    page = client.get("/admin/login/")
    assert page.status_code == 200
    css = _stylesheet(page.content.decode(), "admin/css/base")
    assert re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", css), css
    response = client.get(css, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == IMMUTABLE
    assert response["X-Content-Type-Options"] == "nosniff"


def test_static_and_docs_swagger_ui_names_only_our_origin(collected):
    client = Client()
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    urls = links_of(html)
    _assert_same_origin(urls)
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assets = [url for url in urls if url.startswith("/static/")]
    assert any(re.search(r"/swagger-ui-bundle\.[0-9a-f]{12}\.js$", url) for url in assets), assets
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == IMMUTABLE, url
        b"".join(response.streaming_content)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"openapi:" in schema.content


@pytest.mark.filterwarnings("ignore:No directory at")  # WhiteNoise's note that STATIC_ROOT is missing: the case here
def test_static_and_docs_files_not_collected_are_still_served(tmp_path):
    """Before collectstatic (a fresh checkout): plain names, found in their apps, with a short cache."""
    with override_settings(STATIC_ROOT=tmp_path / "never-collected"):
        client = Client()
        page = client.get("/admin/login/")
        assert page.status_code == 200
        css = _stylesheet(page.content.decode(), "admin/css/base")
        assert css == "/static/admin/css/base.css"
        response = client.get(css)
        assert response.status_code == 200 and response["Cache-Control"] == "max-age=60, public"
        docs = client.get("/api/v1/docs/")
        assert docs.status_code == 200
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in links_of(docs.content.decode())


# --- the embedded default under daphne, as `make run` starts it -------------------------------------


@pytest.fixture(scope="module")
def embedded_daphne(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("embedded-static")
    env = {key: value for key, value in os.environ.items() if key not in ENGINE_VARIABLES}
    env.update(MDCREATOR_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="mdcreator.settings")
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert collect.returncode == 0, collect.stderr
    process = DaphneProcess(env).start()
    try:
        yield process.http
    finally:
        process.stop()


@pytest.mark.live
def test_static_and_docs_embedded_daphne_serves_admin_css_and_swagger_ui(embedded_daphne):
    base = embedded_daphne
    login = httpx.get(f"{base}/admin/login/")
    assert login.status_code == 200
    css = httpx.get(base + _stylesheet(login.text, "admin/css/base"), headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200 and css.headers["content-encoding"] == "gzip"
    assert css.headers["cache-control"] == IMMUTABLE and b"--body-fg" in css.content
    docs = httpx.get(f"{base}/api/v1/docs/")
    assert docs.status_code == 200
    urls = links_of(docs.text)
    _assert_same_origin(urls)
    bundle = next(url for url in urls if "swagger-ui-bundle" in url)
    script = httpx.get(base + bundle)
    assert script.status_code == 200 and script.headers["cache-control"] == IMMUTABLE
    assert script.headers["content-type"].startswith("text/javascript") and b"SwaggerUIBundle" in script.content
