"""Run articles or facts through the daemon's own ingest code on a scratch database.

Used by `rules test` (frozen clock, articles given in the test file) and `rules backtest`
(stored articles replayed through today's extractor and rules). Nothing is ever sent: alerts land
in the scratch outbox, and the scratch database is deleted afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from monitor.alerting import store_decisions
from monitor.config import Config
from monitor.extract import Extractor
from monitor.extract.models import Facts
from monitor.ingest import decide, store_facts
from rules.engine import RuleEngine
from rules.events import ArticleEvent, ArticleRef
from storage.db import init_db, make_engine, session_scope
from storage.models import Alert, Article, Delivery


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

    def article(self, *, title: str, text: str, published: datetime | None, at: datetime, url: str | None = None,
                feed: str = "replay", lang: str | None = None, facts: Facts | None = None,
                alerting: bool = True) -> list[ReplayAlert]:
        """Ingest one article (its facts extracted, or given) at time `at`; return the alerts raised."""
        body = f"{title}\n{text}".strip() if title else text
        digest = hashlib.sha256(body.encode()).hexdigest()
        with session_scope(self.db) as session:
            row = Article(uid=f"replay:{digest}", link=url, title=title, published=published or at, lang=lang,
                          text=body, content_hash=digest, first_seen=at, updated_at=at)
            session.add(row)
            session.flush()
            ref = ArticleRef(id=row.id, title=title, url=url, feed=feed, published=row.published)
            if facts is None:
                facts = self.extractor.extract(body, published=(published or at).date(), lang=lang)
            events = store_facts(session, facts, row, ref, at)
            events.append(ArticleEvent(status="new", article=ref, text=body, at=at))
            if not alerting:
                return []
            alerts = store_decisions(session, self.config, decide(self.engine, session, events, at), row.id, at)
            return [self._describe(session, a, title) for a in alerts]

    @staticmethod
    def _describe(session: Session, alert: Alert, title: str) -> ReplayAlert:
        channels = list(session.exec(select(Delivery.channel).where(Delivery.alert_id == alert.id)))
        return ReplayAlert(rule=alert.rule, key=alert.key, severity=alert.severity, subject=alert.subject,
                           message=alert.message, at=alert.created_at, channels=channels, article_title=title)
