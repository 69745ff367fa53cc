"""The abilities table: what every action needs, one row per action, per kind of object (STYLE §2).

Abilities are named after the view actions that ask for them. A row names the
permission flag (SPEC §2.2) the caller's effective flags must hold, or the least
workspace role, and where the access may come from: a workspace membership, a
document grant or a share link (§2.3). The resolver (`workspaces.access.resolve`)
computes an object's abilities once from this table; DRF permission classes,
serializers and the socket consumers only read them.

A new ability is one row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from workspaces.roles import CAN_COMMENT, CAN_CREATE, CAN_DELETE, CAN_EDIT, CAN_INVITE, CAN_MANAGE, Role, rank


class Source(StrEnum):
    """Where a caller's access to an object comes from."""

    MEMBER = "member"  # an active workspace membership
    GRANT = "grant"  # a document shared with this person
    LINK = "link"  # a share-link token presented with the request


class Kind(StrEnum):
    """The kinds of object abilities are asked about."""

    WORKSPACE = "workspace"  # the workspace itself, its members, invitations and collections
    DOCUMENT = "document"
    FOLDER = "folder"


ANY_SOURCE = frozenset(Source)
PEOPLE = frozenset({Source.MEMBER, Source.GRANT})  # personal actions: not for link holders
MEMBERS = frozenset({Source.MEMBER})


@dataclass(frozen=True)
class Rule:
    """What an action needs: a flag, or at least a role, and an access from one of `sources`."""

    flag: str | None = None
    min_role: str | None = None
    sources: frozenset[str] = ANY_SOURCE

    def allows(self, *, role: str, flags: Mapping[str, bool], source: str) -> bool:
        """Whether an access with this role, these effective flags and this source may act."""
        if source not in self.sources:
            return False
        if self.flag is not None and not flags.get(self.flag):
            return False
        return self.min_role is None or rank(role) >= rank(self.min_role)


READ = Rule()

ABILITIES: dict[Kind, dict[str, Rule]] = {
    Kind.WORKSPACE: {
        "retrieve": Rule(sources=MEMBERS),
        "list_members": Rule(sources=MEMBERS),
        "pull": Rule(sources=MEMBERS),  # read the sync log (SPEC §3.7)
        "push": Rule(sources=MEMBERS),  # each change then needs the ability of its REST call
        "leave": Rule(sources=MEMBERS),
        "partial_update": Rule(flag=CAN_MANAGE, sources=MEMBERS),
        "destroy": Rule(min_role=Role.OWNER, sources=MEMBERS),
        "transfer_ownership": Rule(min_role=Role.OWNER, sources=MEMBERS),
        "invite": Rule(flag=CAN_INVITE, sources=MEMBERS),
        "list_invitations": Rule(flag=CAN_INVITE, sources=MEMBERS),
        "revoke_invitation": Rule(flag=CAN_INVITE, sources=MEMBERS),
        "update_member": Rule(min_role=Role.ADMIN, sources=MEMBERS),
        "remove_member": Rule(min_role=Role.ADMIN, sources=MEMBERS),
        # The workspace's collections of documents and folders.
        "list_documents": Rule(sources=MEMBERS),
        "list_trash": Rule(flag=CAN_DELETE, sources=MEMBERS),
        "create_document": Rule(flag=CAN_CREATE, sources=MEMBERS),
        "list_folders": Rule(sources=MEMBERS),
        "create_folder": Rule(flag=CAN_CREATE, sources=MEMBERS),
        # Attachments kept in the workspace itself, on no document (SPEC §3.6).
        "upload_attachment": Rule(flag=CAN_EDIT, sources=MEMBERS),
        "delete_attachment": Rule(min_role=Role.ADMIN, sources=MEMBERS),  # anyone's
        "delete_own_attachment": Rule(flag=CAN_EDIT, sources=MEMBERS),
        # Context files left on no document (the API always names one; the model allows none).
        "delete_context_file": Rule(min_role=Role.ADMIN, sources=MEMBERS),  # anyone's
        "delete_own_context_file": Rule(flag=CAN_EDIT, sources=MEMBERS),
    },
    Kind.DOCUMENT: {
        "retrieve": READ,
        # A share link opens the document and its comments only (SPEC §3.4), not its history.
        "list_versions": Rule(sources=PEOPLE),
        "retrieve_version": Rule(sources=PEOPLE),
        "diff": Rule(sources=PEOPLE),
        "presence": Rule(sources=PEOPLE),
        "retrieve_state": READ,  # GET yjs-state
        "collaborate_read": READ,  # open a live socket
        "star": Rule(sources=PEOPLE),
        "list_comments": READ,
        "comment": Rule(flag=CAN_COMMENT),  # write comments and replies, react, edit one's own
        "resolve_comments": Rule(flag=CAN_EDIT),  # resolve or reopen any thread
        "resolve_own_thread": Rule(flag=CAN_COMMENT, sources=PEOPLE),  # ... or the threads one started
        "moderate_comments": Rule(min_role=Role.ADMIN, sources=MEMBERS),  # delete anyone's comment
        "update": Rule(flag=CAN_EDIT),
        "partial_update": Rule(flag=CAN_EDIT),
        "create_version": Rule(flag=CAN_EDIT),
        "restore_version": Rule(flag=CAN_EDIT),
        "update_state": Rule(flag=CAN_EDIT),  # POST yjs-state
        "collaborate_write": Rule(flag=CAN_EDIT),  # edit over a live socket
        "destroy": Rule(flag=CAN_DELETE, sources=MEMBERS),
        "undelete": Rule(flag=CAN_DELETE, sources=MEMBERS),
        "share": Rule(flag=CAN_INVITE, sources=MEMBERS),  # manage grants and share links
        "list_attachments": READ,
        "upload_attachment": Rule(flag=CAN_EDIT, sources=PEOPLE),
        "delete_attachment": Rule(min_role=Role.ADMIN, sources=MEMBERS),  # anyone's
        "delete_own_attachment": Rule(flag=CAN_EDIT, sources=PEOPLE),  # the uploader's own (§2.3)
        "list_context_files": READ,  # list and read one
        "add_context_file": Rule(flag=CAN_EDIT, sources=PEOPLE),
        "delete_context_file": Rule(min_role=Role.ADMIN, sources=MEMBERS),  # anyone's
        "delete_own_context_file": Rule(flag=CAN_EDIT, sources=PEOPLE),  # the creator's own (§2.3)
    },
    Kind.FOLDER: {
        "partial_update": Rule(flag=CAN_EDIT, sources=MEMBERS),
        "destroy": Rule(flag=CAN_DELETE, sources=MEMBERS),
    },
}


def abilities_for(kind: Kind, *, role: str, flags: Mapping[str, bool], source: str) -> dict[str, bool]:
    """Every ability of `kind`, true or false, for an access with this role, flags and source."""
    return {name: rule.allows(role=role, flags=flags, source=source) for name, rule in ABILITIES[kind].items()}
