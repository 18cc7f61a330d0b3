"""Facts -> stored observations and contracts -> rule events.

Each function stores one fact inside the caller's transaction and returns the event the rules
engine should see, or None when this article had already reported the fact (re-processing is a
no-op).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime

from sqlmodel import Session

from monitor.extract.models import Contract, Figure
from rules.events import ArticleRef, ContractEvent, FigureEvent, PeriodRef, SeriesPoint
from storage import contracts as contract_store
from storage import series as series_store
from storage.models import Article, ContractRecord, Observation, ObservationSource

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


def _period_of(figure: Figure, published: date) -> PeriodRef:
    if figure.period is None or figure.period.end is None:
        # An undated figure is a point at the article's date: the best a reader can say.
        return PeriodRef(start=published, end=published, label=f"as of {published.isoformat()}", kind="point")
    p = figure.period
    return PeriodRef(start=p.start, end=p.end, label=p.label, kind=p.kind)


def _point(obs: Observation | None, unit: str, articles: "ArticleRefs") -> SeriesPoint | None:
    if obs is None:
        return None
    return SeriesPoint(
        value=obs.value, unit=unit or None, change_pct=obs.change_pct, quote=obs.quote,
        period=PeriodRef(start=obs.period_start, end=obs.period_end, label=obs.period_label),
        article=articles.get(obs.article_id), observed_at=obs.observed_at,
    )


class ArticleRefs:
    """Looks up (and caches, for the life of the session) the ArticleRef of stored articles."""

    def __init__(self, session: Session) -> None:
        self._session = session
        # Baselines of one poll point at the same few articles: remember them across figures.
        self._cache: dict[int, ArticleRef] = session.info.setdefault("article_refs", {})

    def get(self, article_id: int) -> ArticleRef | None:
        """The reference of a stored article."""
        if article_id not in self._cache:
            with self._session.no_autoflush:  # everything this needs is flushed already
                art = self._session.get(Article, article_id)
            if art is None:
                return None
            self._cache[article_id] = ArticleRef(id=art.id, title=art.title, url=art.link, published=art.published)
        return self._cache[article_id]


def _shift_year(d: date | None) -> date | None:
    if d is None:
        return None
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def store_figure(session: Session, article: Article, ref: ArticleRef, figure: Figure, now: datetime) -> FigureEvent | None:
    """Store a figure as an observation (or a new source of one) and describe what changed."""
    published = (article.published or now).date()
    period = _period_of(figure, published)
    spec = series_store.SeriesSpec(figure.metric, figure.entity or "unknown", figure.unit or "", period.kind)
    series = series_store.get_or_create_series(session, spec)
    rows = series_store.SeriesRows(session, series.id)
    current = rows.current(period.start, period.end)
    value_key = _value_key(figure)
    same = current is not None and _same_value(current.value, figure.value) and (
        figure.value is not None or current.change_pct == figure.change_pct)
    # The same value again, or a value this period had before a revision: a new source of it.
    known = current if same else rows.with_value(period.start, period.end, value_key)
    if known is not None:
        if not series_store.add_observation_source(session, known.id, article.id, figure.quote, now):
            return None
        status, obs, revised = "source", known, None
    else:
        obs = Observation(
            series_id=series.id, period_start=period.start, period_end=period.end, period_label=period.label,
            value=figure.value, value_key=value_key, usd_value=figure.usd_value,
            change_pct=figure.change_pct, change_basis=figure.change_basis, qualifier=figure.qualifier,
            metric_text=figure.metric_text, quote=figure.quote, article_id=article.id, observed_at=now,
        )
        session.add(obs)
        session.flush()
        # A row just created has exactly this one source: no need to ask the database.
        session.add(ObservationSource(observation_id=obs.id, article_id=article.id, quote=figure.quote, seen_at=now))
        status, revised = ("revision", current) if current is not None else ("new", None)
    times = [now] if status != "source" else series_store.source_times(session, obs.id)
    return _figure_event(session, rows, spec.key, figure, period, ref, times, revised, status, now)


def _figure_event(
    session: Session, rows: series_store.SeriesRows, series_key: str, figure: Figure, period: PeriodRef,
    ref: ArticleRef, times: list[datetime], revised: Observation | None, status: str, now: datetime,
) -> FigureEvent:
    lookup = ArticleRefs(session)
    unit = figure.unit or ""
    high, low = rows.extremes_excluding(period.start, period.end)
    return FigureEvent(
        status=status, series_key=series_key, metric=figure.metric, metric_text=figure.metric_text,
        entity=figure.entity, unit=figure.unit, value=figure.value, usd_value=figure.usd_value,
        qualifier=figure.qualifier, change_pct=figure.change_pct, change_basis=figure.change_basis,
        period=period, quote=figure.quote, article=ref, sources=len(times), source_times=times,
        previous=_point(rows.previous(period.end) if period.end else None, unit, lookup),
        same_period_last_year=_point(rows.current(_shift_year(period.start), _shift_year(period.end)), unit, lookup),
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
    record = contract_store.find_contract(session, key)
    if record is None:
        record = contract_store.add_contract(session, ContractRecord(
            key=key, company=contract.company, counterparty=contract.counterparty, project=contract.project,
            location=contract.location, value=contract.value, unit=contract.unit, usd_value=contract.usd_value,
            quote=contract.quote, article_id=article.id, observed_at=now,
        ))
        status = "new"
    else:
        status = "source"
    if not contract_store.add_contract_source(session, record.id, article.id, now):
        return None
    times = contract_store.contract_source_times(session, record.id)
    return ContractEvent(
        status=status, contract_key=key, company=contract.company, counterparty=contract.counterparty,
        project=contract.project, location=contract.location, value=contract.value, unit=contract.unit,
        usd_value=contract.usd_value, quote=contract.quote, article=ref, sources=len(times),
        source_times=times, at=now,
    )
