"""Accounts: users, refresh-token families and emailed one-time codes (SPEC §1.1)."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from mdcreator.constraints import null_not_empty


def default_user_settings() -> dict:
    return {
        "theme": "system",
        "editor_mode": "wysiwyg",
        "ai_enabled": True,
        "notifications_enabled": True,
        "language": "en",
    }


def default_user_features() -> dict:
    return {"collaboration": True, "ai_proxy": False, "advanced_permissions": False}


class UserManager(BaseUserManager):
    """Creates users with a lower-cased email; passwords hashed by Django."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        email = (email or "").strip().lower()
        if not email:
            raise ValueError("Users need an email address.")
        extra.setdefault("display_name", email.split("@", 1)[0][:255])
        user = self.model(email=email, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True, email_verified=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, email: str) -> User:
        return self.get(email=(email or "").strip().lower())


class User(AbstractBaseUser, PermissionsMixin):
    """A person: local (password) or OIDC (issuer + subject), or both once linked."""

    class Tier(models.TextChoices):
        FREE = "free"
        PRO = "pro"
        TEAM = "team"
        ENTERPRISE = "enterprise"

    class SubscriptionStatus(models.TextChoices):
        ACTIVE = "active"
        TRIALING = "trialing"
        PAST_DUE = "past_due"
        CANCELED = "canceled"
        EXPIRED = "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.CharField(max_length=254)
    username = models.CharField(max_length=40, null=True, blank=True)
    email_verified = models.BooleanField(default=False)
    oidc_issuer = models.CharField(max_length=255, null=True, blank=True)
    oidc_sub = models.CharField(max_length=255, null=True, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    avatar_url = models.TextField(null=True, blank=True)
    bio = models.TextField(blank=True, default="")
    settings = models.JSONField(default=default_user_settings)
    features = models.JSONField(default=default_user_features)
    subscription_tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE)
    subscription_status = models.CharField(
        max_length=20, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    subscription_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(fields=["oidc_issuer", "oidc_sub"], name="accounts_user_oidc_identity_unique"),
            null_not_empty("username", name="accounts_user_username_not_empty"),
            null_not_empty("oidc_issuer", name="accounts_user_oidc_issuer_not_empty"),
            null_not_empty("oidc_sub", name="accounts_user_oidc_sub_not_empty"),
            null_not_empty("avatar_url", name="accounts_user_avatar_url_not_empty"),
        ]
        indexes = [
            models.Index(fields=["last_seen_at"], name="accounts_user_last_seen_idx"),
            models.Index(fields=["subscription_tier", "subscription_status"], name="accounts_user_tier_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def auth_source(self) -> str:
        """`oidc` for accounts that came from the identity provider, else `local`."""
        return "oidc" if self.oidc_sub and not self.has_usable_password() else "local"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name


class RefreshToken(models.Model):
    """One opaque refresh token; a login starts a family, each refresh adds a child."""

    class RevokeReason(models.TextChoices):
        LOGOUT = "logout", "Logout"
        REUSE = "reuse", "Reuse"
        PASSWORD_CHANGE = "password_change", "Password Change"
        ADMIN = "admin", "Admin"
        ACCOUNT_DELETED = "account_deleted", "Account Deleted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    family_id = models.UUIDField(default=uuid.uuid4)
    family_started_at = models.DateTimeField(default=timezone.now)
    token_hash = models.CharField(max_length=64, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    # The child issued at rotation, sealed under a key derived from this (never stored) token: a
    # concurrent tab presenting this token within the grace gets the child back (SPEC §3.1).
    successor_sealed = models.TextField(blank=True, default="")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True, default="")
    user_agent = models.CharField(max_length=255, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    device_id = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        constraints = [null_not_empty("device_id", name="accounts_rt_device_id_not_empty")]
        indexes = [
            models.Index(fields=["family_id"], name="accounts_rt_family_idx"),
            models.Index(fields=["user", "revoked_at"], name="accounts_rt_user_revoked_idx"),
            models.Index(fields=["expires_at"], name="accounts_rt_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"refresh token of {self.user_id} (family {self.family_id})"


class EmailCode(models.Model):
    """A 6-digit code mailed to confirm an address or reset a password; only its HMAC is kept."""

    class Purpose(models.TextChoices):
        CONFIRM_EMAIL = "confirm_email", "Confirm Email"
        RESET_PASSWORD = "reset_password", "Reset Password"

    MAX_ATTEMPTS = 5

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_codes")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "used_at"], name="accounts_code_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.user_id}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now() and self.attempts < self.MAX_ATTEMPTS


class ApiKey(models.Model):
    """A user's own key for an AI provider (SPEC §1.1, §6): only its Fernet ciphertext, hash and last four
    characters are stored; the plaintext exists in memory for one provider call at a time."""

    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    encrypted_key = models.TextField()
    key_hash = models.CharField(max_length=64)
    last4 = models.CharField(max_length=4)
    name = models.CharField(max_length=100, blank=True, default="")
    description = models.TextField(blank=True, default="")
    last_used_at = models.DateTimeField(null=True, blank=True)
    usage_count = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    is_valid = models.BooleanField(default=True)
    validation_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "provider", "key_hash"], name="accounts_apikey_unique"),
        ]
        indexes = [models.Index(fields=["user", "provider", "is_active"], name="accounts_apikey_active_idx")]

    def __str__(self) -> str:
        return f"{self.provider} key …{self.last4} of {self.user_id}"


class UsageMetric(models.Model):
    """One metered amount: an AI call's tokens (with the call's metadata), or a storage or bandwidth reading."""

    class MetricType(models.TextChoices):
        API_REQUEST = "api_request", "API request"
        AI_TOKEN = "ai_token", "AI tokens"
        STORAGE = "storage", "Storage"
        BANDWIDTH = "bandwidth", "Bandwidth"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="usage_metrics")
    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_metrics"
    )
    metric_type = models.CharField(max_length=20, choices=MetricType.choices)
    value = models.BigIntegerField()
    metadata = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index("user", "metric_type", models.F("period_start").desc(), name="accounts_usage_user_idx"),
            models.Index(
                "workspace", "metric_type", models.F("period_start").desc(), name="accounts_usage_workspace_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_type} {self.value} of {self.user_id}"
