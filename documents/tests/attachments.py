"""Helpers of the attachment tests: image bytes, the presign → upload → confirm round trip in either store."""

from __future__ import annotations

import io

import httpx
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

PRESIGN = "/api/v1/uploads/presign"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (800, 600), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color=1 if mode == "1" else (200, 40, 40)).save(out, format=fmt)
    return out.getvalue()


def presign(client, workspace, *, data: bytes | int, content_type: str, file_name: str = "photo.png",
            document=None, **extra):
    """POST uploads/presign announcing `data` (or just a size)."""
    size = data if isinstance(data, int) else len(data)
    body = {"file_name": file_name, "content_type": content_type, "size_bytes": size, "scope": "attachment",
            "workspace_id": str(workspace.pk), **extra}
    if document is not None:
        body["document_id"] = str(document.pk)
    return client.post(PRESIGN, body, format="json")


def upload(mode: str, presigned: dict, data: bytes, content_type: str, file_name: str = "photo.png") -> int:
    """Post the returned form with the file, as the client would: to moto over HTTP, or to the local view."""
    if mode == "s3":
        answer = httpx.post(presigned["upload_url"], data=presigned["upload_fields"],
                            files={"file": (file_name, data, content_type)})
        return answer.status_code
    form = {**presigned["upload_fields"], "file": SimpleUploadedFile(file_name, data, content_type)}
    return APIClient().post(presigned["upload_url"], form, format="multipart").status_code


def fetch(url: str) -> tuple[int, dict, bytes]:
    """GET a download URL: presigned S3 over HTTP, or the local `files/{signed}` view."""
    if url.startswith("http"):
        answer = httpx.get(url)
        return answer.status_code, dict(answer.headers), answer.content
    answer = APIClient().get(url)
    content = b"".join(answer.streaming_content) if answer.streaming else answer.content
    return answer.status_code, {k.lower(): v for k, v in answer.items()}, content


def confirm(client, attachment_id: str):
    return client.post(f"/api/v1/uploads/{attachment_id}/confirm")


def uploaded(client, mode: str, workspace, document=None, data: bytes | None = None,
             content_type: str = "image/png", file_name: str = "photo.png") -> dict:
    """A completed attachment (the confirm body), by the full round trip."""
    data = image_bytes() if data is None else data
    presigned = presign(client, workspace, data=data, content_type=content_type, file_name=file_name,
                        document=document).json()
    assert upload(mode, presigned, data, content_type, file_name) in (200, 201, 204)
    body = confirm(client, presigned["attachment_id"]).json()
    assert body["processing_status"] == "complete", body
    return body
