"""Engine creation and schema setup (SQLite by default, PostgreSQL for several instances)."""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, Table, event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine

from storage import models  # noqa: F401  (registers the tables)
from storage.bulk import insert_with_ids


# Ids for rows a batch has chosen to insert but not inserted yet: above any real id, so lookups
# can tell them apart (articles.py, series.py).
PROVISIONAL_ID = 1 << 60


def insert_ignoring(dialect: str, table: Table, *unique_columns: str) -> SqliteInsert | PgInsert:
    """An INSERT into `table` that does nothing when a row with the same `unique_columns` exists
    (both databases we support spell ON CONFLICT DO NOTHING the same way)."""
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    return insert(table).on_conflict_do_nothing(index_elements=list(unique_columns))


@functools.lru_cache(maxsize=None)
def _returning_ids(table: Table, ordered: bool) -> Insert:
    return table.insert().returning(table.c.id, sort_by_parameter_order=ordered)


def insert_returning_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` into `table` in one statement (per page of rows); their new ids, in order.

    SQLite cannot tie RETURNING rows to parameter sets, so an ordered RETURNING would make
    SQLAlchemy send one INSERT per row there. It does not need to: SQLite gives a new row the
    largest rowid plus one (https://www.sqlite.org/autoinc.html), so the rows of one insert, made
    under our write lock, get consecutive ids in their order. They go through the driver's
    executemany (`storage.bulk`), or else in one INSERT ... RETURNING whose sorted ids are checked.
    """
    if not rows:  # an INSERT without parameters would store one row of defaults
        return []
    if conn.dialect.name != "sqlite":
        return list(conn.execute(_returning_ids(table, True), rows).scalars())
    fast = insert_with_ids(conn, table, rows)
    if fast is not None:
        return fast
    ids = sorted(conn.execute(_returning_ids(table, False), rows).scalars())
    if len(ids) != len(rows) or (ids and ids[-1] - ids[0] != len(ids) - 1):
        # Only when the largest rowid is 2**63 - 1 and SQLite picks random ones: stop before
        # filing anything under the wrong id (the transaction rolls back).
        raise RuntimeError(f"SQLite gave {table.name} rows ids that are not consecutive; ids cannot be "
                           "matched to rows")
    return ids


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the CLI read while the daemon writes; busy_timeout rides out short write locks.
    # pysqlite must not open transactions itself: _begin_immediate does (see below).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    # A deferred transaction that reads and then writes cannot wait for another writer: SQLite
    # fails it at once with "database is locked". Taking the write lock up front makes
    # concurrent writers queue on busy_timeout instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, creating the SQLite folder if needed."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> None:
    """Create any missing tables."""
    SQLModel.metadata.create_all(engine)


# SQLite has one writer. Threads of this process queue on a lock (woken at once) rather than on
# SQLite's busy handler, which sleeps up to 100 ms between retries and starves busy daemons.
_WRITE_LOCKS: "weakref.WeakKeyDictionary[Engine, threading.RLock]" = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> threading.RLock | None:
    if engine.dialect.name != "sqlite":
        return None
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(engine, threading.RLock())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    lock = _write_lock(engine)
    with lock if lock is not None else nullcontext():
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
