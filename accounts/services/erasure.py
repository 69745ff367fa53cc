"""Account deletion: anonymize the person, keep everyone else's data (SPEC §3.1)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, EmailCode, RefreshToken, UsageMetric, User, default_user_settings
from accounts.parts import check_erasable, erase_account


def _anonymize(user: User, now) -> None:
    user.email = f"deleted+{user.pk}@invalid"
    user.username = None
    user.display_name = ""
    user.avatar_url = None
    user.bio = ""
    user.oidc_issuer = None
    user.oidc_sub = None
    user.settings = default_user_settings()
    user.set_unusable_password()
    user.email_verified = False
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.deleted_at = now
    user.save()
    user.groups.clear()
    user.user_permissions.clear()


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Erase an account in one transaction; refused (409) while an app says no, e.g. a shared team workspace.

    Every app's part goes first (accounts.parts: owned workspaces soft-deleted with their
    documents, memberships ended, ...), then tokens, codes, AI provider keys and usage records, then the
    person is anonymized.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    check_erasable(user)
    erase_account(user)
    RefreshToken.objects.filter(user=user).delete()
    EmailCode.objects.filter(user=user).delete()
    ApiKey.objects.filter(user=user).delete()
    UsageMetric.objects.filter(user=user).delete()
    _anonymize(user, timezone.now())
