"""Series, observations and their sources: the time series every figure is kept in.

A period may hold several observation rows: the first value and any revisions. The *current*
value of a period is its most recently observed row.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.bulk import insert_rows
from storage.db import PROVISIONAL_ID, insert_returning_ids
from storage.models import Observation, ObservationSource, Series


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


_ROW_COLUMNS = (
    Observation.id, Observation.series_id, Observation.period_start, Observation.period_end, Observation.period_label,
    Observation.value, Observation.value_key, Observation.change_pct, Observation.quote, Observation.article_id,
    Observation.observed_at,
)


@dataclass(slots=True)
class ObservationRow:
    """The columns of an observation that baselines read (a row just stored, or one loaded)."""

    id: int
    series_id: int
    period_start: date | None
    period_end: date | None
    period_label: str
    value: float | None
    value_key: str
    change_pct: float | None
    quote: str
    article_id: int
    observed_at: datetime


def _order(row: ObservationRow) -> tuple[datetime, int]:
    return (row.observed_at, row.id)


# Built once, with expanding IN parameters (a statement built per call costs more than the query).
_LOAD_ROWS = (sa_select(*_ROW_COLUMNS).where(col(Observation.series_id).in_(bindparam("ids", expanding=True)))
              .order_by(Observation.observed_at, Observation.id))
_SERIES_IDS = sa_select(Series.key, Series.id).where(col(Series.key).in_(bindparam("keys", expanding=True)))
_SERIES_ID = sa_select(Series.id).where(Series.key == bindparam("key"))
_SOURCE_EXISTS = sa_select(ObservationSource.id).where(ObservationSource.observation_id == bindparam("observation"),
                                                      ObservationSource.article_id == bindparam("article"))


def load_rows(session: Session, series_ids: list[int]) -> dict[int, list[ObservationRow]]:
    """Every observation of these series (one query per 500 series), oldest observed first."""
    out: dict[int, list[ObservationRow]] = {sid: [] for sid in series_ids}
    ids = sorted(set(series_ids))
    for i in range(0, len(ids), 500):
        # Core: plain rows need no ORM layer
        for r in session.connection().execute(_LOAD_ROWS, {"ids": ids[i:i + 500]}):
            out[r.series_id].append(ObservationRow(*r))
    return out


class SeriesRows:
    """Every observation of one series, loaded in one query; the questions a new figure asks of it.

    Series hold tens to hundreds of rows, so answering in Python beats one query per question.
    """

    def __init__(self, session: Session, series_id: int, rows: list[ObservationRow] | None = None) -> None:
        self.rows = rows if rows is not None else load_rows(session, [series_id])[series_id]

    def current(self, start: date | None, end: date | None) -> ObservationRow | None:
        """The latest-observed row of one period."""
        found = [r for r in self.rows if r.period_start == start and r.period_end == end]
        return found[-1] if found else None

    def with_value(self, start: date | None, end: date | None, value_key: str) -> ObservationRow | None:
        """The row holding exactly this value for this period."""
        return next((r for r in self.rows if r.period_start == start and r.period_end == end
                     and r.value_key == value_key), None)

    def previous(self, before_end: date) -> ObservationRow | None:
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

    def add(self, row: ObservationRow) -> None:
        """Keep a row just stored, in (observed_at, id) order as a fresh load would give it."""
        insort(self.rows, row, key=_order)


# A plain INSERT with bound parameters, compiled once. Observations and sources wait for `flush`
# and go in one statement each (see insert_returning_ids and storage.bulk).
_INSERT_SERIES = Series.__table__.insert()


class SeriesCache:
    """The series a batch of figures touches, their rows and their sources, loaded in bulk and kept
    up to date as the batch stores observations: a unit of work for one poll's transaction.

    Series are inserted at once; observations and sources wait for `flush` (one statement each for
    all the figures stored since the last flush), so rows not flushed yet carry provisional ids.
    After a rolled-back savepoint call `reset`: pending writes are dropped and everything reloads
    from the database on next use.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._wanted: set[str] = set()
        self.reset()

    def reset(self) -> None:
        """Forget everything (after a rollback)."""
        self._ids: dict[str, int] = {}
        self._absent: set[str] = set()  # keys the bulk lookup found no series for
        self._rows: dict[int, SeriesRows] = {}
        self._times: dict[int, list[datetime]] = {}  # observation id -> source times, as stored
        self._sourced: set[tuple[int, int]] = set()  # (observation id, article id) stored in this batch
        # Sources not inserted yet (one executemany in `flush`). Every observation with a pending
        # source has its times cached, so no read of observation_source can miss one.
        self._pending: list[dict] = []
        # Observations not inserted yet, with provisional ids (see `flush`).
        self._new_rows: list[tuple[ObservationRow, dict]] = []
        self._next_id = PROVISIONAL_ID
        self._primed = False

    def flush(self) -> None:
        """Insert the pending observations, then their and other pending sources (call before the
        savepoint of the figures ends)."""
        conn = self._session.connection()
        if self._new_rows:
            rows, self._new_rows = self._new_rows, []
            ids = insert_returning_ids(conn, Observation.__table__, [values for _, values in rows])
            real = {row.id: new_id for (row, _), new_id in zip(rows, ids, strict=True)}
            self._renumber([row for row, _ in rows], real)
        if self._pending:
            pending, self._pending = self._pending, []
            insert_rows(conn, ObservationSource.__table__, pending)

    def _renumber(self, rows: list[ObservationRow], real: dict[int, int]) -> None:
        """Give the rows stored by `flush` their database ids in every cache (the order is kept:
        provisional ids are larger than any stored id, and both grow in insertion order)."""
        for row in rows:
            row.id = real[row.id]
        self._times = {real.get(k, k): v for k, v in self._times.items()}
        self._sourced = {(real.get(o, o), a) for o, a in self._sourced}
        for source in self._pending:
            source["observation_id"] = real.get(source["observation_id"], source["observation_id"])

    def prime(self, keys: Iterable[str]) -> None:
        """Load these series and all their rows on first use (two queries for the lot)."""
        self._wanted.update(keys)
        self._primed = False

    def _load_wanted(self) -> None:
        self._primed = True
        keys = sorted(k for k in self._wanted if k not in self._ids)
        found: dict[str, int] = {}
        for i in range(0, len(keys), 500):
            for key, sid in self._session.connection().execute(_SERIES_IDS, {"keys": keys[i:i + 500]}):
                found[key] = sid
        self._ids.update(found)
        self._absent.update(k for k in keys if k not in found)
        missing = [sid for sid in found.values() if sid not in self._rows]
        for sid, rows in load_rows(self._session, missing).items():
            self._rows[sid] = SeriesRows(self._session, sid, rows)

    def series_id(self, spec: SeriesSpec) -> int:
        """The id of the series for `spec`, created on first use."""
        if not self._primed and self._wanted:
            self._load_wanted()
        sid = self._ids.get(spec.key)
        if sid is None:
            if spec.key not in self._absent:  # not looked up in bulk yet
                sid = self._session.connection().execute(_SERIES_ID, {"key": spec.key}).scalar()
            if sid is None:
                sid = self._session.connection().execute(_INSERT_SERIES, dict(
                    key=spec.key, metric=spec.metric, entity=spec.entity, unit=spec.unit,
                    period_kind=spec.period_kind)).inserted_primary_key[0]
                self._rows[sid] = SeriesRows(self._session, sid, [])  # a series just created has no rows
            self._ids[spec.key] = sid
        return sid

    def rows(self, series_id: int) -> SeriesRows:
        """Every observation of a series."""
        rows = self._rows.get(series_id)
        if rows is None:
            rows = self._rows[series_id] = SeriesRows(self._session, series_id)
        return rows

    def add_observation(self, values: dict, source_quote: str, now: datetime) -> ObservationRow:
        """Keep a new observation in its series' rows; it and its first source are inserted by `flush`."""
        self._next_id += 1
        row = ObservationRow(
            id=self._next_id, series_id=values["series_id"], period_start=values["period_start"],
            period_end=values["period_end"], period_label=values["period_label"], value=values["value"],
            value_key=values["value_key"], change_pct=values["change_pct"], quote=values["quote"],
            article_id=values["article_id"], observed_at=values["observed_at"],
        )
        self._new_rows.append((row, values))
        self._pending.append(dict(observation_id=row.id, article_id=row.article_id, quote=source_quote, seen_at=now))
        self.rows(row.series_id).add(row)
        self._times[row.id] = [now]  # a row just created has exactly this one source
        self._sourced.add((row.id, row.article_id))
        return row

    def add_source(self, observation_id: int, article_id: int, quote: str, now: datetime, *, new_article: bool) -> bool:
        """Record that an article reported an observation; False when already recorded.

        `new_article`: the article was stored in this batch, so the database holds no source of
        it that the batch has not recorded.
        """
        if (observation_id, article_id) in self._sourced:
            return False
        if not new_article and observation_id < PROVISIONAL_ID and self._session.connection().execute(
            _SOURCE_EXISTS, {"observation": observation_id, "article": article_id}).first() is not None:
            return False
        times = self._times.get(observation_id)
        if times is None:
            times = self._times[observation_id] = source_times(self._session, observation_id)
        self._pending.append(dict(observation_id=observation_id, article_id=article_id, quote=quote, seen_at=now))
        self._sourced.add((observation_id, article_id))
        times.append(now)
        times.sort()
        return True

    def source_times(self, observation_id: int) -> list[datetime]:
        """When each source of an observation was first seen, oldest first."""
        times = self._times.get(observation_id)
        if times is None:
            times = self._times[observation_id] = source_times(self._session, observation_id)
        return list(times)


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
