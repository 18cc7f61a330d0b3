"""Articles and the feeds that carried them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, select

from storage.models import Article, ArticleSource


def find_article(session: Session, *, uid: str, link: str | None, content_hash: str) -> Article | None:
    """The stored article with this identity, link or content (in that order of trust)."""
    found = session.exec(select(Article).where(Article.uid == uid)).first()
    if found is not None:
        return found
    conditions = [Article.content_hash == content_hash]
    if link:
        conditions.append(Article.link == link)
    return session.exec(select(Article).where(or_(*conditions)).order_by(Article.id)).first()


def add_source(session: Session, article_id: int, feed: str, entry_id: str, now: datetime) -> bool:
    """Record that `feed` carried the article; False when it was already recorded."""
    exists = session.exec(
        select(ArticleSource.id).where(ArticleSource.article_id == article_id, ArticleSource.feed == feed)
    ).first()
    if exists is not None:
        return False
    session.add(ArticleSource(article_id=article_id, feed=feed, entry_id=entry_id, seen_at=now))
    session.flush()
    return True


def first_feed(session: Session, article_id: int) -> str | None:
    """The feed that first carried an article."""
    return session.exec(
        select(ArticleSource.feed).where(ArticleSource.article_id == article_id).order_by(ArticleSource.id)
    ).first()


def articles_since(session: Session, since: datetime) -> list[Article]:
    """Stored articles first seen at or after `since`, oldest first (for backtests)."""
    return list(session.exec(select(Article).where(Article.first_seen >= since).order_by(Article.first_seen, Article.id)))
