"""accounts.parts: the registry through which the apps above contribute to an account's life."""

import pytest

from accounts import parts
from accounts.tests.factories import UserFactory
from mdcreator.errors import ConflictError


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the test; the apps' real parts come back afterwards."""
    monkeypatch.setattr(parts, "_parts", {})
    return parts


def test_parts_run_in_registration_order_and_merge_exports(registry):
    calls = []
    registry.register(parts.AccountPart(name="first", provision=lambda u: calls.append(("first", u)),
                                        export=lambda u: {"a": 1}, erase=lambda u: calls.append(("erase-1", u))))
    registry.register(parts.AccountPart(name="second", provision=lambda u: calls.append(("second", u)),
                                        export=lambda u: {"b": 2}))
    user = object()
    registry.provision_account(user)
    registry.erase_account(user)
    assert calls == [("first", user), ("second", user), ("erase-1", user)]
    assert registry.export_account(user) == {"a": 1, "b": 2}
    assert [part.name for part in registry.registered()] == ["first", "second"]


def test_parts_registering_a_name_again_replaces_it(registry):
    registry.register(parts.AccountPart(name="one", export=lambda u: {"a": 1}))
    registry.register(parts.AccountPart(name="one", export=lambda u: {"a": 2}))
    assert registry.export_account(object()) == {"a": 2}


def test_parts_two_parts_exporting_the_same_key_is_a_programming_error(registry):
    registry.register(parts.AccountPart(name="one", export=lambda u: {"same": 1}))
    registry.register(parts.AccountPart(name="two", export=lambda u: {"same": 2}))
    with pytest.raises(RuntimeError, match="two"):
        registry.export_account(object())


def test_parts_check_erasable_raises_the_first_refusal(registry):
    def refuse(user):
        raise ConflictError("not yet")

    registry.register(parts.AccountPart(name="ok", check_erasable=lambda u: None))
    registry.register(parts.AccountPart(name="refuses", check_erasable=refuse))
    with pytest.raises(ConflictError, match="not yet"):
        registry.check_erasable(object())


@pytest.mark.django_db
def test_parts_the_installed_apps_register_workspaces_then_documents():
    names = [part.name for part in parts.registered()]
    assert names[:2] == ["workspaces", "documents"]
    assert parts.export_account(UserFactory()).keys() >= {"memberships", "documents", "versions"}
