"""Where attachment bytes live (SPEC §7): S3 through django-storages' client, or local disk under MEDIA_ROOT.

`backend()` picks the implementation from `settings.STORAGE_IS_S3`. Both answer the same calls:
a presigned POST form binding key, exact size and type; HEAD; read; put; delete; listing keys
under a prefix; a download URL (15 minutes unless asked otherwise). The local one signs its forms and links with
Django signing instead of S3 policies. S3 failures other than "no such object" on HEAD, GET and PUT become
`StorageUnavailableError` (503, Retry-After): the caller's transaction rolls back and the client can retry.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.core.files.storage import storages
from django.db import transaction

from documents.errors import StorageUnavailableError

UPLOAD_EXPIRES = 300
DOWNLOAD_EXPIRES = 900
EXPORT_DOWNLOAD_EXPIRES = 3600  # the account export's links (SPEC §3.1)
NOT_FOUND_CODES = ("404", "NoSuchKey", "NotFound")
UPLOAD_SALT = "documents.storage.upload"
DOWNLOAD_SALT = "documents.storage.download"


@dataclass(frozen=True)
class StoredObject:
    """What HEAD says about an object; `content_type` and `etag` are None where the store keeps none (local disk)."""

    size: int
    content_type: str | None
    etag: str | None = None


def _disposition(file_name: str, as_attachment: bool) -> str:
    kind = "attachment" if as_attachment else "inline"
    return f"{kind}; filename*=UTF-8''{quote(file_name)}"


def _is_not_found(error: BotoCoreError | ClientError) -> bool:
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in NOT_FOUND_CODES


class S3Backend:
    """Objects in the configured bucket, through the boto3 client of django-storages' S3 storage."""

    name = "s3"

    def __init__(self) -> None:
        storage = storages["default"]  # rebuilt by Django whenever STORAGES changes
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.region = getattr(settings, "AWS_S3_REGION_NAME", "") or ""
        self.signer = _public_signer(self.client)

    # Presigning is local computation: a client for the address browsers reach signs the same requests.
    def presigned_post(self, *, key: str, content_type: str, size: int) -> tuple[str, dict]:
        """A form that may store exactly `size` bytes of `content_type` at `key`, for 5 minutes."""
        return self._presigned_post(self.signer, key=key, content_type=content_type, size=size)

    def _presigned_post(self, client, *, key: str, content_type: str, size: int) -> tuple[str, dict]:
        post = client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type, "x-amz-server-side-encryption": "AES256"},
            Conditions=[
                {"key": key},
                {"Content-Type": content_type},
                ["content-length-range", size, size],
                {"x-amz-server-side-encryption": "AES256"},
            ],
            ExpiresIn=UPLOAD_EXPIRES,
        )
        return post["url"], post["fields"]

    def head(self, key: str) -> StoredObject | None:
        """Size and type of the object, or None when it does not exist."""
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            if _is_not_found(error):
                return None
            raise StorageUnavailableError() from error
        etag = (answer.get("ETag") or "").strip('"') or None
        return StoredObject(size=answer["ContentLength"], content_type=answer.get("ContentType"), etag=etag)

    def read(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when it does not exist (as on local disk)."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError) as error:
            if _is_not_found(error):
                raise FileNotFoundError(key) from error
            raise StorageUnavailableError() from error

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, ServerSideEncryption="AES256"
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailableError() from error

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix`, page by page (list_objects_v2, 1000 a page)."""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                yield item["Key"]

    def download_url(
        self, key: str, *, file_name: str, content_type: str, as_attachment: bool, expires: int = DOWNLOAD_EXPIRES
    ) -> str:
        """A presigned GET valid `expires` seconds (15 minutes by default); non-images download as attachments."""
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": content_type}
        if as_attachment:
            params["ResponseContentDisposition"] = _disposition(file_name, True)
        return self.signer.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


    def cdn_address(self, key: str) -> str | None:
        """Where the signed CloudFront distribution serves `key` (unsigned), or None when none is configured."""
        domain = getattr(settings, "AWS_CLOUDFRONT_DOMAIN", "")
        return f"https://{domain}/{quote(key)}" if domain else None


def signed_cdn_url(address: str | None, expires: int = DOWNLOAD_EXPIRES) -> str | None:
    """A CloudFront URL signed with a canned policy valid `expires` seconds (SPEC §7: no public CDN URLs), or
    None without an address or without a configured distribution."""
    if not address or not getattr(settings, "AWS_CLOUDFRONT_DOMAIN", ""):
        return None
    from botocore.signers import CloudFrontSigner

    key = _cloudfront_key(settings.AWS_CLOUDFRONT_KEY)
    signer = CloudFrontSigner(settings.AWS_CLOUDFRONT_KEY_ID, lambda message: _rsa_sha1(key, message))
    expiry = datetime.datetime.fromtimestamp(int(time.time()) + expires, tz=datetime.UTC)
    return signer.generate_presigned_url(address, date_less_than=expiry)


@functools.cache
def _cloudfront_key(pem: str):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem.encode(), password=None)


def _rsa_sha1(key, message: bytes) -> bytes:
    """CloudFront's signature scheme: RSA PKCS#1 v1.5 over SHA-1 of the policy."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303  (the algorithm CloudFront verifies)


def _public_signer(client):
    """The client that signs the URLs handed to browsers: `client` itself, or one for
    `AWS_S3_PUBLIC_ENDPOINT_URL` when the server reaches the store at an address browsers cannot
    (docker compose: the app at http://minio:9000, browsers at http://localhost:9000)."""
    public = getattr(settings, "AWS_S3_PUBLIC_ENDPOINT_URL", None)
    if not public:
        return client
    # The same credentials django-storages uses: the settings' keys, else boto3's own chain (environment, role).
    return _signer_for(
        public, client.meta.region_name, client.meta.config,
        getattr(settings, "AWS_ACCESS_KEY_ID", None) or None, getattr(settings, "AWS_SECRET_ACCESS_KEY", None) or None,
    )


@functools.cache
def _signer_for(endpoint: str, region: str, config, access_key: str | None, secret_key: str | None):
    """One signing client per endpoint and credentials, built once per process (a client costs milliseconds)."""
    import boto3

    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key)
    return session.client("s3", endpoint_url=endpoint, region_name=region, config=config)


class LocalBackend:
    """Objects as files under MEDIA_ROOT; forms and links are signed values (Django signing)."""

    name = "local"
    bucket = ""
    region = ""

    def path(self, key: str) -> Path:
        """The file of `key`; keys are built by the server from sanitized names, never from the path."""
        root = Path(settings.MEDIA_ROOT).resolve()
        path = (root / key).resolve()
        if root not in path.parents:
            raise ValueError("key escapes MEDIA_ROOT")
        return path

    def presigned_post(self, *, key: str, content_type: str, size: int) -> tuple[str, dict]:
        """`uploads/local/{signed}` and fields mirroring S3's; the signed value binds key, size and type."""
        signed = signing.dumps({"k": key, "s": size, "t": content_type}, salt=UPLOAD_SALT, compress=True)
        payload, _, signature = signed.rpartition(":")
        fields = {"key": key, "Content-Type": content_type, "policy": payload, "signature": signature}
        return f"/api/v1/uploads/local/{signed}", fields

    def head(self, key: str) -> StoredObject | None:
        path = self.path(key)
        if not path.is_file():
            return None
        return StoredObject(size=path.stat().st_size, content_type=None)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def store_file(self, key: str, source: str) -> None:
        """Move an uploaded temporary file into place (no copy through memory)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, path)
        os.chmod(path, 0o640)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every file's key under `prefix` (a folder of MEDIA_ROOT), walking the tree."""
        root = Path(settings.MEDIA_ROOT).resolve()
        for folder, _, files in os.walk(root / prefix):
            for name in files:
                yield (Path(folder) / name).relative_to(root).as_posix()

    def cdn_address(self, key: str) -> None:
        """Local files are never on a CDN."""
        return None

    def download_url(
        self, key: str, *, file_name: str, content_type: str, as_attachment: bool, expires: int = DOWNLOAD_EXPIRES
    ) -> str:
        """`files/{signed}`, valid `expires` seconds (15 minutes by default, at most an hour)."""
        expires = min(expires, EXPORT_DOWNLOAD_EXPIRES)
        value = {"k": key, "n": file_name, "t": content_type, "a": as_attachment, "x": int(time.time()) + expires}
        return f"/api/v1/files/{signing.dumps(value, salt=DOWNLOAD_SALT, compress=True)}"


logger = logging.getLogger(__name__)


def delete_after_commit(keys, store: S3Backend | LocalBackend | None = None) -> None:
    """Delete these objects (empty keys skipped) once the transaction commits. A failure is logged, never
    raised: the rows are committed already, and `check_storage --fix` deletes what stays behind (SPEC §7)."""
    keys = sorted({key for key in keys if key})
    if not keys:
        return
    store = store or backend()

    def delete() -> None:
        for key in keys:
            try:
                store.delete(key)
            except (BotoCoreError, ClientError, OSError) as error:
                logger.warning("Object %s was not deleted (check_storage --fix will): %s", key, error)

    transaction.on_commit(delete)


def backend() -> S3Backend | LocalBackend:
    """The store chosen by the settings (S3 when a bucket is configured)."""
    return S3Backend() if settings.STORAGE_IS_S3 else LocalBackend()


def local_upload_grant(signed: str) -> dict:
    """`{k: key, s: size, t: type}` of a local upload URL; `signing.BadSignature` when tampered or expired."""
    return signing.loads(signed, salt=UPLOAD_SALT, max_age=UPLOAD_EXPIRES)


def local_download_grant(signed: str) -> dict:
    """`{k, n, t, a, x}` of a local download URL; `signing.BadSignature` when tampered or expired.

    The signed value carries its own expiry `x` (15 minutes, or an hour for the account export); the
    signature's age is capped at the longest of them; a value without `x` is refused.
    """
    grant = signing.loads(signed, salt=DOWNLOAD_SALT, max_age=EXPORT_DOWNLOAD_EXPIRES)
    if grant.get("x", 0) < time.time():
        raise signing.SignatureExpired("The download URL has expired.")
    return grant
