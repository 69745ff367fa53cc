"""Problems specific to documents, folders and versions (SPEC §3.3)."""

from mdcreator.errors import ConflictError, ProblemError, ServiceUnavailableError


class IdExistsError(ConflictError):
    code, title = "id-exists", "Id already exists"
    default_detail = "A document with this id already exists."


class FolderIdExistsError(ConflictError):
    code, title = "id-exists", "Id already exists"
    default_detail = "A folder with this id already exists."


class CommentIdExistsError(ConflictError):
    code, title = "id-exists", "Id already exists"
    default_detail = "A comment with this id already exists."


class EditConflictError(ProblemError):
    status, code, title = 412, "edit-conflict", "Edit conflict"
    default_detail = "The document changed since you loaded it."

    def __init__(self, document=None, **extra):
        super().__init__(**extra)
        self.document = document  # the document as it stands (a push conflict answers with its content)


class YjsVersionConflictError(EditConflictError):
    """The existing client's `expected_yjs_version` is stale: the one edit conflict answered with 409 (SPEC §3.9)."""

    status = 409
    default_detail = "The document's collaborative state changed since your version; pull it and try again."


class PreconditionRequiredError(ProblemError):
    status, code, title = 428, "precondition-required", "Precondition required"
    default_detail = "Send If-Match with the ETag you last saw (or * to overwrite) when changing content."


class NotDeletedError(ConflictError):
    # SPEC §3.3 names no specific slug for this 409, so it keeps the generic `conflict` (§0).
    title = "Not deleted"
    default_detail = "This document is not in the trash."


class FolderCycleError(ConflictError):
    code, title = "folder-cycle", "Folder cycle"
    default_detail = "A folder cannot be moved into itself or one of its subfolders."


class AlreadyHasAccessError(ConflictError):
    code, title = "already-has-access", "Already has access"
    default_detail = "This person already holds a grant on this document; change its role instead."


class PasswordRequiredError(ProblemError):
    status, code, title = 401, "password-required", "Password required"
    default_detail = "This link is protected by a password."


class InvalidPasswordError(ProblemError):
    status, code, title = 401, "invalid-password", "Invalid password"
    default_detail = "The password of this link is wrong."


class StorageQuotaExceededError(ProblemError):
    status, code, title = 413, "storage-quota-exceeded", "Storage quota exceeded"
    default_detail = "This upload would exceed the workspace's storage limit."


class UploadVerificationFailedError(ProblemError):
    status, code, title = 400, "upload-verification-failed", "Upload verification failed"
    default_detail = "The uploaded object does not match what was announced."


class StorageUnavailableError(ServiceUnavailableError):
    """The object store failed for another reason than a missing object: retry later (nothing was changed)."""

    RETRY_AFTER = 30
    default_detail = "The file store is unavailable; try again shortly."

    def __init__(self, detail: str = "", **extra):
        super().__init__(detail, headers={"Retry-After": str(self.RETRY_AFTER)}, **extra)
