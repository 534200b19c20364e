"""The SQLite database of a Store: Peewee's `SqliteDatabase` with a shorter path to each statement.

Every query of the Manager, the hot path's raw SQL and Peewee's model queries alike, reaches SQLite
through `execute_sql`. Peewee's own spends about 2 us there before and after sqlite3's work (a
debug-log check, query hooks, a cursor made for the statement, a timer), as much as an indexed
lookup itself; a claim and a task update run about twenty statements between them. This one goes
straight to the connection while nothing needs the rest: no query hooks and Peewee's debug log
off. Errors are translated to Peewee's exception types exactly as before, so `OperationalError`
("database is locked") and `IntegrityError` mean what they meant.
"""

from __future__ import annotations

import logging
from typing import Any

import peewee as pw

_peewee_log = logging.getLogger("peewee")
_translate = pw.__exception_wrapper__  # type: ignore[attr-defined]  # Peewee's error translation


class LeanSqliteDatabase(pw.SqliteDatabase):
    """`SqliteDatabase` whose `execute_sql` runs a statement on the open connection directly."""

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        state = self._state  # type: ignore[attr-defined]  # Peewee's connection state (not in its stubs)
        if state.closed or self.query_hooks or _peewee_log.isEnabledFor(logging.DEBUG):
            return super().execute_sql(sql, params)  # connects, logs, times: Peewee's own path
        with _translate:
            return state.conn.execute(sql, params or ())
