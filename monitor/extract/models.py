"""Typed facts produced by the extractor: the stable JSON contract of `soe-monitor extract --json`."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PeriodKind = Literal["year", "half", "quarter", "month", "ytd", "range", "point"]


class Period(BaseModel):
    """A reporting period resolved to calendar dates (inclusive)."""

    model_config = ConfigDict(frozen=True)

    start: date | None = None
    end: date | None = None
    label: str
    # year | half | quarter | month | ytd (Jan..month of one year) | range (other month spans) | point (a balance at a date)
    kind: PeriodKind


class Figure(BaseModel):
    """One reported number: a level, a rate of change, or both."""

    metric: str = Field(description="canonical metric name from the vocabulary, or the phrase itself when unknown")
    metric_text: str = Field(description="the metric phrase as written")
    entity: str | None = Field(default=None, description="canonical entity name from the gazetteer")
    value: float | None = Field(default=None, description="fully expanded level; null when only a rate is given")
    unit: str | None = Field(default=None, description="ISO 4217 code, 'percent', or a unit word")
    usd_value: float | None = None
    qualifier: str | None = Field(default=None, description="'more than', 'about', 逾, 近 ...")
    period: Period | None = None
    change_pct: float | None = None
    change_basis: Literal["yoy", "qoq", "mom", "unspecified"] | None = None
    quote: str
    span: tuple[int, int]


class Contract(BaseModel):
    """A named deal: who won it, from whom, for what, where, and for how much."""

    company: str | None = None
    counterparty: str | None = None
    project: str | None = None
    location: str | None = None
    value: float | None = None
    unit: str | None = None
    usd_value: float | None = None
    qualifier: str | None = None
    quote: str
    span: tuple[int, int]


class Facts(BaseModel):
    """Everything extracted from one article."""

    figures: list[Figure] = Field(default_factory=list)
    contracts: list[Contract] = Field(default_factory=list)
