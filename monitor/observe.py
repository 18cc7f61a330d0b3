"""Facts -> stored observations and contracts -> rule events.

Each function stores one fact inside the caller's transaction and returns the event the rules
engine should see, or None when this article had already reported the fact (re-processing is a
no-op).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from monitor.extract.models import Contract, Figure
from monitor.trusted_models import build_trusted
from rules.events import ArticleRef, ContractEvent, FigureEvent, PeriodRef, SeriesPoint
from storage import contracts as contract_store
from storage import series as series_store
from storage.models import Article

# Two reports of one figure are "the same" within this relative tolerance (rounding in the text).
SAME_VALUE_TOLERANCE = 0.0005


def _value_key(figure: Figure) -> str:
    if figure.value is not None:
        return f"{figure.value:.6g}"
    return f"chg:{figure.change_pct:g}" if figure.change_pct is not None else "none"


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= SAME_VALUE_TOLERANCE * max(abs(a), abs(b))


def _period_kind(figure: Figure) -> str:
    """The kind of the period `_period_of` gives a figure (without building it)."""
    p = figure.period
    return "point" if p is None or p.end is None else p.kind


def _period_of(figure: Figure, published: date) -> PeriodRef:
    # Built without validation: the values are a validated Period's, or the article's date.
    if figure.period is None or figure.period.end is None:
        # An undated figure is a point at the article's date: the best a reader can say.
        return build_trusted(PeriodRef, {"start": published, "end": published,
                                         "label": f"as of {published.isoformat()}", "kind": "point"})
    p = figure.period
    return build_trusted(PeriodRef, {"start": p.start, "end": p.end, "label": p.label, "kind": p.kind})


def _point(obs: series_store.ObservationRow | None, unit: str, articles: "ArticleRefs") -> SeriesPoint | None:
    if obs is None:
        return None
    return SeriesPoint(
        value=obs.value, unit=unit or None, change_pct=obs.change_pct, quote=obs.quote,
        period=PeriodRef(start=obs.period_start, end=obs.period_end, label=obs.period_label),
        article=articles.get(obs.article_id), observed_at=obs.observed_at,
    )


def article_ref(article: Any, feed: str | None = None) -> ArticleRef:
    """The rule events' reference to a stored article: `article` is a typed row of it (an Article,
    a storage.articles.KnownArticle or a selected row with id, title, link and published), so the
    reference is built unchecked."""
    return build_trusted(ArticleRef, {"id": article.id, "title": article.title, "url": article.link, "feed": feed,
                                      "published": article.published})


_ARTICLES = Article.__table__
_ARTICLE_REFS = sa_select(_ARTICLES.c.id, _ARTICLES.c.title, _ARTICLES.c.link, _ARTICLES.c.published).where(
    _ARTICLES.c.id.in_(bindparam("ids", expanding=True)))


class ArticleRefs:
    """Looks up (and caches, for the life of the session) the ArticleRef of stored articles."""

    def __init__(self, session: Session) -> None:
        self._session = session
        # Baselines of one poll point at the same few articles: remember them across figures.
        self._cache: dict[int, ArticleRef] = session.info.setdefault("article_refs", {})

    def get(self, article_id: int) -> ArticleRef | None:
        """The reference of a stored article."""
        if article_id not in self._cache:
            self.prefetch([article_id])
        return self._cache.get(article_id)

    def prefetch(self, article_ids: Iterable[int | None]) -> None:
        """Look up the references not known yet, in one query."""
        missing = {i for i in article_ids if i is not None and i not in self._cache}
        if not missing:
            return
        identity = self._session.identity_map
        for article_id in list(missing):  # an article loaded in this session: as session.get would see it
            art = identity.get(identity_key(Article, article_id))
            if art is not None:
                self._cache[article_id] = article_ref(art)
                missing.discard(article_id)
        if missing:  # read through the connection (Core): everything this needs is flushed already
            for r in self._session.connection().execute(_ARTICLE_REFS, {"ids": sorted(missing)}):
                self._cache[r.id] = article_ref(r)

    def put(self, ref: ArticleRef) -> None:
        """Remember the reference of an article just stored."""
        self._cache[ref.id] = ref

    def discard(self, article_id: int) -> None:
        """Forget an article's reference (its title changed)."""
        self._cache.pop(article_id, None)

    def clear(self) -> None:
        """Forget every reference (after a rollback: ids may be reused)."""
        self._cache.clear()


