from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"

    def ready(self) -> None:
        from accounts.parts import AccountPart
        from accounts.parts import register as register_account_part
        from documents.services import accounts, workspace_contents
        from workspaces.contents import WorkspaceContents
        from workspaces.contents import register as register_workspace_contents

        register_account_part(AccountPart(name="documents", export=accounts.account_export))
        register_workspace_contents(
            WorkspaceContents(
                name="documents",
                trash=workspace_contents.documents_trash_with_workspace,
                restore=workspace_contents.documents_restore_with_workspace,
                counts=workspace_contents.workspace_document_counts,
            )
        )
