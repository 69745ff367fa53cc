"""Fixtures of the sync tests: the workspaces tests' team (one person per role)."""

from workspaces.tests.conftest import Team, team  # noqa: F401  (the same per-role team)
