"""Prepared queries: SQL generated once per query shape, then only parameters are bound.

Peewee builds the SQL text of a query on every execution; for the scheduler's hot path (claim,
task update, may-i-run) that cost ~10 ms per request on a slow core, far more than SQLite's own
work. A `Prepared` query is built once with sentinel parameters, and later calls swap in the real
values at the sentinels' positions and reuse peewee's own row-to-model conversion.

The SQL is kept per kind of database (SQLite and PostgreSQL differ in parameter style), so one
process may serve Managers on both, as the tests do. Nothing here holds a database: every
execution runs on the calling Store's (`models.current_db()`), so the compiled SQL is shared by all
Managers of a process while each one's rows stay its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import peewee as pw

from app.manager.persistence.models import current_db
from app.manager.persistence.postgres import FewerTrips

_INT_BASE = -(10**12)


def _sentinel(index: int, kind: type) -> Any:
    return _INT_BASE - index if kind is int else f"\x00arg{index}\x00"


class Prepared:
    """A query built by `build(*args)`, compiled on first use. `kinds` says int or str per arg."""

    def __init__(self, build: Callable[..., pw.BaseQuery], *kinds: type):
        self._build, self._kinds = build, kinds
        self._compiled: dict[type, tuple[pw.BaseQuery, str, list[Any], list[tuple[int, int]]]] = {}

    def _compile(self, db: pw.Database) -> tuple[pw.BaseQuery, str, list[Any], list[tuple[int, int]]]:
        sentinels = [_sentinel(i, k) for i, k in enumerate(self._kinds)]
        query = self._build(*sentinels)
        sql, params = query.sql()
        slots = [(pos, sentinels.index(p)) for pos, p in enumerate(params) if p in sentinels]
        if sorted(i for _, i in slots) != list(range(len(sentinels))):
            raise RuntimeError(f"prepared query lost a parameter: {sql}")
        compiled = self._compiled[type(db)] = (query, sql, list(params), slots)
        return compiled

    def _execute(self, args: Sequence[Any]) -> tuple[pw.BaseQuery, Any]:
        db = current_db()
        query, sql, params, slots = self._compiled.get(type(db)) or self._compile(db)
        bound = list(params)
        for pos, index in slots:
            value = args[index]
            bound[pos] = str(value) if isinstance(value, dt.datetime) else value
        return query, db.execute_sql(sql, bound)

    def rows(self, *args: Any) -> list[Any]:
        query, cursor = self._execute(args)
        # Peewee's own (private, so not in its stubs) wrapper: rows as the query's models or tuples.
        return list(query._get_cursor_wrapper(cursor))  # type: ignore[attr-defined]

    def first(self, *args: Any) -> Any:
        rows = self.rows(*args)
        return rows[0] if rows else None

    def scalar(self, *args: Any) -> Any:
        _query, cursor = self._execute(args)
        row = cursor.fetchone()
        return row[0] if row else None

    def rowcount(self, *args: Any) -> int:
        _query, cursor = self._execute(args)
        return cursor.rowcount


class Sql:
    """A statement text written with `{p}` for its parameters, formatted once per kind of database.

    The same text object every time also keeps sqlite3's statement cache lookup cheap (a string made
    anew per call is hashed anew)."""

    __slots__ = ("template", "_texts")

    def __init__(self, template: str) -> None:
        self.template = template
        self._texts: dict[str, str] = {}

    def text(self, db: pw.Database) -> str:
        param = db.param
        text = self._texts.get(param)
        if text is None:
            text = self._texts[param] = self.template.format(p=param)
        return text


_UPDATES: dict[tuple[type, type, tuple[str, ...]], tuple[str, list[pw.Field]]] = {}


def update_by_id(model: type[pw.Model], row_id: int, fields: dict[str, Any]) -> None:
    """`UPDATE <table> SET ... WHERE id = ?` with cached SQL; values go through field.db_value.

    On PostgreSQL it goes out with the transaction's next statement (`FewerTrips.execute_later`)."""
    names = tuple(sorted(fields))
    db = current_db()
    key = (type(db), model, names)
    cached = _UPDATES.get(key)
    if cached is None:
        field_objs = [model._meta.fields[n] for n in names]
        sets = ", ".join(f'"{f.column_name}" = {db.param}' for f in field_objs)
        cached = (f'UPDATE "{model._meta.table_name}" SET {sets} WHERE "id" = {db.param}', field_objs)
        _UPDATES[key] = cached
    sql, field_objs = cached
    values = [f.db_value(fields[f.name]) for f in field_objs]
    if isinstance(db, FewerTrips):
        db.execute_later(sql, [*values, row_id])
    else:
        # The text sqlite3's own adapter would write (`isoformat(" ")`), without its Python-level call.
        db.execute_sql(sql, [str(v) if type(v) is dt.datetime else v for v in values] + [row_id])


