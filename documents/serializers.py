"""Input and output shapes of documents, versions, folders and search (SPEC §3.3)."""

from __future__ import annotations

import base64
import binascii

from rest_framework import serializers

from accounts.serializers import UserSummarySerializer, summary_of
from documents.content import TITLE_MAX
from documents.models import Document, DocumentShare, DocumentVersion, ShareLink
from documents.selectors import comment_rows, comments_with_counts
from mdcreator.fields import (
    IntegerField,
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictUUIDField,
    TimestampField,
)
from mdcreator.pagination import MAX_OFFSET
from mdcreator.timestamps import utc_timestamp_or_none
from mdcreator.validation import ascii_digits
from workspaces.serializers import ColorField

# Far above the 5 MiB content limit in characters; the exact byte check is the service's.
CONTENT_FIELD = {"allow_blank": True, "trim_whitespace": False, "max_length": 6 * 1024 * 1024}


class TitleField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=TITLE_MAX, **kwargs)


class TagListField(serializers.ListField):
    child = StrictCharField(max_length=200, allow_blank=True, trim_whitespace=False)


class DocumentCreateSerializer(serializers.Serializer):
    id = StrictUUIDField(required=False)
    title = TitleField()
    type = serializers.ChoiceField(choices=Document.Type.choices, default=Document.Type.MARKDOWN)
    content = StrictCharField(required=False, **CONTENT_FIELD)
    folder_id = StrictUUIDField(required=False, allow_null=True, default=None)
    # No default: an absent `tags` lets `metadata.tags` stand in for it (SPEC §3.3).
    tags = TagListField(required=False)
    metadata = JSONObjectField(required=False, default=dict)
    settings = JSONObjectField(required=False, default=dict)


class YjsStateField(StrictCharField):
    """A Yjs update in base64, as bytes; null or "" is no state. Whether the bytes decode is collab's to say."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, allow_blank=True, max_length=12 * 1024 * 1024, **kwargs)

    def to_internal_value(self, data) -> bytes | None:
        text = super().to_internal_value(data)
        if not text:
            return None
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Not valid base64.") from None


class DocumentWriteSerializer(serializers.Serializer):
    """PUT (title and content required) and PATCH (any field)."""

    title = TitleField()
    content = StrictCharField(**CONTENT_FIELD)
    tags = TagListField(required=False)
    metadata = JSONObjectField(required=False)
    settings = JSONObjectField(required=False)
    folder_id = StrictUUIDField(required=False, allow_null=True)
    is_starred = StrictBooleanField(required=False)
    # The existing client's precondition and CRDT state (SPEC §3.9); null is the same as absent.
    expected_yjs_version = IntegerField(required=False, allow_null=True, min_value=0)
    yjs_state_b64 = YjsStateField(required=False)


class DocumentSummarySerializer(serializers.Serializer):
    """`DocSummary`: a document without content, settings and access."""

    id = serializers.UUIDField()
    workspace_id = serializers.UUIDField()
    folder_id = serializers.UUIDField(allow_null=True)
    title = serializers.CharField()
    type = serializers.CharField()
    content_hash = serializers.CharField()
    size_bytes = serializers.IntegerField()
    word_count = serializers.IntegerField()
    tags = serializers.SerializerMethodField()
    metadata = serializers.JSONField()
    is_starred = serializers.BooleanField()
    creator = UserSummarySerializer(source="created_by")
    last_editor = UserSummarySerializer(source="updated_by", allow_null=True)
    view_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    version_count = serializers.IntegerField()
    created_at = TimestampField()
    updated_at = TimestampField()
    last_viewed_at = TimestampField()
    last_edited_at = TimestampField()
    deleted = serializers.BooleanField()
    deleted_at = TimestampField()

    def get_tags(self, document) -> list[str]:
        tags = getattr(document, "tag_list", None)  # set by `selectors.document_get`
        return tags if tags is not None else [row.tag for row in document.tag_rows.all()]


class DocumentSerializer(DocumentSummarySerializer):
    """`Document`: the summary plus content, settings and the caller's `access` (from `obj.access`)."""

    content = serializers.CharField()
    settings = serializers.JSONField()
    access = serializers.SerializerMethodField()
    # The existing client's names for `type` and `version_count` (SPEC §3.3).
    content_type = serializers.CharField(source="type", read_only=True)
    version = serializers.IntegerField(source="version_count", read_only=True)

    def get_access(self, document) -> dict:
        """The caller's role and where it comes from, with three abilities of the resolver's table."""
        access = document.access
        return {
            "role": access.role,
            "source": str(access.source),
            "can_edit": access.can("partial_update"),
            "can_comment": access.can("comment"),
            "can_delete": access.can("destroy"),
        }


