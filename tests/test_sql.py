"""Table names in hand-written statements (mdcreator/sql.py)."""

from django.db import connection

from mdcreator.sql import with_tables
from sync.models import SyncLog
from workspaces.models import Workspace


def test_sql_with_tables_quotes_each_model_table_and_leaves_parameters_alone():
    statement = with_tables("SELECT seq FROM {log} JOIN {workspace} w ON w.id = %s WHERE seq > %(n)s", log=SyncLog,
                            workspace=Workspace)
    quote = connection.ops.quote_name
    assert statement == (
        f"SELECT seq FROM {quote('sync_synclog')} JOIN {quote('workspaces_workspace')} w ON w.id = %s WHERE seq > %(n)s"
    )
