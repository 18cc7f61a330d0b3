"""Feed poll state on the hot path: read and recorded with plain statements, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import feeds as feed_store
from storage.db import session_scope
from storage.models import FeedState

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


def row(engine: Engine, name: str = "f") -> FeedState:
    with Session(engine) as s:
        state = s.get(FeedState, name)
        assert state is not None
        return state


def test_first_read_creates_the_row_with_nothing_known(engine: Engine) -> None:
    with session_scope(engine) as s:
        state = feed_store.poll_state(s, "f", "https://a.example/feed")
    assert state == feed_store.PollState(None, None, None, None)
    assert row(engine).url == "https://a.example/feed" and row(engine).polls == 0


def test_success_records_validators_health_and_new_entries(engine: Engine) -> None:
    with session_scope(engine) as s:
        feed_store.poll_state(s, "f", "u")
        feed_store.record_error(feed_store.get_feed_state(s, "f", "u"), now=T0, error="boom", next_poll_after=None)
    with session_scope(engine) as s:
        feed_store.record_success(s, "f", "u", now=T0 + timedelta(hours=1), etag='"e1"', last_modified="lm",
                                  new_entries=3, next_poll_after=T0 + timedelta(hours=2))
    stored = row(engine)
    assert (stored.etag, stored.last_modified, stored.polls, stored.consecutive_errors, stored.last_error) == (
        '"e1"', "lm", 2, 0, None)
    assert stored.last_success == stored.last_new_entry == T0 + timedelta(hours=1)
    with session_scope(engine) as s:
        assert feed_store.poll_state(s, "f", "u") == feed_store.PollState(
            '"e1"', "lm", T0 + timedelta(hours=1), T0 + timedelta(hours=2))


def test_a_304_keeps_validators_and_the_last_new_entry(engine: Engine) -> None:
    with session_scope(engine) as s:
        feed_store.poll_state(s, "f", "u")
        feed_store.record_success(s, "f", "u", now=T0, etag='"e1"', last_modified=None, new_entries=1)
    with session_scope(engine) as s:
        feed_store.record_success(s, "f", "u", now=T0 + timedelta(hours=1), etag=None, last_modified=None, new_entries=0)
    stored = row(engine)
    assert stored.etag == '"e1"' and stored.last_new_entry == T0 and stored.last_success == T0 + timedelta(hours=1)
    assert stored.next_poll_after is None and stored.polls == 2


def test_a_feed_pointed_elsewhere_drops_the_old_validators(engine: Engine) -> None:
    with session_scope(engine) as s:
        feed_store.poll_state(s, "f", "https://old.example/feed")
        feed_store.record_success(s, "f", "https://old.example/feed", now=T0, etag='"old"', last_modified="lm",
                                  new_entries=1)
    with session_scope(engine) as s:
        state = feed_store.poll_state(s, "f", "https://new.example/feed")
    assert (state.etag, state.last_modified, state.last_success) == (None, None, T0)
    assert row(engine).url == "https://new.example/feed" and row(engine).etag is None


def test_success_recreates_a_row_removed_during_the_poll(engine: Engine) -> None:
    with session_scope(engine) as s:
        feed_store.poll_state(s, "f", "u")
    with session_scope(engine) as s:
        s.delete(s.get(FeedState, "f"))
    with session_scope(engine) as s:
        feed_store.record_success(s, "f", "u", now=T0, etag='"e"', last_modified=None, new_entries=0)
    assert row(engine).etag == '"e"' and row(engine).polls == 1