class DocumentDetailSerializer(DocumentSerializer):
    """`GET documents/{id}`: a markdown document also carries its Yjs state (SPEC decision 39)."""

    yjs_state_b64 = serializers.CharField(required=False, help_text="The whole Yjs state, base64 (markdown only).")
    yjs_version = serializers.IntegerField(required=False, help_text="The state's last update seq (markdown only).")


class DocumentListSerializer(serializers.Serializer):
    documents = DocumentSummarySerializer(many=True)
    cursor = serializers.CharField(allow_null=True)
    has_more = serializers.BooleanField()
    total = serializers.IntegerField()


class DocumentListQuerySerializer(serializers.Serializer):
    limit = IntegerField(min_value=1, max_value=100, default=50)
    cursor = serializers.CharField(required=False, max_length=2000)
    type = serializers.ChoiceField(choices=Document.Type.choices, required=False)
    tags = serializers.CharField(required=False, max_length=4000)
    folder_id = serializers.UUIDField(required=False)
    starred = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(required=False, max_length=256)
    sort = serializers.ChoiceField(choices=["updated_at", "created_at", "title"], default="updated_at")
    order = serializers.ChoiceField(choices=["asc", "desc"], default="desc")
    deleted = serializers.BooleanField(required=False, default=False)


class StarSerializer(serializers.Serializer):
    is_starred = serializers.BooleanField()


class VersionSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    version_number = serializers.IntegerField()
    title = serializers.CharField()
    content_hash = serializers.CharField()
    source = serializers.CharField()
    change_description = serializers.CharField()
    changes_summary = serializers.JSONField()
    created_by = UserSummarySerializer()
    created_at = TimestampField()
    size_bytes = serializers.IntegerField()


class VersionSerializer(VersionSummarySerializer):
    content = serializers.CharField()
    metadata_snapshot = serializers.JSONField()
    restored_from = serializers.IntegerField(allow_null=True)


class VersionListSerializer(serializers.Serializer):
    versions = VersionSummarySerializer(many=True)
    total = serializers.IntegerField()


class VersionCreateSerializer(serializers.Serializer):
    change_description = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class VersionCreatedSerializer(serializers.Serializer):
    version_id = serializers.UUIDField()
    version_number = serializers.IntegerField()


class DiffQuerySerializer(serializers.Serializer):
    to = serializers.CharField(default="current", max_length=20)
    context = IntegerField(min_value=0, max_value=1000, default=3)

    def validate_to(self, value: str) -> str | int:
        if value == "current":
            return value
        number = ascii_digits(value)
        if number is None or number < 1:
            raise serializers.ValidationError("A version number or 'current'.")
        return number


class DiffSerializer(serializers.Serializer):
    to = serializers.CharField()
    unified_diff = serializers.CharField()
    changes_summary = serializers.JSONField()


class RestoreSerializer(serializers.Serializer):
    version_number = IntegerField(min_value=1)


class RestoredSerializer(serializers.Serializer):
    new_version_number = serializers.IntegerField()
    content_hash = serializers.CharField()


class VersionSourceQuerySerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=DocumentVersion.Source.choices, required=False)


class FolderSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workspace_id = serializers.UUIDField()
    parent_id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()
    icon = serializers.CharField()
    color = serializers.CharField(allow_null=True)
    position = serializers.IntegerField()
    is_expanded = serializers.BooleanField()
    created_by = UserSummarySerializer(allow_null=True)  # SPEC §0: a person is referenced by a user summary
    created_at = TimestampField()
    updated_at = TimestampField()


class FolderWriteSerializer(serializers.Serializer):
    id = StrictUUIDField(required=False)
    name = StrictCharField(max_length=255)
    parent_id = StrictUUIDField(required=False, allow_null=True)
    icon = StrictCharField(max_length=50, required=False, allow_blank=True)
    color = ColorField(required=False, allow_null=True)

    def validate_color(self, value: str | None) -> str | None:
        return value or None  # "no colour" is null (SPEC §1.3), whether sent as null or ""
    position = IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    is_expanded = StrictBooleanField(required=False)


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=256, trim_whitespace=True)
    workspace_id = serializers.UUIDField(required=False)
    type = serializers.ChoiceField(choices=Document.Type.choices, required=False)
    limit = IntegerField(min_value=1, max_value=50, default=20)
    offset = IntegerField(min_value=0, max_value=500, default=0)


class SearchResultSerializer(serializers.Serializer):
    document = DocumentSummarySerializer()
    rank = serializers.FloatField()
    title_highlight = serializers.CharField()
    snippets = serializers.ListField(child=serializers.CharField())


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    total = serializers.IntegerField()


# --- grants (SPEC §3.4) ---------------------------------------------------------------------------------------


class GrantedUserSerializer(UserSummarySerializer):
    """A grantee: the user summary plus the email the grant was made to."""

    email = serializers.EmailField()

    def to_representation(self, user) -> dict:
        return {**super().to_representation(user), "email": user.email}


class ShareSerializer(serializers.Serializer):
    """`Share`: one grant of a document to a person."""

    id = serializers.UUIDField()
    document_id = serializers.UUIDField()
    user = GrantedUserSerializer()
    role = serializers.CharField()
    status = serializers.CharField()
    granted_by = UserSummarySerializer(allow_null=True)
    granted_at = TimestampField()
    expires_at = TimestampField(allow_null=True)


class ShareCreateSerializer(serializers.Serializer):
    """`email` or `user_id` (exactly one), a grant role, an optional expiry and message."""

    email = serializers.EmailField(required=False, max_length=254)
    user_id = StrictUUIDField(required=False)
    role = serializers.ChoiceField(choices=DocumentShare.Role.choices)
    expires_at = TimestampField(required=False, allow_null=True, default=None)
    message = StrictCharField(required=False, allow_blank=True, max_length=1000, default="")

    def validate(self, attrs: dict) -> dict:
        if ("email" in attrs) == ("user_id" in attrs):
            raise serializers.ValidationError({"email": ["Give either an email or a user_id."]})
        return attrs


class ShareUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=DocumentShare.Role.choices, required=False)
    expires_at = TimestampField(required=False, allow_null=True)


class SharedDocumentSerializer(DocumentSummarySerializer):
    """A DocSummary plus the caller's grant role."""

    role = serializers.CharField()


class SharedWithMeSerializer(serializers.Serializer):
    documents = SharedDocumentSerializer(many=True)
    cursor = serializers.CharField(allow_null=True)
    has_more = serializers.BooleanField()


class SharedWithMeQuerySerializer(serializers.Serializer):
    limit = IntegerField(min_value=1, max_value=100, default=50)
    cursor = serializers.CharField(required=False, max_length=2000)


# --- comments (SPEC §3.5) -------------------------------------------------------------------------------------

COMMENT_MAX_CHARS = 10_000


