"""Numbers a request carries are plain ASCII (SPEC §9): a 400 naming the field otherwise, never a lenient read.

Python's `int()` reads any script's decimal digits ("١٢", "１２", "१२" are all 12) and also takes surrounding
spaces, a `+` and `_` between digits; `float()` does the same. None of that is a number in a JSON string, a
form or a query string, so every integer field of a body, every integer query parameter and the year of
`ai/usage?month=` refuse it; the same number in ASCII digits is taken (an integer field also takes a JSON
number, which is ASCII by its grammar).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from documents.models import DocumentVersion, Folder
from documents.tests.factories import DocumentFactory, FolderFactory
from mdcreator.fields import ModelSerializer
from workspaces.models import Workspace
from workspaces.tests.helpers import allow_guests, assert_validation

pytestmark = pytest.mark.django_db

# The zero of each script; its other digits follow it in Unicode, as int() and float() assume.
ZEROS = {
    "arabic-indic": "\u0660",
    "extended-arabic-indic": "\u06f0",
    "devanagari": "\u0966",
    "bengali": "\u09e6",
    "fullwidth": "\uff10",
    "mathematical-bold": "\U0001d7ce",
}


def _in_script(text: str, zero: str) -> str:
    return text.translate({ord("0") + n: chr(ord(zero) + n) for n in range(10)})


def _mixed(text: str) -> str:
    """Only the last digit in another script."""
    index = max(i for i, char in enumerate(text) if char.isdigit())
    return text[:index] + _in_script(text[index], ZEROS["arabic-indic"]) + text[index + 1 :]


# What int() or float() would read as the number `text`, but which is not its ASCII spelling.
FORMS = {
    **{script: (lambda text, zero=zero: _in_script(text, zero)) for script, zero in ZEROS.items()},
    "mixed-scripts": _mixed,
    "padded": lambda text: f" {text} ",
    "plus-sign": lambda text: f"+{text}",
    "underscore": lambda text: f"{text[:-1]}_{text[-1]}",
}


@dataclass
class World:
    client: object
    workspace: object
    document: object
    folder: object


@pytest.fixture
def world(team, settings, tmp_path):
    """The team owner's client, a markdown document with version 1 and a folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OPENAI_API_KEY = ""  # ai/generate past validation: 503, no provider called
    allow_guests(team.workspace)  # share links need it
    client = team.client("owner")
    document = DocumentFactory(workspace=team.workspace, title="Plan", content="# Plan\n\nFirst line.\n")
    created = client.post(f"/api/v1/documents/{document.pk}/versions", {}, format="json")
    assert created.status_code == 201, created.content
    folder = FolderFactory(workspace=team.workspace, created_by=team.user("owner"))
    return World(client=client, workspace=team.workspace, document=document, folder=folder)


def _get(path: str):
    """A GET with the value as one (percent-encoded) query parameter."""
    return lambda w, value: w.client.get(path.replace("{value}", quote(value, safe="")).format(w=w))


def _post(path: str, body, method: str = "post"):
    """A JSON request with the value put where `body(value)` puts it."""
    return lambda w, value: getattr(w.client, method)(path.format(w=w), body(w, value), format="json")


@dataclass(frozen=True)
class Case:
    send: object  # (world, value) -> response
    ascii: str  # the value in ASCII digits, taken
    field: str  # the name the 400 gives
    ok: int  # the status of the ASCII value
    json_number: bool = False  # the field takes only a JSON number: the ASCII form is sent as one


