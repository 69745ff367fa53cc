"""Roles, permission flags and their guard rails: the one table every surface asks (SPEC §2.2)."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    """Workspace roles, lowest to highest: declaration order is priority."""

    VIEWER = "viewer"
    COMMENTER = "commenter"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"


RANK = {role: index + 1 for index, role in enumerate(Role)}

CAN_CREATE = "can_create_documents"
CAN_EDIT = "can_edit_documents"
CAN_DELETE = "can_delete_documents"
CAN_COMMENT = "can_comment"
CAN_INVITE = "can_invite_members"
CAN_MANAGE = "can_manage_workspace"
FLAGS = (CAN_CREATE, CAN_EDIT, CAN_DELETE, CAN_COMMENT, CAN_INVITE, CAN_MANAGE)

DEFAULT_FLAGS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(FLAGS),
    Role.ADMIN: frozenset({CAN_CREATE, CAN_EDIT, CAN_DELETE, CAN_COMMENT, CAN_INVITE}),
    Role.EDITOR: frozenset({CAN_CREATE, CAN_EDIT, CAN_COMMENT}),
    Role.COMMENTER: frozenset({CAN_COMMENT}),
    Role.VIEWER: frozenset(),
}

# Flags a role may be granted by override beyond its defaults (revoking is always allowed).
_GRANTABLE: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(),
    Role.ADMIN: frozenset({CAN_MANAGE}),
    Role.EDITOR: frozenset({CAN_DELETE, CAN_INVITE}),
    Role.COMMENTER: frozenset({CAN_INVITE}),
    Role.VIEWER: frozenset({CAN_COMMENT, CAN_INVITE}),
}


def rank(role: str | None) -> int:
    """Numeric rank of a role (owner 5 … viewer 1; none 0)."""
    return RANK.get(role, 0) if role else 0


def effective_flags(role: str | None, overrides: dict | None = None) -> dict[str, bool]:
    """The six flags of a role after the member's sparse overrides."""
    granted = set(DEFAULT_FLAGS.get(role, frozenset())) if role else set()
    if role and role != Role.OWNER:
        for flag, value in (overrides or {}).items():
            # A stored grant outside the guard rails (a row written around the services) grants nothing.
            if value is True and flag in _GRANTABLE.get(role, frozenset()):
                granted.add(flag)
            elif value is False:
                granted.discard(flag)
    return {flag: flag in granted for flag in FLAGS}


def override_errors(role: str, overrides: dict) -> dict[str, list[str]]:
    """Guard-rail violations of `overrides` for `role`, by flag; empty when allowed."""
    problems: dict[str, list[str]] = {}
    for flag, value in overrides.items():
        if flag not in FLAGS:
            problems[flag] = ["Unknown permission flag."]
        elif not isinstance(value, bool):
            problems[flag] = ["Must be true or false."]
        elif role == Role.OWNER:
            problems[flag] = ["The owner's permissions cannot be overridden."]
        elif value and flag not in DEFAULT_FLAGS[role] and flag not in _GRANTABLE[role]:
            problems[flag] = [f"A {role} cannot be granted this permission; change the role instead."]
    return problems


def clean_overrides(role: str, overrides: dict) -> dict:
    """Keep only overrides that still make sense for `role` and change something."""
    defaults = DEFAULT_FLAGS[role]
    kept = {}
    for flag, value in overrides.items():
        if flag in FLAGS and isinstance(value, bool) and not override_errors(role, {flag: value}):
            if value != (flag in defaults):
                kept[flag] = value
    return kept
