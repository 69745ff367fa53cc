"""Django's PostgreSQL backend with a pool health check that skips connections in use a moment ago.

`CONN_HEALTH_CHECKS` makes Django's pool run `ConnectionPool.check_connection` every time a thread borrows a
connection: one round trip to the server before every request's first query. A busy process hands the same
few connections out hundreds of times a second, so here a connection that was handed out less than
`RECENT_SECONDS` ago is given out unchecked; one that sat longer is checked as before. A broken connection
is still replaced at once when it has been idle, and a connection that breaks while in use is discarded by
the pool when it comes back (psycopg reports it closed).

`OPTIONS["pool"]` cannot carry a `check` of its own: Django passes one explicitly, so the pool is built
here the way Django builds it, with this check.
"""

from __future__ import annotations

import time

from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

RECENT_SECONDS = 1.0


def check_unless_recent(conn) -> None:
    """The pool's check: a round trip only for a connection not handed out in the last `RECENT_SECONDS`."""
    now = time.monotonic()
    if now - getattr(conn, "mdcreator_handed_out_at", float("-inf")) >= RECENT_SECONDS:
        ConnectionPool.check_connection(conn)
    conn.mdcreator_handed_out_at = now


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options or not self.settings_dict["CONN_HEALTH_CHECKS"]:
            return super().pool
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                return super().pool  # Django's own error: pooling and persistent connections do not mix
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # as Django: it sets the mode it wants later
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=check_unless_recent,
                **({} if pool_options is True else pool_options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
