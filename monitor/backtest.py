"""`soe-monitor rules backtest --since DATE`: what today's rules would have sent.

Stored articles are replayed, oldest first, through today's extractor and rules on a scratch
database. Articles seen before DATE only build baselines; those after it may raise alerts.
Nothing is sent and the real database is only read.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from monitor.replay import Replay, ReplayAlert
from monitor.runtime import Runtime
from storage.db import session_scope
from storage.models import Article


def backtest(rt: Runtime, since: datetime) -> list[ReplayAlert]:
    """Replay every stored article; return the alerts raised by those first seen at or after `since`."""
    with session_scope(rt.db) as session:
        articles = list(session.exec(select(Article).order_by(Article.first_seen, Article.id)))
    fired: list[ReplayAlert] = []
    with Replay(rt.config, rt.extractor, rt.rulebook.engine) as replay:
        for art in articles:
            text = art.text or ""
            if art.title and text.startswith(art.title):
                text = text[len(art.title):].lstrip("\n")  # stored text starts with its title
            fired.extend(replay.article(title=art.title, text=text, published=art.published, at=art.first_seen,
                                        url=art.link, lang=art.lang, alerting=art.first_seen >= since))
    return fired
