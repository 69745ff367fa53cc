"""The real npm clients (y-websocket's WebsocketProvider, @hocuspocus/provider) against a live daphne.

Node runs tests/node/collab_client.mjs (installed by `make node`); see that file for the script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pycrdt
import pytest
from django.db import transaction

from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.factories import UserFactory
from collab import store
from collab.models import CollabState
from documents.models import Document
from documents.services.documents import document_create
from workspaces.models import WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "node" / "collab_client.mjs"
TEXT_FRAME_ERROR = "text frame: "


@pytest.fixture
def live_doc():
    """A markdown document in a team workspace: owner, two editors, a viewer, and their tokens."""
    users = {name: UserFactory() for name in ("owner", "editor", "editor2", "viewer")}
    workspace = workspace_create(owner=users["owner"], name="Live")
    for name, role in (("editor", Role.EDITOR), ("editor2", Role.EDITOR), ("viewer", Role.VIEWER)):
        WorkspaceMember.objects.create(workspace=workspace, user=users[name], role=role)
    document = document_create(
        actor=users["owner"], workspace=workspace, data={"title": "Live", "content": "# Title\n\nHello"}
    )
    tokens = {name: session_start(user=user, client=ClientInfo()).access_token for name, user in users.items()}
    return document, tokens


def node_command(server, document, clients: list[str], *extra: str) -> list[str]:
    """The command line of the Node driver; fails (never skips) without Node."""
    node = shutil.which("node")
    assert node, "Node.js is required for these tests (then run `make node`)"
    assert (ROOT / "tests" / "node" / "node_modules" / "y-websocket").is_dir(), "run `make node` first"
    command = [node, str(SCRIPT), "--server", server.ws, "--document", str(document.pk)]
    for client in clients:
        command += ["--client", client]
    return command + list(extra)


def run_clients(server, document, clients: list[str], *extra: str) -> dict:
    """Run the driver to its end and return its result line."""
    done = subprocess.run(
        node_command(server, document, clients, *extra), capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    return result_of(done.stdout, done.stderr)


def result_of(stdout: str, stderr: str) -> dict:
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    results = [line for line in lines if line["event"] == "result"]
    assert results, f"no result from the Node clients:\n{stdout}\n{stderr}"
    return results[-1]


def server_content(document) -> str:
    """The `content` fragment the server holds durably (state plus update rows).

    The state row stays locked while reading, so a compaction that the server runs when the
    clients leave cannot delete rows between reading the state and reading the rows.
    """
    with transaction.atomic():
        CollabState.objects.select_for_update().get(document_id=document.pk)
        doc = store.load_snapshot(document.pk).as_doc()
    return str(doc.get("content", type=pycrdt.XmlFragment))


def assert_clean(client: dict) -> None:
    """Synced, and no listener error except a y-websocket provider that opted in to JSON events failing on them."""
    assert client["synced"], client
    assert client["close_codes"] == [], client
    assert all(error.startswith(TEXT_FRAME_ERROR) for error in client["listener_errors"]), client["listener_errors"]
    if client["kind"] == "ywebsocket":
        # Only a connection that asked for JSON events gets text frames (decision 38).
        assert len(client["listener_errors"]) == len(client["events"]), client
    else:
        assert client["listener_errors"] == [], client


def wait_for_content(document, texts: list[str], seconds: float = 15.0) -> str:
    """Poll `Document.content` until it holds every text (materialization is debounced)."""
    deadline = time.monotonic() + seconds
    while True:
        content = Document.objects.get(pk=document.pk).content
        if all(text in content for text in texts) or time.monotonic() > deadline:
            return content
        time.sleep(0.2)


def markers(result: dict) -> list[str]:
    return result["expected"]


def test_node_clients_ywebsocket_providers_converge(daphne, live_doc):
    document, tokens = live_doc
    # Two stock providers and one that opts in to the JSON events.
    clients = [f"ywebsocket={tokens['owner']}", f"ywebsocket={tokens['editor']}", f"ywebsocket={tokens['editor2']},events"]

    result = run_clients(daphne, document, clients, "--tag", "yws")

    assert result["converged"], result
    assert result["equal"], result
    assert len(markers(result)) == 6
    for client in result["clients"]:
        assert_clean(client)
        assert all(marker in client["content"] for marker in markers(result))
        assert "Hello" in client["content"]
    stock, opted_in = result["clients"][:2], result["clients"][2]
    assert all(client["events"] == [] and client["listener_errors"] == [] for client in stock), stock
    assert any(event["type"] == "presence_list" for event in opted_in["events"])
    assert all(marker in server_content(document) for marker in markers(result))


def test_node_clients_hocuspocus_providers_converge_and_are_acknowledged(daphne, live_doc):
    document, tokens = live_doc
    clients = [f"hocuspocus={tokens[name]}" for name in ("owner", "editor", "editor2")]

    result = run_clients(daphne, document, clients, "--tag", "hp")

    assert result["converged"], result
    assert result["equal"], result
    for client in result["clients"]:
        assert_clean(client)
        assert client["scope"] == "read-write"
        assert client["unsynced"] == 0  # every update acknowledged by SyncStatus
        assert all(marker in client["content"] for marker in markers(result))
    assert all(marker in server_content(document) for marker in markers(result))


def test_node_clients_hocuspocus_providers_converge_on_the_root_path(daphne, live_doc):
    """The existing web client's provider connects to its server's root (`ws://localhost:1234`)."""
    document, tokens = live_doc
    clients = [f"hocuspocus={tokens[name]}" for name in ("owner", "editor")]

    result = run_clients(daphne, document, clients, "--tag", "root", "--hocuspocus-path", "/")

    assert result["converged"] and result["equal"], result
    for client in result["clients"]:
        assert_clean(client)
        assert client["scope"] == "read-write" and client["unsynced"] == 0
        assert all(marker in client["content"] for marker in markers(result))
    assert all(marker in server_content(document) for marker in markers(result))


def test_node_clients_mixed_dialects_and_rest_writer_converge(daphne, live_doc):
    document, tokens = live_doc
    rest_text = f"rest-{uuid.uuid4().hex[:8]}"
    clients = [
        f"ywebsocket={tokens['owner']}",
        f"hocuspocus={tokens['editor']}",
        f"ywebsocket={tokens['editor2']}",
        f"hocuspocus={tokens['owner']}",
    ]
    command = node_command(daphne, document, clients, "--tag", "mix", "--await", rest_text, "--timeout", "12")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        ready = json.loads(process.stdout.readline() or '{"event": "none"}')
        assert ready["event"] == "ready", (ready, process.stderr.read() if process.poll() is not None else "")
        inserted = [f"mix-c{i}-insert" for i in range(len(clients))]
        # Write on top of the live edits: once they are materialized, the ETag covers them.
        before = wait_for_content(document, inserted)
        assert all(marker in before for marker in inserted), before
        headers = {"Authorization": f"Bearer {tokens['editor']}"}
        with httpx.Client(base_url=daphne.http, headers=headers, timeout=10) as http:
            current = http.get(f"/api/v1/documents/{document.pk}")
            body = {"title": "Live", "content": current.json()["content"].rstrip("\n") + f"\n\n{rest_text} paragraph\n"}
            written = http.put(
                f"/api/v1/documents/{document.pk}", json=body, headers={"If-Match": current.headers["ETag"]}
            )
        assert written.status_code == 200, written.text
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    result = result_of(stdout, stderr)

    assert result["converged"], result
    assert result["equal"], result
    for client in result["clients"]:
        assert_clean(client)
        assert f"{rest_text} paragraph" in client["content"]
    everything = [text for text in markers(result) if text != rest_text]
    content = wait_for_content(document, [*everything, rest_text])
    assert all(text in content for text in [*everything, rest_text]), content
    assert Document.objects.get(pk=document.pk).content.startswith("# Title\n\nHello")
    fresh = run_clients(daphne, document, [f"hocuspocus={tokens['viewer']}"], "--mode", "read")
    assert fresh["clients"][0]["content"] == result["clients"][0]["content"]


def test_node_clients_hocuspocus_viewer_is_read_only(daphne, live_doc):
    document, tokens = live_doc
    clients = [f"hocuspocus={tokens['editor']}", f"hocuspocus={tokens['viewer']},readonly"]

    result = run_clients(daphne, document, clients, "--tag", "ro", "--settle", "500")

    editor, viewer = result["clients"]
    assert result["converged"], result
    assert editor["scope"] == "read-write" and viewer["scope"] == "readonly"
    assert_clean(editor)
    assert editor["unsynced"] == 0
    refused = ["ro-c1-insert", "ro-c1-append"]
    assert all(text in viewer["content"] for text in refused)  # its own local copy only
    assert viewer["unsynced"] > 0  # SyncStatus 0: never acknowledged
    assert any(event.get("code") == "read_only" for event in viewer["events"]), viewer["events"]
    assert not any(text in editor["content"] for text in refused)
    assert "ro-c0-append" in viewer["content"]
    assert not any(text in server_content(document) for text in refused)
    fresh = run_clients(daphne, document, [f"ywebsocket={tokens['owner']}"], "--mode", "read")
    assert fresh["clients"][0]["content"] == editor["content"]


def test_node_clients_comment_events_reach_providers_that_read_json(daphne, live_doc):
    """A comment written over REST: a Stateless payload at @hocuspocus/provider, a text frame at the
    y-websocket provider that opted in, nothing at a stock y-websocket provider."""
    document, tokens = live_doc
    clients = [f"hocuspocus={tokens['viewer']}", f"ywebsocket={tokens['owner']},events", f"ywebsocket={tokens['editor']}"]
    command = node_command(daphne, document, clients, "--mode", "read", "--settle", "1500", "--timeout", "12")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        ready = json.loads(process.stdout.readline() or '{"event": "none"}')
        assert ready["event"] == "ready", (ready, process.stderr.read() if process.poll() is not None else "")
        with httpx.Client(base_url=daphne.http, headers={"Authorization": f"Bearer {tokens['editor']}"}) as http:
            written = http.post(f"/api/v1/documents/{document.pk}/comments", json={"content": "From **REST**"})
        assert written.status_code == 201, written.text
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    hocuspocus, opted_in, stock = result_of(stdout, stderr)["clients"]
    for client in (hocuspocus, opted_in):
        comments = [event for event in client["events"] if event["type"] == "comment"]
        assert [(event["action"], event["comment"]) for event in comments] == [("create", written.json())], client
    assert stock["events"] == [] and stock["listener_errors"] == [], stock
    assert hocuspocus["listener_errors"] == [], hocuspocus
