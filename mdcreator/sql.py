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


class RowsOf:
    """Instances of `model` read by a hand-written statement whose `{columns}` slot selects every concrete column
    in field order; the ORM's value converters are applied (JSON, dates...) as a queryset would, without the
    queryset: no query compiling, no column mapping by name per statement.

        _LIVE = RowsOf(User, "SELECT {columns} FROM {users} WHERE id = %s", users=User)
        user = _LIVE.first([user_id])
    """

    def __init__(self, model, statement: str, **models):
        self.model = model
        self._statement = statement
        self._models = models
        self._prepared: tuple | None = None

    def _prepare(self) -> tuple:
        if self._prepared is None:
            fields = self.model._meta.concrete_fields
            sql = with_tables(self._statement, columns={"columns": fields}, **self._models)
            converters = []
            for index, field in enumerate(fields):
                column = field.get_col(self.model._meta.db_table)
                found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
                if found:
                    converters.append((index, column, found))
            self._prepared = sql, [field.attname for field in fields], converters
        return self._prepared

    def first(self, params) -> object | None:
        """The first row's instance, or None."""
        sql, attnames, converters = self._prepare()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, column, functions in converters:
            for function in functions:
                values[index] = function(values[index], column, connection)
        return self.model.from_db(connection.alias, attnames, values)
