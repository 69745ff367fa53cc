"""Request validation shared by every views module."""

from __future__ import annotations


def validated(serializer_class, data, **kwargs) -> dict:
    """Validate `data` with a DRF serializer; a 400 problem naming the fields otherwise."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
