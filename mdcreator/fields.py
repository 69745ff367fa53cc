"""Serializer fields with the JSON strictness of SPEC §9 and the timestamp format of §0."""

from __future__ import annotations

import re

from django.core.validators import URLValidator
from django.db import models
from rest_framework import serializers

from mdcreator.timestamps import utc_timestamp_or_none
from mdcreator.validation import ascii_integer


class TimestampField(serializers.DateTimeField):
    """ISO 8601 UTC with millisecond precision and a `Z`; read as ISO 8601 in ASCII digits only (Django's
    parser takes any script's digits)."""

    def to_internal_value(self, value):
        if isinstance(value, str) and not value.isascii():
            raise serializers.ValidationError("Write the date and time as ISO 8601 in ASCII digits.")
        return super().to_internal_value(value)

    def to_representation(self, value):
        return utc_timestamp_or_none(value)


class _RequireString:
    """Refuse numbers, booleans and objects where a string is expected."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(_RequireString, serializers.CharField):
    """A string, never a coerced number or boolean."""

    default_error_messages = {"invalid": "Must be a string."}


class StrictEmailField(_RequireString, serializers.EmailField):
    """An email address, lower-cased and trimmed."""

    default_error_messages = {"invalid": "Enter a valid email address."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).strip().lower()


class StrictUUIDField(_RequireString, serializers.UUIDField):
    """A UUID in its string form; DRF would also read an integer as one."""

    default_error_messages = {"invalid": "Must be a valid UUID."}


class StrictURLField(_RequireString, serializers.URLField):
    """An http or https URL."""

    default_error_messages = {"invalid": "Enter a valid http or https URL."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, URLValidator)]
        self.validators.append(URLValidator(schemes=["http", "https"], message=self.error_messages["invalid"]))


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false`; no "yes", 1 or "on"."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class JSONObjectField(serializers.JSONField):
    """A JSON object (dict), not an array or scalar."""

    default_error_messages = {"invalid": "Must be a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return super().to_internal_value(data)


class _AsciiInteger:
    """An integer: a JSON number, or a string of ASCII digits with an optional leading minus (SPEC §9).

    DRF reads a string with `int()`, which also takes other scripts' digits ("١٢", "１２"), spaces, `+`, `_`
    and a trailing ".0".
    """

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if not isinstance(data, str):
            return super().to_internal_value(data)  # a JSON number: whole floats such as 2.0 are still read
        if len(data) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")
        number = ascii_integer(data)
        if number is None:
            self.fail("invalid")
        return number


class IntegerField(_AsciiInteger, serializers.IntegerField):
    """The project's integer field: the serializers declare it, and ModelSerializer maps integer columns to it."""


class BigIntegerField(_AsciiInteger, serializers.BigIntegerField):
    """What ModelSerializer makes of a bigint column."""


# JSON's number grammar, leading zeros aside: what a string may spell where a number is expected.
_ASCII_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


class FloatField(serializers.FloatField):
    """A number: a JSON number, or a string spelling one in ASCII (SPEC §9); `float()` would also read other
    scripts' digits, spaces, `+`, `_`, "nan" and "infinity"."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, str) and not _ASCII_DECIMAL.fullmatch(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


_STRICT_NUMBERS = {
    serializers.IntegerField: IntegerField,
    serializers.BigIntegerField: BigIntegerField,
    serializers.FloatField: FloatField,
}


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose datetimes render as SPEC §0 timestamps and whose numbers are read as ASCII."""

    serializer_field_mapping = {
        **{
            column: _STRICT_NUMBERS.get(field, field)
            for column, field in serializers.ModelSerializer.serializer_field_mapping.items()
        },
        models.DateTimeField: TimestampField,
    }
