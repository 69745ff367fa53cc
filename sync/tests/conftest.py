"""Fixtures of the sync tests: the workspaces tests' team (one person per role)."""

