"""Run articles or facts through the daemon's own ingest code on a scratch database.

Used by `rules test` (frozen clock, articles given in the test file) and `rules backtest`
(stored articles replayed through today's extractor and rules). Nothing is ever sent: alerts land
in the scratch outbox, and the scratch database is deleted afterwards.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from pathlib import Path

from sqlmodel import Session, select

from monitor.alerting import store_decisions
from monitor.config import Config
from monitor.extract import Extractor
from monitor.extract.models import Facts
from monitor.ingest import decide, store_facts
from rules.engine import RuleEngine
from rules.events import ArticleEvent, ArticleRef, Event
from storage import articles as article_store
from storage.alerts import StoredAlert
from storage.db import init_db, make_engine, session_scope
from storage.models import Article, Delivery, as_utc


@dataclass
class ReplayAlert:
    """An alert the replay would have sent."""

    rule: str
    key: str
    severity: str
    subject: str
    message: str
    at: datetime
    channels: list[str]
    article_title: str


class Replay:
    """A scratch monitor: same storage, extraction, rules and outbox code; no delivery."""

    def __init__(self, config: Config, extractor: Extractor, engine: RuleEngine) -> None:
        self.config, self.extractor, self.engine = config, extractor, engine
        self._dir = Path(tempfile.mkdtemp(prefix="soe-replay-"))
        self.db = make_engine(f"sqlite:///{self._dir / 'replay.db'}")
        init_db(self.db)

    def close(self) -> None:
        """Drop the scratch database."""
        self.db.dispose()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "Replay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ingest(self, session: Session, *, title: str, text: str, published: datetime | None, at: datetime,
               url: str | None = None, feed: str = "replay", lang: str | None = None,
               facts: Facts | None = None) -> tuple[Article, list[Event]] | None:
        """Store one article and its facts in the scratch database (inside `session`); return the
        article row and the events for the rules, or None when this very text was stored already
        (the daemon too treats the same content again as nothing new)."""
        body = f"{title}\n{text}".strip() if title else text
        digest = hashlib.sha256(body.encode()).hexdigest()
        if session.exec(select(Article.id).where(Article.uid == f"replay:{digest}")).first() is not None:
            return None
        row = Article(uid=f"replay:{digest}", link=url, title=title, published=published or at, lang=lang,
                      text=body, content_hash=digest, first_seen=at, updated_at=at)
        session.add(row)
        session.flush()
        ref = ArticleRef(id=row.id, title=title, url=url, feed=feed, published=row.published)
        if facts is None:
            facts = self.extractor.extract(body, published=(published or at).date(), lang=lang)
        events: list[Event] = store_facts(session, facts, row, ref, at).events
        events.append(ArticleEvent(status="new", article=ref, text=body, at=at))
        return row, events

    def article(self, *, title: str, text: str, published: datetime | None, at: datetime, url: str | None = None,
                feed: str = "replay", lang: str | None = None, facts: Facts | None = None,
                alerting: bool = True) -> list[ReplayAlert]:
        """Ingest one article (its facts extracted, or given) at time `at`; return the alerts raised."""
        with session_scope(self.db) as session:
            stored = self.ingest(session, title=title, text=text, published=published, at=at, url=url, feed=feed,
                                 lang=lang, facts=facts)
            if stored is None or not alerting:
                return []
            row, events = stored
            alerting_log = logging.getLogger("monitor.alerting")
            level = alerting_log.level
            alerting_log.setLevel(logging.WARNING)  # scratch alerts are not news for the user's log
            try:
                alerts = store_decisions(session, self.config, decide(self.engine, session, events, at), row.id, at)
            finally:
                alerting_log.setLevel(level)
            return [self._describe(session, a, title) for a in alerts]

    def stored_article(self, session: Session, art: Article, *, alerting: bool = True) -> list[ReplayAlert]:
        """Replay an article of the real database (read through `session`) at the time it was first seen."""
        return self.article(**stored_article_args(session, art), alerting=alerting)

    @staticmethod
    def _describe(session: Session, alert: StoredAlert, title: str) -> ReplayAlert:
        channels = list(session.exec(select(Delivery.channel).where(Delivery.alert_id == alert.id)))
        return ReplayAlert(rule=alert.rule, key=alert.key, severity=alert.severity, subject=alert.subject,
                           message=alert.message, at=alert.created_at, channels=channels, article_title=title)


def stored_article_args(session: Session, art: Article) -> dict[str, Any]:
    """The arguments that replay a stored article as the daemon saw it: its text without the title
    line the pipeline put in front, its first feed (rules may match on `feed`), its dates."""
    text = art.text or ""
    if art.title and text.startswith(art.title):
        text = text[len(art.title):].lstrip("\n")  # stored text starts with its title
    return {"title": art.title, "text": text, "published": as_utc(art.published), "at": as_utc(art.first_seen),
            "url": art.link, "lang": art.lang, "feed": article_store.first_feed(session, art.id) or "replay"}
