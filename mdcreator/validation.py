"""Request validation shared by every views module."""

from __future__ import annotations

import uuid

from mdcreator.errors import NotFoundError


def validated(serializer_class, data, **kwargs) -> dict:
    """Validate `data` with a DRF serializer; a 400 problem naming the fields otherwise."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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
