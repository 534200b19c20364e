"""The PostgreSQL connection of a Store: fewer round trips and no planning per statement.

Peewee speaks to PostgreSQL in autocommit mode and sends every statement on its own: a `BEGIN`, each
query, then `COMMIT`, one round trip each, and the server plans every statement again (the
scheduler's claim query costs about 2 ms of planning against 0.1 ms of execution, bench/store_claims.py).
`FewerTrips` changes two things, both invisible to the query modules:

- `BEGIN` waits and goes out with the transaction's first statement (`BEGIN; <statement>` in one
  query string); a transaction that ran nothing sends neither `BEGIN` nor `COMMIT`.
- A statement text seen a second time on a connection becomes a server-side prepared statement
  (`PREPARE`, once per connection), and from then on is sent as `EXECUTE name(values)`, so the server
  keeps its plan. Only plain statements qualify (SELECT/INSERT/UPDATE/DELETE with positional
  parameters, no list values); a text the server cannot prepare (a parameter whose type it cannot
  infer) is tried once, under a savepoint so the transaction goes on, and then always sent as it is.
  At most MAX_PREPARED texts are prepared per connection: texts that differ only in the length of an
  IN list must not grow the server's memory without bound, and a text with more than
  MAX_PREPARED_PARAMS values (the rows of a batch INSERT) is never prepared.
- A write whose result nobody reads (`execute_later`: the row updates of `prepared.update_by_id`)
  waits and goes out in the same query string as the transaction's next statement or its COMMIT.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

import peewee as pw
from playhouse.db_url import parse

from app.manager.persistence.errors import DatabaseBusy

MAX_PREPARED = 500
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's error code for a lock wait past `lock_timeout`
LOCK_TIMEOUT_MS = 5_000  # the longest a statement waits for another session's lock (`open_postgres`)
MAX_PREPARED_PARAMS = 100  # more values than this (a batch INSERT's rows): sent as it is, never prepared
SEEN_LIMIT = 5_000  # statement texts remembered as seen once, waiting for a second time
_PLAIN_START = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


class FewerTrips(pw.PostgresqlDatabase):
    """A PostgresqlDatabase whose BEGIN rides on the first statement and whose repeated statements
    are prepared on the server. One connection, shared under the Store's lock (`thread_safe=False`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._begin_pending = False
        self._prepared: dict[str, str] = {}  # statement text -> its name on this connection
        self._seen: Counter[str] = Counter()
        self._unpreparable: set[str] = set()
        self._names = 0
        self._conn_of_cache: Any = None
        self._guard = threading.Lock()  # the caches' bookkeeping only; the Store serialises the rest
        self._later: list[tuple[str, list[Any]]] = []  # writes waiting for the next statement (`execute_later`)
        self.round_trips = 0  # query strings sent (tests count them)

    # -- transactions -------------------------------------------------------------------------
    def begin(self, isolation_level: Any = None) -> None:
        if isolation_level or getattr(self, "_isolation_level", None):
            super().begin(isolation_level)
            return
        self._begin_pending = True

    def commit(self) -> None:
        if self._later:  # the writes still waiting go out with the COMMIT, in one query string
            self.execute_sql("COMMIT")
            return
        if self._begin_pending:  # nothing ran: there is no transaction on the server
            self._begin_pending = False
            return
        self.round_trips += 1
        super().commit()

    def rollback(self) -> None:
        self._later.clear()  # never sent: nothing to undo on the server
        if self._begin_pending:
            self._begin_pending = False
            return
        self.round_trips += 1
        super().rollback()

    # -- statements ---------------------------------------------------------------------------
    def execute_later(self, sql: str, params: Any = None) -> None:
        """A write whose result nobody reads: it goes out with the transaction's next statement or its
        COMMIT, in the same query string, in order. A failure then fails that statement (or the
        COMMIT), and so the transaction, as it would have failed it here."""
        params = list(params or ())
        later = self._later
        if later and not params and sql.startswith("RELEASE SAVEPOINT ") and later[-1][0] == sql[8:]:
            later.pop()  # a savepoint released with nothing inside it: neither goes out
            return
        later.append((self._statement(sql, params), params))

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        params = list(params or ())
        sql = self._statement(sql, params)
        if self._later:
            sql = "; ".join([*(s for s, _ in self._later), sql])
            params = [p for _, ps in self._later for p in ps] + params
            self._later.clear()
        if self._begin_pending:
            self._begin_pending = False
            sql = "BEGIN; " + sql
        self.round_trips += 1
        try:
            return super().execute_sql(sql, params)
        except pw.OperationalError as exc:
            if getattr(getattr(exc, "orig", None), "pgcode", None) == LOCK_NOT_AVAILABLE:
                raise DatabaseBusy("another program holds a lock in the Manager's database; "
                                   "try again in a moment") from exc
            raise

    def _statement(self, sql: str, params: list[Any]) -> str:
        name = self._prepared_name(sql, params)
        if name is None:
            return sql
        return f"EXECUTE {name}" + (f" ({', '.join(['%s'] * len(params))})" if params else "")

    def _prepared_name(self, sql: str, params: list[Any]) -> str | None:
        if self.is_closed():
            return None
        conn = self.connection()
        if conn is not self._conn_of_cache:  # a new connection has no prepared statements
            self._conn_of_cache = conn
            self._prepared.clear()
            self._seen.clear()
            self._unpreparable.clear()
        name = self._prepared.get(sql)
        if name is not None or sql in self._unpreparable:
            return name
        if not _preparable(sql, params) or len(self._prepared) >= MAX_PREPARED:
            return None
        if len(self._seen) >= SEEN_LIMIT:  # texts seen once (inline values): forget them, stay bounded
            self._seen.clear()
        self._seen[sql] += 1
        if self._seen[sql] < 2:  # once is not a pattern (migrations, one-off reports)
            return None
        del self._seen[sql]
        return self._prepare(conn, sql, len(params))

    def _prepare(self, conn: Any, sql: str, count: int) -> str | None:
        with self._guard:
            self._names += 1
            name = f"tablao_{self._names}"
        positional = iter(range(1, count + 1))
        server_sql = re.sub(r"%s", lambda _: f"${next(positional)}", sql)
        in_transaction = not self._begin_pending and conn.info.transaction_status != 0  # 0: idle
        cursor = conn.cursor()
        self.round_trips += 1
        try:
            if in_transaction:
                cursor.execute(f"SAVEPOINT tablao_prepare; PREPARE {name} AS {server_sql}; "
                               "RELEASE SAVEPOINT tablao_prepare")
            else:
                cursor.execute(f"PREPARE {name} AS {server_sql}")
        except Exception:  # noqa: BLE001 - the server cannot prepare it: send it as it is from now on
            if in_transaction:
                cursor.execute("ROLLBACK TO SAVEPOINT tablao_prepare; RELEASE SAVEPOINT tablao_prepare")
            if len(self._unpreparable) < MAX_PREPARED:
                self._unpreparable.add(sql)
            return None
        finally:
            cursor.close()
        self._prepared[sql] = name
        return name


def _preparable(sql: str, params: list[Any]) -> bool:
    if not _PLAIN_START.match(sql) or "%%" in sql or "%(" in sql or ";" in sql.rstrip().rstrip(";"):
        return False
    if len(params) > MAX_PREPARED_PARAMS or sql.count("%s") != len(params):
        return False
    return not any(isinstance(p, (list, tuple, dict, set)) for p in params)


def open_postgres(url: str) -> FewerTrips:
    """The database of a `postgresql://` URL, not yet connected.

    Its session waits at most LOCK_TIMEOUT_MS for a row or table lock: the worker hot path's calls
    run on the event loop, so a lock held by another program (an open transaction in `psql`) would
    otherwise stop every request of the Manager for as long as it is held. Past the limit the
    statement fails, its loop turn is rolled back (nobody was told of any of it), and the callers get
    an error they retry; what the limit cuts is the wait, never what was stored."""
    params = parse(url)
    params["options"] = f"{params.get('options', '')} -c lock_timeout={LOCK_TIMEOUT_MS}".strip()
    return FewerTrips(thread_safe=False, **params)
