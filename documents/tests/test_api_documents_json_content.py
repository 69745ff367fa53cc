"""Mindmap and presentation content is strict JSON (RFC 8259) nesting at most 32 levels (SPEC §3.3, §9).

Every way content enters is tried: REST create, PUT and PATCH, the sync push (create and update) and the
existing client's paths (`POST documents?workspace_id=`, `PATCH documents/{id}` with `expected_yjs_version`).
A refusal is a 400 naming `content` and writes nothing; what a browser's `JSON.parse` would refuse, or what
the database could not store, never gets in.
"""

import json
import uuid

import pytest

from documents.models import Document
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import assert_validation, doc_url, docs_url, etag, state

pytestmark = pytest.mark.django_db

# SPEC §9's nesting limit, written out rather than imported from the code under test.
SPEC_MAX_DEPTH = 32


def _nested(depth: int) -> str:
    """A JSON value nesting exactly `depth` levels of arrays."""
    return "[" * depth + "]" * depth


def _mindmap(nodes: str) -> str:
    """A mindmap JSON text whose `nodes` array holds `nodes` (raw JSON text)."""
    return '{"nodes": [' + nodes + '], "edges": []}'


def _presentation(slides: str) -> str:
    return '{"slides": [' + slides + "]}"


# Raw JSON texts: the escapes below are JSON escapes inside the content string, not Python's.
BAD = {
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "overflowing-number": "1e400",
    "escaped-nul": '"a\\u0000b"',
    "lone-high-surrogate": '"\\ud800"',
    "lone-low-surrogate": '"x\\udc00y"',
    "reversed-surrogates": '"\\udc00\\ud800"',
    "surrogate-in-a-key": '{"\\udbff": 1}',
    "nul-in-a-key": '{"\\u0000": 1}',
    # The whole content: the object (1), its array (2), then the nested arrays.
    "one-level-too-deep": _nested(SPEC_MAX_DEPTH - 1),
    "far-too-deep": _nested(20_000),
}
BAD_CONTENT = [
    pytest.param(doc_type, wrap(raw), id=f"{doc_type}-{name}")
    for name, raw in BAD.items()
    for doc_type, wrap in (("mindmap", _mindmap), ("presentation", _presentation))
]


def _existing(team, doc_type: str) -> Document:
    return DocumentFactory(workspace=team.workspace, **{doc_type: True})


def _assert_refused_on_content(response, team, before) -> None:
    body = assert_validation(response, "content")
    assert body["errors"]["content"] and all(isinstance(message, str) for message in body["errors"]["content"])
    assert state(team.workspace) == before


@pytest.mark.parametrize(("doc_type", "content"), BAD_CONTENT)
def test_api_documents_json_content_create_refuses(team, doc_type, content):
    before = state(team.workspace)
    response = team.client("editor").post(
        docs_url(team.workspace), {"title": "Map", "type": doc_type, "content": content}, format="json"
    )
    _assert_refused_on_content(response, team, before)


@pytest.mark.parametrize(("doc_type", "content"), BAD_CONTENT)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_api_documents_json_content_update_refuses(team, method, doc_type, content):
    document = _existing(team, doc_type)
    before = state(team.workspace)
    response = getattr(team.client("editor"), method)(
        doc_url(document), {"title": "Map", "content": content}, format="json", HTTP_IF_MATCH=etag(document)
    )
    _assert_refused_on_content(response, team, before)


@pytest.mark.parametrize(("doc_type", "content"), BAD_CONTENT)
def test_api_documents_json_content_sync_push_refuses_create_and_update(team, doc_type, content):
    document = _existing(team, doc_type)
    before = state(team.workspace)
    create = {"change_id": str(uuid.uuid4()), "entity_type": "document", "operation": "create",
              "entity_id": str(uuid.uuid4()), "data": {"title": "Map", "type": doc_type, "content": content}}
    update = {"change_id": str(uuid.uuid4()), "entity_type": "document", "operation": "update",
              "entity_id": str(document.pk), "base_content_hash": document.content_hash, "data": {"content": content}}
    response = team.client("editor").post(
        f"/api/v1/sync/workspaces/{team.workspace.pk}/push", {"changes": [create, update]}, format="json"
    )
    assert response.status_code == 200, response.content
    for result in response.json()["results"]:
        assert result["status"] == "error", result
        assert result["error"]["status"] == 400 and result["error"]["type"].endswith("/validation-error")
        assert any(name.endswith("content") for name in result["error"]["errors"]), result["error"]
    assert state(team.workspace) == before


@pytest.mark.parametrize(("doc_type", "content"), BAD_CONTENT)
def test_api_documents_json_content_client_paths_refuse(team, doc_type, content):
    document = _existing(team, doc_type)
    before = state(team.workspace)
    client = team.client("editor")
    created = client.post(
        f"/api/v1/documents?workspace_id={team.workspace.pk}",
        {"title": "Map", "content_type": doc_type, "content": content},
        format="json",
    )
    _assert_refused_on_content(created, team, before)
    patched = client.patch(doc_url(document), {"content": content, "expected_yjs_version": 0}, format="json")
    _assert_refused_on_content(patched, team, before)


@pytest.mark.parametrize(
    ("doc_type", "content"),
    [
        # 32 levels: the object, its array, then 30 nested arrays.
        ("mindmap", _mindmap(_nested(SPEC_MAX_DEPTH - 2))),
        ("presentation", _presentation(_nested(SPEC_MAX_DEPTH - 2))),
        # A correctly paired surrogate escape is an ordinary character (😀).
        ("mindmap", _mindmap('{"id": "root", "label": "\\ud83d\\ude00"}')),
        ("presentation", _presentation('{"title": "\\u00e9t\\u00e9", "n": 1.5e300, "big": 12345678901234567890}')),
    ],
    ids=["mindmap-32-levels", "presentation-32-levels", "paired-surrogates", "plain-escapes-and-numbers"],
)
def test_api_documents_json_content_strict_json_within_the_limit_is_stored_verbatim(team, doc_type, content):
    response = team.client("editor").post(
        docs_url(team.workspace), {"title": "Map", "type": doc_type, "content": content}, format="json"
    )
    assert response.status_code == 201, response.content
    stored = Document.objects.get(pk=response.json()["id"])
    assert stored.content == content == response.json()["content"]
    json.loads(stored.content)  # and what was stored reads back as JSON


@pytest.mark.parametrize("field", ["metadata", "settings"])
def test_api_documents_json_content_metadata_and_settings_nest_at_most_32_levels(team, field):
    document = _existing(team, "mindmap")
    client = team.client("editor")
    # The field's own object is level 1.
    deep = {"x": json.loads(_nested(SPEC_MAX_DEPTH))}
    before = state(team.workspace)
    refused = client.patch(doc_url(document), {field: deep}, format="json")
    body = assert_validation(refused, field)
    assert body["errors"][field]
    assert state(team.workspace) == before
    within = {"x": json.loads(_nested(SPEC_MAX_DEPTH - 1))}
    assert client.patch(doc_url(document), {field: within}, format="json").status_code == 200
    created = client.post(docs_url(team.workspace), {"title": "Deep", field: deep}, format="json")
    assert_validation(created, field)
