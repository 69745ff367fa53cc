"""Smoke run of the embedded default: no DATABASE_URL, no REDIS_URL, a real daphne."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent
ENGINE_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "OIDC_ISSUER", "EMAIL_URL", "DJANGO_SECRET_KEY", "JWT_SIGNING_KEY",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ENGINE_VARIABLES}
    env.update(MDCREATOR_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="mdcreator.settings", PYTHONUNBUFFERED="1",
               ACCOUNTS_EMAIL_CONFIRMATION="False")  # as `make run` starts it: the web client has no code screen
    return env


def _manage(env, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """daphne on the embedded default, as `make run` starts it, with its output captured."""
    var_dir = tmp_path_factory.mktemp("embedded")
    env = _embedded_env(var_dir)
    _manage(env, "migrate", "--noinput")
    seeded = _manage(env, "seed_demo")
    port, live_port = _free_port(), _free_port()  # live_port plays :1234, the web client's live-editing address
    log_path = var_dir / "daphne.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
             "-e", f"tcp:port={live_port}:interface=127.0.0.1", "mdcreator.asgi:application"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    password = re.search(r"demo@mdcreator\.local / (\S+)", seeded).group(1)  # what seed_demo printed
    yield {"base": base, "live": f"ws://127.0.0.1:{live_port}", "seeded": seeded, "log": log_path, "var_dir": var_dir,
           "password": password, "pid": process.pid}
    process.terminate()
    process.wait(timeout=10)


def test_smoke_embedded_runs_on_sqlite_with_demo_account(embedded_server):
    base = embedded_server["base"]
    assert (embedded_server["var_dir"] / "db.sqlite3").exists()
    assert "demo@mdcreator.local" in embedded_server["seeded"]
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["status"] == "ok" and set(ready["checks"].values()) == {"ok"}
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": "demo@mdcreator.local", "password": embedded_server["password"]})
    assert login.status_code == 200
    me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["email"] == "demo@mdcreator.local"
    assert httpx.get(f"{base}/api/v1/docs/").status_code == 200
    assert httpx.get(f"{base}/admin/login/").status_code == 200


def test_smoke_embedded_signup_signs_in_at_once_and_a_reset_code_arrives_on_the_console(embedded_server):
    base = embedded_server["base"]
    signup = httpx.post(f"{base}/api/v1/auth/signup", json={"email": "smoke@example.com", "password": "Smoke-Test-42"})
    assert signup.status_code == 201 and signup.json()["access_token"]
    assert httpx.post(f"{base}/api/v1/auth/password/reset", json={"email": "smoke@example.com"}).status_code == 202
    code = None
    for _ in range(50):
        match = re.search(r"reset code is:\s+(\d{6})", embedded_server["log"].read_text())
        if match:
            code = match.group(1)
            break
        time.sleep(0.1)
    assert code, "the console email backend printed no code"
    reset = httpx.post(f"{base}/api/v1/auth/password/reset/confirm",
                       json={"email": "smoke@example.com", "code": code, "new_password": "Smoke-Test-43"})
    assert reset.status_code == 200
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": "smoke@example.com", "password": "Smoke-Test-43"})
    assert login.status_code == 200
    rotated = httpx.post(f"{base}/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert rotated.status_code == 200


def test_smoke_embedded_comments_grants_links_and_search_on_sqlite(embedded_server):
    base = embedded_server["base"]
    seeded = embedded_server["seeded"]

    def signed_in(email: str) -> dict:
        login = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": embedded_server["password"]})
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['access_token']}"}

    owner, guest = signed_in("demo@mdcreator.local"), signed_in("guest@mdcreator.local")
    shared = httpx.get(f"{base}/api/v1/documents/shared-with-me", headers=guest).json()["documents"]
    assert [(d["title"], d["role"]) for d in shared] == [("Welcome", "viewer")]
    welcome = shared[0]["id"]
    threads = httpx.get(f"{base}/api/v1/documents/{welcome}/comments", headers=guest).json()
    assert threads["total"] == 4 and any('class="mention"' in c["content_html"] for c in threads["comments"])
    assert any(c["resolved"] for c in threads["comments"]) and any(c["reactions"] for c in threads["comments"])
    hits = httpx.get(f"{base}/api/v1/search", params={"q": "Welcome"}, headers=guest).json()["results"]
    assert [hit["document"]["id"] for hit in hits] == [welcome]  # the guest finds the granted document only
    made = httpx.post(f"{base}/api/v1/documents/{welcome}/comments", json={"content": "From SQLite"}, headers=owner)
    assert made.status_code == 201
    token = re.search(r"/share/(\S+)", seeded).group(1)
    resolved = httpx.post(f"{base}/api/v1/share-links/resolve", json={"token": token})
    assert resolved.status_code == 200 and resolved.json()["document_id"] == welcome
    anonymous = httpx.get(f"{base}/api/v1/documents/{welcome}", headers={"X-Share-Token": resolved.json()["share_token"]})
    assert anonymous.status_code == 200 and anonymous.json()["access"]["source"] == "link"


def test_smoke_embedded_sync_push_and_pull_on_sqlite(embedded_server):
    import uuid

    base = embedded_server["base"]
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": "demo@mdcreator.local", "password": embedded_server["password"]})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    workspaces = httpx.get(f"{base}/api/v1/workspaces", params={"type": "team"}, headers=headers).json()["workspaces"]
    team = workspaces[0]["id"]
    document_id, change_id = str(uuid.uuid4()), str(uuid.uuid4())
    change = {"change_id": change_id, "entity_type": "document", "operation": "create", "entity_id": document_id,
              "data": {"title": "Offline", "content": "# From the desktop app\n"}}
    pushed = httpx.post(f"{base}/api/v1/sync/workspaces/{team}/push", json={"changes": [change]}, headers=headers)
    assert pushed.json()["results"][0]["status"] == "success"
    again = httpx.post(f"{base}/api/v1/sync/workspaces/{team}/push", json={"changes": [change]}, headers=headers)
    assert again.json() == pushed.json()
    pulled = httpx.get(f"{base}/api/v1/sync/workspaces/{team}/since",
                       params={"cursor": 0, "limit": 500, "include_content": "true"}, headers=headers).json()
    mine = [entry for entry in pulled["documents"] if entry["entity_id"] == document_id]
    assert [entry["content"] for entry in mine] == ["# From the desktop app\n"]


def _memory_kib(pid: int) -> dict[str, int]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("VmRSS:", "VmHWM:"))}


def test_smoke_embedded_a_25_mib_upload_is_streamed_to_disk_not_held_in_memory(embedded_server):
    """SPEC §3.6 local mode: the file goes to disk as it arrives; daphne's peak memory barely moves."""
    import hashlib

    base, pid = embedded_server["base"], embedded_server["pid"]
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": "demo@mdcreator.local", "password": embedded_server["password"]})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    team = httpx.get(f"{base}/api/v1/workspaces", params={"type": "team"}, headers=headers).json()["workspaces"][0]["id"]

    def upload_and_confirm(data: bytes) -> dict:
        presigned = httpx.post(f"{base}/api/v1/uploads/presign", headers=headers, json={
            "file_name": "big.pdf", "content_type": "application/pdf", "size_bytes": len(data), "scope": "attachment",
            "workspace_id": team}).json()
        posted = httpx.post(f"{base}{presigned['upload_url']}", data=presigned["upload_fields"],
                            files={"file": ("big.pdf", data, "application/pdf")}, timeout=60)
        assert posted.status_code in (200, 201, 204), posted.text
        confirmed = httpx.post(f"{base}/api/v1/uploads/{presigned['attachment_id']}/confirm", headers=headers)
        assert confirmed.status_code == 200, confirmed.text
        return confirmed.json()

    upload_and_confirm(os.urandom(1024 * 1024))  # a small upload warms the code paths up
    # The first large body: memory a process once held stays counted in its size after it is freed.
    data = os.urandom(25 * 1024 * 1024)
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak is now the current size
    before = _memory_kib(pid)["VmRSS"]
    attachment = upload_and_confirm(data)
    growth_mib = (_memory_kib(pid)["VmHWM"] - before) / 1024
    assert growth_mib < 10, f"daphne's peak memory grew by {growth_mib:.1f} MiB for a 25 MiB upload"
    url = httpx.get(f"{base}/api/v1/attachments/{attachment['attachment_id']}", headers=headers).json()["download_url"]
    stored = httpx.get(url if url.startswith("http") else f"{base}{url}", timeout=60).content
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()


