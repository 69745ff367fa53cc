"""Serializer fields with the JSON strictness of SPEC §9 and the timestamp format of §0."""

from __future__ import annotations

from django.core.validators import URLValidator
from django.db import models
from rest_framework import serializers

from mdcreator.timestamps import utc_timestamp_or_none


class TimestampField(serializers.DateTimeField):
    """ISO 8601 UTC with millisecond precision and a `Z`."""

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


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose datetimes render as SPEC §0 timestamps."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: TimestampField,
    }
