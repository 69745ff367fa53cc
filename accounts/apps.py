from importlib import import_module

from django.apps import AppConfig
from django.core.checks import Tags, register


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.checks import field_encryption_check, signing_keys_check

        register(signing_keys_check, Tags.security, deploy=True)
        register(field_encryption_check, Tags.security)
        import_module("accounts.schema")  # its OpenAPI auth extension registers itself when defined
