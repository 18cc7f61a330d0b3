"""Many-row INSERTs on SQLite through the driver's executemany.

A poll stores a few hundred rows (articles, observations, their sources). Through SQLAlchemy's
insert, each row costs more than SQLite's own work on it: the statement's per-row parameter
handling, and the bind processors that turn every date and datetime into text. Here the INSERT is
compiled once per table and set of columns, values go through the very same bind processors
(so what is stored is byte for byte what SQLAlchemy would store), dates and datetimes are
converted once per distinct value in the batch (a poll's rows share `now` and a few periods), and
the rows go to the driver in one executemany.

Only for tables and rows where that is the whole story: no column the rows leave out may have a
client-side default, which SQLAlchemy would fill in. Anything else is left to SQLAlchemy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Date, DateTime, Table
from sqlalchemy.engine import Connection, Dialect

# SQLite gives a new row the largest rowid plus one, unless that largest rowid is already this
# one (then it picks random free rowids): https://www.sqlite.org/autoinc.html
_MAX_ROWID = (1 << 63) - 1
_MISSING = object()


@dataclass(frozen=True)
class _Plan:
    sql: str
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    memoised: tuple[bool, ...]  # convert each distinct value once per batch (dates and datetimes)
    max_id_sql: str | None  # SELECT max(id): None where the new ids cannot be told from it


def _is_temporal(column: Any) -> bool:
    """A date or datetime column (also behind a TypeDecorator such as sqlmodel's UTCDateTime)."""
    kind = getattr(column.type, "impl_instance", column.type)
    return isinstance(kind, (Date, DateTime))


@functools.lru_cache(maxsize=128)
def _plan(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    """How to insert rows with exactly these columns into `table`, or None to leave it to SQLAlchemy."""
    for column in table.columns:
        if column.name not in columns and column.default is not None:
            return None  # SQLAlchemy would compute a value the rows do not carry
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup or ())
    if sorted(order) != sorted(columns):
        return None  # a key that is not a column: SQLAlchemy's insert reports it
    processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order)
    memoised = tuple(p is not None and _is_temporal(table.c[name]) for name, p in zip(order, processors))
    max_id_sql = None
    # AUTOINCREMENT never reuses ids, so after deletions at the top the next id is not max(id) + 1.
    if "id" in table.c and "id" not in columns and not table.dialect_options["sqlite"].get("autoincrement"):
        quote = dialect.identifier_preparer
        max_id_sql = f"SELECT max({quote.quote('id')}) FROM {quote.format_table(table)}"
    return _Plan(str(compiled), order, processors, memoised, max_id_sql)


def _memo_key(value: Any) -> Any:
    """Equal aware datetimes may differ in offset or fold, and a converter may keep either."""
    if isinstance(value, datetime):
        return (value, value.tzinfo, value.fold)
    return value


def _parameters(plan: _Plan, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each row's values in the statement's order, converted as SQLAlchemy would convert them.

    None goes through the converter too: some types store it as something else (JSON as 'null').
    """
    steps = []
    for name, process, memoised in zip(plan.columns, plan.processors, plan.memoised):
        steps.append((name, process, {} if memoised else None))
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = []
        for name, process, memo in steps:
            value = row[name]
            if process is not None:
                if memo is None:
                    value = process(value)
                else:
                    key = _memo_key(value)
                    done = memo.get(key, _MISSING)
                    if done is _MISSING:
                        done = memo[key] = process(value)
                    value = done
            values.append(value)
        out.append(tuple(values))
    return out


def _plan_for(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> _Plan | None:
    if conn.dialect.name != "sqlite" or not rows:
        return None
    keys = rows[0].keys()
    columns = tuple(keys)
    if any(row.keys() != keys for row in rows):
        return None  # rows with different keys: SQLAlchemy's own handling (and errors) apply
    return _plan(table, columns, conn.dialect)


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) in one executemany; SQLAlchemy's insert where the
    fast path does not apply (other databases, defaults to fill in)."""
    if not rows:
        return
    plan = _plan_for(conn, table, rows)
    if plan is None:
        conn.execute(table.insert(), rows)
        return
    conn.exec_driver_sql(plan.sql, _parameters(plan, rows))


def insert_with_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int] | None:
    """Insert rows on SQLite in one executemany and return their new ids in order; None (nothing
    inserted) where this cannot be done, for the caller to insert otherwise.

    The caller's transaction must already hold SQLite's write lock or take it with this insert
    (ours begin with BEGIN IMMEDIATE): then no other writer runs between the max(id) read and the
    inserts, and the rows get the ids after it, one by one in their order.
    """
    plan = _plan_for(conn, table, rows)
    if plan is None or plan.max_id_sql is None:
        return None
    top = conn.exec_driver_sql(plan.max_id_sql).scalar() or 0
    if top + len(rows) >= _MAX_ROWID:
        return None  # SQLite would start picking random ids
    result = conn.exec_driver_sql(plan.sql, _parameters(plan, rows))
    if result.rowcount != len(rows):
        raise RuntimeError(f"SQLite inserted {result.rowcount} of {len(rows)} rows into {table.name}; "
                           "ids cannot be matched to rows")
    return list(range(top + 1, top + len(rows) + 1))
