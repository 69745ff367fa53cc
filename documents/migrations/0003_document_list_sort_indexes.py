"""Indexes for the document list's title and created_at sorts, in the cursor's (value, id) order (SPEC §3.3).

updated_at has `document_ws_updated_idx`; without these two, every page sorted by title or created_at
sorted the whole workspace.
"""

from django.db import migrations

INDEXES = {
    "document_ws_title_idx": "(workspace_id, deleted, title, id)",
    "document_ws_created_idx": "(workspace_id, deleted, created_at, id)",
}


def _create(apps, schema_editor):
    # CONCURRENTLY keeps documents writable while a large table is indexed (hence atomic = False).
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for name, columns in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX{concurrently} IF NOT EXISTS {name} ON documents_document {columns}")


def _drop(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("documents", "0002_postgres_search_indexes")]

    operations = [migrations.RunPython(_create, _drop)]
