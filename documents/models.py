"""Documents, folders, tags, stars, versions, the mindmap projection, grants, share links and comments (SPEC §1.3)."""

from __future__ import annotations

import uuid

from django.conf import settings as django_settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from mdcreator.constraints import null_not_empty


def default_document_metadata() -> dict:
    return {"category": None, "priority": "normal", "status": "draft"}


def default_document_settings() -> dict:
    return {"editor_mode": "wysiwyg", "ai_enabled": True, "auto_save": True, "collaboration_enabled": True}


class Folder(models.Model):
    """A folder in a workspace's tree (depth ≤ 10, no cycles)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    name = models.CharField(max_length=255)
    icon = models.CharField(max_length=50, blank=True, default="")
    color = models.CharField(max_length=20, null=True, blank=True)
    position = models.IntegerField(default=0)
    is_expanded = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [null_not_empty("color", name="folder_color_not_empty")]
        indexes = [models.Index(fields=["workspace", "parent", "position"], name="folder_tree_idx")]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    """A markdown, mindmap or presentation document; `content_hash` is its ETag."""

    class Type(models.TextChoices):
        MARKDOWN = "markdown"
        MINDMAP = "mindmap"
        PRESENTATION = "presentation"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="documents")
    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents")
    title = models.CharField(max_length=500)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.MARKDOWN)
    content = models.TextField(blank=True, default="")
    content_hash = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField(default=0)
    word_count = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=default_document_metadata)
    settings = models.JSONField(default=default_document_settings)
    view_count = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    last_edited_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Filled on PostgreSQL only (title A, content B, tags C); its GIN index lives in a migration.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "deleted", "-updated_at"], name="document_ws_updated_idx"),
            models.Index(fields=["workspace", "type"], condition=Q(deleted=False), name="document_ws_type_idx"),
            models.Index(fields=["workspace", "folder"], name="document_ws_folder_idx"),
            models.Index(fields=["created_by"], name="document_created_by_idx"),
            models.Index(fields=["content_hash"], name="document_hash_idx"),
        ]
        # view_document and change_document come with the model; grants add the third (SPEC §2.4).
        permissions = [("comment_document", "Can comment on document")]

    def __str__(self) -> str:
        return self.title


class DocumentTag(models.Model):
    """One tag of a document (case preserved, unique case-insensitively)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint("document", Lower("tag"), name="document_tag_ci_unique")]
        indexes = [models.Index(fields=["tag"], name="document_tag_idx")]

    def __str__(self) -> str:
        return self.tag


class DocumentStar(models.Model):
    """A user's star on a document (stars are personal)."""

    user = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="document_stars")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "document"], name="document_star_unique")]

    def __str__(self) -> str:
        return f"star of {self.user_id} on {self.document_id}"


class DocumentVersion(models.Model):
    """A snapshot of a document's content; auto versions coalesce per author within 10 minutes."""

    class Source(models.TextChoices):
        AUTO = "auto"
        MANUAL = "manual"
        RESTORE = "restore"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    content = models.TextField(blank=True, default="")
    content_hash = models.CharField(max_length=64)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.AUTO)
    change_description = models.TextField(blank=True, default="")
    changes_summary = models.JSONField(default=dict)
    metadata_snapshot = models.JSONField(default=dict)
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    size_bytes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "version_number"], name="document_version_number_unique")
        ]
        indexes = [
            models.Index(fields=["document", "-version_number"], name="version_number_idx"),
            models.Index(fields=["document", "-created_at"], name="version_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.version_number}"


class Mindmap(models.Model):
    """The structured projection of a mindmap document, rewritten with its content."""

    document = models.OneToOneField(Document, on_delete=models.CASCADE, primary_key=True, related_name="mindmap")
    nodes = models.JSONField(default=list)
    edges = models.JSONField(default=list)
    layout_type = models.CharField(max_length=50, default="tree")
    layout_settings = models.JSONField(default=dict)
    ai_generated = models.BooleanField(default=False)
    ai_prompt = models.TextField(blank=True, default="")
    ai_model = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mindmap of {self.document_id}"


class DocumentUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's per-user document permissions, with a real foreign key (indexed checks and lists)."""

    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class DocumentGroupObjectPermission(GroupObjectPermissionBase):
    """django-guardian's per-group document permissions (direct foreign key; unused by the API so far)."""

    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class DocumentShare(models.Model):
    """A document granted to one person, usually outside its workspace; mirrored into guardian permissions."""

    class Role(models.TextChoices):
        VIEWER = "viewer"
        COMMENTER = "commenter"
        EDITOR = "editor"

    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="document_shares")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    granted_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "user"], name="document_share_unique")]
        indexes = [models.Index(fields=["user", "status"], name="document_share_user_idx")]

    def __str__(self) -> str:
        return f"{self.role} grant of {self.document_id} to {self.user_id}"


class ShareLink(models.Model):
    """A link that opens one document to whoever holds its token (view or comment); only the hash is stored."""

    class Mode(models.TextChoices):
        VIEW = "view"
        COMMENT = "comment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="share_links")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.VIEW)
    password_hash = models.CharField(max_length=255, blank=True, default="")
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["document", "revoked_at"], name="share_link_document_idx")]

    def __str__(self) -> str:
        return f"{self.mode} link {self.token_prefix}… of {self.document_id}"


