"""What other apps keep about a person, gathered through one explicit registry (STYLE §4b).

Identity is the ground floor: it imports no other domain app. The apps above
register their part of an account in `AppConfig.ready()`, and identity calls
every registered part, in registration order, when an account is created,
exported or erased. Reading this module and the `ready()` methods that call
`register` shows every step; nothing else reaches in.

To add a part (comments, attachments, AI keys, ...): write the functions next
to that app's services and add one `register(AccountPart(...))` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from accounts.models import User


@dataclass(frozen=True)
class AccountPart:
    """One app's part of an account.

    - `provision(user)`: runs in the transaction that creates the account.
    - `export(user) -> dict`: top-level keys merged into the account export (SPEC §3.1).
    - `check_erasable(user)`: raises a problem (409) when the account cannot be erased yet;
      it writes nothing, so a dry run may call it too.
    - `erase(user)`: runs in the erasure transaction, before identity deletes the tokens
      and anonymizes the person.
    """

    name: str
    provision: Callable[[User], None] | None = None
    export: Callable[[User], dict] | None = None
    check_erasable: Callable[[User], None] | None = None
    erase: Callable[[User], None] | None = None


_parts: dict[str, AccountPart] = {}


def register(part: AccountPart) -> None:
    """Add (or, under the same name, replace) an app's part of an account."""
    _parts[part.name] = part


def registered() -> tuple[AccountPart, ...]:
    """Every registered part, in registration order."""
    return tuple(_parts.values())


def provision_account(user: User) -> None:
    """Let every app set up what a new account starts with (a personal workspace, ...)."""
    for part in registered():
        if part.provision is not None:
            part.provision(user)


def export_account(user: User) -> dict:
    """Every app's export sections of an account, merged; two parts never share a key."""
    sections: dict = {}
    for part in registered():
        if part.export is not None:
            contributed = part.export(user)
            overlap = sections.keys() & contributed.keys()
            if overlap:
                raise RuntimeError(f"account part {part.name!r} exports keys already taken: {sorted(overlap)}")
            sections.update(contributed)
    return sections


def check_erasable(user: User) -> None:
    """Raise the first app's refusal to erase this account (a ProblemError); nothing is written."""
    for part in registered():
        if part.check_erasable is not None:
            part.check_erasable(user)


def erase_account(user: User) -> None:
    """Let every app take down or detach what the person has there, before identity anonymizes them."""
    for part in registered():
        if part.erase is not None:
            part.erase(user)
