"""Feed poll state and health."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Insert, Update, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.db import insert_ignoring
from storage.models import FeedState


@functools.cache
def _new_feed_statement(dialect: str) -> Insert:
    # Built once (every feed's first poll runs it): a statement built per call costs SQLAlchemy
    # more than the insert.
    return insert_ignoring(dialect, FeedState.__table__, "name").values(
        name=bindparam("feed_name"), url=bindparam("feed_url"), consecutive_errors=0, polls=0)


def _insert_ignoring_conflict(session: Session, name: str, url: str) -> None:
    # Two instances may meet a new feed at the same moment: the second insert must not fail.
    conn = session.connection()
    conn.execute(_new_feed_statement(conn.dialect.name), {"feed_name": name, "feed_url": url})


def get_feed_state(session: Session, name: str, url: str) -> FeedState:
    """The state row of feed `name`, created on first use."""
    state = session.get(FeedState, name)
    if state is None:
        _insert_ignoring_conflict(session, name, url)
        state = session.get(FeedState, name)
    elif state.url != url:
        # The user pointed the feed elsewhere: old validators belong to the old URL.
        state.url, state.etag, state.last_modified = url, None, None
    return state


@dataclass(frozen=True)
class PollState:
    """What a poll needs to know of its feed's stored state."""

    etag: str | None
    last_modified: str | None
    last_success: datetime | None
    next_poll_after: datetime | None


# The hot path of every poll uses the table itself (Core) and statements built once: plain rows,
# and UPDATEs that need not look for FeedState objects in the session to keep them in step.
_TABLE = FeedState.__table__
_THIS_FEED = _TABLE.c.name == bindparam("feed_name")
_POLL_STATE = sa_select(_TABLE.c.url, _TABLE.c.etag, _TABLE.c.last_modified, _TABLE.c.last_success,
                        _TABLE.c.next_poll_after).where(_THIS_FEED)
_MOVED = _TABLE.update().where(_THIS_FEED).values(url=bindparam("new_url"), etag=None, last_modified=None)


def poll_state(session: Session, name: str, url: str) -> PollState:
    """The poll state of feed `name`, its row created on first use; when the feed now points
    elsewhere, the old URL's validators are dropped."""
    conn = session.connection()
    row = conn.execute(_POLL_STATE, {"feed_name": name}).first()
    if row is None:
        _insert_ignoring_conflict(session, name, url)
        row = conn.execute(_POLL_STATE, {"feed_name": name}).one()
    if row.url != url:
        conn.execute(_MOVED, {"feed_name": name, "new_url": url})
        return PollState(None, None, row.last_success, row.next_poll_after)
    return PollState(row.etag, row.last_modified, row.last_success, row.next_poll_after)


@functools.cache
def _success_statement(validators: bool, new_entries: bool) -> Update:
    """The UPDATE recording a successful poll; parameters feed_name, now, next_poll, problem (and new_etag,
    new_lm)."""
    now = bindparam("now", type_=_TABLE.c.last_poll.type)
    values: dict[str, object] = dict(
        last_poll=now, last_success=now, polls=_TABLE.c.polls + 1, consecutive_errors=0,
        last_error=bindparam("problem", type_=_TABLE.c.last_error.type),
        next_poll_after=bindparam("next_poll", type_=_TABLE.c.next_poll_after.type))
    if validators:
        values.update(etag=bindparam("new_etag"), last_modified=bindparam("new_lm"))
    if new_entries:
        values["last_new_entry"] = now
    return _TABLE.update().where(_THIS_FEED).values(values)


def record_success(
    session: Session, name: str, url: str, *, now: datetime, etag: str | None, last_modified: str | None,
    new_entries: int, next_poll_after: datetime | None = None, problem: str | None = None,
) -> None:
    """Mark a poll that reached the feed (200 or 304), in one UPDATE. A `problem` of an otherwise
    successful poll is kept as the feed's last error (its error count is reset all the same)."""
    validators = etag is not None or last_modified is not None
    statement = _success_statement(validators, bool(new_entries))
    params = {"feed_name": name, "now": now, "next_poll": next_poll_after, "problem": problem, "new_etag": etag,
              "new_lm": last_modified}
    if not validators:
        del params["new_etag"], params["new_lm"]
    conn = session.connection()
    if conn.execute(statement, params).rowcount == 0:  # the row went away during the poll: make it again
        _insert_ignoring_conflict(session, name, url)
        conn.execute(statement, params)


def record_error(state: FeedState, *, now: datetime, error: str, next_poll_after: datetime | None) -> None:
    """Mark a failed poll; the caller has already computed the backoff."""
    state.last_poll = now
    state.polls += 1
    state.consecutive_errors += 1
    state.last_error = error
    state.next_poll_after = next_poll_after


def list_feed_states(session: Session) -> list[FeedState]:
    """Every feed's health, by name."""
    return list(session.exec(select(FeedState).order_by(FeedState.name)))


def claim_poll(session: Session, name: str, url: str, owner: str, now: datetime, lease: timedelta,
               min_gap: timedelta) -> bool:
    """Atomically take the right to poll a feed now: no other live lease, and no poll within `min_gap`.

    One conditional UPDATE, so two instances on one database never both win.
    """
    get_feed_state(session, name, url)
    session.flush()
    result = session.execute(
        update(FeedState)
        .where(FeedState.name == name)
        .where(or_(FeedState.lease_until.is_(None), FeedState.lease_until < now, FeedState.lease_owner == owner))
        .where(or_(FeedState.last_poll.is_(None), FeedState.last_poll <= now - min_gap))
        .values(lease_owner=owner, lease_until=now + lease)
    )
    return result.rowcount == 1


def release_poll(session: Session, name: str, owner: str) -> None:
    """Give the poll lease back."""
    session.execute(
        update(FeedState).where(FeedState.name == name, FeedState.lease_owner == owner).values(lease_owner=None, lease_until=None)
    )


def lease_owners(session: Session) -> list[str]:
    """Everyone holding a feed lease now."""
    return [o for o in session.exec(select(FeedState.lease_owner).distinct()) if o]


def release_owners(session: Session, owners: list[str]) -> int:
    """Drop the feed leases of `owners` (processes known to be dead)."""
    if not owners:
        return 0
    result = session.execute(
        update(FeedState).where(FeedState.lease_owner.in_(owners)).values(lease_owner=None, lease_until=None)
    )
    return int(result.rowcount or 0)
