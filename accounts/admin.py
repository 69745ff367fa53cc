"""Django admin for accounts (SPEC §8): actions call services; hashes and secrets are never shown.

Support staff (`is_staff` in the `support` group) get view permissions from the
group and may run the actions marked `permissions=["support"]`; superusers may
also edit users. Tokens, codes, AI keys and usage rows are read-only for everybody.
"""

from __future__ import annotations

import csv
import json

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin_base import NOT_YOURS, ReadOnlyAdmin, SupportActionsMixin, YesNoFilter, report_action
from accounts.exports import user_export
from accounts.models import ApiKey, EmailCode, RefreshToken, UsageMetric, User
from accounts.services.codes import email_code_issue, email_code_revoke
from accounts.services.sessions import session_family_revoke, sessions_revoke_all
from accounts.services.users import (
    normalize_username,
    user_create,
    user_deactivate,
    user_mark_verified,
    user_password_set,
    user_reactivate,
)
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none

ADMIN_REASON = RefreshToken.RevokeReason.ADMIN


def _actionable(request, users, *, allow_self: bool = True):
    """The selected accounts the actor may act on; only superusers may act on superusers."""
    if not request.user.is_superuser:
        users = users.exclude(is_superuser=True)
    if not allow_self:
        users = users.exclude(pk=request.user.pk)
    return users


def auth_source_of(user: User) -> str:
    """`local` without an identity-provider link, `oidc` with one and no password, `linked` with both."""
    if not user.oidc_sub:
        return "local"
    return "linked" if user.has_usable_password() else "oidc"


class AuthSourceFilter(admin.SimpleListFilter):
    """Local, OIDC-only or linked (OIDC identity plus a usable password)."""

    title = "auth source"
    parameter_name = "auth_source"

    def lookups(self, request, model_admin):
        return (("local", "Local"), ("oidc", "OIDC only"), ("linked", "Linked (OIDC and password)"))

    def queryset(self, request, queryset):
        no_oidc = Q(oidc_sub__isnull=True) | Q(oidc_sub="")
        no_password = Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        if self.value() == "local":
            return queryset.filter(no_oidc)
        if self.value() == "oidc":
            return queryset.exclude(no_oidc).filter(no_password)
        if self.value() == "linked":
            return queryset.exclude(no_oidc).exclude(no_password)
        return queryset


class RevokedFilter(YesNoFilter):
    """Revoked rows: tokens whose family was revoked, API keys revoked by their owner or an operator."""

    title, parameter_name = "revoked", "revoked"

    def condition(self) -> Q:
        return Q(revoked_at__isnull=False)


class ExpiredFilter(YesNoFilter):
    """Rows past their `expires_at`."""

    title, parameter_name = "expired", "expired"

    def condition(self) -> Q:
        return Q(expires_at__lte=timezone.now())


class UsedFilter(YesNoFilter):
    """Codes already redeemed, replaced, burnt or revoked."""

    title, parameter_name = "used", "used"

    def condition(self) -> Q:
        return Q(used_at__isnull=False)


