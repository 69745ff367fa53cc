"""Fixtures of the documents tests: the workspaces tests' team (one person per role) and a document in it."""

from __future__ import annotations

import socket
import uuid

import boto3
import pytest

from accounts.tests.factories import UserFactory
from documents.services.links import link_create, link_resolve
from documents.services.shares import share_create
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import client_for
from workspaces.tests.helpers import allow_guests


@pytest.fixture
def document(team):
    """A markdown document of the team workspace, written by its owner."""
    return DocumentFactory(workspace=team.workspace, title="Design notes", content="# Plan\n\nFirst line.\n")


@pytest.fixture
def outsider(document):
    """`make(kind)`: (person, client, headers) of an outsider: `grant-<role>`, or `link-<mode>` (a signed-in
    person holding a share link's session token); guest access is on."""
    allow_guests(document.workspace)
    owner = document.workspace.owner

    def make(kind: str):
        person = UserFactory()
        if kind.startswith("grant-"):
            share_create(actor=owner, document=document, role=kind.removeprefix("grant-"),
                         user_id=person.pk)
            return person, client_for(person), {}
        _, token = link_create(actor=owner, document=document, mode=kind.removeprefix("link-"))
        _, session = link_resolve(token=token, password=None, client_key="test")
        return person, client_for(person), {"HTTP_X_SHARE_TOKEN": session}

    return make


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on a free loopback port, for the whole session: the real HTTP protocol, no patching."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store_mode(request, settings, tmp_path):
    """Run a test against both stores: local disk under a fresh MEDIA_ROOT, and S3 (moto) with a fresh bucket.

    Changing STORAGES makes Django rebuild its storage objects, so the S3 storage reads the bucket below.
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    if request.param == "local":
        settings.STORAGE_IS_S3 = False
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
        return "local"
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"attachments-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_QUERYSTRING_AUTH = True
    settings.AWS_S3_SIGNATURE_VERSION = "s3v4"
    settings.AWS_S3_FILE_OVERWRITE = False
    settings.STORAGE_IS_S3 = True
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    return "s3"
