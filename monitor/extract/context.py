"""What one sentence holds (amounts, periods, metrics, entities) and what an article carries between sentences."""

from __future__ import annotations

from collections.abc import Callable
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


@dataclass(slots=True)
class ArticleContext:
    """What earlier sentences established: publication date, current year and period, subject entity, last metric."""

    published: date | None
    year: int | None = None
    period: Period | None = None
    subject: Callable[[], str | None] | None = None  # the entity carried from earlier sentences (computed lazily)
    issuer: str | None = None
    metric: str | None = None
    metric_text: str | None = None
    metric_paragraph: int = -1

    @property
    def entity(self) -> str | None:
        """The subject entity carried from earlier sentences."""
        return self.subject() if self.subject is not None else None
