"""Series, observations and their sources: the time series every figure is kept in.

A period may hold several observation rows: the first value and any revisions. The *current*
value of a period is its most recently observed row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Article, Observation, ObservationSource, Series


@dataclass(frozen=True)
class SeriesSpec:
    """The identity of a series."""

    metric: str
    entity: str
    unit: str
    period_kind: str

    @property
    def key(self) -> str:
        """Stable text key: metric|entity|unit|period kind."""
        return f"{self.metric}|{self.entity}|{self.unit}|{self.period_kind}"


def get_or_create_series(session: Session, spec: SeriesSpec) -> Series:
    """The series row for `spec`, created on first use."""
    series = session.exec(select(Series).where(Series.key == spec.key)).first()
    if series is None:
        series = Series(key=spec.key, metric=spec.metric, entity=spec.entity, unit=spec.unit,
                        period_kind=spec.period_kind)
        session.add(series)
        session.flush()
    return series


class SeriesRows:
    """Every observation of one series, loaded in one query; the questions a new figure asks of it.

    Series hold tens to hundreds of rows, so answering in Python beats one query per question.
    """

    def __init__(self, session: Session, series_id: int) -> None:
        self.rows = list(session.exec(
            select(Observation).where(Observation.series_id == series_id)
            .order_by(Observation.observed_at, Observation.id)
        ))

    def current(self, start: date | None, end: date | None) -> Observation | None:
        """The latest-observed row of one period."""
        found = [r for r in self.rows if r.period_start == start and r.period_end == end]
        return found[-1] if found else None

    def with_value(self, start: date | None, end: date | None, value_key: str) -> Observation | None:
        """The row holding exactly this value for this period."""
        return next((r for r in self.rows if r.period_start == start and r.period_end == end
                     and r.value_key == value_key), None)

    def previous(self, before_end: date) -> Observation | None:
        """Current value of the latest period ending before `before_end`."""
        ends = [r.period_end for r in self.rows if r.period_end is not None and r.period_end < before_end]
        if not ends:
            return None
        latest = max(ends)
        return [r for r in self.rows if r.period_end == latest][-1]

    def later_exists(self, end: date) -> bool:
        """True when a period ending after `end` is stored."""
        return any(r.period_end is not None and r.period_end > end for r in self.rows)

    def extremes_excluding(self, start: date | None, end: date | None) -> tuple[float | None, float | None]:
        """(max, min) of the values outside one period: what a new record must beat."""
        values = [r.value for r in self.rows
                  if r.value is not None and (r.period_start, r.period_end) != (start, end)]
        return (max(values), min(values)) if values else (None, None)

    def add(self, row: Observation) -> None:
        """Keep a row just stored."""
        self.rows.append(row)


def add_observation_source(session: Session, observation_id: int, article_id: int, quote: str, now: datetime) -> bool:
    """Record that an article reported an observation; False when already recorded."""
    exists = session.exec(
        select(ObservationSource.id).where(
            ObservationSource.observation_id == observation_id, ObservationSource.article_id == article_id
        )
    ).first()
    if exists is not None:
        return False
    session.add(ObservationSource(observation_id=observation_id, article_id=article_id, quote=quote, seen_at=now))
    session.flush()
    return True


def source_times(session: Session, observation_id: int) -> list[datetime]:
    """When each source of an observation was first seen, oldest first."""
    return list(session.exec(
        select(ObservationSource.seen_at).where(ObservationSource.observation_id == observation_id)
        .order_by(ObservationSource.seen_at)
    ))


@dataclass(frozen=True)
class SeriesSummary:
    """A series and its latest value, for `soe-monitor series`."""

    series: Series
    latest: Observation | None
    observations: int


def list_series(session: Session, metric: str | None = None) -> list[SeriesSummary]:
    """Every stored series (optionally of one metric) with its latest value."""
    query = select(Series).order_by(Series.metric, Series.entity)
    if metric:
        query = query.where(Series.metric == metric)
    out: list[SeriesSummary] = []
    for series in session.exec(query):
        count = session.exec(select(func.count()).where(Observation.series_id == series.id)).one()
        latest = session.exec(
            select(Observation).where(Observation.series_id == series.id)
            .order_by(col(Observation.period_end).desc(), col(Observation.observed_at).desc())
        ).first()
        out.append(SeriesSummary(series=series, latest=latest, observations=count))
    return out


def history(session: Session, series_id: int) -> list[tuple[Observation, Article | None]]:
    """The current value of every period of a series, oldest period first, with its article."""
    rows = session.exec(
        select(Observation, Article).join(Article, Article.id == Observation.article_id, isouter=True)
        .where(Observation.series_id == series_id)
        .order_by(Observation.period_end, Observation.observed_at)
    ).all()
    current: dict[tuple[date | None, date | None], tuple[Observation, Article | None]] = {}
    for obs, art in rows:
        current[(obs.period_start, obs.period_end)] = (obs, art)
    return list(current.values())
