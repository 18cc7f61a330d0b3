"""One feed entry -> article -> facts -> observations -> rule decisions -> alerts, in one transaction.

Idempotent: an entry already stored with the same content changes nothing; an updated entry is
re-extracted and only facts this article had not reported before reach the rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from monitor.alerting import DatabaseHistory, store_decisions
from monitor.config import Config, FeedConfig
from monitor.extract import Extractor
from monitor.extract.models import Facts
from monitor.feeds import FeedEntry
from monitor.observe import store_contract, store_figure
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
    events: list[Event] = field(default_factory=list)


def entry_text(entry: FeedEntry, full_text: str | None = None) -> str:
    """The text the extractor reads: the title (often a headline figure), then the body."""
    body = full_text or entry.content_text or entry.summary_text or ""
    return f"{entry.title}\n{body}".strip() if entry.title else body


def _upsert_article(session: Session, feed: FeedConfig, entry: FeedEntry, text: str, now: datetime) -> tuple[Article, str]:
    article = article_store.find_article(session, uid=entry.entry_id, link=entry.link, content_hash=entry.content_hash)
    if article is None:
        article = Article(uid=entry.entry_id, link=entry.link, title=entry.title, published=as_utc(entry.published),
                          lang=entry.lang or feed.lang, text=text, content_hash=entry.content_hash,
                          first_seen=now, updated_at=now)
        session.add(article)
        session.flush()
        status = "new"
    elif article.uid == entry.entry_id and article.content_hash != entry.content_hash:
        article.title, article.text, article.content_hash, article.updated_at = entry.title, text, entry.content_hash, now
        status = "updated"
    else:
        status = "unchanged"
    added = article_store.add_source(session, article.id, feed.name, entry.entry_id, now)
    if status == "unchanged" and added:
        status = "syndicated"
    return article, status


def store_facts(session: Session, facts: Facts, article: Article, ref: ArticleRef, now: datetime) -> list[Event]:
    """Store an article's facts and return the events for the ones it had not reported before."""
    events: list[Event] = []
    for figure in facts.figures:
        event = store_figure(session, article, ref, figure, now)
        if event is not None:
            events.append(event)
    for contract in facts.contracts:
        event = store_contract(session, article, ref, contract, now)
        if event is not None:
            events.append(event)
    return events


def decide(engine: RuleEngine, session: Session, events: list[Event], now: datetime) -> list[Decision]:
    """Run every event through the rules."""
    history = DatabaseHistory(session)
    decisions: list[Decision] = []
    for event in events:
        decisions.extend(engine.evaluate(event, history, now))
    return decisions


def is_unchanged(session: Session, entry: FeedEntry) -> bool:
    """True when the entry's article is stored with this content (or arrived under another id)."""
    known = article_store.find_article(session, uid=entry.entry_id, link=entry.link, content_hash=entry.content_hash)
    return known is not None and (known.uid != entry.entry_id or known.content_hash == entry.content_hash)


def prepare_facts(extractor: Extractor, entry: FeedEntry, text: str, lang: str | None, now: datetime) -> Facts:
    """Extract an entry's facts before its transaction opens, so the write lock is held briefly."""
    published = (as_utc(entry.published) or now).date()
    return extractor.extract(text, published=published, lang=lang)


def ingest_entry(
    session: Session, config: Config, extractor: Extractor, engine: RuleEngine, feed: FeedConfig,
    entry: FeedEntry, *, now: datetime, alerting: bool, text: str | None = None, facts: Facts | None = None,
) -> EntryOutcome:
    """Store one entry and everything that follows from it (the caller commits).

    `text` and `facts` may be prepared outside the transaction; they are computed here otherwise.
    """
    text = text if text is not None else entry_text(entry)
    article, status = _upsert_article(session, feed, entry, text, now)
    outcome = EntryOutcome(status=status)
    if status not in ("new", "updated"):
        return outcome
    ref = ArticleRef(id=article.id, title=article.title, url=article.link, feed=feed.name, published=article.published)
    if facts is None:
        facts = prepare_facts(extractor, entry, text, article.lang, now)
    events = store_facts(session, facts, article, ref, now)
    events.append(ArticleEvent(status=status, article=ref, text=text, at=now))
    outcome.events = events
    outcome.figures = sum(1 for e in events if e.type == "figure")
    outcome.contracts = sum(1 for e in events if e.type == "contract")
    if alerting:
        outcome.alerts = len(store_decisions(session, config, decide(engine, session, events, now), article.id, now))
    return outcome
