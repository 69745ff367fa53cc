"""Several offline devices against one workspace, explored by hypothesis (SPEC §4).

Devices make random offline edits (create, update with and without content, retitle, tag,
delete), push them in random order, retry pushes, and pull in random interleavings, while the
server side undeletes now and then through REST. Invariants: a device that pulled to the end
holds exactly the server's state; it saw each entry once and in seq order; every pushed change
came back as success, conflict (with the server's version) or error; a retried push changes nothing.
"""

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from accounts.tests.factories import UserFactory
from documents.models import Document
from sync.models import SyncLog
from workspaces.services.workspaces import workspace_create
from workspaces.tests.helpers import client_for, last_seq

pytestmark = pytest.mark.django_db

DEVICES = 3
WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "omega"])


class Device:
    """What one device holds: the documents it knows (from pulls and its own edits) and its cursor."""

    def __init__(self, name: str):
        self.name, self.cursor, self.seen = name, 0, []
        self.known: dict[str, dict] = {}  # id -> {"title", "content_hash", "deleted"} as last pulled
        self.queue: list[dict] = []
        self.pushed: list[tuple[list[dict], dict]] = []


class OfflineDevices(RuleBasedStateMachine):
    """One fresh team workspace per example (the test's transaction holds them all)."""

    def __init__(self):
        super().__init__()
        owner = UserFactory()
        self.workspace = workspace_create(owner=owner, name=f"Sync {uuid.uuid4().hex[:6]}")
        self.owner = client_for(owner)
        self.devices = [Device(f"device-{index}") for index in range(DEVICES)]
        self.url = f"/api/v1/sync/workspaces/{self.workspace.pk}"

    # --- offline edits ---------------------------------------------------------------------
    @rule(device=st.integers(0, DEVICES - 1), word=WORDS)
    def create(self, device, word):
        self.devices[device].queue.append(self._change("create", str(uuid.uuid4()),
                                                       data={"title": word, "content": f"# {word}\n"}))

    @rule(device=st.integers(0, DEVICES - 1), pick=st.integers(0, 50), word=WORDS, with_base=st.booleans())
    def update_content(self, device, pick, word, with_base):
        chosen = self._known(device, pick)
        if chosen is not None:
            document_id, state = chosen
            base = state["content_hash"] if with_base else None
            change = self._change("update", document_id, data={"content": f"{word} {uuid.uuid4().hex[:4]}\n"})
            change["base_content_hash"] = base
            self.devices[device].queue.append(change)

    @rule(device=st.integers(0, DEVICES - 1), pick=st.integers(0, 50), word=WORDS)
    def retitle_and_tag(self, device, pick, word):
        chosen = self._known(device, pick)
        if chosen is not None:
            self.devices[device].queue.append(self._change("update", chosen[0], data={"title": word, "tags": [word]}))

    @rule(device=st.integers(0, DEVICES - 1), pick=st.integers(0, 50))
    def delete(self, device, pick):
        chosen = self._known(device, pick)
        if chosen is not None:
            self.devices[device].queue.append(self._change("delete", chosen[0]))

    @rule(pick=st.integers(0, 50))
    def undelete_over_rest(self, pick):
        trashed = list(Document.objects.filter(workspace=self.workspace, deleted=True).order_by("pk"))
        if trashed:
            response = self.owner.post(f"/api/v1/documents/{trashed[pick % len(trashed)].pk}/undelete")
            assert response.status_code == 200

    # --- push and pull -----------------------------------------------------------------------
    @precondition(lambda self: any(device.queue for device in self.devices))
    @rule(device=st.integers(0, DEVICES - 1), order=st.randoms(use_true_random=False), retry=st.booleans())
    def push(self, device, order, retry):
        queue = self.devices[device].queue
        if not queue:
            return
        order.shuffle(queue)
        body = {"device_id": self.devices[device].name, "client_version": "1", "changes": list(queue)}
        response = self.owner.post(f"{self.url}/push", body, format="json")
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        assert [r["change_id"] for r in results] == [c["change_id"] for c in queue]
        for change, result in zip(queue, results, strict=True):
            assert result["status"] in ("success", "conflict", "error"), result
            if result["status"] == "conflict" and change["entity_type"] == "document":
                assert "server_version" in result
            if result["status"] == "error":
                assert result["error"]["status"] in (400, 404, 428), result
            if change["operation"] == "create":  # a fresh id in a workspace the device may write to
                assert result["status"] == "success", result
            if "content" in change.get("data", {}) and change["operation"] == "update" and not change.get(
                "base_content_hash"
            ):  # content without the hash it was based on is never applied: 428, or 404 for a trashed document
                assert result["status"] == "error" and result["error"]["status"] in (404, 428), result
        if retry:
            seq = last_seq(self.workspace)
            again = self.owner.post(f"{self.url}/push", body, format="json").json()["results"]
            assert again == results and last_seq(self.workspace) == seq  # a retried push changes nothing
        self.devices[device].queue = []

    @rule(device=st.integers(0, DEVICES - 1), limit=st.integers(1, 7))
    def pull(self, device, limit):
        state = self.devices[device]
        while True:
            body = self.owner.get(f"{self.url}/since", {"cursor": state.cursor, "limit": limit}).json()
            entries = sorted((e for e in body["documents"]), key=lambda e: e["seq"])
            others = [e["seq"] for key in ("folders", "comments", "members", "workspace") for e in body[key]]
            for entry in entries:
                data = entry["data"]
                state.known[entry["entity_id"]] = {
                    "title": data["title"], "content_hash": data["content_hash"], "deleted": data["deleted"],
                }
            state.seen += sorted([e["seq"] for e in entries] + others)
            state.cursor = body["cursor"]
            if not body["has_more"]:
                break
        assert state.seen == sorted(set(state.seen)), "an entry was seen twice or out of order"
        assert state.known == self._server_state(), "a device that pulled to the end must hold the server's state"

    # --- invariants --------------------------------------------------------------------------
    @invariant()
    def log_is_gap_free(self):
        seqs = list(SyncLog.objects.filter(workspace=self.workspace).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))

    # --- helpers -----------------------------------------------------------------------------
    def _change(self, operation: str, entity_id: str, data: dict | None = None) -> dict:
        return {"change_id": str(uuid.uuid4()), "entity_type": "document", "operation": operation,
                "entity_id": entity_id, "data": data or {}}

    def _known(self, device: int, pick: int):
        known = sorted(self.devices[device].known.items())
        return known[pick % len(known)] if known else None

    def _server_state(self) -> dict:
        rows = Document.objects.filter(workspace=self.workspace).values_list("pk", "title", "content_hash", "deleted")
        return {str(pk): {"title": title, "content_hash": h, "deleted": deleted} for pk, title, h, deleted in rows}


OfflineDevices.TestCase.settings = settings(
    max_examples=12, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.django_db
def test_sync_property_offline_devices_converge():
    OfflineDevices.TestCase().runTest()


