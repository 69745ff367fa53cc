"""factory_boy factories for workspaces, members and invitations."""

from __future__ import annotations

import secrets
from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from accounts.tokens import sha256_hex
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create

# Fields workspace_create does not take; the factory writes them after the service ran.
_AFTER_CREATE = ("member_limit", "storage_used_bytes", "storage_limit_bytes", "archived_at", "deleted_at")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    """A team workspace (trait `personal`) created through the service, so its owner row and sync entries exist."""

    class Meta:
        model = Workspace

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Workspace {n}")
    description = ""
    icon = ""
    color = ""
    settings = None
    is_personal = False

    class Params:
        personal = factory.Trait(is_personal=True)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        later = {name: kwargs.pop(name) for name in _AFTER_CREATE if name in kwargs}
        kwargs.pop("is_team", None)
        workspace = workspace_create(**kwargs)
        if later:
            Workspace.objects.filter(pk=workspace.pk).update(**later)
            workspace.refresh_from_db()
        return workspace


class MemberFactory(factory.django.DjangoModelFactory):
    """An active membership (editor unless a role trait or `role=` says otherwise)."""

    class Meta:
        model = WorkspaceMember

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.EDITOR
    permissions = factory.LazyFunction(dict)
    is_active = True
    invitation_accepted_at = factory.LazyFunction(timezone.now)

    class Params:
        admin = factory.Trait(role=Role.ADMIN)
        editor = factory.Trait(role=Role.EDITOR)
        commenter = factory.Trait(role=Role.COMMENTER)
        viewer = factory.Trait(role=Role.VIEWER)
        inactive = factory.Trait(is_active=False)


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation; the plaintext token is kept on the instance as `.token` (only its hash is stored)."""

    class Meta:
        model = Invitation

    workspace = factory.SubFactory(WorkspaceFactory)
    invited_by = factory.LazyAttribute(lambda o: o.workspace.owner)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.EDITOR
    token = factory.LazyFunction(lambda: secrets.token_hex(32))
    token_hash = factory.LazyAttribute(lambda o: sha256_hex(o.token))
    status = Invitation.Status.PENDING
    message = ""
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))

    class Params:
        expired = factory.Trait(expires_at=factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=1)))
        revoked = factory.Trait(status=Invitation.Status.REVOKED)
        declined = factory.Trait(status=Invitation.Status.DECLINED, declined_at=factory.LazyFunction(timezone.now))
        accepted = factory.Trait(status=Invitation.Status.ACCEPTED, accepted_at=factory.LazyFunction(timezone.now))

    @classmethod
    def _create(cls, model_class, *args, token: str, **kwargs):
        invitation = super()._create(model_class, *args, **kwargs)
        invitation.token = token
        return invitation


def make_invitation(**kwargs) -> tuple[Invitation, str]:
    """An invitation and its plaintext token."""
    invitation = InvitationFactory(**kwargs)
    return invitation, invitation.token
