"""Hand-written SQL for the few statements the ORM cannot say in one round trip.

Table names cannot be bound parameters, so they are the one thing put into such a statement as text:
`with_tables` fills `{name}` slots with the tables of the given models, quoted by the current engine.
Every value stays a bound parameter.
"""

from __future__ import annotations

from django.db import connection


def with_tables(statement: str, **models) -> str:
    """`statement` with each `{name}` replaced by the quoted table of `models[name]`."""
    return statement.format_map({name: connection.ops.quote_name(model._meta.db_table) for name, model in models.items()})