def test_smoke_embedded_web_client_opens_a_document_on_the_live_port_without_duplicating_it(embedded_server):
    """`make run` also listens where the web client's provider connects (the root path of :1234): two
    clients open a document as the client does, on the in-memory channel layer, and each block stays single."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    base = embedded_server["base"]
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": "demo@mdcreator.local", "password": embedded_server["password"]})
    token = login.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    team = httpx.get(f"{base}/api/v1/workspaces", params={"type": "team"}, headers=headers).json()["workspaces"][0]["id"]
    markdown = "# Opened twice\n\nOne paragraph.\n"
    created = httpx.post(f"{base}/api/v1/workspaces/{team}/documents", json={"title": "Opened", "content": markdown},
                         headers=headers).json()
    node = shutil.which("node")
    assert node, "Node.js is required for these tests (then run `make node`)"
    command = [node, str(ROOT / "tests" / "node" / "open_flow.mjs"), "--http", base, "--ws", embedded_server["live"],
               "--path", "/", "--document", created["id"], "--token", token]

    def open_once(_):
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        assert lines, done.stderr
        return lines[-1]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(open_once, range(2)))
    for result in results:
        assert result["synced"] and result["applied_state"] and not result["seeded"], result
        assert result["content"].count("One paragraph.") == 1 and result["content"].count("Opened twice") == 1
    state = httpx.get(f"{base}/api/v1/documents/{created['id']}", headers=headers).json()
    assert state["content"] == markdown and state["yjs_state_b64"]


def _open_twice_and_coedit(base: str, live: str, token: str, http, document_id: str) -> tuple[str, dict]:
    """Two clients open the document as the web client does, then two co-edit through the live port's root
    path; returns the materialized content (each original block once) and the document detail."""
    import shutil

    node = shutil.which("node")
    assert node, "Node.js is required for these tests (then run `make node`)"
    opened = [node, str(ROOT / "tests" / "node" / "open_flow.mjs"), "--http", base, "--ws", live, "--path", "/",
              "--document", document_id, "--token", token]
    for _ in range(2):
        result = json.loads(subprocess.run(opened, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout
                            .splitlines()[-1])
        assert result["applied_state"] and not result["seeded"] and result["synced"], result
    coedit = [node, str(ROOT / "tests" / "node" / "collab_client.mjs"), "--server", live, "--hocuspocus-path", "/",
              "--document", document_id, "--client", f"hocuspocus={token}", "--client", f"hocuspocus={token}",
              "--tag", "flow"]
    lines = subprocess.run(coedit, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.splitlines()
    coedited = [json.loads(line) for line in lines if line.startswith("{")][-1]
    assert coedited["converged"] and coedited["equal"], coedited
    content, detail = "", {}
    for _ in range(100):  # materialization is debounced
        detail = http.get(f"/documents/{document_id}").json()
        content = detail["content"]
        if all(marker in content for marker in coedited["expected"]):
            break
        time.sleep(0.2)
    assert all(marker in content for marker in coedited["expected"]), content
    assert content.count("The first paragraph.") == 1 and content.count("# Flow") == 1
    return content, detail


def _push_offline_twice(http, workspace_id: str) -> None:
    """Offline work pushed in one batch, retried safely."""
    import uuid

    offline_id = str(uuid.uuid4())
    batch = {"workspace_id": workspace_id, "atomic": False, "operations": [{
        "operation": "create", "clientId": f"create_{offline_id}", "documentId": offline_id,
        "data": {"id": offline_id, "title": "Written offline", "content": "# Offline\n", "content_type": "markdown",
                 "folder_id": None, "tags": [], "is_starred": False}}]}
    pushed = http.post("/documents/batch", json=batch).json()
    assert pushed["successful"] == 1 and pushed["results"][0]["documentId"] == offline_id, pushed
    assert http.post("/documents/batch", json=batch).json() == pushed


def test_smoke_embedded_the_web_client_flow_end_to_end(embedded_server):
    """What a new user of the web client does, on its own paths, against the server as `make run` starts it:
    register, a workspace, a folder and a document, both listed, the document opened in two providers and
    co-edited without duplication, saved over REST, its history, a restore, a share, an offline batch."""

    base, live = embedded_server["base"], embedded_server["live"]
    api = f"{base}/api/v1"
    registered = httpx.post(f"{api}/auth/register", json={
        "email": "flow@example.com", "username": "flow", "password": "Fl0w-Test-Pass", "full_name": "Flow Tester"})
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]
    assert registered.json()["user"]["full_name"] == "Flow Tester"
    http = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    workspace = http.post("/workspaces", json={"name": "Flow", "description": "end to end"}).json()
    assert workspace["id"] in [item["id"] for item in http.get("/workspaces").json()["items"]]
    folder = http.post("/folders", params={"workspace_id": workspace["id"]}, json={"name": "Notes"})
    assert folder.status_code == 201, folder.text
    markdown = "# Flow\n\nThe first paragraph.\n"
    created = http.post("/documents", params={"workspace_id": workspace["id"]}, json={
        "title": "Flow", "content": markdown, "content_type": "markdown", "folder_id": folder.json()["id"],
        "tags": ["e2e"], "is_starred": True})
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]
    assert [item["id"] for item in http.get(f"/folders/workspace/{workspace['id']}").json()["items"]] == [
        folder.json()["id"]]
    listed = http.get(f"/documents/workspace/{workspace['id']}").json()["items"]
    assert [(item["id"], item["content"], item["is_starred"]) for item in listed] == [(document_id, markdown, True)]

    content, detail = _open_twice_and_coedit(base, live, token, http, document_id)

    # Saved over REST with the client's precondition, then its history, a manual snapshot and a restore.
    saved = http.patch(f"/documents/{document_id}", json={
        "content": content + "\nSaved over REST.\n", "expected_yjs_version": detail["yjs_version"]})
    assert saved.status_code == 200, saved.text
    stale = http.patch(f"/documents/{document_id}", json={"content": "lost", "expected_yjs_version": 0})
    assert stale.status_code == 409 and stale.json()["server_version"]["content_hash"] == saved.json()["content_hash"]
    manual = http.post(f"/documents/{document_id}/snapshots", json={"type": "manual", "note": "before restore"})
    assert manual.status_code == 201, manual.text
    history = http.get(f"/documents/{document_id}/snapshots").json()
    assert history["total"] >= 2 and "before restore" in [item["note"] for item in history["snapshots"]]
    assert http.patch(f"/documents/{document_id}", json={"title": "Flow, renamed"}).status_code == 200
    restored = http.post(f"/documents/{document_id}/snapshots/{manual.json()['snapshot_id']}/restore",
                         json={"action": "new_document", "title": "Flow (first draft)"})
    assert restored.status_code in (200, 201) and restored.json()["success"], restored.text
    copy = http.get(f"/documents/{restored.json()['new_document_id']}").json()
    assert copy["content"] == saved.json()["content"] and copy["title"] == "Flow (first draft)"

    # Shared with a colleague, who accepts.
    shared = http.post(f"/documents/{document_id}/invite", json={
        "emails": ["demo@mdcreator.local"], "role": "viewer", "message": "Have a look", "send_email": True})
    assert shared.status_code == 200 and shared.json()["success"], shared.text
    assert "demo@mdcreator.local" in json.dumps(http.get(f"/documents/{document_id}/members").json())

    _push_offline_twice(http, workspace["id"])
    titles = [item["title"] for item in http.get(f"/documents/workspace/{workspace['id']}").json()["items"]]
    assert sorted(titles) == ["Flow (first draft)", "Flow, renamed", "Written offline"]
