"""Articles and the feeds that carried them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.bulk import insert_rows
from storage.db import PROVISIONAL_ID, insert_returning_ids
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


def _chunks(values: list, size: int = 500):  # type: ignore[no-untyped-def]
    for i in range(0, len(values), size):
        yield values[i:i + size]


_KNOWN_COLUMNS = (Article.id, Article.uid, Article.link, Article.content_hash, Article.title, Article.published,
                  Article.lang)
# A plain INSERT with bound parameters, compiled once (many rows go through storage.bulk).
_INSERT_ARTICLE = Article.__table__.insert()
# The index's lookups, built once with expanding IN parameters: a statement built per call costs
# SQLAlchemy several times the query itself (coercing every value, a new cache key).
_FIND_KNOWN = sa_select(*_KNOWN_COLUMNS).where(or_(
    col(Article.uid).in_(bindparam("uids", expanding=True)),
    col(Article.link).in_(bindparam("links", expanding=True)),
    col(Article.content_hash).in_(bindparam("hashes", expanding=True)),
))
_SOURCED = sa_select(ArticleSource.article_id).where(
    ArticleSource.feed == bindparam("feed"), col(ArticleSource.article_id).in_(bindparam("ids", expanding=True)))


@dataclass(slots=True)
class KnownArticle:
    """The identity columns of a stored article (what lookups and sources need; no text)."""

    id: int
    uid: str
    link: str | None
    content_hash: str
    title: str = ""
    published: datetime | None = None
    lang: str | None = None


def _article_values(article: KnownArticle, text: str | None, now: datetime) -> dict:
    return dict(uid=article.uid, link=article.link, title=article.title, published=article.published,
                lang=article.lang, text=text, content_hash=article.content_hash, first_seen=now, updated_at=now)


class ArticleIndex:
    """Every stored article one batch of entries may be, loaded in a few queries; `find` answers as
    `find_article` does (uid first, then the lowest id with the same content hash or link).

    Articles inserted or re-hashed through the index are kept up to date. Sources of the batch's
    feed wait for `flush` (one executemany); only the index reads them before then. After a
    rolled-back savepoint call `reset`: pending sources are dropped and the index reloads from the
    database on next use.
    """

    def __init__(self, session: Session, keys: Iterable[tuple[str, str | None, str]], feed: str | None = None) -> None:
        self._session, self._feed = session, feed
        keys = list(keys)
        self._uids = {k[0] for k in keys}
        self._links = {k[1] for k in keys if k[1]}
        self._hashes = {k[2] for k in keys}
        self._loaded = False
        self.new_ids: set[int] = set()
        self._pending: list[dict] = []

    def reset(self) -> None:
        """Forget everything (after a rollback); reload on next use."""
        self._loaded = False
        self.new_ids = set()
        self._pending = []

    def flush(self) -> None:
        """Insert the pending sources (call before the savepoint of the entries ends)."""
        if self._pending:
            pending, self._pending = self._pending, []
            insert_rows(self._session.connection(), ArticleSource.__table__, pending)

    def _index(self, row: KnownArticle) -> None:
        self._by_id[row.id] = row
        self._by_uid[row.uid] = row
        if row.link:
            self._by_link.setdefault(row.link, []).append(row)
        self._by_hash.setdefault(row.content_hash, []).append(row)

    def _load(self) -> None:
        self._by_id: dict[int, KnownArticle] = {}
        self._by_uid: dict[str, KnownArticle] = {}
        self._by_link: dict[str, list[KnownArticle]] = {}
        self._by_hash: dict[str, list[KnownArticle]] = {}
        self._sourced: set[int] = set()  # article ids already carried by self._feed
        # Core statements on the session's connection: the ORM layer adds nothing to plain rows.
        conn = self._session.connection()
        found: dict[int, KnownArticle] = {}
        uids, links, hashes = sorted(self._uids), sorted(self._links), sorted(self._hashes)
        for i in range(0, max(len(uids), len(links), len(hashes)), 500):
            # One query for the three keys (each has an index, so both databases OR the lookups).
            page = {"uids": uids[i:i + 500], "links": links[i:i + 500], "hashes": hashes[i:i + 500]}
            for r in conn.execute(_FIND_KNOWN, page):
                if r.id not in found:
                    found[r.id] = KnownArticle(r.id, r.uid, r.link, r.content_hash, r.title, r.published, r.lang)
        for row in sorted(found.values(), key=lambda a: a.id):
            self._index(row)
        if self._feed is not None and found:
            for chunk in _chunks(sorted(found)):
                self._sourced.update(conn.execute(_SOURCED, {"feed": self._feed, "ids": chunk}).scalars())
        self._loaded = True

    def find(self, *, uid: str, link: str | None, content_hash: str) -> KnownArticle | None:
        """The stored article with this identity, link or content (in that order of trust)."""
        if uid not in self._uids or content_hash not in self._hashes or (link and link not in self._links):
            art = find_article(self._session, uid=uid, link=link, content_hash=content_hash)  # not a key of the batch
            return None if art is None else KnownArticle(art.id, art.uid, art.link, art.content_hash, art.title,
                                                         art.published, art.lang)
        if not self._loaded:
            self._load()
        row = self._by_uid.get(uid)
        if row is not None:
            return row
        candidates = [r for r in self._by_hash.get(content_hash, ()) if r.content_hash == content_hash]
        if link:
            candidates += [r for r in self._by_link.get(link, ()) if r.link == link]
        return min(candidates, key=lambda r: r.id) if candidates else None

    def insert(self, article: KnownArticle, text: str | None, now: datetime) -> KnownArticle:
        """Store a new article (one INSERT) and index it."""
        if not self._loaded:
            self._load()
        article.id = self._session.connection().execute(
            _INSERT_ARTICLE, _article_values(article, text, now)).inserted_primary_key[0]
        self._index(article)
        self.new_ids.add(article.id)
        return article

    def insert_new(self, candidates: list[tuple[KnownArticle, str | None]], now: datetime) -> list[KnownArticle]:
        """Store, in one statement, each candidate that no stored or earlier candidate article matches
        (as `find` would answer); return those stored, with their ids, indexed like `insert` does."""
        if not self._loaded:
            self._load()
        chosen: list[tuple[KnownArticle, str | None]] = []
        for article, text in candidates:
            if self.find(uid=article.uid, link=article.link, content_hash=article.content_hash) is None:
                article.id = PROVISIONAL_ID + len(chosen)  # so later candidates find it; replaced below
                self._index(article)
                chosen.append((article, text))
        if not chosen:
            return []
        ids = insert_returning_ids(self._session.connection(), Article.__table__,
                                   [_article_values(article, text, now) for article, text in chosen])
        for (article, _), new_id in zip(chosen, ids, strict=True):
            del self._by_id[article.id]
            article.id = new_id
            self._by_id[new_id] = article
            self.new_ids.add(new_id)
        return [article for article, _ in chosen]

    def rehash(self, article: KnownArticle, content_hash: str, title: str) -> None:
        """Note that a stored article's content (and title) changed."""
        article.content_hash, article.title = content_hash, title
        if self._loaded and self._by_id.get(article.id) is article:
            self._by_hash.setdefault(content_hash, []).append(article)

    def has_source(self, article_id: int, feed: str) -> bool:
        """True when the index knows that `feed` already carried the article."""
        return feed == self._feed and self._loaded and article_id in self._sourced

    def add_source(self, article_id: int, feed: str, entry_id: str, now: datetime) -> bool:
        """Like `add_source`, answered from the index for the batch's feed (the insert waits for `flush`)."""
        if feed != self._feed or not self._loaded or (article_id not in self._by_id):
            return add_source(self._session, article_id, feed, entry_id, now)
        if article_id in self._sourced:
            return False
        self._pending.append(dict(article_id=article_id, feed=feed, entry_id=entry_id, seen_at=now))
        self._sourced.add(article_id)
        return True
