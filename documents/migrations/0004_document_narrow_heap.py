"""Keep document rows narrow on PostgreSQL: content and search vectors move out of line sooner.

A row used to hold its content inline up to about 2 kB compressed, so a page held five documents
and a search matching tens of thousands of them visited most of the table. With a 128-byte
tuple target the large columns go to TOAST, where reads of one document still find them, and
scans of ids, timestamps and flags read a fraction of the pages. Rows take the new layout when
they are next written.
"""

from django.db import migrations


def _narrow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE documents_document SET (toast_tuple_target = 128)")


def _widen(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE documents_document RESET (toast_tuple_target)")


class Migration(migrations.Migration):
    dependencies = [("documents", "0003_document_list_sort_indexes")]

    operations = [migrations.RunPython(_narrow, _widen)]