class FactBatch:
    """A unit of work for the facts of one poll (or one call): the series, rows, sources and article
    references they need, loaded in bulk and kept up to date as facts are stored.

    Series and observations reach the database at once; sources wait for `flush` (one statement
    per article), which the caller runs before its savepoint ends. After a rolled-back savepoint
    call `reset`: pending writes are dropped and the caches reload from the database.
    """

    def __init__(self, session: Session, new_article_ids: set[int] | None = None) -> None:
        self.session = session
        self.series = series_store.SeriesCache(session)
        self.refs = ArticleRefs(session)
        # Articles stored in this batch: the database holds no source of theirs the batch did not add.
        self.new_article_ids = new_article_ids if new_article_ids is not None else set()

    def prime(self, figures: Iterable[Figure]) -> None:
        """Load the series these figures belong to."""
        self.series.prime(_spec(f, _period_kind(f)).key for f in figures)

    def flush(self) -> None:
        """Write what is still pending (sources); call before the caller's savepoint ends."""
        self.series.flush()

    def reset(self) -> None:
        """Forget everything cached or pending (after a rollback)."""
        self.series.reset()
        self.refs.clear()


def _spec(figure: Figure, period_kind: str) -> series_store.SeriesSpec:
    return series_store.SeriesSpec(figure.metric, figure.entity or "unknown", figure.unit or "", period_kind)


def _shift_year(d: date | None) -> date | None:
    if d is None:
        return None
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


@dataclass(frozen=True)
class FigureRecord:
    """What storing one figure did: the input `describe_figure` turns into a rule event."""

    status: str  # new | revision | source
    series_key: str
    period: PeriodRef
    rows: series_store.SeriesRows
    times: list[datetime]  # when each source of this value was seen
    revised: series_store.ObservationRow | None


def record_figure(session: Session, article: Article, figure: Figure, now: datetime,
                  batch: FactBatch) -> FigureRecord | None:
    """Store a figure as an observation (or a new source of one) in `batch`'s session; None when
    this article had reported it already. Describe it (if at all) before storing the next figure:
    the baselines are those the series had when it arrived."""
    cache = batch.series
    published = (article.published or now).date()
    period = _period_of(figure, published)
    spec = _spec(figure, period.kind)
    series_id = cache.series_id(spec)
    rows = cache.rows(series_id)
    current = rows.current(period.start, period.end)
    value_key = _value_key(figure)
    same = current is not None and _same_value(current.value, figure.value) and (
        figure.value is not None or current.change_pct == figure.change_pct)
    # The same value again, or a value this period had before a revision: a new source of it.
    known = current if same else rows.with_value(period.start, period.end, value_key)
    if known is not None:
        if not cache.add_source(known.id, article.id, figure.quote, now,
                                new_article=article.id in batch.new_article_ids):
            return None
        return FigureRecord("source", spec.key, period, rows, cache.source_times(known.id), None)
    cache.add_observation(dict(
        series_id=series_id, period_start=period.start, period_end=period.end, period_label=period.label,
        value=figure.value, value_key=value_key, usd_value=figure.usd_value,
        change_pct=figure.change_pct, change_basis=figure.change_basis, qualifier=figure.qualifier,
        metric_text=figure.metric_text, quote=figure.quote, article_id=article.id, observed_at=now,
    ), figure.quote, now)
    return FigureRecord("revision" if current is not None else "new", spec.key, period, rows, [now], current)


