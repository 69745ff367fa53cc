from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"

    def ready(self) -> None:
        from accounts.parts import AccountPart
        from accounts.parts import register as register_account_part
        from documents import sharing
        from documents.services import accounts, quota, shares, workspace_contents
        from workspaces.access import register_document_source
        from workspaces.contents import WorkspaceContents
        from workspaces.contents import register as register_workspace_contents

        register_account_part(
            AccountPart(name="documents", export=accounts.account_export, erase=accounts.account_erase)
        )
        register_document_source("grant", sharing.grant_access)
        register_document_source("link", sharing.link_access)
        register_workspace_contents(
            WorkspaceContents(
                name="documents",
                trash=workspace_contents.documents_trash_with_workspace,
                restore=workspace_contents.documents_restore_with_workspace,
                counts=workspace_contents.workspace_document_counts,
                accept_invitation=shares.share_accept_invitation,
                storage_used=quota.storage_used,
            )
        )
