"""AWS_S3_PUBLIC_ENDPOINT_URL: the server reaches the store at one address, browsers at another (docker compose:
the app at http://minio:9000, browsers at http://localhost:9000); presigned forms and links name the public one."""

from __future__ import annotations

import pytest

from documents.tests.attachments import confirm, fetch, image_bytes, presign, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("store_mode", ["s3"], indirect=True)
def test_uploads_presigned_urls_name_the_public_endpoint_and_work_there(
    team, document, store_mode, settings, django_capture_on_commit_callbacks
):
    internal = settings.AWS_S3_ENDPOINT_URL  # http://127.0.0.1:PORT, what the server uses
    public = internal.replace("127.0.0.1", "localhost")  # the same store under the name browsers use
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = public
    client, data = team.client("editor"), image_bytes("PNG", (64, 48))

    presigned = presign(client, team.workspace, data=data, content_type="image/png", document=document).json()
    assert presigned["upload_url"].startswith(public)
    assert upload(store_mode, presigned, data, "image/png") in (200, 201, 204)
    with django_capture_on_commit_callbacks(execute=True):
        body = confirm(client, presigned["attachment_id"]).json()  # the server checks it at the internal address
    assert body["processing_status"] == "complete", body
    assert body["download_url"].startswith(public) and body["thumbnail_url"].startswith(public)
    status, _, content = fetch(body["download_url"])
    assert (status, content) == (200, data)


@pytest.mark.parametrize("store_mode", ["s3"], indirect=True)
def test_uploads_without_a_public_endpoint_presign_for_the_configured_one(team, document, store_mode, settings):
    presigned = presign(team.client("editor"), team.workspace, data=10, content_type="text/plain",
                        file_name="a.txt", document=document).json()
    assert presigned["upload_url"].startswith(settings.AWS_S3_ENDPOINT_URL)
