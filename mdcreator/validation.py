"""Request validation shared by every views module."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote_to_bytes

from mdcreator.errors import NotFoundError, ValidationProblem


def validated(serializer_class, data, **kwargs) -> dict:
    """Validate `data` with a DRF serializer; a 400 problem naming the fields otherwise."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query_text_problem(raw: str) -> str | None:
    """Why one percent-encoded name or value of a query string is not text (invalid UTF-8, NUL), or None."""
    try:
        text = unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return "Not valid UTF-8."
    return "NUL characters are not allowed." if "\x00" in text else None


def query_params(request):
    """`request.query_params`, once every parameter is text: 400 naming each one that is not valid UTF-8 or holds
    NUL once percent-decoded (SPEC §9).

    Django decodes query strings leniently (an invalid byte becomes U+FFFD), so the check reads the raw
    QUERY_STRING. Bytes outside ASCII sent raw never get this far (daphne refuses such a request line with a
    400 of its own); what reaches here undecodable came percent-encoded.
    """
    errors: dict[str, list[str]] = {}
    for part in request.META.get("QUERY_STRING", "").split("&"):
        name, _, value = part.partition("=")
        if _query_text_problem(name):
            errors.setdefault("non_field_errors", []).append("A query parameter's name is not valid UTF-8 text.")
            continue
        problem = _query_text_problem(value)
        if problem:
            errors.setdefault(unquote_to_bytes(name.replace("+", " ")).decode("utf-8"), []).append(problem)
    if errors:
        raise ValidationProblem(errors)
    return request.query_params


_ASCII_INTEGER = re.compile(r"-?[0-9]+")


def ascii_integer(text) -> int | None:
    """The integer a string spells in ASCII digits, with an optional leading minus, else None.

    What every integer read from a request goes through (SPEC §9): `int()` also takes other scripts' digits
    ("١٢", "１２" are 12), surrounding spaces, a `+` and `_` between digits, none of which is a number in a
    query string or a JSON string. A number too long for `int()` to convert (thousands of digits) is None too.
    """
    if not isinstance(text, str) or not _ASCII_INTEGER.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def ascii_digits(text) -> int | None:
    """The number a string of ASCII digits spells (no sign), else None.

    `str.isdigit()` is also true of superscripts ("²", which `int()` refuses) and of other scripts' digits
    ("١", "１", which `int()` reads as 1): neither is a number in a URL or a query parameter.
    """
    if not isinstance(text, str) or text.startswith("-"):
        return None
    return ascii_integer(text)


def uuid_or_404(value) -> uuid.UUID:
    """An id from a URL path: a malformed one is simply an unknown object (404, SPEC §0)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFoundError() from None


def first_or_404(objects, detail: str):
    """The first object of a queryset, or a 404 problem saying `detail`."""
    found = objects.first()
    if found is None:
        raise NotFoundError(detail)
    return found
