"""Periodic `stale` checks: feeds (and series) that went silent, and their recovery.

Safe with several instances on one database: each decision's dedup key is unique, so a second
instance checking the same silence stores nothing new.
"""

from __future__ import annotations

from datetime import datetime

from monitor.alerting import DatabaseHistory, store_decisions
from monitor.runtime import Runtime
from rules.events import FeedEvent, FigureEvent, PeriodRef
from storage import feeds as feed_store
from storage import series as series_store
from storage.db import session_scope
from storage.models import utcnow


def _feed_events(rt: Runtime, session, now: datetime) -> list[FeedEvent]:  # type: ignore[no-untyped-def]
    configured = {f.name for f in rt.config.feeds}
    return [
        FeedEvent(feed=s.name, last_success=s.last_success, last_new_entry=s.last_new_entry,
                  consecutive_errors=s.consecutive_errors, last_error=s.last_error, at=now)
        for s in feed_store.list_feed_states(session) if s.name in configured
    ]


def _series_events(session) -> list[FigureEvent]:  # type: ignore[no-untyped-def]
    events = []
    for row in series_store.list_series(session):
        obs = row.latest
        if obs is None:
            continue
        s = row.series
        events.append(FigureEvent(
            status="source", series_key=s.key, metric=s.metric, entity=s.entity, unit=s.unit or None, value=obs.value,
            period=PeriodRef(start=obs.period_start, end=obs.period_end, label=obs.period_label, kind=s.period_kind),
            quote=obs.quote, at=obs.observed_at,
        ))
    return events


def check_stale(rt: Runtime, now: datetime | None = None) -> int:
    """Run the stale rules over every feed (and series, if a rule watches them); return new alerts."""
    engine = rt.rulebook.engine
    rules = engine.stale_rules()
    if not rules:
        return 0
    now = now or utcnow()
    with session_scope(rt.db) as session:
        events: list[FeedEvent | FigureEvent] = _feed_events(rt, session, now)
        if any(r.kind == "figure" for r in rules):
            events.extend(_series_events(session))
        decisions = engine.check_stale(events, DatabaseHistory(session), now)
        return len(store_decisions(session, rt.config, decisions, None, now))
