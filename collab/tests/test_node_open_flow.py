"""Opening a document as the MD Creator web client does (SPEC decision 39), with the real @hocuspocus/provider.

The client reads `GET documents/{id}`; with `yjs_state_b64` in the body it applies that state, without it
it seeds the editor from the markdown about 50 ms after connecting, before the server's sync arrives, and
the two copies merge into every block twice. tests/node/open_flow.mjs runs exactly that flow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.factories import UserFactory
from collab.tests.test_node_clients import server_content
from documents.models import Document
from documents.services.documents import document_create
from workspaces.models import WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "node" / "open_flow.mjs"
MARKDOWN = "# Plan\n\nFirst block.\n\nSecond block.\n"
BLOCKS = ("Plan", "First block.", "Second block.")


@pytest.fixture
def opened():
    """A markdown document of a team workspace and the access tokens of its owner and an editor."""
    owner, editor = UserFactory(), UserFactory()
    workspace = workspace_create(owner=owner, name="Open flow")
    WorkspaceMember.objects.create(workspace=workspace, user=editor, role=Role.EDITOR)
    document = document_create(actor=owner, workspace=workspace, data={"title": "Plan", "content": MARKDOWN})
    tokens = [session_start(user=user, client=ClientInfo()).access_token for user in (owner, editor)]
    return document, tokens


def open_like_the_client(server, document, token: str, *extra: str, path: str = "/ws/collab") -> dict:
    node = shutil.which("node")
    assert node, "Node.js is required for these tests (then run `make node`)"
    command = [node, str(SCRIPT), "--http", server.http, "--ws", server.ws, "--document", str(document.pk),
               "--token", token, "--path", path, *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert results, f"no result from the open flow:\n{done.stdout}\n{done.stderr}"
    return results[-1]


def test_node_open_flow_two_clients_opening_at_once_leave_each_block_once(daphne, opened):
    document, tokens = opened
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda token: open_like_the_client(daphne, document, token), tokens))
    for result in results:
        assert result["applied_state"] and not result["seeded"] and result["synced"], result
        assert result["blocks"] == len(BLOCKS)
        assert all(result["content"].count(block) == 1 for block in BLOCKS), result["content"]
    held = server_content(document)
    assert all(held.count(block) == 1 for block in BLOCKS), held
    assert Document.objects.get(pk=document.pk).content == MARKDOWN


def test_node_open_flow_a_body_without_the_state_duplicates_every_block(daphne, opened):
    """The control: the same flow ignoring the state seeds a second copy, which this test suite would catch."""
    document, tokens = opened
    result = open_like_the_client(daphne, document, tokens[0], "--ignore-state")
    assert result["seeded"] and result["synced"], result
    held = server_content(document)
    assert all(held.count(block) == 2 for block in BLOCKS), held
