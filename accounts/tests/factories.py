"""factory_boy factories for accounts."""

from __future__ import annotations

import factory

from accounts.models import User

DEFAULT_PASSWORD = "Correct-Horse-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    email_verified = True
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])

    class Params:
        unverified = factory.Trait(email_verified=False)
        oidc_only = factory.Trait(
            password=factory.PostGenerationMethodCall("set_unusable_password"),
            oidc_issuer="https://issuer.example",
            oidc_sub=factory.Sequence(lambda n: f"sub-{n}"),
        )
