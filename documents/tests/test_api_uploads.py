"""uploads/presign, the upload itself (S3 form or local target) and uploads/{id}/confirm, in both stores."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from documents import storage
from documents.models import Attachment
from documents.tests.attachments import confirm, fetch, image_bytes, presign, upload, uploaded
from documents.tests.helpers import assert_problem, assert_validation, sync_entries
from sync.models import SyncLog

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024


def _stored(attachment_id) -> bool:
    row = Attachment.objects.get(pk=attachment_id)
    return storage.backend().head(row.s3_key) is not None


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_api_uploads_image_round_trip_completes_with_thumbnail_and_dimensions(
    team, document, store_mode, fmt, content_type, django_capture_on_commit_callbacks
):
    client, data = team.client("editor"), image_bytes(fmt, (800, 600))
    response = presign(client, team.workspace, data=data, content_type=content_type, document=document)
    assert response.status_code == 200, response.content
    presigned = response.json()
    assert set(presigned) == {"attachment_id", "upload_url", "upload_fields", "expires_in"}
    assert presigned["expires_in"] == 300
    assert presigned["upload_fields"]["key"].startswith(
        f"attachments/{team.workspace.pk}/{presigned['attachment_id']}/"
    )
    assert presigned["upload_fields"]["Content-Type"] == content_type
    assert Attachment.objects.get(pk=presigned["attachment_id"]).processing_status == "pending"
    if store_mode == "s3":  # the policy pins key, type, the exact size and encryption
        policy = json.loads(base64.b64decode(presigned["upload_fields"]["policy"]))
        assert {"key": presigned["upload_fields"]["key"]} in policy["conditions"]
        assert {"Content-Type": content_type} in policy["conditions"]
        assert ["content-length-range", len(data), len(data)] in policy["conditions"]
        assert {"x-amz-server-side-encryption": "AES256"} in policy["conditions"]

    assert upload(store_mode, presigned, data, content_type) in (200, 201, 204)
    with django_capture_on_commit_callbacks(execute=True):
        body = confirm(client, presigned["attachment_id"]).json()

    assert body["attachment_id"] == presigned["attachment_id"]
    assert body["processing_status"] == "complete"
    assert body["metadata"] == {"width": 800, "height": 600, "format": fmt}
    assert body["cdn_url"] is None
    status, _, content = fetch(body["download_url"])
    assert (status, content) == (200, data)
    status, _, thumb = fetch(body["thumbnail_url"])
    with Image.open(io.BytesIO(thumb)) as image:
        assert (image.format, image.size) == ("WEBP", (320, 240))
    row = Attachment.objects.get(pk=presigned["attachment_id"])
    assert row.confirmed_at is not None and row.storage_backend == store_mode
    assert row.thumbnail_s3_key == f"thumbnails/{team.workspace.pk}/{row.pk}.webp"
    team.workspace.refresh_from_db()
    assert team.workspace.storage_used_bytes == len(data)
    entry = sync_entries(team.workspace)[-1]
    assert (entry.entity_type, entry.operation, str(entry.entity_id)) == (
        SyncLog.EntityType.ATTACHMENT, "create", str(row.pk))


def test_api_uploads_pdf_has_no_thumbnail_and_downloads_as_attachment(team, document, store_mode):
    data = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"
    body = uploaded(team.client("editor"), store_mode, team.workspace, document, data, "application/pdf", "a b.pdf")
    assert body["thumbnail_url"] is None and body["metadata"] == {}
    status, headers, content = fetch(body["download_url"])
    assert (status, content) == (200, data)
    assert headers["content-disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("declared", "data", "reason"),
    [
        pytest.param("image/png", image_bytes("JPEG"), "declared type", id="jpeg-declared-png"),
        pytest.param("image/png", image_bytes("PNG")[:400], "cannot be read", id="truncated"),
        pytest.param("image/png", image_bytes("PNG", (8000, 6000), mode="1"), "pixels", id="decompression-bomb"),
    ],
)
def test_api_uploads_confirm_refuses_bad_images_and_deletes_the_object(
    team, document, store_mode, declared, data, reason, django_capture_on_commit_callbacks
):
    client = team.client("editor")
    presigned = presign(client, team.workspace, data=data, content_type=declared, document=document).json()
    assert upload(store_mode, presigned, data, declared) in (200, 201, 204)
    assert _stored(presigned["attachment_id"])
    with django_capture_on_commit_callbacks(execute=True):
        body = assert_problem(confirm(client, presigned["attachment_id"]), 400, "upload-verification-failed")
    assert reason in body["detail"]
    row = Attachment.objects.get(pk=presigned["attachment_id"])
    assert row.processing_status == "failed" and reason in row.failure_reason
    assert not _stored(row.pk)
    team.workspace.refresh_from_db()
    assert team.workspace.storage_used_bytes == 0
    # A second confirm answers as the first did.
    assert assert_problem(confirm(client, row.pk), 400, "upload-verification-failed")["detail"] == body["detail"]


def test_api_uploads_size_mismatch_fails(team, document, store_mode, django_capture_on_commit_callbacks):
    client, data = team.client("editor"), image_bytes()
    presigned = presign(client, team.workspace, data=len(data) - 10, content_type="image/png",
                        document=document).json()
    status = upload(store_mode, presigned, data, "image/png")
    if store_mode == "local":
        assert status == 413  # the local target stops reading past the signed size
    with django_capture_on_commit_callbacks(execute=True):
        assert_problem(confirm(client, presigned["attachment_id"]), 400, "upload-verification-failed")
    assert Attachment.objects.get(pk=presigned["attachment_id"]).processing_status == "failed"
    assert not _stored(presigned["attachment_id"])


def test_api_uploads_confirm_twice_returns_the_first_success(team, document, store_mode):
    client = team.client("editor")
    first = uploaded(client, store_mode, team.workspace, document)
    again = confirm(client, first["attachment_id"])
    assert again.status_code == 200
    assert {k: v for k, v in again.json().items() if not k.endswith("_url")} == {
        k: v for k, v in first.items() if not k.endswith("_url")}
    team.workspace.refresh_from_db()
    assert team.workspace.storage_used_bytes == len(image_bytes())  # charged once


@pytest.mark.parametrize("content_type", ["image/svg+xml", "text/html", "application/x-msdownload"])
def test_api_uploads_presign_refuses_other_types_415(team, document, store_mode, content_type):
    response = presign(team.client("editor"), team.workspace, data=100, content_type=content_type, document=document)
    assert_problem(response, 415, "unsupported-media-type")
    assert not Attachment.objects.exists()


def test_api_uploads_presign_refuses_more_than_25_mib_413(team, document, store_mode):
    client = team.client("editor")
    assert presign(client, team.workspace, data=25 * MiB, content_type="application/pdf").status_code == 200
    response = presign(client, team.workspace, data=25 * MiB + 1, content_type="application/pdf")
    assert_problem(response, 413, "payload-too-large")


def test_api_uploads_presign_counts_pending_reservations_against_the_quota(team, store_mode):
    team.workspace.storage_limit_bytes, team.workspace.storage_used_bytes = 1000, 300
    team.workspace.save(update_fields=["storage_limit_bytes", "storage_used_bytes"])
    client = team.client("editor")
    assert presign(client, team.workspace, data=500, content_type="text/plain").status_code == 200
    response = presign(client, team.workspace, data=201, content_type="text/plain")
    assert_problem(response, 413, "storage-quota-exceeded")
    assert presign(client, team.workspace, data=200, content_type="text/plain").status_code == 200


@pytest.mark.parametrize(("actor", "status"), [("viewer", 403), ("commenter", 403), ("non_member", 404),
                                               ("admin", 200), ("owner", 200)])
def test_api_uploads_presign_needs_the_edit_flag(team, document, store_mode, actor, status):
    response = presign(team.client(actor), team.workspace, data=10, content_type="text/plain", document=document)
    assert response.status_code == status, response.content
    without_document = presign(team.client(actor), team.workspace, data=10, content_type="text/plain")
    assert without_document.status_code == status


def test_api_uploads_presign_for_a_document_grantee_editor(document, outsider, store_mode):
    _, client, _ = outsider("grant-editor")
    assert presign(client, document.workspace, data=10, content_type="text/plain", document=document).status_code == 200
    _, viewer, _ = outsider("grant-viewer")
    assert presign(viewer, document.workspace, data=10, content_type="text/plain",
                   document=document).status_code == 403


def test_api_uploads_file_name_is_sanitized_and_the_given_name_kept(team, document, store_mode):
    given = "../../etc/pass\\wd\x01.png"
    response = presign(team.client("editor"), team.workspace, data=10, content_type="image/png",
                       file_name=given, document=document)
    assert response.status_code == 200
    row = Attachment.objects.get(pk=response.json()["attachment_id"])
    assert row.original_name == given
    assert row.file_name == "_.._etc_pass_wd_.png"
    assert row.s3_key == f"attachments/{team.workspace.pk}/{row.pk}/_.._etc_pass_wd_.png"


@pytest.mark.parametrize("bad", ["a\\u0000b.png", "\\ud800.png"])  # as JSON escapes: NUL, a lone surrogate
def test_api_uploads_file_name_with_nul_or_invalid_utf8_is_400(team, document, bad):
    body = f'{{"file_name": "{bad}", "content_type": "image/png", "size_bytes": 1, "workspace_id": "{team.workspace.pk}"}}'
    response = team.client("editor").post("/api/v1/uploads/presign", body, content_type="application/json")
    assert_validation(response, "file_name")


def test_api_uploads_confirm_by_someone_else_is_404(team, document, store_mode):
    presigned = presign(team.client("editor"), team.workspace, data=10, content_type="text/plain").json()
    assert_problem(confirm(team.client("owner"), presigned["attachment_id"]), 404, "not-found")


def test_api_uploads_local_target_refuses_tampered_and_expired_signatures(team, settings, tmp_path, monkeypatch):
    settings.STORAGE_IS_S3, settings.MEDIA_ROOT = False, tmp_path
    data = b"hello world"
    presigned = presign(team.client("editor"), team.workspace, data=data, content_type="text/plain").json()
    tampered = {**presigned, "upload_url": presigned["upload_url"][:-3] + "abc"}
    assert upload("local", tampered, data, "text/plain") == 403
    monkeypatch.setattr(storage, "UPLOAD_EXPIRES", -1)  # any signature is now older than allowed
    assert upload("local", presigned, data, "text/plain") == 403
    monkeypatch.undo()
    other_type = {**presigned, "upload_fields": {**presigned["upload_fields"], "Content-Type": "image/png"}}
    assert upload("local", other_type, data, "text/plain") == 415
    assert upload("local", presigned, data, "text/plain") == 204
    assert (tmp_path / presigned["upload_fields"]["key"]).read_bytes() == data