M = TypeVar("M", bound=pw.Model)


class Hydrator(Generic[M]):
    """Builds model instances straight from raw rows: ~10x cheaper than peewee's cursor wrappers.

    `models` are the selected models in order, the first one `M` (what `build` returns); `relations`
    says, per model after the first, which foreign key of which earlier model it fills (so `task.job`
    needs no extra query).
    """

    def __init__(self, models: Sequence[type[pw.Model]], relations: Sequence[tuple[int, str] | None] = ()):
        self.models = list(models)
        self.relations = list(relations) or [None] * len(models)
        self.fields = [list(m._meta.sorted_fields) for m in self.models]
        # Per model: its field names, and (position, name, converter) of the few fields whose stored
        # value is not already the Python one; most values go into the instance as they come.
        self._names = [tuple(f.name for f in fs) for fs in self.fields]
        self._converts = [tuple((i, f.name, converter(f)) for i, f in enumerate(fs) if _needs_conversion(f))
                          for fs in self.fields]

    def columns(self, aliases: Sequence[str]) -> str:
        return ", ".join(f'{alias}."{f.column_name}"'
                         for alias, fs in zip(aliases, self.fields, strict=True) for f in fs)

    def build(self, row: Sequence[Any]) -> M:
        # Any: the instances get Peewee's internal attributes set directly, and the first is an M.
        objs: list[Any] = []
        pos = 0
        for model, names, converts in zip(self.models, self._names, self._converts, strict=True):
            values = row[pos:pos + len(names)]
            pos += len(names)
            if values[0] is None:  # LEFT JOIN with no match
                objs.append(None)
                continue
            obj: Any = model.__new__(model)
            obj.__data__ = data = dict(zip(names, values, strict=True))
            for index, name, convert in converts:
                value = values[index]
                if value is not None:
                    data[name] = convert(value)
            obj._dirty = set()
            obj.__rel__ = {}
            objs.append(obj)
        for index, relation in enumerate(self.relations):
            if relation is not None and objs[relation[0]] is not None:
                objs[relation[0]].__rel__[relation[1]] = objs[index]
        return objs[0]


def _needs_conversion(field: pw.Field) -> bool:
    return isinstance(field, (pw.DateTimeField, pw.BooleanField)) or type(field).__name__ == "JSONField"


def converter(field: pw.Field) -> Callable[[Any], Any]:
    """What turns a stored (non-null) value of `field` into its Python value, as Peewee would."""
    if isinstance(field, pw.BooleanField) and field.adapt is bool:
        return bool  # Peewee's python_value for a non-null value, without its two Python calls
    if not isinstance(field, pw.DateTimeField):
        return field.python_value
    slow = field.python_value

    def datetime_value(value: Any) -> Any:
        # PostgreSQL (psycopg2) hands back datetimes, which Peewee keeps as they are. SQLite hands back
        # the text the sqlite3 module wrote, "YYYY-MM-DD HH:MM:SS[.ffffff]": parsed directly (a fifth
        # of Peewee's generic parse); anything else (other spellings) as Peewee does.
        if type(value) is dt.datetime:
            return value
        if type(value) is str and len(value) in (19, 26) and value[10] == " ":
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
        return slow(value)

    return datetime_value