class CommentSerializer(serializers.Serializer):
    """`Comment`; a deleted placeholder keeps its place in the thread with empty content."""

    id = serializers.UUIDField()
    document_id = serializers.UUIDField()
    thread_id = serializers.UUIDField()
    parent_id = serializers.UUIDField(allow_null=True)
    depth = serializers.IntegerField()
    author = UserSummarySerializer()
    content = serializers.CharField()
    content_html = serializers.CharField()
    position = serializers.JSONField(allow_null=True)
    anchor_text = serializers.CharField()
    mentions = serializers.ListField(child=serializers.CharField())
    resolved = serializers.BooleanField()
    resolved_by = UserSummarySerializer(allow_null=True)
    resolved_at = TimestampField(allow_null=True)
    reactions = serializers.SerializerMethodField()
    reply_count = serializers.IntegerField()
    edited = serializers.BooleanField()
    created_at = TimestampField()
    updated_at = TimestampField()
    deleted = serializers.SerializerMethodField()

    def get_reactions(self, comment) -> list[dict]:
        return [{**entry, "count": len(entry["users"])} for entry in comment.reactions]

    def get_deleted(self, comment) -> bool:
        return comment.deleted_at is not None

    def to_representation(self, comment) -> dict:
        """The fields above, from a row of `selectors.comment_rows` (the lists) or a comment annotated with
        `reply_count`; `test_comment_body_equals_the_declared_fields` keeps both equal to the declared fields."""
        return comment_payload(comment if isinstance(comment, dict) else _row_of(comment))


class CommentDetailSerializer(CommentSerializer):
    replies = CommentSerializer(many=True)


class CommentListSerializer(serializers.Serializer):
    comments = CommentSerializer(many=True)
    total = serializers.IntegerField()


