"""Retention: raw article text is dropped after `[retention] article_text_days`; facts stay forever.

Only `Article.text` is cleared. The article row (identity, link, title, content hash) stays, so
deduplication still recognises the article, and every observation, contract and alert keeps its
quote and its link. `rules backtest` cannot re-extract an article whose text was dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Article, as_utc, utcnow

log = logging.getLogger(__name__)

# Articles cleared per transaction: keeps SQLite's write lock (and PostgreSQL row locks) short.
BATCH = 500


def purge_article_text(db: Engine, days: int, *, now: datetime | None = None, batch: int = BATCH) -> int:
    """Set `text` to NULL on articles first seen more than `days` days ago; 0 days keeps text forever.

    Returns how many articles lost their text. Idempotent, and safe to run from several instances
    at once (each batch is one UPDATE of rows that still have text).
    """
    if days <= 0:
        return 0
    cutoff = as_utc(now or utcnow()) - timedelta(days=days)
    total = 0
    while True:
        with session_scope(db) as session:
            ids = list(session.exec(
                select(Article.id).where(col(Article.text).is_not(None), col(Article.first_seen) < cutoff)
                .order_by(col(Article.id)).limit(batch)
            ))
            if not ids:
                break
            result = session.exec(  # type: ignore[call-overload]
                update(Article).where(col(Article.id).in_(ids), col(Article.text).is_not(None)).values(text=None)
            )
            total += result.rowcount or 0
        if len(ids) < batch:
            break
    if total:
        log.info("retention: dropped the text of %d article(s) first seen before %s (facts kept)",
                 total, cutoff.date().isoformat())
    return total
