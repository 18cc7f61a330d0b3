"""Poll one feed: fetch, parse, ingest its entries, record feed health.

Network and extraction run first; then every entry is stored in one transaction, each in its own
savepoint, so a bad entry rolls back alone. Validators (ETag, Last-Modified) are saved only after
that transaction commits, so a crash mid-poll means the next poll fetches the same entries again,
and re-processing them is a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.article_text import fetch_full_text
from monitor.config import FeedConfig
from monitor.feeds import FeedEntry, parse_feed
from monitor.fetch import next_poll_delay
from monitor.extract.models import Facts
from monitor.ingest import EntryBatch, entry_text, ingest_entry, prepare_facts, unchanged_entries
from monitor.runtime import Runtime
from storage import feeds as feed_store
from storage.db import session_scope
from storage.models import as_utc, utcnow

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    """The outcome of one poll, for logs, metrics and `once`."""

    feed: str
    status: str  # ok | not_modified | error | skipped
    entries: int = 0
    new_articles: int = 0
    figures: int = 0
    contracts: int = 0
    alerts: int = 0
    entry_errors: int = 0
    baseline: bool = False
    error: str | None = None


def _full_text_for(rt: Runtime, feed: FeedConfig, entry: FeedEntry) -> str | None:
    wants = feed.full_text or not entry.has_full_content
    if not wants or not entry.link or not entry.link.startswith(("http://", "https://")):
        return None
    if feed.is_local and not feed.full_text:
        return None  # offline feeds carry their text; never reach out for them
    return fetch_full_text(rt.fetcher, entry.link)


def _delay(feed: FeedConfig, errors: int, retry_after: float | None = None, max_age: float | None = None,
           ttl: int | None = None) -> timedelta:
    return timedelta(seconds=next_poll_delay(
        feed.interval.total_seconds(), consecutive_errors=errors, retry_after=retry_after, max_age=max_age,
        ttl_minutes=ttl,
        min_interval_s=feed.min_interval.total_seconds() if feed.min_interval else None,
        max_interval_s=feed.max_interval.total_seconds() if feed.max_interval else None,
    ))


def _not_before(feed: FeedConfig, now: datetime, delay: timedelta) -> datetime | None:
    # Only a feed asking for more than its interval (TTL, max-age) delays the next scheduled poll.
    return now + delay if delay > feed.interval else None


def _record_error(rt: Runtime, feed: FeedConfig, error: str, now: datetime, retry_after: float | None = None) -> PollReport:
    with session_scope(rt.db) as session:
        state = feed_store.get_feed_state(session, feed.name, feed.url)
        delay = _delay(feed, state.consecutive_errors + 1, retry_after)
        feed_store.record_error(state, now=now, error=error, next_poll_after=now + delay)
        errors = state.consecutive_errors
    log.warning("feed %s (%s) failed (%d in a row, next try in %s): %s", feed.name, feed.url, errors, delay, error)
    return PollReport(feed=feed.name, status="error", error=error)


def poll_feed(rt: Runtime, feed: FeedConfig, *, now: datetime | None = None, force: bool = False) -> PollReport:
    """Poll one feed once. Never raises for feed problems: they are recorded and reported.

    Without `force`, the poll first takes the feed's lease, so several instances sharing a
    database poll each feed once per interval between them.
    """
    now = now or utcnow()
    if not force:
        with session_scope(rt.db) as session:
            lease = timedelta(seconds=rt.config.fetch.deadline * 3 + 60)
            if not feed_store.claim_poll(session, feed.name, feed.url, rt.owner, now, lease, feed.interval * 0.5):
                log.debug("poll %s skipped: polled recently or leased by another instance", feed.name)
                return PollReport(feed=feed.name, status="skipped")
    try:
        return _poll(rt, feed, now, force)
    finally:
        if not force:
            with session_scope(rt.db) as session:
                feed_store.release_poll(session, feed.name, rt.owner)


def _poll(rt: Runtime, feed: FeedConfig, now: datetime, force: bool) -> PollReport:
    with session_scope(rt.db) as session:
        state = feed_store.get_feed_state(session, feed.name, feed.url)
        etag, last_modified, first = state.etag, state.last_modified, state.last_success is None
        not_before = state.next_poll_after
    if not_before and now < not_before and not force:  # backing off, or the feed asked us to wait
        return PollReport(feed=feed.name, status="skipped")
    result = rt.fetcher.fetch(feed.url, etag=etag, last_modified=last_modified, allow_file=feed.is_local)
    if result.status == "error":
        return _record_error(rt, feed, result.error or "fetch failed", now, result.retry_after)
    if result.status == "not_modified":
        with session_scope(rt.db) as session:
            state = feed_store.get_feed_state(session, feed.name, feed.url)
            feed_store.record_success(state, now=now, etag=etag, last_modified=last_modified, new_entries=0,
                                      next_poll_after=_not_before(feed, now, _delay(feed, 0, max_age=result.max_age)))
        return PollReport(feed=feed.name, status="not_modified")
    parsed = parse_feed(result, feed.name)
    if parsed.error and not parsed.entries:
        return _record_error(rt, feed, f"{feed.url}: {parsed.error}", now)
    first_poll_mode = feed.first_poll or rt.config.alerts.first_poll
    report = _ingest_all(rt, feed, parsed.entries, now, alerting=not first or first_poll_mode == "alert")
    with session_scope(rt.db) as session:
        state = feed_store.get_feed_state(session, feed.name, feed.url)
        feed_store.record_success(state, now=now, etag=result.etag, last_modified=result.last_modified,
                                  new_entries=report.new_articles,
                                  next_poll_after=_not_before(feed, now, _delay(feed, 0, max_age=result.max_age, ttl=parsed.ttl_minutes)))
    log.info("poll %s: %d entries, %d new articles, %d figures, %d contracts, %d alerts%s",
             feed.name, report.entries, report.new_articles, report.figures, report.contracts, report.alerts,
             " (first poll: facts recorded as baseline, no alerts)" if report.baseline else "")
    return report


@dataclass
class _Prepared:
    entry: FeedEntry
    text: str | None
    facts: Facts | None


def _prepare(rt: Runtime, feed: FeedConfig, entries: list[FeedEntry], now: datetime, report: PollReport) -> list[_Prepared]:
    """Network and extraction for new or changed entries, before any write transaction opens."""
    with session_scope(rt.db) as session:
        unchanged = unchanged_entries(session, entries)  # a few queries for the whole feed
    prepared: list[_Prepared] = []
    for entry in entries:
        if entry.entry_id in unchanged:
            prepared.append(_Prepared(entry, None, None))
            continue
        try:
            text = entry_text(entry, _full_text_for(rt, feed, entry))
            prepared.append(_Prepared(entry, text, prepare_facts(rt.extractor, entry, text, entry.lang or feed.lang, now)))
        except Exception:  # one bad entry must not stop the feed
            report.entry_errors += 1
            log.exception("feed %s: entry %s could not be read", feed.name, entry.link or entry.entry_id)
    return prepared


def _ingest_all(rt: Runtime, feed: FeedConfig, entries: list[FeedEntry], now: datetime, *, alerting: bool) -> PollReport:
    """Store every entry in one transaction, each in a savepoint so a bad one rolls back alone."""
    report = PollReport(feed=feed.name, status="ok", entries=len(entries), baseline=not alerting)
    # Oldest first, so baselines build up in publication order.
    ordered = sorted(entries, key=lambda e: as_utc(e.published) or now)
    prepared = _prepare(rt, feed, ordered, now, report)
    engine = rt.rulebook.engine
    with session_scope(rt.db) as session:
        # One unit of work for the poll: the articles, series and rows the entries need, loaded in
        # bulk up front and kept current as entries are stored (instead of queries per entry and figure).
        batch = EntryBatch(session, feed.name, [item.entry for item in prepared])
        batch.prime([(item.entry, item.facts) for item in prepared], now)
        for item in prepared:
            if item.facts is None and batch.settled(item.entry, feed.name):
                continue  # stored as is and carried by this feed already: ingest_entry would do nothing
            try:
                with session.begin_nested():
                    outcome = ingest_entry(session, rt.config, rt.extractor, engine, feed, item.entry, now=now,
                                           alerting=alerting, text=item.text, facts=item.facts, batch=batch)
            except Exception:  # one bad entry must not stop the feed
                batch.reset()  # its savepoint rolled back: nothing cached may outlive it
                report.entry_errors += 1
                log.exception("feed %s: entry %s could not be stored", feed.name, item.entry.link or item.entry.entry_id)
                continue
            report.new_articles += outcome.status == "new"
            report.figures += outcome.figures
            report.contracts += outcome.contracts
            report.alerts += outcome.alerts
    return report
