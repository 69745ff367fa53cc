"""The embedded default's side of the suite: a subset of the tests run again on SQLite and the in-memory layers.

The suite runs on PostgreSQL and Redis (SPEC §0); the code keeps SQLite branches for the embedded default
(`settings.IS_POSTGRES`, `connection.vendor`): the search matcher and snippets (SPEC §3.3), the search-vector
writes they skip, the comments page PostgreSQL writes as JSON, the collaborative store's and the sync log's
locking. The files below exercise those branches; they run in a child pytest with no DATABASE_URL and no
REDIS_URL, exactly the settings `make run` gets. `make test-sqlite` runs only this.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SUBSET = (
    # Search and the list's `search` filter: the substring matcher, its scores and snippets.
    "documents/tests/test_api_search.py",
    "documents/tests/test_api_documents_list.py",
    # Writes that refresh the search vector on PostgreSQL only; the reindex command.
    "documents/tests/test_api_documents_create.py",
    "documents/tests/test_api_documents_update.py",
    "documents/tests/test_api_documents_partial_update.py",
    "documents/tests/test_services_documents.py",
    "documents/tests/test_commands_documents.py",
    "documents/tests/test_api_documents_json_content.py",
    "documents/tests/test_api_query_encoding.py",
    "documents/tests/test_api_documents_overrides.py",
    # The comments page: PostgreSQL writes its JSON, the serializer does elsewhere.
    "documents/tests/test_api_comments.py",
    # The sync log's writer and the collaborative store lock rows differently on SQLite.
    "sync/tests/test_api_sync_push.py",
    "sync/tests/test_api_sync_since.py",
    "collab/tests/test_api_collab_yjs_state.py",
    "collab/tests/test_services_collab.py",
)

# Left out, each for its reason (every other test of the files above runs):
NOT_ON_SQLITE = {
    # Starts a daphne process: it cannot share the in-memory SQLite database of the test run.
    "collab/tests/test_api_collab_yjs_state.py::test_api_collab_yjs_state_post_reaches_connected_clients":
        "live server",
    # Two threads writing at once: the in-memory test database (shared cache) has no busy timeout, so one of
    # them fails at once where the embedded default's database file waits up to 20 s.
    "sync/tests/test_api_sync_push.py::test_api_sync_push_the_same_change_from_two_connections_applies_once":
        "concurrent writers",
    # Asserts on PostgreSQL's search vector.
    "collab/tests/test_services_collab.py::test_services_collab_materialize_writes_content_version_sync_and_search":
        "PostgreSQL search vector",
    "documents/tests/test_services_documents.py::test_services_documents_update_writes_the_vector_its_columns_give":
        "PostgreSQL search vector",
}
ENGINE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "OIDC_ISSUER", "EMAIL_URL")


def sqlite_command(*extra: str) -> list[str]:
    """The child pytest run of the subset (also what `make test-sqlite` runs through this module)."""
    deselected = [argument for test_id in NOT_ON_SQLITE for argument in ("--deselect", test_id)]
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not live", *deselected,
            *SUBSET, *extra]


def sqlite_env(var_dir: Path) -> dict[str, str]:
    """The environment of the embedded default: no engine variable, a private var/ directory."""
    env = {key: value for key, value in os.environ.items() if key not in ENGINE_VARIABLES}
    env.update(MDCREATOR_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    return env


def test_sqlite_suite_subset_passes_on_the_embedded_default(tmp_path):
    result = subprocess.run(
        sqlite_command(), cwd=ROOT, env=sqlite_env(tmp_path), capture_output=True, text=True, timeout=1200
    )
    summary = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    assert result.returncode == 0, f"{summary[0]}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert " passed" in summary[0] and "failed" not in summary[0] and "error" not in summary[0], summary[0]


if __name__ == "__main__":  # `make test-sqlite`: the same run, its output on the terminal
    with tempfile.TemporaryDirectory(prefix="mdcreator-sqlite-") as var_dir:
        sys.exit(subprocess.run(sqlite_command(*sys.argv[1:]), cwd=ROOT, env=sqlite_env(Path(var_dir))).returncode)
