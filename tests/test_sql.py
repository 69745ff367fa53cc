"""Table names in hand-written statements (mdcreator/sql.py)."""

from mdcreator.sql import with_tables
from sync.models import SyncLog
from workspaces.models import Workspace


def test_sql_with_tables_quotes_each_model_table_and_leaves_parameters_alone():
    statement = with_tables(
        "SELECT seq FROM {log} JOIN {workspace} w ON w.id = %s WHERE seq > %(n)s", log=SyncLog, workspace=Workspace
    )
    # PostgreSQL and SQLite both quote identifiers with double quotes.
    assert statement == 'SELECT seq FROM "sync_synclog" JOIN "workspaces_workspace" w ON w.id = %s WHERE seq > %(n)s'


def test_sql_with_tables_fills_column_lists_and_one_placeholder_each():
    fields = [SyncLog._meta.get_field("seq"), SyncLog._meta.get_field("workspace")]
    statement = with_tables("INSERT INTO {log} ({cols}) VALUES ({cols_values})", log=SyncLog, columns={"cols": fields})
    assert statement == 'INSERT INTO "sync_synclog" ("seq", "workspace_id") VALUES (%s, %s)'
