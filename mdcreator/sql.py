"""Hand-written SQL for the few statements the ORM cannot say in one round trip.

Table and column names cannot be bound parameters, so they are the one thing put into such a statement as
text: `with_tables` fills `{name}` slots with the tables and columns of the given models, quoted by the
current engine. Every value stays a bound parameter.
"""

from __future__ import annotations

from django.db import connection


def with_tables(statement: str, *, columns: dict[str, list] | None = None, **models) -> str:
    """`statement` with each `{name}` replaced by the quoted table of `models[name]`; for each `columns[name]`
    (model fields), `{name}` becomes their quoted column names and `{name_values}` one `%s` per column."""
    quote = connection.ops.quote_name
    names = {name: quote(model._meta.db_table) for name, model in models.items()}
    for name, fields in (columns or {}).items():
        names[name] = ", ".join(quote(field.column) for field in fields)
        names[f"{name}_values"] = ", ".join(["%s"] * len(fields))
    return statement.format_map(names)