def store_figure(session: Session, article: Article, ref: ArticleRef, figure: Figure, now: datetime,
                 batch: FactBatch | None = None) -> FigureEvent | None:
    """Store a figure as an observation (or a new source of one) and describe what changed.

    `batch` carries what earlier figures of the same poll loaded, and the caller flushes it; without
    it, one is made (and flushed) for this call.
    """
    if batch is None:
        batch = FactBatch(session)
        event = store_figure(session, article, ref, figure, now, batch)
        batch.flush()
        return event
    record = record_figure(session, article, figure, now, batch)
    return None if record is None else describe_figure(batch, record, figure, ref, now)


def describe_figure(batch: FactBatch, record: FigureRecord, figure: Figure, ref: ArticleRef, now: datetime) -> FigureEvent:
    """The rule event of a figure just stored, with its series' baselines."""
    return _figure_event(batch.refs, record.rows, record.series_key, figure, record.period, ref, record.times,
                         record.revised, record.status, now)


def _figure_event(
    lookup: ArticleRefs, rows: series_store.SeriesRows, series_key: str, figure: Figure, period: PeriodRef,
    ref: ArticleRef, times: list[datetime], revised: series_store.ObservationRow | None, status: str, now: datetime,
) -> FigureEvent:
    unit = figure.unit or ""
    high, low = rows.extremes_excluding(period.start, period.end)
    previous = rows.previous(period.end) if period.end else None
    last_year = rows.current(_shift_year(period.start), _shift_year(period.end))
    lookup.prefetch(o.article_id for o in (previous, last_year, revised) if o is not None)
    return FigureEvent(
        status=status, series_key=series_key, metric=figure.metric, metric_text=figure.metric_text,
        entity=figure.entity, unit=figure.unit, value=figure.value, usd_value=figure.usd_value,
        qualifier=figure.qualifier, change_pct=figure.change_pct, change_basis=figure.change_basis,
        period=period, quote=figure.quote, article=ref, sources=len(times), source_times=times,
        previous=_point(previous, unit, lookup),
        same_period_last_year=_point(last_year, unit, lookup),
        revised_from=_point(revised, unit, lookup),
        is_latest=not rows.later_exists(period.end) if period.end else True,
        series_max=high, series_min=low, at=now,
    )


_NORMALISE = re.compile(r"[\W_]+", re.UNICODE)


def contract_key(contract: Contract) -> str:
    """Identity of a contract: company, counterparty and project, normalised; never the value."""
    parts = [_NORMALISE.sub(" ", p or "").strip().lower() for p in (contract.company, contract.counterparty, contract.project)]
    if not any(parts):
        parts = [hashlib.sha256(contract.quote.encode()).hexdigest()[:16]]
    return "|".join(parts)


def store_contract(session: Session, article: Article, ref: ArticleRef, contract: Contract, now: datetime) -> ContractEvent | None:
    """Store a contract (or a new source of a known one) and describe it for the rules."""
    key = contract_key(contract)
    record_id = contract_store.find_contract_id(session, key)
    if record_id is None:
        record_id = contract_store.insert_contract(session, dict(
            key=key, company=contract.company, counterparty=contract.counterparty, project=contract.project,
            location=contract.location, value=contract.value, unit=contract.unit, usd_value=contract.usd_value,
            quote=contract.quote, article_id=article.id, observed_at=now,
        ))
        # A contract just stored has no source yet, and then exactly this one.
        contract_store.insert_contract_source(session, record_id, article.id, now, check=False)
        status, times = "new", [now]
    else:
        if not contract_store.insert_contract_source(session, record_id, article.id, now):
            return None
        status, times = "source", contract_store.contract_source_times(session, record_id)
    return ContractEvent(
        status=status, contract_key=key, company=contract.company, counterparty=contract.counterparty,
        project=contract.project, location=contract.location, value=contract.value, unit=contract.unit,
        usd_value=contract.usd_value, quote=contract.quote, article=ref, sources=len(times),
        source_times=times, at=now,
    )
