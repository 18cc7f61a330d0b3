"""What one sentence holds (amounts, periods, metrics, entities) and what an article carries between sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .amounts import Amount
from .gazetteer import EntityMention
from .models import Period
from .periods import PeriodMention
from .sentences import Sentence
from .vocabulary import MetricMention


@dataclass(slots=True)
class SentenceData:
    """A sentence and the mentions found inside it, each list in text order."""

    sentence: Sentence
    source: str  # the caller's text: quotes are cut from it (same offsets as the normalised copy)
    amounts: list[Amount]
    periods: list[PeriodMention]
    metrics: list[MetricMention]
    entities: list[EntityMention]
    resolved: list[Period | None] = field(default_factory=list)  # one per entry of `periods`
    usable_entities: list[EntityMention] | None = None  # entities minus appositions ("a central SOE"), computed once


@dataclass(slots=True)
class ArticleContext:
    """What earlier sentences established: publication date, current year and period, subject entity, last metric."""

    published: date | None
    year: int | None = None
    period: Period | None = None  # latest period of a flow (a year, a quarter, January-November)
    point: Period | None = None  # latest balance date (3月末, at the end of 2024)
    entity: str | None = None  # the subject carried from earlier sentences
    issuer: str | None = None
    metric: str | None = None
    metric_text: str | None = None
    metric_paragraph: int = -1
