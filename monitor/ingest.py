"""One feed entry -> article -> facts -> observations -> rule decisions -> alerts, in one transaction.

Idempotent: an entry already stored with the same content changes nothing; an updated entry is
re-extracted and only facts this article had not reported before reach the rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from monitor.alerting import DatabaseHistory, store_decisions
from monitor.config import Config, FeedConfig
from monitor.extract import Extractor
from monitor.extract.models import Facts
from monitor.feeds import FeedEntry
from monitor.observe import FactBatch, article_ref, describe_figure, record_figure, store_contract
from rules.engine import RuleEngine
from rules.events import ArticleEvent, ArticleRef, Decision, Event
from storage import articles as article_store
from storage.models import Article, as_utc

log = logging.getLogger(__name__)


@dataclass
class EntryOutcome:
    """What ingesting one entry did."""

    status: str  # new | updated | syndicated | unchanged
    figures: int = 0
    contracts: int = 0
    alerts: int = 0


def published_day(entry: FeedEntry, now: datetime) -> date:
    """The day an entry was published (today when the feed does not say): relative dates resolve against it."""
    return (as_utc(entry.published) or now).date()


def entry_text(entry: FeedEntry, full_text: str | None = None) -> str:
    """The text the extractor reads: the title (often a headline figure), then the body."""
    body = full_text or entry.content_text or entry.summary_text or ""
    return f"{entry.title}\n{body}".strip() if entry.title else body


class EntryBatch:
    """A unit of work for one poll's entries: the articles they may be (one bulk lookup) and the
    series, rows and sources their facts touch, kept up to date as entries are stored.

    Each entry still runs in its own savepoint; when one rolls back, `reset` drops every cache
    and the next entry reloads from the database, so a bad entry cannot leave stale state behind.
    """

    def __init__(self, session: Session, feed: str | None, entries: list[FeedEntry]) -> None:
        self.articles = article_store.ArticleIndex(session, [(e.entry_id, e.link, e.content_hash) for e in entries], feed)
        self.facts = FactBatch(session, self.articles.new_ids)
        self.fresh: dict[int, str] = {}  # article id -> the entry whose article `insert_new` stored

    def insert_new(self, items: list[tuple[FeedEntry, str]], feed_lang: str | None, now: datetime) -> None:
        """Store the articles of the entries that are new, in one statement, before the entries are
        stored one by one (each then finds its article ready, as the first of its kind)."""
        stored = self.articles.insert_new([(_known(e, feed_lang), text) for e, text in items], now)
        for article in stored:
            self.fresh[article.id] = article.uid
            self.remember(article)

    def remember(self, article: article_store.KnownArticle) -> None:
        """Keep the reference of an article this batch stored: baselines of later entries may point at it."""
        self.facts.refs.put(article_ref(article))

    def prime(self, items: list[Facts | None]) -> None:
        """Load the series the prepared facts will touch."""
        self.facts.prime(f for facts in items if facts for f in facts.figures)

    def settled(self, entry: FeedEntry, feed: str) -> bool:
        """True when storing the entry would change nothing: its article is stored with this content
        (or arrived under another id) and `feed` is already recorded as carrying it."""
        known = self.articles.find(uid=entry.entry_id, link=entry.link, content_hash=entry.content_hash)
        if known is None or (known.uid == entry.entry_id and known.content_hash != entry.content_hash):
            return False
        return self.articles.has_source(known.id, feed)

    def flush(self) -> None:
        """Write the pending sources of articles and figures (before the entries' savepoint ends)."""
        self.articles.flush()
        self.facts.flush()

    def reset(self) -> None:
        """Forget everything cached or pending (after a rollback)."""
        self.articles.reset()
        self.facts.new_article_ids = self.articles.new_ids
        self.facts.reset()
        self.fresh = {}


def _known(entry: FeedEntry, feed_lang: str | None) -> article_store.KnownArticle:
    """The identity of the article an entry would create."""
    return article_store.KnownArticle(
        id=0, uid=entry.entry_id, link=entry.link, content_hash=entry.content_hash, title=entry.title,
        published=as_utc(entry.published), lang=entry.lang or feed_lang)


def _upsert_article(session: Session, feed: FeedConfig, entry: FeedEntry, text: str, now: datetime,
                    batch: EntryBatch | None = None) -> tuple[Article | article_store.KnownArticle, str]:
    index = batch.articles if batch is not None else article_store.ArticleIndex(
        session, [(entry.entry_id, entry.link, entry.content_hash)], feed.name)
    known = index.find(uid=entry.entry_id, link=entry.link, content_hash=entry.content_hash)
    article: Article | article_store.KnownArticle
    if known is not None and batch is not None and batch.fresh.get(known.id) == entry.entry_id:
        del batch.fresh[known.id]  # stored by insert_new for this entry: it is new
        article, status = known, "new"
    elif known is None:
        article = index.insert(_known(entry, feed.lang), text, now)
        if batch is not None:
            batch.remember(article)
        status = "new"
    elif known.uid == entry.entry_id and known.content_hash != entry.content_hash:
        article = session.get(Article, known.id)
        article.title, article.text, article.content_hash, article.updated_at = entry.title, text, entry.content_hash, now
        index.rehash(known, entry.content_hash, entry.title)
        if batch is not None:
            batch.facts.refs.discard(article.id)
        status = "updated"
    else:
        article = known
        status = "unchanged"
    added = index.add_source(article.id, feed.name, entry.entry_id, now)
    if status == "unchanged" and added:
        status = "syndicated"
    return article, status


@dataclass
class StoredFacts:
    """What storing an article's facts did."""

    figures: int = 0  # figures and contracts this article had not reported before
    contracts: int = 0
    events: list[Event] = field(default_factory=list)  # their rule events, when asked for


def store_facts(session: Session, facts: Facts, article: Article, ref: ArticleRef, now: datetime,
                batch: FactBatch | None = None, *, describe: bool = True) -> StoredFacts:
    """Store an article's facts; with `describe`, also return the rule events of the ones it had not
    reported before (a poll that raises no alerts skips building them and their baselines).

    With a `batch` the caller flushes it; without one, the figures' sources are written here.
    """
    own = batch is None
    batch = batch or FactBatch(session)
    out = StoredFacts()
    for figure in facts.figures:
        record = record_figure(session, article, figure, now, batch)
        if record is not None:
            out.figures += 1
            if describe:
                out.events.append(describe_figure(batch, record, figure, ref, now))
    if own:
        batch.flush()  # the figures' sources, in one statement
    for contract in facts.contracts:
        event = store_contract(session, article, ref, contract, now)
        if event is not None:
            out.contracts += 1
            if describe:
                out.events.append(event)
    return out


def decide(engine: RuleEngine, session: Session, events: list[Event], now: datetime) -> list[Decision]:
    """Run every event through the rules."""
    history = DatabaseHistory(session)
    decisions: list[Decision] = []
    for event in events:
        decisions.extend(engine.evaluate(event, history, now))
    return decisions


def unchanged_entries(session: Session, entries: list[FeedEntry]) -> set[str]:
    """The ids of the entries `is_unchanged` would say yes to, in a few queries for the lot."""
    index = article_store.ArticleIndex(session, [(e.entry_id, e.link, e.content_hash) for e in entries])
    out: set[str] = set()
    for e in entries:
        known = index.find(uid=e.entry_id, link=e.link, content_hash=e.content_hash)
        if known is not None and (known.uid != e.entry_id or known.content_hash == e.content_hash):
            out.add(e.entry_id)
    return out


def prepare_facts(extractor: Extractor, entry: FeedEntry, text: str, lang: str | None, now: datetime) -> Facts:
    """Extract an entry's facts before its transaction opens, so the write lock is held briefly."""
    return extractor.extract(text, published=published_day(entry, now), lang=lang)


def ingest_entry(
    session: Session, config: Config, extractor: Extractor, engine: RuleEngine, feed: FeedConfig,
    entry: FeedEntry, *, now: datetime, alerting: bool, text: str | None = None, facts: Facts | None = None,
    batch: EntryBatch | None = None,
) -> EntryOutcome:
    """Store one entry and everything that follows from it (the caller commits).

    `text` and `facts` may be prepared outside the transaction; they are computed here otherwise.
    `batch` carries what earlier entries of the same poll loaded (see EntryBatch); the caller
    flushes it before the entry's savepoint (or the transaction) ends.
    """
    if batch is None:
        batch = EntryBatch(session, feed.name, [entry])
        outcome = ingest_entry(session, config, extractor, engine, feed, entry, now=now, alerting=alerting,
                               text=text, facts=facts, batch=batch)
        batch.flush()
        return outcome
    text = text if text is not None else entry_text(entry)
    article, status = _upsert_article(session, feed, entry, text, now, batch)
    outcome = EntryOutcome(status=status)
    if status not in ("new", "updated"):
        return outcome
    ref = article_ref(article, feed.name)
    if facts is None:
        facts = prepare_facts(extractor, entry, text, article.lang, now)
    stored = store_facts(session, facts, article, ref, now, batch.facts, describe=alerting)
    outcome.figures, outcome.contracts = stored.figures, stored.contracts
    if alerting:
        events = [*stored.events, ArticleEvent(status=status, article=ref, text=text, at=now)]
        outcome.alerts = len(store_decisions(session, config, decide(engine, session, events, now), article.id, now))
    return outcome
