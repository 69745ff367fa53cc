"""Accounts of identity-provider users: link by verified email or create (SPEC §3.1)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.services.users import user_create
from mdcreator import errors


class OidcEmailTakenError(errors.EmailTakenError):
    """409: the address belongs to a local account the provider sign-in may not take over."""

    default_detail = (
        "An account with this email address already exists, and the identity provider does not "
        "confirm that the address is yours. Sign in with your email and password instead."
    )


@transaction.atomic
def oidc_user_provision(*, issuer: str, sub: str, email: str, email_verified: bool, name: str) -> User:
    """Return the account of provider identity (issuer, sub), linking or creating it.

    An existing account with the same email is linked only when the provider
    asserts the address is verified; otherwise 409. A concurrent first sign-in
    of the same identity surfaces as IntegrityError or EmailTakenError, and
    the caller should look the identity up again.
    """
    user = User.objects.filter(oidc_issuer=issuer, oidc_sub=sub).first()
    if user is not None:
        return user
    existing = User.objects.select_for_update().filter(email__iexact=email.strip(), deleted_at__isnull=True).first()
    if existing is None:
        user = user_create(email=email, password=None, display_name=name, email_verified=True)
    elif not email_verified:
        raise OidcEmailTakenError()
    elif existing.oidc_sub is not None:
        raise OidcEmailTakenError("This email address is already linked to another sign-in of the identity provider.")
    else:
        user = existing
        user.email_verified = True
    user.oidc_issuer, user.oidc_sub = issuer, sub
    user.save(update_fields=["oidc_issuer", "oidc_sub", "email_verified", "updated_at"])
    return user
