"""What the engine is asked about (events) and what it answers (decisions).

The pipeline builds an event for every stored fact, with the baselines already looked up, so
the engine needs no database and every rule sees the same picture.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class PeriodRef(BaseModel):
    """A reporting period (inclusive dates) and its kind: year, half, quarter, month, ytd, range, point."""

    start: date | None = None
    end: date | None = None
    label: str = ""
    kind: str = "point"


class ArticleRef(BaseModel):
    """The article a fact came from."""

    id: int | None = None
    title: str = ""
    url: str | None = None
    feed: str | None = None
    published: datetime | None = None


class SeriesPoint(BaseModel):
    """A stored observation used as a baseline."""

    value: float | None = None
    unit: str | None = None
    period: PeriodRef | None = None
    change_pct: float | None = None
    quote: str = ""
    article: ArticleRef | None = None
    observed_at: datetime | None = None


class FigureEvent(BaseModel):
    """A figure was stored. `status` says how it relates to what was known:

    - new: first value for this period of its series;
    - revision: a different value for a period already known (`revised_from` holds the old one);
    - source: the same value again from another article (`sources` counts them).
    """

    type: Literal["figure"] = "figure"
    status: Literal["new", "revision", "source"]
    series_key: str
    metric: str
    metric_text: str = ""
    entity: str | None = None
    unit: str | None = None
    value: float | None = None
    usd_value: float | None = None
    qualifier: str | None = None
    change_pct: float | None = None
    change_basis: str | None = None
    period: PeriodRef | None = None
    quote: str = ""
    article: ArticleRef = Field(default_factory=ArticleRef)
    sources: int = 1
    source_times: list[datetime] = Field(default_factory=list, description="when each source was first seen")
    previous: SeriesPoint | None = Field(default=None, description="latest earlier period of the same kind")
    same_period_last_year: SeriesPoint | None = None
    revised_from: SeriesPoint | None = None
    is_latest: bool = Field(default=True, description="no later period of this series is stored")
    series_max: float | None = Field(default=None, description="highest value of the series before this one")
    series_min: float | None = Field(default=None, description="lowest value of the series before this one")
    at: datetime


class ContractEvent(BaseModel):
    """A contract was stored (`status` new) or reported again by another article (`source`)."""

    type: Literal["contract"] = "contract"
    status: Literal["new", "source"]
    contract_key: str
    company: str | None = None
    counterparty: str | None = None
    project: str | None = None
    location: str | None = None
    value: float | None = None
    unit: str | None = None
    usd_value: float | None = None
    quote: str = ""
    article: ArticleRef = Field(default_factory=ArticleRef)
    sources: int = 1
    source_times: list[datetime] = Field(default_factory=list)
    at: datetime


class ArticleEvent(BaseModel):
    """A new (or updated) article, for keyword rules."""

    type: Literal["article"] = "article"
    status: Literal["new", "updated"] = "new"
    article: ArticleRef
    text: str = ""
    at: datetime


class FeedEvent(BaseModel):
    """A feed's health, checked on every poll and by the stale checker."""

    type: Literal["feed"] = "feed"
    feed: str
    url_display: str = ""
    last_success: datetime | None = None
    last_new_entry: datetime | None = None
    consecutive_errors: int = 0
    last_error: str | None = None
    at: datetime


Event = FigureEvent | ContractEvent | ArticleEvent | FeedEvent


class Decision(BaseModel):
    """A rule fired: the alert to store in the outbox.

    `key` is the alert's identity within the rule (never the changing value); `dedup_key` is unique
    per decision, so re-processing the same event never stores a second alert.
    """

    rule: str
    key: str
    dedup_key: str
    severity: str = "info"
    channels: list[str]
    subject: str
    message: str
    labels: dict[str, str] = Field(default_factory=dict)
    fact: dict = Field(default_factory=dict, description="the event as JSON, for history and `alerts show`")
    reason: str = Field(default="", description="why it fired, in words")