class _EmailAndUsernameMixin:
    """Lower-cases the email and folds the username the way the API does, with friendly uniqueness errors."""

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError("An account with this email already exists.")
        return email

    def clean_username(self) -> str | None:
        value = self.cleaned_data.get("username")
        if not value:
            return None
        try:
            username = normalize_username(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if User.objects.filter(username__iexact=username).exclude(pk=self.instance.pk).exists():
            raise ValidationError("This username is already taken.")
        return username


class UserAddForm(_EmailAndUsernameMixin, AdminUserCreationForm):
    """New account: email, name, optional username and a validated password (or none, for OIDC)."""

    email = forms.EmailField(max_length=254)

    class Meta:
        model = User
        fields = ("email", "display_name", "username", "email_verified")

    def new_password(self) -> str | None:
        return self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None


class UserChangeForm(_EmailAndUsernameMixin, forms.ModelForm):
    """Edits an account; the password hash is not a field (it has its own page)."""

    email = forms.EmailField(max_length=254)
    # A cleared avatar is NULL, the column's one empty value (Django's TextField form field would give "").
    avatar_url = forms.CharField(required=False, empty_value=None, widget=forms.Textarea)

    class Meta:
        model = User
        # Everything the change page shows and may edit; the password hash has its own page.
        fields = (
            "email", "display_name", "username", "avatar_url", "bio", "settings", "features",
            "subscription_tier", "subscription_status", "subscription_expires_at",
            "is_active", "email_verified", "is_staff", "is_superuser", "groups", "user_permissions",
            "last_login", "last_seen_at", "deleted_at",
        )


class OperatorPasswordForm(AdminPasswordChangeForm):
    """The admin's set-password page, saved through `user_password_set` so sessions end too."""

    def save(self, commit: bool = True) -> User:
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        user_password_set(user=self.user, password=password)
        return self.user


@admin.register(User)
class UserAdmin(SupportActionsMixin, DjangoUserAdmin):
    """Accounts: search, filters, support actions; superusers edit, nobody hard-deletes."""

    form = UserChangeForm
    add_form = UserAddForm
    change_password_form = OperatorPasswordForm
    list_display = (
        "email",
        "display_name",
        "username",
        "auth_source",
        "email_verified",
        "is_active",
        "is_staff",
        "subscription_tier",
        "created_at",
        "last_seen_at",
    )
    list_filter = ("is_active", "is_staff", "email_verified", "subscription_tier", AuthSourceFilter)
    search_fields = ("email", "username", "display_name", "oidc_sub", "id")
    ordering = ("-created_at",)
    readonly_fields = (
        "id",
        "password_status",
        "auth_source",
        "oidc_issuer",
        "oidc_sub",
        "created_at",
        "updated_at",
        "last_seen_at",
        "last_login",
        "deleted_at",
    )
    fieldsets = (
        (None, {"fields": ("id", "email", "display_name", "username", "password_status")}),
        ("Profile", {"fields": ("avatar_url", "bio", "settings", "features")}),
        ("Subscription", {"fields": ("subscription_tier", "subscription_status", "subscription_expires_at")}),
        ("Identity provider", {"fields": ("auth_source", "oidc_issuer", "oidc_sub")}),
        (
            "Access",
            {"fields": ("is_active", "email_verified", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("created_at", "updated_at", "last_login", "last_seen_at", "deleted_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "display_name",
                    "username",
                    "email_verified",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    actions = ("deactivate", "reactivate", "revoke_sessions", "mark_verified", "resend_confirmation", "export_data")

    @admin.display(description="auth source")
    def auth_source(self, obj: User) -> str:
        return auth_source_of(obj)

    @admin.display(description="password")
    def password_status(self, obj: User):
        state = "Set: can sign in with a password." if obj.has_usable_password() else "None: no password sign-in."
        return format_html('{} <a href="{}">Set or change the password</a>', state, "../password/")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Erasure anonymizes the account and keeps shared content (SPEC §3.1,
        # `delete_user`); a hard delete from here would bypass that.
        return False

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            created = user_create(
                email=form.cleaned_data["email"],
                password=form.new_password(),
                display_name=obj.display_name,
                username=obj.username,
                email_verified=obj.email_verified,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        super().save_model(request, obj, form, change)
        if "is_active" in form.changed_data and not obj.is_active:
            # Unticking "active" must end the sessions too, as the deactivate action does.
            user_deactivate(user=obj)

    @admin.action(description="Deactivate and revoke all sessions", permissions=["support"])
    def deactivate(self, request, queryset) -> None:
        users = list(_actionable(request, queryset, allow_self=False))
        revoked = sum(user_deactivate(user=user) for user in users)
        done = f"Deactivated {len(users)} account(s); revoked {revoked} refresh token(s)."
        why = "your own account or " + NOT_YOURS
        report_action(self, request, done=done, selected=queryset, acted=len(users), why=why)

    @admin.action(description="Reactivate", permissions=["support"])
    def reactivate(self, request, queryset) -> None:
        # Erased accounts are anonymized for good; they are never reactivated.
        users = list(_actionable(request, queryset).filter(deleted_at__isnull=True))
        changed = sum(user_reactivate(user=user) for user in users)
        why = "erased accounts or " + NOT_YOURS
        report_action(self, request, done=f"Reactivated {changed} account(s).", selected=queryset, acted=len(users), why=why)

    @admin.action(description="Revoke all sessions", permissions=["support"])
    def revoke_sessions(self, request, queryset) -> None:
        users = list(_actionable(request, queryset))
        revoked = sum(sessions_revoke_all(user=user, reason=ADMIN_REASON) for user in users)
        done = f"Revoked {revoked} refresh token(s) of {len(users)} account(s)."
        report_action(self, request, done=done, selected=queryset, acted=len(users))

    @admin.action(description="Mark email verified", permissions=["support"])
    def mark_verified(self, request, queryset) -> None:
        users = list(_actionable(request, queryset))
        changed = sum(user_mark_verified(user=user) for user in users)
        report_action(self, request, done=f"Marked {changed} account(s) verified.", selected=queryset, acted=len(users))

    @admin.action(description="Resend confirmation code", permissions=["support"])
    def resend_confirmation(self, request, queryset) -> None:
        # Same eligibility as `confirmation_resend`: live, unverified accounts only.
        users = list(
            _actionable(request, queryset).filter(email_verified=False, is_active=True, deleted_at__isnull=True)
        )
        for user in users:
            email_code_issue(user=user, purpose=EmailCode.Purpose.CONFIRM_EMAIL)
        done = f"Sent {len(users)} confirmation code(s)."
        why = "verified, inactive or erased accounts, or " + NOT_YOURS
        report_action(self, request, done=done, selected=queryset, acted=len(users), why=why)


    @admin.action(description="Export data (one account, JSON download)", permissions=["support"])
    def export_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one account to export.", messages.WARNING)
            return None
        user = queryset.get()
        response = HttpResponse(
            json.dumps(user_export(user=user), ensure_ascii=False, indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="mdcreator-export-{user.pk}.json"'
        return response


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    """Refresh tokens by family; `token_hash` is never displayed."""

    list_display = (
        "user",
        "family_id",
        "created_at",
        "expires_at",
        "rotated_at",
        "revoked_at",
        "revoke_reason",
        "ip",
        "device_id",
    )
    list_filter = (RevokedFilter, ExpiredFilter, "revoke_reason")
    list_select_related = ("user",)
    search_fields = ("user__email", "family_id")
    ordering = ("-created_at",)
    fields = (
        "id",
        "user",
        "family_id",
        "family_started_at",
        "parent",
        "created_at",
        "expires_at",
        "rotated_at",
        "revoked_at",
        "revoke_reason",
        "user_agent",
        "ip",
        "device_id",
    )
    actions = ("revoke_family",)

    @admin.action(description="Revoke the selected sessions (whole refresh families)", permissions=["support"])
    def revoke_family(self, request, queryset) -> None:
        tokens = queryset if request.user.is_superuser else queryset.exclude(user__is_superuser=True)
        families = set(tokens.values_list("family_id", flat=True))
        revoked = sum(session_family_revoke(family_id=family, reason=ADMIN_REASON) for family in families)
        done = f"Revoked {revoked} refresh token(s) in {len(families)} session(s)."
        report_action(self, request, done=done, selected=queryset, acted=tokens.count(), why="sessions of superusers")


@admin.register(EmailCode)
class EmailCodeAdmin(ReadOnlyAdmin):
    """Emailed one-time codes; `code_hash` is never displayed."""

    list_display = ("user", "purpose", "attempts", "expires_at", "used_at", "created_at", "is_usable")
    list_filter = ("purpose", UsedFilter, ExpiredFilter)
    list_select_related = ("user",)
    search_fields = ("user__email",)
    ordering = ("-created_at",)
    fields = ("id", "user", "purpose", "attempts", "expires_at", "used_at", "created_at", "is_usable")
    readonly_fields = ("is_usable",)
    actions = ("revoke_codes",)

    @admin.display(boolean=True, description="usable")
    def is_usable(self, obj: EmailCode) -> bool:
        return obj.is_usable

    @admin.action(description="Revoke (mark used)", permissions=["support"])
    def revoke_codes(self, request, queryset) -> None:
        revoked = sum(email_code_revoke(code=code) for code in queryset)
        self.message_user(request, f"Revoked {revoked} code(s).", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Users' AI provider keys: `last4` only; the ciphertext and the hash are never displayed nor searched."""

    list_display = (
        "user",
        "provider",
        "name",
        "last4",
        "is_active",
        "is_valid",
        "usage_count",
        "last_used_at",
        "created_at",
        "revoked_at",
    )
    list_filter = ("provider", "is_active", "is_valid", RevokedFilter)
    list_select_related = ("user",)
    search_fields = ("user__email", "name", "last4")
    ordering = ("-created_at",)
    fields = (
        "id",
        "user",
        "provider",
        "name",
        "description",
        "last4",
        "is_active",
        "is_valid",
        "validation_error",
        "usage_count",
        "last_used_at",
        "created_at",
        "updated_at",
        "revoked_at",
    )
    actions = ("revoke_keys",)

    @admin.action(description="Revoke (deactivate and erase the stored key)", permissions=["support"])
    def revoke_keys(self, request, queryset) -> None:
        keys = queryset if request.user.is_superuser else queryset.exclude(user__is_superuser=True)
        # Already revoked keys keep their revocation time; any ciphertext left on them goes too.
        pending = keys.filter(Q(revoked_at__isnull=True) | ~Q(encrypted_key="") | Q(is_active=True))
        revoked = pending.update(
            is_active=False, encrypted_key="", revoked_at=Coalesce("revoked_at", Value(timezone.now()))
        )
        done = f"Revoked {revoked} API key(s)."
        report_action(self, request, done=done, selected=queryset, acted=keys.count(), why="keys of superusers")


class MetadataFilter(admin.SimpleListFilter):
    """Usage rows whose `metadata[key]` has the chosen value."""

    key = ""
    options: tuple[tuple[str, str], ...] = ()

    def lookups(self, request, model_admin):
        return self.options

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"metadata__{self.key}": self.value()})
        return queryset


class UsageProviderFilter(MetadataFilter):
    title, parameter_name, key = "provider", "provider", "provider"
    options = tuple(ApiKey.Provider.choices)


class UsageKeySourceFilter(MetadataFilter):
    title, parameter_name, key = "key source", "key_source", "key_source"
    options = (("user", "User's key"), ("server", "Server key"))


class UsageStatusFilter(MetadataFilter):
    title, parameter_name, key = "status", "status", "status"
    options = (("success", "Success"), ("error", "Error"), ("timeout", "Timeout"), ("cancelled", "Cancelled"))


USAGE_CSV_COLUMNS = (
    "id", "user_email", "workspace_id", "metric_type", "value", "provider", "model", "endpoint", "prompt_tokens",
    "completion_tokens", "cost_estimate_usd", "key_source", "streamed", "status", "period_start", "period_end",
)
_METADATA_COLUMNS = USAGE_CSV_COLUMNS[5:14]


def _csv_cell(value):
    """A value as a CSV cell; text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def _meta(row: UsageMetric, key: str) -> str:
    """One value of a usage row's metadata ("" when absent: storage and bandwidth rows carry none)."""
    value = row.metadata.get(key) if isinstance(row.metadata, dict) else None
    return "" if value is None else str(value)


@admin.register(UsageMetric)
class UsageMetricAdmin(ReadOnlyAdmin):
    """Metered usage (AI calls with their metadata, storage, bandwidth): read-only, exported as CSV."""

    list_display = (
        "user",
        "workspace",
        "metric_type",
        "value",
        "ai_provider",
        "ai_model",
        "ai_key_source",
        "ai_status",
        "period_start",
    )
    list_filter = ("metric_type", UsageProviderFilter, UsageKeySourceFilter, UsageStatusFilter)
    list_select_related = ("user", "workspace")
    search_fields = ("user__email",)
    date_hierarchy = "period_start"
    ordering = ("-period_start", "-id")
    fields = (
        "id",
        "user",
        "workspace",
        "metric_type",
        "value",
        "metadata",
        "recorded_at",
        "period_start",
        "period_end",
    )
    actions = ("export_csv",)

    @admin.display(description="provider")
    def ai_provider(self, obj: UsageMetric) -> str:
        return _meta(obj, "provider")

    @admin.display(description="model")
    def ai_model(self, obj: UsageMetric) -> str:
        return _meta(obj, "model")

    @admin.display(description="key source")
    def ai_key_source(self, obj: UsageMetric) -> str:
        return _meta(obj, "key_source")

    @admin.display(description="status")
    def ai_status(self, obj: UsageMetric) -> str:
        return _meta(obj, "status")

    @admin.action(description="Export CSV (download the selected rows)", permissions=["support"])
    def export_csv(self, request, queryset) -> HttpResponse:
        rows = queryset.order_by("period_start", "id").values_list(
            "id", "user__email", "workspace_id", "metric_type", "value", "metadata", "period_start", "period_end"
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = utc_timestamp().replace(":", "").replace(".", "")
        response["Content-Disposition"] = f'attachment; filename="mdcreator-usage-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(USAGE_CSV_COLUMNS)
        for pk, email, workspace_id, metric_type, value, metadata, start, end in rows.iterator(chunk_size=2000):
            meta = metadata if isinstance(metadata, dict) else {}
            writer.writerow([
                pk, _csv_cell(email), workspace_id or "", metric_type, value,
                *(_csv_cell(meta.get(column)) for column in _METADATA_COLUMNS),
                utc_timestamp_or_none(start), utc_timestamp_or_none(end),
            ])
        return response
