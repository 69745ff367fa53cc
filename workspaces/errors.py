"""Problems specific to workspaces, members and invitations (SPEC §3.2)."""

from mdcreator.errors import ConflictError, GoneError, PermissionDeniedError


class PersonalWorkspaceError(ConflictError):
    code, title = "personal-workspace", "Personal workspace"
    default_detail = "A personal workspace cannot be deleted, transferred or shared; use a team workspace."


class WorkspaceHasMembersError(ConflictError):
    code, title = "workspace-has-members", "Workspace has members"
    default_detail = "Remove the other members before deleting this workspace."


class CannotChangeOwnerError(ConflictError):
    code, title = "cannot-change-owner", "Cannot change the owner"
    default_detail = "The owner's role and permissions change only by transferring ownership."


class CannotRemoveOwnerError(ConflictError):
    code, title = "cannot-remove-owner", "Cannot remove the owner"
    default_detail = "The owner cannot leave or be removed; transfer ownership first."


class NotAMemberError(ConflictError):
    code, title = "not-a-member", "Not a member"
    default_detail = "The new owner must be an active member of the workspace."


class AlreadyMemberError(ConflictError):
    code, title = "already-member", "Already a member"
    default_detail = "This person is already a member of the workspace."


class InvitationPendingError(ConflictError):
    code, title = "invitation-pending", "Invitation pending"
    default_detail = "An invitation for this email is already pending."


class InvitationLimitError(ConflictError):
    code, title = "invitation-limit", "Too many pending invitations"
    default_detail = "A workspace can have at most 50 pending invitations."


class MemberLimitError(ConflictError):
    code, title = "member-limit", "Member limit reached"
    default_detail = "The workspace has reached its member limit (members plus pending invitations)."


class InvitationNotPendingError(ConflictError):
    code, title = "invitation-not-pending", "Invitation not pending"
    default_detail = "Only pending invitations can be revoked."


class InvitationExpiredError(GoneError):
    code, title = "invitation-expired", "Invitation expired"
    default_detail = "This invitation has expired; ask for a new one."


class InvitationGoneError(GoneError):
    default_detail = "This invitation is no longer valid."


class InvitationEmailMismatchError(PermissionDeniedError):
    code, title = "invitation-email-mismatch", "Invitation is for another email"
    default_detail = "This invitation was sent to another email address."


class OwnsSharedWorkspaceError(ConflictError):
    code, title = "owns-shared-workspace", "Owns a shared workspace"
    default_detail = "Transfer or empty the team workspaces you own before deleting your account."
