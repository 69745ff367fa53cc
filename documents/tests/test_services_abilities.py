"""The abilities table as the resolver applies it to documents, folders and workspace collections (SPEC §2.3)."""

import pytest

from documents.tests.factories import FolderFactory
from workspaces.abilities import Kind, Rule, Source, abilities_for
from workspaces.access import Access, resolve
from workspaces.models import WorkspaceMember
from workspaces.roles import effective_flags
from workspaces.tests.helpers import MEMBER_ROLES

pytestmark = pytest.mark.django_db

EDITORS = {"owner", "admin", "editor"}
DELETERS = {"owner", "admin"}
COMMENTERS = {"owner", "admin", "editor", "commenter"}
READ_ONLY_ABILITIES = ("retrieve", "list_versions", "retrieve_version", "diff", "presence", "retrieve_state",
                       "collaborate_read", "star")
EDIT_ABILITIES = ("update", "partial_update", "create_version", "restore_version", "update_state", "collaborate_write")
# Every action SPEC §2.3 and §3.3–3.5 name on one document, written out: the table must answer each and no other.
DOCUMENT_ACTIONS = {
    *READ_ONLY_ABILITIES, *EDIT_ABILITIES, "list_comments", "comment", "resolve_comments", "resolve_own_thread",
    "moderate_comments", "destroy", "undelete", "share",
    "list_attachments", "upload_attachment", "delete_attachment", "delete_own_attachment",
    "list_context_files", "add_context_file", "delete_context_file", "delete_own_context_file",
}


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_abilities_document_follow_the_matrix_for_each_role(team, document, role):
    access = resolve(team.user(role), document)
    assert (access.kind, access.source, access.role) == (Kind.DOCUMENT, Source.MEMBER, role)
    for name in READ_ONLY_ABILITIES:
        assert access.can(name), name
    for name in EDIT_ABILITIES:
        assert access.can(name) is (role in EDITORS), name
    assert access.can("comment") is (role in COMMENTERS)
    assert access.can("destroy") is access.can("undelete") is (role in DELETERS)
    assert access.can("share") is (role in DELETERS)  # flag invite: owner and admin by default
    assert access.can("list_attachments") and access.can("list_context_files")
    assert access.can("upload_attachment") is access.can("add_context_file") is (role in EDITORS)
    assert access.can("delete_own_context_file") is (role in EDITORS)
    assert access.can("delete_context_file") is (role in DELETERS)  # anyone's: admins and the owner
    assert set(access.abilities) == DOCUMENT_ACTIONS


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_abilities_folder_and_workspace_collections_follow_the_matrix(team, role):
    folder = FolderFactory(workspace=team.workspace)
    on_folder, on_workspace = resolve(team.user(role), folder), resolve(team.user(role), team.workspace)
    assert on_folder.kind == Kind.FOLDER and on_workspace.kind == Kind.WORKSPACE
    assert on_folder.can("partial_update") is (role in EDITORS)
    assert on_folder.can("destroy") is (role in DELETERS)
    assert on_workspace.can("list_documents") and on_workspace.can("list_folders")
    assert on_workspace.can("create_document") is on_workspace.can("create_folder") is (role in EDITORS)
    assert on_workspace.can("list_trash") is (role in DELETERS)


def test_abilities_follow_member_overrides(team, document):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).update(
        permissions={"can_edit_documents": False, "can_delete_documents": True}
    )
    access = resolve(team.user("editor"), document)
    assert not access.can("partial_update") and not access.can("collaborate_write")
    assert access.can("destroy") and access.can("comment")


def test_abilities_non_members_and_unknown_abilities_get_nothing(team, document):
    assert resolve(team.user("non_member"), document) is None
    assert resolve(team.user("anonymous"), document) is None
    assert resolve(team.user("owner"), document).can("no_such_action") is False


def test_abilities_of_other_sources_only_where_the_table_lets_them():
    # Grants and share links are sources of their own: personal and member-only rows refuse them.
    editor_grant = Access(role="editor", flags=effective_flags("editor"), source=Source.GRANT, kind=Kind.DOCUMENT)
    assert editor_grant.can("partial_update") and editor_grant.can("star") and editor_grant.can("comment")
    assert not editor_grant.can("destroy") and not editor_grant.can("share")
    assert editor_grant.can("add_context_file") and editor_grant.can("delete_own_context_file")
    assert not editor_grant.can("delete_context_file")
    link = Access(role="commenter", flags=effective_flags("commenter"), source=Source.LINK, kind=Kind.DOCUMENT)
    assert link.can("retrieve") and link.can("comment") and not link.can("star")
    assert link.can("list_context_files") and not link.can("add_context_file")
    on_workspace = Access(role="editor", flags=effective_flags("editor"), source=Source.GRANT)
    assert not any(on_workspace.abilities.values())  # a grantee sees nothing of the workspace itself


def test_abilities_rule_needs_flag_role_and_source():
    rule = Rule(flag="can_comment", min_role="editor", sources=frozenset({Source.MEMBER}))
    flags = effective_flags("admin")
    assert rule.allows(role="admin", flags=flags, source=Source.MEMBER)
    assert not rule.allows(role="admin", flags=flags, source=Source.GRANT)
    assert not rule.allows(role="commenter", flags=effective_flags("commenter"), source=Source.MEMBER)
    assert not rule.allows(role="admin", flags={**flags, "can_comment": False}, source=Source.MEMBER)
    assert abilities_for(Kind.FOLDER, role="viewer", flags=effective_flags("viewer"), source=Source.MEMBER) == {
        "partial_update": False, "destroy": False,
    }
