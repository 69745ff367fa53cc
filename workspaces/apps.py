from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "workspaces"

    def ready(self) -> None:
        from accounts.parts import AccountPart, register
        from workspaces.services import accounts

        register(
            AccountPart(
                name="workspaces",
                provision=accounts.account_provision,
                export=accounts.account_export,
                check_erasable=accounts.account_check_erasable,
                erase=accounts.account_erase,
            )
        )
