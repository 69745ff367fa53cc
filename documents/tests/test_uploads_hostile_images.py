"""Whatever bytes claim to be an image, reading them ends in a thumbnail or a verification failure (a 400),
never in another exception (a 500)."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from documents.errors import UploadVerificationFailedError
from documents.services.attachments import _inspect_image

FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


def _valid(content_type: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format=FORMATS[content_type])
    return out.getvalue()


VALID = {content_type: _valid(content_type) for content_type in FORMATS}


@st.composite
def mangled(draw):
    """A valid small image of one type, truncated, overwritten in places or with a random tail."""
    content_type = draw(st.sampled_from(sorted(FORMATS)))
    data = bytearray(VALID[content_type])
    how = draw(st.sampled_from(["truncate", "flip", "tail"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "flip":
        for position in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            data[position] = draw(st.integers(0, 255))
    else:
        data = data[:16] + draw(st.binary(max_size=300))
    return content_type, bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_uploads_a_mangled_image_is_a_thumbnail_or_a_verification_failure(case):
    content_type, data = case
    try:
        metadata, thumbnail = _inspect_image(data, content_type)
    except UploadVerificationFailedError:
        return
    assert metadata["format"] == FORMATS[content_type] and thumbnail.startswith(b"RIFF")


@pytest.mark.parametrize("content_type", sorted(FORMATS))
def test_uploads_an_intact_image_of_each_type_is_read(content_type):
    metadata, thumbnail = _inspect_image(VALID[content_type], content_type)
    assert (metadata["width"], metadata["height"], metadata["format"]) == (40, 30, FORMATS[content_type])
    assert thumbnail[8:12] == b"WEBP"
