"""The existing client's document sharing paths (SPEC §3.9) over the grant and share-link services (§3.4).

- `POST documents/{id}/invite {emails, role, message, send_email}`: one `share_create` per email; each
  email's refusal is reported in `errors`, the others go through.
- `GET documents/{id}/members`: the grants (`members`, `{id}` = the grant's id) and the pending
  document invitations (`pending_invites`); `POST documents/{id}/members/{id}/role` and
  `DELETE documents/{id}/members/{id}` change and revoke one grant.
- `POST share/validate {token, password}` (public): resolves a link like `share-links/resolve` (one use
  counted) but always answers 200, `valid:false` with a `reason` when the link opens nothing.

Managing grants needs the `share` ability (flag invite), as on `documents/{id}/shares`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import selectors
from documents import serializers as s
from documents.errors import InvalidPasswordError, PasswordRequiredError
from documents.models import Document, DocumentShare
from documents.permissions import DocumentAbility, check_ability
from documents.services import links, shares
from mdcreator.errors import NotFoundError, ProblemError, ValidationProblem
from mdcreator.fields import StrictBooleanField, StrictCharField
from mdcreator.problems import flatten_errors
from mdcreator.ratelimit import client_ip
from workspaces.serializers import InvitationSerializer

MAX_EMAILS = 50
GRANT_ROLES_MESSAGE = (
    "A document is shared as editor, commenter or viewer; admin and owner are workspace roles "
    "(invite the person to the workspace instead)."
)
# Why a link opens nothing, in the client's words, for the refusals the resolver raises.
LINK_REFUSALS = {PasswordRequiredError: "password_required", InvalidPasswordError: "invalid_password"}
_ENTRIES = serializers.ListField(child=serializers.DictField())
INVITED = inline_serializer("DocumentInvited", {"success": serializers.BooleanField(), "invited": _ENTRIES,
                                                "errors": _ENTRIES})
MEMBERS = inline_serializer("DocumentMembers", {"members": _ENTRIES, "pending_invites": _ENTRIES})
DONE = inline_serializer("DocumentMemberDone", {"success": serializers.BooleanField(), "message": serializers.CharField()})
ROLE_CHANGED = inline_serializer(
    "DocumentMemberRoleChanged",
    {"success": serializers.BooleanField(), "message": serializers.CharField(), "member": serializers.DictField()},
)
VALIDATED = inline_serializer(
    "ShareLinkValidated",
    {
        "valid": serializers.BooleanField(),
        "document_id": serializers.UUIDField(allow_null=True),
        "mode": serializers.CharField(allow_null=True),
        "reason": serializers.CharField(allow_null=True),
        "share_token": serializers.CharField(allow_null=True),
    },
)


class GrantRoleField(serializers.ChoiceField):
    """A grant role; the workspace-only roles the client offers are refused with the reason."""

    def __init__(self, **kwargs):
        super().__init__(choices=DocumentShare.Role.choices, **kwargs)
        self.error_messages["invalid_choice"] = GRANT_ROLES_MESSAGE


class DocumentInviteSerializer(serializers.Serializer):
    # Each address is checked on its own: a bad one is an entry of `errors`, not a refused request.
    emails = serializers.ListField(child=StrictCharField(max_length=320), min_length=1, max_length=MAX_EMAILS)
    role = GrantRoleField(required=False, default=DocumentShare.Role.EDITOR)
    message = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=1000, default=None)
    send_email = StrictBooleanField(required=False, default=True)


class DocumentMemberRoleSerializer(serializers.Serializer):
    role = GrantRoleField()


class ShareValidateSerializer(serializers.Serializer):
    token = StrictCharField(max_length=200)
    password = StrictCharField(required=False, allow_null=True, max_length=128, trim_whitespace=False, default=None)


def _validated(serializer_class, data) -> dict:
    """Like `validated`, with the first message also in `detail`: the client shows `detail` to the user."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        errors = flatten_errors(serializer.errors)
        field, messages = next(iter(errors.items()))
        raise ValidationProblem(errors, detail=f"{field}: {messages[0]}")
    return serializer.validated_data


def _managed_document(view, pk) -> Document:
    """The document, once the caller may manage its grants (404 unseen, 403 otherwise)."""
    document = selectors.document_get(user=view.request.user, document_id=pk, summary=False)
    check_ability(view, document, "share")
    return document


