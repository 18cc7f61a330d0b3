"""`soe-monitor export [METRIC] --format csv|json`: every stored observation with its series.

One row per observation (revisions included: a revised period has one row per value, in the
order observed). Columns, in this order, are the CSV header and the JSON keys.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.models import Article, Observation, Series, as_utc

COLUMNS = (
    "metric", "entity", "unit", "period_kind", "period_start", "period_end", "period_label",
    "value", "usd_value", "change_pct", "quote", "article_link", "observed_at",
)
FORMATS = ("csv", "json")


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    return value


def observation_rows(db: Engine, metric: str | None = None) -> Iterator[dict[str, Any]]:
    """Every observation (of one metric, if given) as a dict of COLUMNS, by series then period."""
    query = (
        select(Series, Observation, Article.link)
        .join(Observation, col(Observation.series_id) == Series.id)
        .join(Article, col(Article.id) == Observation.article_id, isouter=True)
        .order_by(col(Series.metric), col(Series.entity), col(Series.unit), col(Series.period_kind),
                  col(Observation.period_end), col(Observation.observed_at), col(Observation.id))
    )
    if metric:
        query = query.where(col(Series.metric) == metric)
    with Session(db) as session:
        for series, obs, link in session.exec(query):
            yield {
                "metric": series.metric, "entity": series.entity, "unit": series.unit,
                "period_kind": series.period_kind, "period_start": _text(obs.period_start),
                "period_end": _text(obs.period_end), "period_label": obs.period_label, "value": obs.value,
                "usd_value": obs.usd_value, "change_pct": obs.change_pct, "quote": obs.quote,
                "article_link": link, "observed_at": _text(obs.observed_at),
            }


def write_export(db: Engine, out: IO[str], fmt: str = "csv", metric: str | None = None) -> int:
    """Write the observations to `out` as CSV (with a header) or a JSON list; return how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use csv or json")
    rows = observation_rows(db, metric)
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
            count += 1
        return count
    out.write("[")
    for row in rows:
        out.write(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
