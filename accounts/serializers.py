"""Input and output shapes of the auth endpoints (SPEC §3.1)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from accounts.services.users import normalize_username
from mdcreator.fields import (
    JSONObjectField,
    ModelSerializer,
    StrictBooleanField,
    StrictCharField,
    StrictEmailField,
    StrictURLField,
)
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none

CODE_FIELD = {"min_length": 6, "max_length": 6}
# Long enough to reach the policy's own "at most 128" message, short enough to keep hashing cheap.
PASSWORD_FIELD = {"max_length": 1024, "trim_whitespace": False}


class SixDigitCodeField(StrictCharField):
    """The 6-digit code from a confirmation or reset email."""

    default_error_messages = {"invalid": "Enter the 6-digit code from the email."}

    def __init__(self, **kwargs):
        super().__init__(**CODE_FIELD, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not value.isascii() or not value.isdigit():
            self.fail("invalid")
        return value


class UsernameField(StrictCharField):
    """A username, folded to lower case (SPEC §10.32)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=40, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return normalize_username(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class MeSerializer(ModelSerializer):
    """The caller's own profile (`Me`)."""

    auth_source = serializers.CharField(read_only=True)
    # The existing web client's names (SPEC §3.1 "Me").
    full_name = serializers.CharField(source="display_name", read_only=True)
    is_verified = serializers.BooleanField(source="email_verified", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "username",
            "display_name",
            "avatar_url",
            "bio",
            "email_verified",
            "settings",
            "features",
            "subscription_tier",
            "subscription_status",
            "auth_source",
            "created_at",
            "updated_at",
            "last_seen_at",
            "full_name",
            "is_verified",
            "is_active",
        ]
        read_only_fields = fields


def me_body(user: User) -> dict:
    """`MeSerializer(user).data`, built directly: a ModelSerializer rebuilds its fields from the model for
    every instance, which cost a tenth of a `GET auth/me`. A test holds the two equal."""
    return {
        "id": str(user.pk),
        "email": user.email,
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "bio": user.bio,
        "email_verified": user.email_verified,
        "settings": user.settings,
        "features": user.features,
        "subscription_tier": user.subscription_tier,
        "subscription_status": user.subscription_status,
        "auth_source": user.auth_source,
        "created_at": utc_timestamp(user.created_at),
        "updated_at": utc_timestamp(user.updated_at),
        "last_seen_at": utc_timestamp_or_none(user.last_seen_at),
        "full_name": user.display_name,
        "is_verified": user.email_verified,
        "is_active": user.is_active,
    }


class UserSettingsSerializer(serializers.Serializer):
    """Known keys of `User.settings`; unknown keys are kept as the client sent them."""

    theme = serializers.ChoiceField(choices=["light", "dark", "system"], required=False)
    editor_mode = serializers.ChoiceField(choices=["wysiwyg", "markdown", "split", "source"], required=False)
    ai_enabled = StrictBooleanField(required=False)
    notifications_enabled = StrictBooleanField(required=False)
    language = StrictCharField(max_length=16, required=False)


class MeUpdateSerializer(serializers.Serializer):
    """PATCH auth/me: any of these; `settings` is merged shallowly."""

    display_name = StrictCharField(max_length=255, required=False)
    username = UsernameField(required=False, allow_null=True)
    avatar_url = StrictURLField(max_length=2048, required=False, allow_null=True)
    bio = StrictCharField(max_length=2000, required=False, allow_blank=True)
    settings = JSONObjectField(required=False)

    def validate_settings(self, value: dict) -> dict:
        known = UserSettingsSerializer(data={k: v for k, v in value.items() if k in UserSettingsSerializer().fields})
        known.is_valid(raise_exception=True)
        return {**value, **known.validated_data}


class SignupSerializer(serializers.Serializer):
    email = StrictEmailField()
    password = StrictCharField(**PASSWORD_FIELD)
    display_name = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    full_name = StrictCharField(max_length=255, required=False, allow_blank=True)  # the web client's display_name
    username = UsernameField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        full_name = attrs.pop("full_name", "")
        if not attrs["display_name"] and full_name:
            attrs["display_name"] = full_name
        return attrs


class SignupResponseSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    email_verified = serializers.BooleanField()
    full_name = serializers.CharField()
    is_verified = serializers.BooleanField()
    is_active = serializers.BooleanField()
    confirmation_required = serializers.BooleanField()
    message = serializers.CharField()
    access_token = serializers.CharField(required=False)
    refresh_token = serializers.CharField(required=False)
    token_type = serializers.CharField(required=False)
    expires_in = serializers.IntegerField(required=False)
    user = MeSerializer(required=False)


class ConfirmSerializer(serializers.Serializer):
    email = StrictEmailField()
    confirmation_code = SixDigitCodeField()


class EmailSerializer(serializers.Serializer):
    email = StrictEmailField()


class LoginSerializer(serializers.Serializer):
    email = StrictEmailField()
    password = StrictCharField(**PASSWORD_FIELD)
    device_id = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


class LoginResponseSerializer(TokenPairSerializer):
    user = MeSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh_token = StrictCharField(max_length=512)


class LogoutSerializer(serializers.Serializer):
    refresh_token = StrictCharField(max_length=512, required=False, allow_null=True, allow_blank=True)
    all_devices = StrictBooleanField(required=False, default=False)


class ResetConfirmSerializer(serializers.Serializer):
    email = StrictEmailField()
    code = SixDigitCodeField()
    new_password = StrictCharField(**PASSWORD_FIELD)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = StrictCharField(**PASSWORD_FIELD)
    new_password = StrictCharField(**PASSWORD_FIELD)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class ConfirmResponseSerializer(MessageSerializer):
    email_verified = serializers.BooleanField()


class ProvidersSerializer(serializers.Serializer):
    local = serializers.DictField()
    oidc = serializers.DictField()


def user_summary(user) -> dict:
    """`{id, display_name, avatar_url}` of a person (SPEC §0); deleted accounts read "Deleted user"."""
    return summary_of(user.pk, user.display_name, user.avatar_url, user.deleted_at)


def summary_of(user_id, display_name: str, avatar_url: str | None, deleted_at) -> dict:
    """`user_summary` from a row's columns, for queries that read them without loading the user."""
    if deleted_at:
        return {"id": str(user_id), "display_name": "Deleted user", "avatar_url": None}
    return {"id": str(user_id), "display_name": display_name, "avatar_url": avatar_url}


class UserSummarySerializer(serializers.Serializer):
    """`{id, display_name, avatar_url}`; deleted accounts read "Deleted user".

    Embedded in every list, so it is rendered by `user_summary` rather than field by field.
    """

    # The fields describe the body for the schema; `to_representation` writes it.
    id = serializers.UUIDField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    avatar_url = serializers.CharField(read_only=True, allow_null=True)

    def to_representation(self, user) -> dict:
        # Subclasses that declare more fields add them to this dict themselves.
        return user_summary(user)


class AccountDeleteSerializer(serializers.Serializer):
    password = StrictCharField(**PASSWORD_FIELD, required=False, allow_blank=True)