class CommentPositionSerializer(serializers.Serializer):
    """`{from, to, blockId}`: where in the document a thread is anchored."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object with from, to and blockId.")
        start, end, block = data.get("from"), data.get("to"), data.get("blockId")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) or not 0 <= start <= end:
            raise serializers.ValidationError("from and to must be integers with 0 <= from <= to.")
        if not isinstance(block, str) or len(block) > 128:
            raise serializers.ValidationError("blockId must be a string of at most 128 characters.")
        return {"from": start, "to": end, "blockId": block}


class CommentCreateSerializer(serializers.Serializer):
    id = StrictUUIDField(required=False)
    content = StrictCharField(max_length=COMMENT_MAX_CHARS, trim_whitespace=False)
    parent_id = StrictUUIDField(required=False, allow_null=True)
    position = CommentPositionSerializer(required=False, allow_null=True)
    anchor_text = StrictCharField(required=False, allow_blank=True, max_length=1000, trim_whitespace=False)
    mentions = serializers.ListField(child=StrictUUIDField(), required=False, max_length=50)

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A comment needs some text.")
        return value


class CommentEditSerializer(serializers.Serializer):
    content = StrictCharField(max_length=COMMENT_MAX_CHARS, trim_whitespace=False)
    mentions = serializers.ListField(child=StrictUUIDField(), required=False, max_length=50)

    def validate_content(self, value: str) -> str:
        return CommentCreateSerializer().validate_content(value)


class CommentListQuerySerializer(serializers.Serializer):
    resolved = serializers.BooleanField(required=False, allow_null=True, default=None)
    thread_id = serializers.UUIDField(required=False)
    limit = IntegerField(min_value=1, max_value=200, default=100)
    offset = IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class ReactionSerializer(serializers.Serializer):
    emoji = StrictCharField(max_length=16, trim_whitespace=False)


def _person(row: dict, prefix: str) -> dict | None:
    """The user summary of `prefix` (author, resolved_by) in a comment row."""
    if row[f"{prefix}_id"] is None:
        return None
    return summary_of(
        row[f"{prefix}_id"], row[f"{prefix}__display_name"], row[f"{prefix}__avatar_url"], row[f"{prefix}__deleted_at"]
    )


def _row_of(comment) -> dict:
    """A comment instance as a `comment_rows` row."""
    row = {name: getattr(comment, name) for name in ("id", "document_id", "thread_id", "parent_id", "depth",
           "content", "content_html", "position", "anchor_text", "mentions", "resolved", "resolved_at", "reactions",
           "edited", "created_at", "updated_at", "deleted_at", "author_id", "resolved_by_id", "reply_count")}
    for prefix in ("author", "resolved_by"):
        person = getattr(comment, prefix) if row[f"{prefix}_id"] else None
        for field in ("display_name", "avatar_url", "deleted_at"):
            row[f"{prefix}__{field}"] = getattr(person, field) if person else None
    return row


def comment_payload(row: dict) -> dict:
    """The `Comment` body of one `selectors.comment_rows` row."""
    return {
        "id": str(row["id"]),
        "document_id": str(row["document_id"]),
        "thread_id": str(row["thread_id"]),
        "parent_id": str(row["parent_id"]) if row["parent_id"] else None,
        "depth": row["depth"],
        "author": _person(row, "author"),
        "content": row["content"],
        "content_html": row["content_html"],
        "position": row["position"],
        "anchor_text": row["anchor_text"],
        "mentions": [str(pk) for pk in row["mentions"]],
        "resolved": row["resolved"],
        "resolved_by": _person(row, "resolved_by"),
        "resolved_at": utc_timestamp_or_none(row["resolved_at"]),
        "reactions": [{**entry, "count": len(entry["users"])} for entry in row["reactions"]],
        "reply_count": row["reply_count"],
        "edited": row["edited"],
        "created_at": utc_timestamp_or_none(row["created_at"]),
        "updated_at": utc_timestamp_or_none(row["updated_at"]),
        "deleted": row["deleted_at"] is not None,
    }


def comment_body(comment_id) -> dict:
    """The REST body of one comment as it stands now (also the payload of its live event)."""
    (row,) = comment_rows(comments_with_counts().filter(pk=comment_id))
    return comment_payload(row)


# --- share links (SPEC §3.4) ----------------------------------------------------------------------------------


class ShareLinkSerializer(serializers.Serializer):
    """`ShareLink`: never its token nor its password."""

    id = serializers.UUIDField()
    link_id = serializers.UUIDField(source="id", read_only=True)  # the existing client's name (SPEC §3.9)
    document_id = serializers.UUIDField()
    mode = serializers.CharField()
    expires_at = TimestampField()
    max_uses = serializers.IntegerField(allow_null=True)
    uses_count = serializers.IntegerField()
    has_password = serializers.SerializerMethodField()
    created_by = UserSummarySerializer(allow_null=True)
    created_at = TimestampField()
    revoked_at = TimestampField(allow_null=True)

    def get_has_password(self, link) -> bool:
        return bool(link.password_hash)


class ShareLinkCreatedSerializer(ShareLinkSerializer):
    token = serializers.CharField()
    url = serializers.CharField()


class ShareLinkCreateSerializer(serializers.Serializer):
    # `edit` is not offered (decision 13): a ChoiceField refuses it with a 400 naming `mode`.
    mode = serializers.ChoiceField(choices=ShareLink.Mode.choices)
    expires_at = TimestampField(required=False, allow_null=True, default=None)
    max_uses = IntegerField(required=False, allow_null=True, min_value=1, max_value=1_000_000, default=None)
    password = StrictCharField(required=False, allow_null=True, min_length=4, max_length=128, trim_whitespace=False,
                               default=None)


class ShareLinkResolveSerializer(serializers.Serializer):
    token = StrictCharField(max_length=200)
    password = StrictCharField(required=False, allow_null=True, max_length=128, trim_whitespace=False, default=None)


class ShareLinkResolvedSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    document_id = serializers.UUIDField()
    mode = serializers.CharField()
    document = DocumentSummarySerializer()
    share_token = serializers.CharField()
