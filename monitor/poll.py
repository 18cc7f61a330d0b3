"""Poll one feed: fetch, parse, ingest its entries, record feed health.

Network first, then parsing and extraction (in worker processes when configured); then every
entry is stored in one transaction (see `_ingest_all`: a bad entry is retried alone, and only it
is left out, for the next poll to retry). The feed's validators (ETag, Last-Modified) are saved
in that same transaction, so a crash mid-poll means the next poll fetches the same entries
again, and re-processing them is a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from monitor.article_text import fetch_full_text
from monitor.config import FeedConfig
from monitor.feeds import FeedEntry
from monitor.fetch import next_poll_delay
from monitor.extract.models import Facts
from monitor.ingest import EntryBatch, EntryOutcome, entry_text, ingest_entry, published_day, unchanged_entries
from monitor.runtime import Runtime
from monitor.workers import ExtractFailure, ExtractJob
from rules.engine import RuleEngine
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
    with session_scope(rt.db) as session:
        if not force:
            lease = timedelta(seconds=rt.config.fetch.deadline * 3 + 60)
            if not feed_store.claim_poll(session, feed.name, feed.url, rt.owner, now, lease, feed.interval * 0.5):
                log.debug("poll %s skipped: polled recently or leased by another instance", feed.name)
                return PollReport(feed=feed.name, status="skipped")
        state = feed_store.poll_state(session, feed.name, feed.url)
    try:
        return _poll(rt, feed, state, now, force)
    finally:
        if not force:
            with session_scope(rt.db) as session:
                feed_store.release_poll(session, feed.name, rt.owner)


def _poll(rt: Runtime, feed: FeedConfig, state: feed_store.PollState, now: datetime, force: bool) -> PollReport:
    etag, last_modified, first = state.etag, state.last_modified, state.last_success is None
    if state.next_poll_after and now < state.next_poll_after and not force:  # backing off, or the feed asked us to wait
        return PollReport(feed=feed.name, status="skipped")
    result = rt.fetcher.fetch(feed.url, etag=etag, last_modified=last_modified, allow_file=feed.is_local)
    if result.status == "error":
        return _record_error(rt, feed, result.error or "fetch failed", now, result.retry_after)
    if result.status == "not_modified":
        with session_scope(rt.db) as session:
            feed_store.record_success(session, feed.name, feed.url, now=now, etag=etag, last_modified=last_modified,
                                      new_entries=0,
                                      next_poll_after=_not_before(feed, now, _delay(feed, 0, max_age=result.max_age)))
        return PollReport(feed=feed.name, status="not_modified")
    parsed = rt.cpu.parse(result, feed.name)
    if parsed.error and not parsed.entries:
        return _record_error(rt, feed, f"{feed.url}: {parsed.error}", now)
    first_poll_mode = feed.first_poll or rt.config.alerts.first_poll
    success = _Success(result.etag, result.last_modified,
                       _not_before(feed, now, _delay(feed, 0, max_age=result.max_age, ttl=parsed.ttl_minutes)))
    report = _ingest_all(rt, feed, parsed.entries, now, success, alerting=not first or first_poll_mode == "alert")
    log.info("poll %s: %d entries, %d new articles, %d figures, %d contracts, %d alerts%s",
             feed.name, report.entries, report.new_articles, report.figures, report.contracts, report.alerts,
             " (first poll: facts recorded as baseline, no alerts)" if report.baseline else "")
    return report


@dataclass(frozen=True)
class _Success:
    """What a successful poll records about its feed, in the transaction that stores its entries."""

    etag: str | None
    last_modified: str | None
    next_poll_after: datetime | None
    failed_entries: int = 0

    def with_failed(self, entries: int) -> _Success:
        """The same success with entries that failed: the feed keeps the validators it had, so the
        next poll fetches it in full again and retries them (stored ones are no-ops)."""
        return _Success(None, None, self.next_poll_after, self.failed_entries + entries)

    def problem(self) -> str | None:
        """The feed's last error for `soe-monitor feeds` when entries failed."""
        n = self.failed_entries
        if not n:
            return None
        return (f"{n} {'entry' if n == 1 else 'entries'} could not be read or stored (see the daemon's log); "
                "the next poll retries them")


@dataclass
class _Prepared:
    entry: FeedEntry
    text: str | None
    facts: Facts | None


