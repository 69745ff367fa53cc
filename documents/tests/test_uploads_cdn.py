"""`cdn_url` (SPEC §7, decision 16): null unless a signed CloudFront distribution is configured; then a URL
signed with the distribution's key pair (canned policy, 15 minutes), fresh on every read."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from documents.models import Attachment
from documents.tests.attachments import image_bytes, uploaded

pytestmark = pytest.mark.django_db


def _cloudfront_b64decode(value: str) -> bytes:
    return base64.b64decode(value.translate(str.maketrans("-_~", "+=/")))


@pytest.fixture
def cloudfront(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.AWS_CLOUDFRONT_DOMAIN = "files.example.test"
    settings.AWS_CLOUDFRONT_KEY_ID = "K2JCJMDEHXQW5F"
    settings.AWS_CLOUDFRONT_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key.public_key()


def _verified(url: str, public_key) -> dict:
    """The query of a canned-policy CloudFront URL whose signature the distribution's public key accepts."""
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}"
    policy = json.dumps({"Statement": [{"Resource": resource, "Condition": {
        "DateLessThan": {"AWS:EpochTime": int(query["Expires"])}}}]}, separators=(",", ":")).encode()
    public_key.verify(_cloudfront_b64decode(query["Signature"]), policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303  (what CloudFront signs with)
    return query


def test_uploads_cdn_url_is_signed_by_the_distribution_key_when_configured(team, document, store_mode, cloudfront):
    client = team.client("editor")
    body = uploaded(client, store_mode, team.workspace, document, data=image_bytes())
    if store_mode == "local":  # files on local disk are never on a CDN
        assert body["cdn_url"] is None
        return
    row = Attachment.objects.get(pk=body["attachment_id"])
    assert row.cdn_url == f"https://files.example.test/{row.s3_key}"  # the address; a signature is made per read
    query = _verified(body["cdn_url"], cloudfront)
    assert query["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    assert 0 < int(query["Expires"]) - time.time() <= 900
    again = client.get(f"/api/v1/attachments/{body['attachment_id']}").json()
    assert _verified(again["cdn_url"], cloudfront)["Key-Pair-Id"] == "K2JCJMDEHXQW5F"

    tampered = body["cdn_url"].replace(row.s3_key.rsplit("/", 1)[-1], "other.png")
    with pytest.raises(InvalidSignature):
        _verified(tampered, cloudfront)


def test_uploads_cdn_url_is_null_without_a_distribution_even_for_an_address_kept(team, document, store_mode,
                                                                                 settings):
    client = team.client("editor")
    body = uploaded(client, store_mode, team.workspace, document, data=image_bytes())
    assert body["cdn_url"] is None
    Attachment.objects.filter(pk=body["attachment_id"]).update(cdn_url="https://files.example.test/a.png")
    settings.AWS_CLOUDFRONT_DOMAIN = ""  # the distribution was turned off since: nothing unsigned is handed out
    assert client.get(f"/api/v1/attachments/{body['attachment_id']}").json()["cdn_url"] is None


def test_uploads_cdn_domain_without_its_key_pair_refuses_to_start(tmp_path):
    """A distribution named without the key that signs for it would hand out nothing usable: start-up says so."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(MDCREATOR_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="mdcreator.settings",
               AWS_STORAGE_BUCKET_NAME="attachments", AWS_CLOUDFRONT_DOMAIN="files.example.test",
               AWS_CLOUDFRONT_KEY_ID="K2JCJMDEHXQW5F")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=Path(__file__).parents[2],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "AWS_CLOUDFRONT_KEY" in result.stderr.splitlines()[-1] and "ImproperlyConfigured" in result.stderr
