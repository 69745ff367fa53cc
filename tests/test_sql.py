"""Hand-written statements (mdcreator/sql.py): table names, and instances read without a queryset."""

import uuid

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from mdcreator.sql import RowsOf, with_tables
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


@pytest.mark.django_db
def test_sql_rows_of_reads_the_instance_a_queryset_reads():
    """JSON, dates, UUIDs and choices come out converted exactly as the ORM converts them."""
    user = UserFactory(settings={"theme": "dark", "nested": {"a": [1, 2]}}, last_seen_at=timezone.now())
    rows = RowsOf(User, "SELECT {columns} FROM {users} WHERE id = %s", users=User)
    read, expected = rows.first([user.pk]), User.objects.get(pk=user.pk)
    assert type(read) is User and read._state.adding is False and read._state.db == "default"
    assert {f.attname: getattr(read, f.attname) for f in User._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in User._meta.concrete_fields
    }
    assert read.settings["nested"] == {"a": [1, 2]} and read.last_seen_at.tzinfo is not None
    assert rows.first([uuid.uuid4()]) is None
