"""Confirms while S3 is unreachable: 503 `service-unavailable` with Retry-After, the row left to confirm again."""

from __future__ import annotations

import socket

import pytest

from documents.models import Attachment, ContextFile
from documents.tests.attachments import confirm, image_bytes, presign, upload
from documents.tests.helpers import assert_problem
from documents.tests.test_api_context_files import add
from documents.tests.test_api_context_files import confirm as confirm_context_file
from sync.models import SyncLog
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

NOTES = b"# Notes\n"


@pytest.fixture
def s3_down(settings):
    """`stop()` points the S3 backend at a closed loopback port, `restart()` back at moto (no boto3 patching)."""
    reachable = settings.AWS_S3_ENDPOINT_URL
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nobody listens once the probe is closed

    def point(endpoint: str) -> None:
        settings.AWS_S3_ENDPOINT_URL = endpoint
        settings.STORAGES = {**settings.STORAGES}  # Django rebuilds its storages, which read the endpoint

    return type("S3Switch", (), {"stop": staticmethod(lambda: point(closed)),
                                 "restart": staticmethod(lambda: point(reachable))})


def _state(workspace) -> tuple[int, int]:
    return Workspace.objects.get(pk=workspace.pk).storage_used_bytes, SyncLog.objects.count()


@pytest.mark.parametrize("store_mode", ["s3"], indirect=True)
def test_api_uploads_confirm_while_s3_is_down_is_503_and_can_be_retried(team, store_mode, s3_down):
    client, data = team.client("editor"), image_bytes()
    presigned = presign(client, team.workspace, data=data, content_type="image/png").json()
    assert upload(store_mode, presigned, data, "image/png") in (200, 201, 204)
    before = _state(team.workspace)

    s3_down.stop()
    response = confirm(client, presigned["attachment_id"])

    assert_problem(response, 503, "service-unavailable")
    assert int(response["Retry-After"]) > 0
    attachment = Attachment.objects.get(pk=presigned["attachment_id"])
    assert (attachment.processing_status, attachment.failure_reason) == ("pending", "")
    assert _state(team.workspace) == before

    s3_down.restart()
    body = confirm(client, presigned["attachment_id"]).json()
    assert body["processing_status"] == "complete"
    assert _state(team.workspace)[0] == len(data)


@pytest.mark.parametrize("store_mode", ["s3"], indirect=True)
def test_api_context_files_confirm_while_s3_is_down_is_503_and_can_be_retried(team, document, store_mode, s3_down):
    client = team.client("editor")
    added = add(client, document, NOTES).json()
    assert upload(store_mode, added["upload"], NOTES, "text/markdown") in (200, 201, 204)
    before = _state(team.workspace)

    s3_down.stop()
    response = confirm_context_file(client, added["context_file"]["id"])

    assert_problem(response, 503, "service-unavailable")
    assert int(response["Retry-After"]) > 0
    assert ContextFile.objects.get(pk=added["context_file"]["id"]).sync_status == "uploading"
    assert _state(team.workspace) == before

    s3_down.restart()
    assert confirm_context_file(client, added["context_file"]["id"]).json()["sync_status"] == "synced"
    assert _state(team.workspace)[0] == len(NOTES)
