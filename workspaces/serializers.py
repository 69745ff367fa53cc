"""Input and output shapes of workspaces, members and invitations (SPEC §3.2)."""

from __future__ import annotations

import re

from django.utils import timezone
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from mdcreator.errors import ValidationProblem
from mdcreator.fields import (
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictEmailField,
    StrictUUIDField,
    TimestampField,
)
from workspaces.roles import FLAGS, Role, effective_flags

COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
NON_OWNER_ROLES = [role.value for role in Role if role != Role.OWNER]


class ColorField(StrictCharField):
    """A `#RRGGBB` colour (or empty)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=20, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and not COLOR.match(value):
            raise serializers.ValidationError("Use a #RRGGBB colour.")
        return value


class WorkspaceSettingsSerializer(serializers.Serializer):
    """Known keys of `Workspace.settings`; unknown keys are kept."""

    default_permissions = serializers.ChoiceField(choices=NON_OWNER_ROLES, required=False)
    require_invitation = StrictBooleanField(required=False)
    allow_guest_access = StrictBooleanField(required=False)
    ai_enabled = StrictBooleanField(required=False)


class _SettingsMixin:
    def validate_settings(self, value: dict) -> dict:
        known = WorkspaceSettingsSerializer(data={k: v for k, v in value.items() if k in WorkspaceSettingsSerializer().fields})
        known.is_valid(raise_exception=True)
        if len(str(value)) > 64 * 1024:
            raise serializers.ValidationError("Settings must stay under 64 KiB.")
        return {**value, **known.validated_data}


class WorkspaceCreateSerializer(_SettingsMixin, serializers.Serializer):
    name = StrictCharField(max_length=255)
    description = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")
    icon = StrictCharField(max_length=50, required=False, allow_blank=True, default="")
    color = ColorField(required=False, default="")
    settings = JSONObjectField(required=False, default=dict)


class WorkspaceUpdateSerializer(_SettingsMixin, serializers.Serializer):
    name = StrictCharField(max_length=255, required=False)
    description = StrictCharField(max_length=5000, required=False, allow_blank=True)
    icon = StrictCharField(max_length=50, required=False, allow_blank=True)
    color = ColorField(required=False)
    settings = JSONObjectField(required=False)


class PermissionsField(serializers.DictField):
    """The six effective flags."""

    child = serializers.BooleanField()


class WorkspaceSerializer(serializers.Serializer):
    """`Workspace`, with the caller's `role` and effective `permissions` (from `obj.access`)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    icon = serializers.CharField()
    color = serializers.CharField()
    is_personal = serializers.BooleanField()
    is_team = serializers.BooleanField()
    role = serializers.CharField(source="access.role")
    permissions = PermissionsField(source="access.flags")
    settings = serializers.JSONField()
    storage_used_bytes = serializers.IntegerField()
    storage_limit_bytes = serializers.IntegerField()
    member_limit = serializers.IntegerField()
    document_count = serializers.IntegerField()
    member_count = serializers.IntegerField()
    created_at = TimestampField()
    updated_at = TimestampField()


class WorkspaceDetailSerializer(WorkspaceSerializer):
    owner = UserSummarySerializer()


class WorkspaceListSerializer(serializers.Serializer):
    workspaces = WorkspaceSerializer(many=True)
    items = WorkspaceSerializer(many=True, help_text="The same list as `workspaces`, for the existing client.")
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class MemberSerializer(serializers.Serializer):
    """`Member`: a person's role and effective permissions in the workspace."""

    user_id = serializers.UUIDField()
    display_name = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    avatar_url = serializers.CharField(source="user.avatar_url", allow_null=True)
    role = serializers.CharField()
    permissions = serializers.SerializerMethodField()
    joined_at = TimestampField()
    last_accessed_at = TimestampField()
    is_active = serializers.BooleanField()

    def get_display_name(self, member) -> str:
        return "Deleted user" if member.user.deleted_at else member.user.display_name

    def get_email(self, member) -> str | None:
        return None if member.user.deleted_at else member.user.email

    def get_permissions(self, member) -> dict[str, bool]:
        return effective_flags(member.role, member.permissions)


class ClientMemberSerializer(MemberSerializer):
    """`Member` plus the keys the existing client reads (SPEC §3.9): `id` is the membership's id,
    `full_name` the display name, `granted_at` the join time, `status` active or inactive."""

    id = serializers.UUIDField()
    workspace_id = serializers.UUIDField()
    username = serializers.SerializerMethodField()
    full_name = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    granted_at = TimestampField(source="joined_at")

    def get_username(self, member) -> str | None:
        return None if member.user.deleted_at else member.user.username

    def get_full_name(self, member) -> str:
        return self.get_display_name(member)

    def get_status(self, member) -> str:
        return "active" if member.is_active else "inactive"


