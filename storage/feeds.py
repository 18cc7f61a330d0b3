"""Feed poll state and health."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from storage.models import FeedState


def _insert_ignoring_conflict(session: Session, name: str, url: str) -> None:
    # Two instances may meet a new feed at the same moment: the second insert must not fail.
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    session.execute(insert(FeedState).values(name=name, url=url, consecutive_errors=0, polls=0)
                    .on_conflict_do_nothing(index_elements=["name"]))


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


def record_success(
    state: FeedState, *, now: datetime, etag: str | None, last_modified: str | None, new_entries: int,
    next_poll_after: datetime | None = None,
) -> None:
    """Mark a poll that reached the feed (200 or 304)."""
    state.last_poll = state.last_success = now
    state.polls += 1
    state.consecutive_errors = 0
    state.last_error = None
    state.next_poll_after = next_poll_after
    if etag is not None or last_modified is not None:
        state.etag, state.last_modified = etag, last_modified
    if new_entries:
        state.last_new_entry = now


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
