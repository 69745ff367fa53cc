"""Opaque, signed cursors for the document list (SPEC §0: a tampered cursor gives 400)."""

from __future__ import annotations

import json

from django.core import signing

from mdcreator.errors import ValidationProblem

_SIGNER = signing.Signer(salt="documents.cursor")


def encode_cursor(payload: dict) -> str:
    """base64url JSON, signed."""
    raw = json.dumps(payload, separators=(",", ":"), default=str)
    return _SIGNER.sign(signing.b64_encode(raw.encode()).decode())


def decode_cursor(cursor: str, *, sort: str, order: str) -> dict:
    """The payload of a cursor made for this sort; 400 when tampered or made for another sort."""
    try:
        payload = json.loads(signing.b64_decode(_SIGNER.unsign(cursor).encode()))
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise ValidationProblem({"cursor": ["Invalid cursor."]}) from None
    if not isinstance(payload, dict) or payload.get("s") != sort or payload.get("o") != order or "id" not in payload:
        raise ValidationProblem({"cursor": ["This cursor belongs to another sort; start again without it."]})
    return payload
