"""`soe-monitor rules backtest --since DATE`: what today's rules would have sent.

Stored articles are replayed, oldest first, through today's extractor and rules on a scratch
database. Articles seen before DATE only build baselines and rule history (repeat_after,
frequency); the alerts of those seen since DATE are reported.
Nothing is sent and the real database is only read.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from monitor.replay import Replay, ReplayAlert, stored_article_args
from monitor.runtime import Runtime
from storage.db import session_scope
from storage.models import Article, as_utc


def backtest(rt: Runtime, since: datetime) -> list[ReplayAlert]:
    """Replay every stored article; return the alerts raised by those first seen at or after `since`."""
    since = as_utc(since)
    with session_scope(rt.db) as session:
        articles = [stored_article_args(session, a)
                    for a in session.exec(select(Article).order_by(Article.first_seen, Article.id))]
    fired: list[ReplayAlert] = []
    with Replay(rt.config, rt.extractor, rt.rulebook.engine) as replay:
        for args in articles:
            # Earlier articles run the rules too (their alerts are not reported), so repeat_after and
            # frequency see the history today's rules would have built.
            alerts = replay.article(**args)
            if args["at"] >= since:
                fired.extend(alerts)
    return fired
