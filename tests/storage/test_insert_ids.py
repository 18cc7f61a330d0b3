"""insert_returning_ids: one statement for many rows, and each id is the id of its own row."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from storage.db import insert_returning_ids, session_scope
from storage.models import Article

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


def articles(first: int, n: int) -> list[dict]:
    return [dict(uid=f"u{i}", link=f"https://a.example/{i}", title=f"T{i}", content_hash=f"h{i}", first_seen=NOW,
                 updated_at=NOW) for i in range(first, first + n)]


def stored_uids(engine: Engine, ids: list[int]) -> list[str]:
    with session_scope(engine) as s:
        by_id = dict(s.connection().execute(text("SELECT id, uid FROM article")).all())
    return [by_id[i] for i in ids]


def test_each_id_is_its_own_rows(engine: Engine) -> None:
    with session_scope(engine) as s:
        first = insert_returning_ids(s.connection(), Article.__table__, articles(0, 7))
    with session_scope(engine) as s:  # after deletions at the top and in the middle, and a second batch
        s.connection().execute(text("DELETE FROM article WHERE uid IN ('u6', 'u2')"))
        second = insert_returning_ids(s.connection(), Article.__table__, articles(100, 250))
    assert stored_uids(engine, first[:2] + first[3:6]) == ["u0", "u1", "u3", "u4", "u5"]
    assert stored_uids(engine, second) == [f"u{i}" for i in range(100, 350)]
    survivors = set(first[:2] + first[3:6])
    assert len(set(second)) == 250 and not survivors & set(second)


def test_rows_go_in_one_statement(engine: Engine) -> None:
    """On SQLite an ordered RETURNING used to cost one INSERT per row."""
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        with session_scope(engine) as s:
            ids = insert_returning_ids(s.connection(), Article.__table__, articles(0, 40))
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    inserts = [sql for sql in statements if sql.lstrip().upper().startswith("INSERT")]
    assert len(ids) == 40 and len(inserts) == 1


def test_no_rows_no_ids(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert insert_returning_ids(s.connection(), Article.__table__, []) == []