def _prepare(rt: Runtime, feed: FeedConfig, entries: list[FeedEntry], now: datetime, report: PollReport) -> list[_Prepared]:
    """Network and extraction for new or changed entries, before any write transaction opens."""
    with session_scope(rt.db) as session:
        unchanged = unchanged_entries(session, entries)  # a few queries for the whole feed
    texts: dict[int, str] = {}
    for i, entry in enumerate(entries):
        if entry.entry_id in unchanged:
            continue
        try:
            texts[i] = entry_text(entry, _full_text_for(rt, feed, entry))
        except Exception:  # one bad entry must not stop the feed
            report.entry_errors += 1
            log.exception("feed %s: entry %s could not be read", feed.name, entry.link or entry.entry_id)
    jobs = [ExtractJob(text, published_day(entries[i], now), entries[i].lang or feed.lang)
            for i, text in texts.items()]
    facts = dict(zip(texts, rt.cpu.extract(jobs)))  # all of the feed's entries in one worker call
    prepared: list[_Prepared] = []
    for i, entry in enumerate(entries):
        if entry.entry_id in unchanged:
            prepared.append(_Prepared(entry, None, None))
            continue
        found = facts.get(i)
        if isinstance(found, ExtractFailure):
            report.entry_errors += 1
            log.error("feed %s: entry %s could not be read:\n%s", feed.name, entry.link or entry.entry_id, found.error)
        elif found is not None:
            prepared.append(_Prepared(entry, texts[i], found))
    return prepared


def _ingest_all(rt: Runtime, feed: FeedConfig, entries: list[FeedEntry], now: datetime, success: _Success, *,
                alerting: bool) -> PollReport:
    """Store every entry, and the feed's new state, in one transaction.

    The entries are first stored together without savepoints (the common case, and the fast one).
    If one fails, that transaction rolls back and they are stored again, each in a savepoint of
    its own, so only the bad entry is left out (and logged). An entry left out, here or because it
    could not be read, is not lost: the feed keeps its old validators, so the next poll retries it.
    """
    report = PollReport(feed=feed.name, status="ok", entries=len(entries), baseline=not alerting)
    # Oldest first, so baselines build up in publication order.
    ordered = sorted(entries, key=lambda e: as_utc(e.published) or now)
    prepared = _prepare(rt, feed, ordered, now, report)
    if report.entry_errors:
        success = success.with_failed(report.entry_errors)
    try:
        outcomes = _store(rt, feed, prepared, now, success, alerting, isolate=False)
    except Exception as exc:  # noqa: BLE001 - retried entry by entry, which logs the culprit
        log.debug("feed %s: storing the entries together failed (%r); storing them one by one", feed.name, exc)
        outcomes = _store(rt, feed, prepared, now, success, alerting, isolate=True)
    for outcome in outcomes:
        if outcome is None:
            report.entry_errors += 1
            continue
        report.new_articles += outcome.status == "new"
        report.figures += outcome.figures
        report.contracts += outcome.contracts
        report.alerts += outcome.alerts
    if report.entry_errors:
        log.warning("feed %s (%s): %d entries failed (see above); the next poll fetches the feed in full "
                    "again and retries them", feed.name, feed.url, report.entry_errors)
    return report


def _store(rt: Runtime, feed: FeedConfig, prepared: list[_Prepared], now: datetime, success: _Success,
           alerting: bool, *, isolate: bool) -> list[EntryOutcome | None]:
    """Store the prepared entries and the feed's success in one transaction; with `isolate`, each entry
    in a savepoint so that a bad one rolls back alone (its outcome is None). Without it, any failure
    raises and nothing is stored."""
    engine = rt.rulebook.engine
    outcomes: list[EntryOutcome | None] = []
    with session_scope(rt.db) as session:
        # One unit of work for the poll: the articles, series and rows the entries need, loaded in
        # bulk up front and kept current as entries are stored (instead of queries per entry and figure).
        batch = EntryBatch(session, feed.name, [item.entry for item in prepared])
        batch.prime([item.facts for item in prepared])
        if not isolate:  # one INSERT for the poll's new articles (a savepoint could not undo it alone)
            batch.insert_new([(item.entry, item.text) for item in prepared if item.facts is not None], feed.lang, now)
        for item in prepared:
            if item.facts is None and batch.settled(item.entry, feed.name):
                continue  # stored as is and carried by this feed already: ingest_entry would do nothing
            if not isolate:
                outcomes.append(_store_one(rt, engine, session, feed, item, now, alerting, batch))
                continue
            try:
                with session.begin_nested():
                    outcomes.append(_store_one(rt, engine, session, feed, item, now, alerting, batch))
                    batch.flush()
            except Exception:  # one bad entry must not stop the feed
                batch.reset()  # its savepoint rolled back: nothing cached may outlive it
                outcomes.append(None)
                log.exception("feed %s: entry %s could not be stored", feed.name, item.entry.link or item.entry.entry_id)
        batch.flush()
        if None in outcomes:
            success = success.with_failed(outcomes.count(None))
        feed_store.record_success(session, feed.name, feed.url, now=now, etag=success.etag,
                                  last_modified=success.last_modified,
                                  new_entries=sum(1 for o in outcomes if o is not None and o.status == "new"),
                                  next_poll_after=success.next_poll_after, problem=success.problem())
    return outcomes


def _store_one(rt: Runtime, engine: RuleEngine, session: Session, feed: FeedConfig, item: _Prepared, now: datetime,
               alerting: bool, batch: EntryBatch) -> EntryOutcome:
    return ingest_entry(session, rt.config, rt.extractor, engine, feed, item.entry, now=now, alerting=alerting,
                        text=item.text, facts=item.facts, batch=batch)
