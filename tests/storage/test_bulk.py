"""storage.bulk: the executemany path stores exactly what SQLAlchemy's insert stores, and steps
aside wherever SQLAlchemy would do more."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Date, DateTime, Float, Integer, MetaData, Table, Text, select, text
from sqlalchemy.engine import Engine
from sqlmodel.sql.sqltypes import UTCDateTime

from storage.bulk import insert_rows, insert_with_ids
from storage.db import make_engine, session_scope
from storage.models import Article

UTC = timezone.utc
CHINA = timezone(timedelta(hours=8))


def twin_tables() -> tuple[Table, Table]:
    """Two tables alike in every column: one for SQLAlchemy's insert, one for ours."""
    metadata = MetaData()

    def table(name: str) -> Table:
        return Table(name, metadata, Column("id", Integer, primary_key=True), Column("label", Text),
                     Column("amount", Float), Column("day", Date), Column("wall", DateTime(timezone=True)),
                     Column("at", UTCDateTime()), Column("fact", JSON))
    return table("by_sqlalchemy"), table("by_bulk")


def varied_rows() -> list[dict[str, Any]]:
    """Rows whose values repeat, tie (equal instants at other offsets) and are missing (None)."""
    noon_china = datetime(2026, 3, 1, 12, 0, tzinfo=CHINA)
    same_instant_utc = noon_china.astimezone(UTC)  # == noon_china, but another wall time
    rows = []
    for i, moment in enumerate([noon_china, same_instant_utc, noon_china, None, same_instant_utc,
                                datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]):
        rows.append(dict(label=f"row {i}" if i != 3 else None, amount=[1.79e12, 0.1 + 0.2, None][i % 3],
                         day=[date(2025, 11, 30), None, date(2025, 11, 30)][i % 3], wall=moment, at=moment,
                         fact=[{"value": i}, None, ["a", "b"]][i % 3]))
    return rows


def stored(engine: Engine, table: Table) -> list[tuple]:
    """The raw stored values (the driver's, not SQLAlchemy's result processing), in id order."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT label, amount, day, wall, at, fact, typeof(fact) "
                                    f"FROM {table.name} ORDER BY id").all()
    return [tuple(row) for row in rows]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    yield engine
    engine.dispose()


def test_stores_what_sqlalchemy_stores(sqlite_engine: Engine) -> None:
    theirs, ours = twin_tables()
    theirs.metadata.create_all(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(theirs.insert(), varied_rows())
        insert_rows(conn, ours, varied_rows())
    expected = stored(sqlite_engine, theirs)
    assert stored(sqlite_engine, ours) == expected
    walls = [row[3] for row in expected]
    assert walls[0] != walls[1], "equal instants at different offsets must not share one converted value"
    assert expected[1][5] == "null" and expected[1][6] == "text", "JSON None is stored as 'null', not NULL"


def test_ids_follow_row_order_after_deletions(sqlite_engine: Engine) -> None:
    _, ours = twin_tables()
    ours.metadata.create_all(sqlite_engine)
    with sqlite_engine.begin() as conn:
        insert_rows(conn, ours, [dict(label=f"old {i}") for i in range(5)])
        conn.execute(text("DELETE FROM by_bulk WHERE label IN ('old 4', 'old 1')"))
        ids = insert_with_ids(conn, ours, [dict(label=f"new {i}") for i in range(30)])
        by_id = dict(conn.execute(text("SELECT id, label FROM by_bulk")).all())
    assert ids is not None and [by_id[i] for i in ids] == [f"new {i}" for i in range(30)]


def test_declines_near_the_largest_rowid(sqlite_engine: Engine) -> None:
    """There SQLite picks random free rowids, so ids could not be told from the order."""
    _, ours = twin_tables()
    ours.metadata.create_all(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(ours.insert(), [dict(id=(1 << 63) - 3, label="top")])
        assert insert_with_ids(conn, ours, [dict(label=f"r{i}") for i in range(5)]) is None
        assert conn.execute(text("SELECT count(*) FROM by_bulk")).scalar() == 1, "declining inserts nothing"


def test_leaves_column_defaults_to_sqlalchemy(sqlite_engine: Engine) -> None:
    """Article.first_seen has a client-side default the rows leave out: SQLAlchemy must fill it."""
    Article.metadata.create_all(sqlite_engine, tables=[Article.__table__])
    row = dict(uid="u1", link="https://a.example/1", content_hash="h1",
               updated_at=datetime(2026, 1, 5, tzinfo=UTC))
    with sqlite_engine.begin() as conn:
        assert insert_with_ids(conn, Article.__table__, [row]) is None
        insert_rows(conn, Article.__table__, [row])
        first_seen, title = conn.execute(text("SELECT first_seen, title FROM article")).one()
    assert first_seen is not None and title == ""


def test_rows_with_other_keys_go_to_sqlalchemy(sqlite_engine: Engine) -> None:
    """Same number of keys, different keys: SQLAlchemy's handling, not a KeyError of ours."""
    _, ours = twin_tables()
    ours.metadata.create_all(sqlite_engine)
    with sqlite_engine.begin() as conn:
        assert insert_with_ids(conn, ours, [dict(label="a"), dict(amount=1.0)]) is None


def test_other_databases_use_sqlalchemy(engine: Engine) -> None:
    """On PostgreSQL (and SQLite) insert_rows stores the rows, whichever path it takes."""
    rows = [dict(uid=f"u{i}", link=f"https://a.example/{i}", title=f"T{i}", content_hash=f"h{i}",
                 first_seen=datetime(2026, 1, 5, 8, tzinfo=CHINA), updated_at=datetime(2026, 1, 5, tzinfo=UTC))
            for i in range(3)]
    with session_scope(engine) as s:
        insert_rows(s.connection(), Article.__table__, rows)
        if engine.dialect.name != "sqlite":
            assert insert_with_ids(s.connection(), Article.__table__, rows) is None
    with session_scope(engine) as s:
        table = Article.__table__
        got = s.connection().execute(select(table.c.uid, table.c.first_seen).order_by(table.c.uid)).all()
    assert [uid for uid, _ in got] == ["u0", "u1", "u2"]
    assert all(moment == datetime(2026, 1, 5, 0, tzinfo=UTC) for _, moment in got)