def member_body(share: DocumentShare) -> dict:
    """A grant as the SPEC `Share`, plus the client's member names (`principal_*`, `user_email`, `user_name`)."""
    body = s.ShareSerializer(share).data
    return {
        **body,
        "principal_type": "user",
        "principal_id": str(share.user_id),
        "user_email": share.user.email,
        "user_name": share.user.display_name,
    }


def invite_body(invitation) -> dict:
    """A pending document invitation as the SPEC `Invitation`, plus the client's inviter names."""
    inviter = invitation.invited_by
    return {
        **InvitationSerializer(invitation).data,
        "inviter_name": inviter.display_name if inviter else None,
        "inviter_email": inviter.email if inviter else None,
    }


def _invite_one(request, document: Document, email: str, data: dict) -> dict:
    """Grant or invite one address; a refusal raises the problem the SPEC endpoint would answer."""
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationProblem({"email": ["Enter a valid email address."]}, detail="Not a valid email address.") from None
    made = shares.share_create(
        actor=request.user, document=document, role=data["role"], email=email, message=data["message"] or ""
    )
    if isinstance(made, DocumentShare):
        return {"email": email, "status": "granted", "role": made.role, "share_id": str(made.pk),
                "user_id": str(made.user_id), "invitation_id": None}
    return {"email": email, "status": "pending", "role": made.role, "share_id": None, "user_id": None,
            "invitation_id": str(made.pk)}


class DocumentInviteView(APIView):
    """`documents/{id}/invite`: grant the document to accounts, invite the other addresses by email."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], request=DocumentInviteSerializer, responses=INVITED)
    def post(self, request, pk):
        document = _managed_document(self, pk)
        data = _validated(DocumentInviteSerializer, request.data)
        invited, errors, seen = [], [], set()
        for raw in data["emails"]:
            email = raw.strip().lower()
            if email in seen:
                continue
            seen.add(email)
            try:
                invited.append(_invite_one(request, document, email, data))
            except ProblemError as problem:
                errors.append({"email": email, "code": problem.code, "status": problem.status,
                               "detail": problem.detail})
        return Response({"success": not errors, "invited": invited, "errors": errors})


class DocumentMembersView(APIView):
    """`documents/{id}/members`: the grants and the pending invitations of one document."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], responses=MEMBERS)
    def get(self, request, pk):
        document = _managed_document(self, pk)
        return Response(
            {
                "members": [member_body(share) for share in selectors.share_list(document=document)],
                "pending_invites": [
                    invite_body(invitation) for invitation in selectors.pending_document_invitations(document=document)
                ],
            }
        )


class DocumentMemberView(APIView):
    """`documents/{id}/members/{grant_id}`: revoke (DELETE); `…/role` changes the role (POST)."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], request=DocumentMemberRoleSerializer, responses=ROLE_CHANGED)
    def post(self, request, pk, member_id):
        document = _managed_document(self, pk)
        share = selectors.share_get(document=document, share_id=member_id)
        data = _validated(DocumentMemberRoleSerializer, request.data)
        share = shares.share_update(share=share, role=data["role"])
        message = f"{share.user.display_name} is now {share.role} of this document."
        return Response({"success": True, "message": message, "member": member_body(share)})

    @extend_schema(tags=["client"], responses=DONE)
    def delete(self, request, pk, member_id):
        document = _managed_document(self, pk)
        shares.share_revoke(share=selectors.share_get(document=document, share_id=member_id))
        return Response({"success": True, "message": "Access to this document was removed."})


class ShareValidateView(APIView):
    """`share/validate` (public): whether a link's token opens its document, and why not."""

    authentication_classes: list = []  # public, like share-links/resolve: a stale Authorization header is ignored
    permission_classes = [AllowAny]

    @extend_schema(tags=["client"], request=ShareValidateSerializer, responses=VALIDATED)
    def post(self, request):
        data = _validated(ShareValidateSerializer, request.data)
        try:
            link, session = links.link_resolve(
                token=data["token"], password=data["password"], client_key=client_ip(request)
            )
        except (PasswordRequiredError, InvalidPasswordError) as refusal:
            return Response(_invalid(LINK_REFUSALS[type(refusal)]))
        except NotFoundError:
            return Response(_invalid(selectors.link_unusable_reason(data["token"])))
        return Response(
            {"valid": True, "document_id": str(link.document_id), "mode": link.mode, "reason": None,
             "share_token": session}
        )


def _invalid(reason: str) -> dict:
    return {"valid": False, "document_id": None, "mode": None, "reason": reason, "share_token": None}
