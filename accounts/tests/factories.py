"""factory_boy factories for accounts."""

from __future__ import annotations

from functools import lru_cache

import factory
from django.conf import settings
from django.contrib.auth.hashers import make_password

from accounts.models import User

DEFAULT_PASSWORD = "Correct-Horse-9"


def default_password_hash() -> str:
    """One real hash of DEFAULT_PASSWORD per hasher setting, shared by factory users (hashing is slow by design)."""
    return _hash_with(tuple(settings.PASSWORD_HASHERS))


@lru_cache(maxsize=4)
def _hash_with(hashers: tuple[str, ...]) -> str:
    return make_password(DEFAULT_PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    email_verified = True
    password = factory.LazyFunction(default_password_hash)

    class Params:
        unverified = factory.Trait(email_verified=False)
        oidc_only = factory.Trait(
            password=factory.LazyFunction(lambda: make_password(None)),
            oidc_issuer="https://issuer.example",
            oidc_sub=factory.Sequence(lambda n: f"sub-{n}"),
        )