DOC = "/api/v1/documents/{w.document.pk}"
CASES = {
    # Query parameters read by serializers.
    "documents-limit": Case(_get("/api/v1/workspaces/{w.workspace.pk}/documents?limit={value}"), "12", "limit", 200),
    "search-offset": Case(_get("/api/v1/search?q=plan&offset={value}"), "10", "offset", 200),
    "comments-limit": Case(_get(DOC + "/comments?limit={value}"), "12", "limit", 200),
    "attachments-offset": Case(_get(DOC + "/attachments?offset={value}"), "10", "offset", 200),
    "shared-with-me-limit": Case(_get("/api/v1/documents/shared-with-me?limit={value}"), "12", "limit", 200),
    "client-documents-skip": Case(_get("/api/v1/documents/workspace/{w.workspace.pk}?skip={value}"), "10", "skip", 200),
    "diff-context": Case(_get(DOC + "/versions/diff?from=1&context={value}"), "10", "context", 200),
    "diff-from": Case(_get(DOC + "/versions/diff?from={value}"), "01", "from", 200),
    "sync-cursor": Case(_get("/api/v1/sync/workspaces/{w.workspace.pk}/since?cursor={value}"), "00", "cursor", 200),
    "sync-limit": Case(
        _get("/api/v1/sync/workspaces/{w.workspace.pk}/since?cursor=0&limit={value}"), "12", "limit", 200
    ),
    "ai-usage-month": Case(_get("/api/v1/ai/usage?month={value}-03"), "2025", "month", 200),
    # Query parameters read by the shared limit/offset paging.
    "versions-limit": Case(_get(DOC + "/versions?limit={value}"), "12", "limit", 200),
    "snapshots-offset": Case(_get(DOC + "/snapshots?offset={value}"), "10", "offset", 200),
    "members-offset": Case(_get("/api/v1/workspaces/{w.workspace.pk}/members?offset={value}"), "10", "offset", 200),
    # Body fields.
    "folder-position": Case(
        _post("/api/v1/workspaces/{w.workspace.pk}/folders", lambda w, v: {"name": "Plans", "position": v}),
        "12",
        "position",
        201,
    ),
    "folder-negative-position": Case(
        _post("/api/v1/workspaces/{w.workspace.pk}/folders", lambda w, v: {"name": "Plans", "position": v}),
        "-12",
        "position",
        201,
    ),
    "folder-update-position": Case(
        _post("/api/v1/folders/{w.folder.pk}", lambda w, v: {"position": v}, "patch"), "12", "position", 200
    ),
    "client-folder-move-position": Case(
        _post("/api/v1/folders/{w.folder.pk}/move", lambda w, v: {"parent_id": None, "position": v}),
        "12",
        "position",
        200,
    ),
    "document-expected-yjs-version": Case(
        _post(DOC, lambda w, v: {"title": "Plan", "expected_yjs_version": v}, "patch"),
        "00",
        "expected_yjs_version",
        200,
    ),
    "restore-version-number": Case(
        _post(DOC + "/restore-version", lambda w, v: {"version_number": v}), "01", "version_number", 200
    ),
    "share-link-max-uses": Case(
        _post(DOC + "/share-links", lambda w, v: {"mode": "view", "max_uses": v}), "12", "max_uses", 201
    ),
    "presign-size": Case(
        _post(
            "/api/v1/uploads/presign",
            lambda w, v: {
                "file_name": "photo.png",
                "content_type": "image/png",
                "size_bytes": v,
                "scope": "attachment",
                "workspace_id": str(w.workspace.pk),
                "document_id": str(w.document.pk),
            },
        ),
        "12",
        "size_bytes",
        200,
    ),
    "context-file-size": Case(
        _post(
            DOC + "/context-files",
            lambda w, v: {
                "file_name": "glossary.md",
                "file_type": "md",
                "size_bytes": v,
                "content_hash": "0" * 64,
                "storage_mode": "local",
            },
        ),
        "12",
        "size_bytes",
        201,
    ),
    "batch-expected-version": Case(
        _post(
            "/api/v1/documents/batch",
            lambda w, v: {
                "workspace_id": str(w.workspace.pk),
                "operations": [
                    {
                        "operation": "update",
                        "clientId": "update-1",
                        "documentId": str(w.document.pk),
                        "data": {"title": "Offline"},
                        "expectedVersion": v,
                    }
                ],
            },
        ),
        "00",
        "operations.0.expectedVersion",
        200,
    ),
    "ai-max-tokens": Case(
        _post(
            "/api/v1/ai/generate", lambda w, v: {"provider": "openai", "prompt": "Hello", "options": {"max_tokens": v}}
        ),
        "12",
        "options.max_tokens",
        503,
    ),
    "ai-temperature": Case(
        _post(
            "/api/v1/ai/generate", lambda w, v: {"provider": "openai", "prompt": "Hello", "options": {"temperature": v}}
        ),
        "0.5",
        "options.temperature",
        503,
    ),
    "comment-position": Case(
        _post(
            DOC + "/comments", lambda w, v: {"content": "Look here", "position": {"from": v, "to": 20, "blockId": "b1"}}
        ),
        "12",
        "position",
        201,
        json_number=True,
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_ascii_integers_other_spellings_are_400_naming_the_field(world, name):
    case = CASES[name]
    for form, spell in FORMS.items():
        value = spell(case.ascii)
        response = case.send(world, value)
        assert response.status_code == 400, (form, value, response.status_code, response.content)
        assert_validation(response, case.field)


@pytest.mark.parametrize("name", CASES)
def test_ascii_integers_the_ascii_spelling_is_taken(world, name):
    case = CASES[name]
    value = (float(case.ascii) if "." in case.ascii else int(case.ascii)) if case.json_number else case.ascii
    response = case.send(world, value)
    assert response.status_code == case.ok, response.content


def test_ascii_integers_taken_values_are_the_numbers_spelled(world):
    """The ASCII spellings read as what they say: a negative position, a limit, a leading zero."""
    made = world.client.post(
        f"/api/v1/workspaces/{world.workspace.pk}/folders", {"name": "A", "position": "-12"}, format="json"
    )
    assert made.status_code == 201 and made.json()["position"] == -12
    link = world.client.post(
        f"/api/v1/documents/{world.document.pk}/share-links", {"mode": "view", "max_uses": "012"}, format="json"
    )
    assert link.status_code == 201 and link.json()["max_uses"] == 12
    versions = world.client.get(f"/api/v1/documents/{world.document.pk}/versions?limit=1&offset=0")
    assert versions.status_code == 200 and len(versions.json()["versions"]) == 1


def test_ascii_integers_a_pushed_change_with_another_script_is_its_own_error(world):
    """Sync push: a folder position in other digits is that change's 400 naming `data.position`."""
    url = f"/api/v1/sync/workspaces/{world.workspace.pk}/push"

    def push(position):
        change = {
            "change_id": str(uuid.uuid4()),
            "entity_type": "folder",
            "operation": "create",
            "entity_id": str(uuid.uuid4()),
            "data": {"name": "Offline", "position": position},
        }
        response = world.client.post(url, {"changes": [change]}, format="json")
        assert response.status_code == 200, response.content
        return change["entity_id"], response.json()["results"][0]

    for form, spell in FORMS.items():
        entity_id, result = push(spell("12"))
        assert result["status"] == "error", (form, result)
        assert result["error"]["status"] == 400 and "data.position" in result["error"]["errors"], (form, result)
        assert not Folder.objects.filter(pk=entity_id).exists()
    entity_id, result = push("12")
    assert result["status"] == "success", result
    assert Folder.objects.get(pk=entity_id).position == 12


def test_ascii_integers_a_year_zero_month_is_400(world):
    """`month=0000-01` has ASCII digits but no such month exists: a 400 naming it, not a failure on the date."""
    assert_validation(world.client.get("/api/v1/ai/usage?month=0000-01"), "month")


def test_ascii_integers_model_serializers_read_integer_columns_strictly():
    """A ModelSerializer's fields made from integer columns refuse other scripts' digits too."""

    class FolderPosition(ModelSerializer):
        class Meta:
            model = Folder
            fields = ["position"]

    class VersionNumber(ModelSerializer):
        class Meta:
            model = DocumentVersion
            fields = ["version_number", "size_bytes"]

    class StorageLimit(ModelSerializer):
        class Meta:
            model = Workspace
            fields = ["storage_limit_bytes"]  # a bigint column

    for form, spell in FORMS.items():
        shape = FolderPosition(data={"position": spell("12")})
        assert not shape.is_valid() and "position" in shape.errors, form
        shape = VersionNumber(data={"version_number": spell("12"), "size_bytes": "12"})
        assert not shape.is_valid() and list(shape.errors) == ["version_number"], form
        shape = StorageLimit(data={"storage_limit_bytes": spell("12")})
        assert not shape.is_valid() and "storage_limit_bytes" in shape.errors, form
    shape = FolderPosition(data={"position": "-12"})
    assert shape.is_valid(), shape.errors
    assert shape.validated_data == {"position": -12}


def test_ascii_integers_too_long_to_convert_are_refused_not_failures(world):
    """Digits past what `int()` converts (4300) are a 404 version in a path and a 400 in a parameter or body."""
    digits = "9" * 5000
    document_url = f"/api/v1/documents/{world.document.pk}"
    response = world.client.get(f"{document_url}/versions/{digits}")
    assert response.status_code == 404, response.content
    assert_validation(world.client.get(f"{document_url}/versions/diff?from={digits}"), "from")
    assert_validation(world.client.get(f"{document_url}/versions/diff?from=1&to={digits}"), "to")
    assert_validation(world.client.get(f"{document_url}/versions?limit={digits}"), "limit")
    assert_validation(
        world.client.post(f"{document_url}/restore-version", {"version_number": digits}, format="json"),
        "version_number",
    )


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "path, body",
    [
        ("share-links", {"mode": "view"}),
        ("shares", {"email": "someone@example.com", "role": "viewer"}),
    ],
)
def test_ascii_integers_dates_in_requests_are_ascii_too(world, path, body):
    """Timestamps in requests are ISO 8601 in ASCII digits (Django's parser reads any script's digits)."""
    ascii_date = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")  # within a link's year
    url = f"/api/v1/documents/{world.document.pk}/{path}"
    arabic_indic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    for spelled in (ascii_date.translate(FULL_WIDTH), ascii_date[:4].translate(arabic_indic) + ascii_date[4:]):
        response = world.client.post(url, {**body, "expires_at": spelled}, format="json")
        assert response.status_code == 400, (spelled, response.content)
        assert_validation(response, "expires_at")
    taken = world.client.post(url, {**body, "expires_at": ascii_date}, format="json")
    assert taken.status_code == 201, taken.content
    if path == "share-links":  # (a grant to an address without an account waits as a 7-day invitation)
        assert taken.json()["expires_at"].startswith(ascii_date[:-1])