class Comment(models.Model):
    """A comment or reply on a document; replies share their root's `thread_id` (SPEC §3.5)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    thread_id = models.UUIDField()
    depth = models.PositiveSmallIntegerField(default=0)
    author = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    content = models.TextField()
    content_html = models.TextField(blank=True, default="")
    position = models.JSONField(null=True, blank=True)
    anchor_text = models.TextField(blank=True, default="")
    mentions = models.JSONField(default=list)
    # Everyone this comment ever mentioned: a mention email goes out once per person and comment, even
    # when an edit drops the mention and a later one brings it back.
    notified = models.JSONField(default=list)
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    reactions = models.JSONField(default=list)
    edited = models.BooleanField(default=False)
    edit_history = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["document", "created_at"], condition=Q(deleted_at__isnull=True),
                         name="comment_document_live_idx"),
            models.Index(fields=["thread_id", "depth"], name="comment_thread_idx"),
            models.Index(fields=["author"], name="comment_author_idx"),
            models.Index(fields=["document", "resolved"], name="comment_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.document_id}"


class Attachment(models.Model):
    """A file uploaded to a workspace, optionally attached to one document (SPEC §1.3, §7).

    Quota is reserved while `pending` and charged to the workspace at confirm; the object lives
    under `s3_key` in S3 (`s3_bucket`) or under MEDIA_ROOT (`storage_backend` local, empty bucket).
    """

    class Backend(models.TextChoices):
        S3 = "s3"
        LOCAL = "local"

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETE = "complete"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="attachments")
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file_name = models.CharField(max_length=255)
    original_name = models.CharField(max_length=500)
    content_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    storage_backend = models.CharField(max_length=10, choices=Backend.choices)
    s3_bucket = models.CharField(max_length=255, blank=True, default="")
    s3_key = models.CharField(max_length=1000)
    s3_region = models.CharField(max_length=50, blank=True, default="")
    cdn_url = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    processing_status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.TextField(blank=True, default="")
    thumbnail_s3_key = models.CharField(max_length=1000, blank=True, default="")
    thumbnail_url = models.TextField(blank=True, default="")
    uploaded_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    download_count = models.IntegerField(default=0)
    last_accessed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["s3_bucket", "s3_key"], name="attachment_object_unique"),
            null_not_empty("cdn_url", name="attachment_cdn_url_not_empty"),
        ]
        indexes = [
            models.Index(fields=["document"], condition=Q(deleted_at__isnull=True), name="attachment_document_live_idx"),
            models.Index(fields=["workspace"], name="attachment_workspace_idx"),
            models.Index(fields=["uploaded_by"], name="attachment_uploader_idx"),
            models.Index(fields=["processing_status"], condition=~Q(processing_status="complete"),
                         name="attachment_unfinished_idx"),
        ]

    def __str__(self) -> str:
        return self.file_name


class ContextFile(models.Model):
    """A file a document keeps as AI context (SPEC §1.3, §7); the server never sees the device's local path.

    `local` rows are metadata only. `s3`/`hybrid` rows keep their bytes at `s3_key`
    (`context-files/{workspace_id}/{content_hash}`), shared by every row with the same hash in
    the workspace: the object and its quota exist once, however many rows name them.
    """

    class FileType(models.TextChoices):
        MD = "md"
        TXT = "txt"
        CSV = "csv"
        JSON = "json"
        PDF = "pdf"
        DOCX = "docx"
        XLSX = "xlsx"

    class StorageMode(models.TextChoices):
        LOCAL = "local"
        S3 = "s3"
        HYBRID = "hybrid"

    class SyncStatus(models.TextChoices):
        PENDING = "pending"
        UPLOADING = "uploading"
        SYNCED = "synced"
        LOCAL_ONLY = "local_only"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="context_files")
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.CASCADE, related_name="context_files"
    )
    file_name = models.CharField(max_length=500)
    file_type = models.CharField(max_length=10, choices=FileType.choices)
    size_bytes = models.BigIntegerField()
    storage_mode = models.CharField(max_length=10, choices=StorageMode.choices)
    s3_key = models.CharField(max_length=1000, null=True, blank=True)
    s3_etag = models.CharField(max_length=255, null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    metadata = models.JSONField(default=dict, blank=True)
    sync_status = models.CharField(max_length=20, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_accessed_at = models.DateTimeField(null=True, blank=True)
    access_count = models.IntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            null_not_empty("s3_key", name="context_file_s3_key_not_empty"),
            null_not_empty("s3_etag", name="context_file_s3_etag_not_empty"),
        ]
        indexes = [
            models.Index(fields=["document"], name="context_file_document_idx"),
            models.Index(fields=["workspace", "content_hash"], name="context_file_ws_hash_idx"),
            models.Index(fields=["sync_status"], condition=~Q(sync_status="synced"), name="context_file_unsynced_idx"),
        ]

    def __str__(self) -> str:
        return self.file_name