class MemberListSerializer(serializers.Serializer):
    members = ClientMemberSerializer(many=True)
    data = ClientMemberSerializer(many=True, help_text="The same list as `members`, for the existing client.")
    total = serializers.IntegerField()
    workspace_id = serializers.UUIDField()


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=NON_OWNER_ROLES, required=False)
    permissions = JSONObjectField(required=False)

    def validate_permissions(self, value: dict) -> dict:
        unknown = [flag for flag in value if flag not in FLAGS]
        wrong = [flag for flag, v in value.items() if flag in FLAGS and v is not None and not isinstance(v, bool)]
        if unknown or wrong:
            raise serializers.ValidationError(
                {**{f: "Unknown permission flag." for f in unknown}, **{f: "Must be true, false or null." for f in wrong}}
            )
        return value


class InviteSerializer(serializers.Serializer):
    email = StrictEmailField()
    role = serializers.ChoiceField(choices=NON_OWNER_ROLES, required=False)
    message = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class ClientRoleField(serializers.ChoiceField):
    """A non-owner role as the existing client names it: its `member` is an editor (SPEC §3.9)."""

    ALIASES = {"member": Role.EDITOR.value}

    def __init__(self, **kwargs):
        super().__init__(choices=[*NON_OWNER_ROLES, *self.ALIASES], **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return self.ALIASES.get(value, value)


class ClientAddMemberSerializer(InviteSerializer):
    """The client's `POST members` body: `{email, role}` invites; `{user_id}` alone is refused, since
    people join only by accepting an invitation."""

    email = StrictEmailField(required=False)
    role = ClientRoleField(required=False)

    def validate(self, attrs: dict) -> dict:
        if "email" not in attrs:
            if "user_id" in self.initial_data:
                detail = "Members cannot be added by user id: people join through invitations, so invite them by email."
                raise ValidationProblem({"user_id": [detail], "email": ["This field is required."]}, detail=detail)
            raise serializers.ValidationError({"email": ["This field is required."]})
        return attrs


class ClientMemberRoleSerializer(serializers.Serializer):
    """The client's role change body."""

    role = ClientRoleField()


class ClientWorkspaceSerializer(WorkspaceSerializer):
    """`Workspace` with `owner_id`, as the client's list of its own workspaces reads it."""

    owner_id = serializers.UUIDField()


class ClientWorkspaceListSerializer(serializers.Serializer):
    data = ClientWorkspaceSerializer(many=True)
    total = serializers.IntegerField()


class InvitationCreatedSerializer(serializers.Serializer):
    invitation_id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.CharField()
    token = serializers.CharField()
    expires_at = TimestampField()
    invitation_link = serializers.CharField()


class InvitationSerializer(serializers.Serializer):
    """`Invitation` as the workspace's managers see it (never the token)."""

    id = serializers.UUIDField()
    email = serializers.CharField()
    role = serializers.CharField()
    status = serializers.SerializerMethodField()
    message = serializers.CharField()
    invited_by = UserSummarySerializer()
    created_at = TimestampField()
    expires_at = TimestampField()
    document_id = serializers.SerializerMethodField()

    def get_status(self, invitation) -> str:
        if invitation.status == "pending" and invitation.expires_at <= timezone.now():
            return "expired"
        return invitation.status

    def get_document_id(self, invitation) -> str | None:
        document_id = getattr(invitation, "document_id", None)
        return str(document_id) if document_id else None


class InvitationListSerializer(serializers.Serializer):
    invitations = InvitationSerializer(many=True)
    total = serializers.IntegerField()


class InvitationPublicSerializer(serializers.Serializer):
    """What the invitee sees from the token."""

    workspace = serializers.SerializerMethodField()
    role = serializers.CharField()
    status = serializers.SerializerMethodField()
    invited_by = UserSummarySerializer()
    expires_at = TimestampField()

    def get_workspace(self, invitation) -> dict:
        workspace = invitation.workspace
        return {"id": str(workspace.pk), "name": workspace.name, "icon": workspace.icon}

    def to_representation(self, invitation) -> dict:
        body = super().to_representation(invitation)
        if invitation.document_id:  # a document invitation names the document it grants
            body["document"] = {"id": str(invitation.document_id), "title": invitation.document.title}
        return body

    def get_status(self, invitation) -> str:
        return InvitationSerializer().get_status(invitation)


class InvitationAcceptedSerializer(serializers.Serializer):
    workspace_id = serializers.UUIDField()
    document_id = serializers.UUIDField(allow_null=True)
    role = serializers.CharField()
    success = serializers.BooleanField(help_text="The existing client's key (SPEC §3.9): always true on 200.")
    message = serializers.CharField(help_text="The existing client's key (SPEC §3.9).")


class TransferSerializer(serializers.Serializer):
    new_owner_id = StrictUUIDField()
    demote_current_owner_to = serializers.ChoiceField(choices=NON_OWNER_ROLES, required=False, default=Role.ADMIN.value)
