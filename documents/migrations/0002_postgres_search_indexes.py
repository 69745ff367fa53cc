"""PostgreSQL-only search indexes: GIN on search_vector, trigram GIN on title (SPEC §1.3)."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS document_search_vector_gin ON documents_document USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS document_title_trgm_gin ON documents_document USING gin (title gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS document_title_trgm_gin",
    "DROP INDEX IF EXISTS document_search_vector_gin",
]


def _run(statements):
    def apply(apps, schema_editor):
        # The embedded SQLite default has no tsvector search; its matcher needs no index.
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
