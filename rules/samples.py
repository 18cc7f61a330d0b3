"""Fully populated sample events, one per rule kind.

The loader renders every template and evaluates every `where` once against the sample of the
rule's kind: a name that the sample lacks is a typo, reported at load time rather than as a
blank alert months later. Every optional field is filled so only genuine typos fail.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from pydantic import BaseModel

from rules.events import (
    ArticleEvent,
    ArticleRef,
    ContractEvent,
    FeedEvent,
    FigureEvent,
    PeriodRef,
    SeriesPoint,
)

_AT = datetime(2024, 12, 20, 8, 0, tzinfo=timezone.utc)
_ARTICLE = ArticleRef(
    id=1,
    title="China's SOEs report steady growth",
    url="https://example.com/soe-growth",
    feed="demo",
    published=datetime(2024, 12, 20, 7, 0, tzinfo=timezone.utc),
)
_BASE_ARTICLE = ArticleRef(
    id=0, title="Earlier report", url="https://example.com/earlier", feed="demo", published=datetime(2024, 11, 20, tzinfo=timezone.utc)
)


def _point(value: float, label: str, start: date, end: date) -> SeriesPoint:
    return SeriesPoint(
        value=value,
        unit="CNY",
        period=PeriodRef(start=start, end=end, label=label, kind="ytd"),
        change_pct=3.1,
        quote="sample quote",
        article=_BASE_ARTICLE,
        observed_at=_AT,
    )


def sample_figure() -> FigureEvent:
    """A figure with every field set."""
    return FigureEvent(
        status="new",
        series_key="exports|SOEs|CNY|ytd",
        metric="exports",
        metric_text="exports",
        entity="SOEs",
        unit="CNY",
        value=1.79e12,
        usd_value=2.5e11,
        qualifier="about",
        change_pct=3.9,
        change_basis="yoy",
        period=PeriodRef(start=date(2024, 1, 1), end=date(2024, 11, 30), label="January-November 2024", kind="ytd"),
        quote="Exports by SOEs reached 1.79 trillion yuan in the first 11 months, up 3.9 percent year on year.",
        article=_ARTICLE,
        sources=2,
        source_times=[_AT, _AT],
        previous=_point(1.6e12, "January-October 2024", date(2024, 1, 1), date(2024, 10, 31)),
        same_period_last_year=_point(1.72e12, "January-November 2023", date(2023, 1, 1), date(2023, 11, 30)),
        revised_from=_point(1.78e12, "January-November 2024", date(2024, 1, 1), date(2024, 11, 30)),
        is_latest=True,
        series_max=1.8e12,
        series_min=1.0e11,
        at=_AT,
    )


def sample_contract() -> ContractEvent:
    """A contract with every field set."""
    return ContractEvent(
        status="new",
        contract_key="crrc|rta|dubai-metro-blue-line",
        company="CRRC",
        counterparty="Roads and Transport Authority",
        project="Dubai Metro Blue Line",
        location="Dubai, United Arab Emirates",
        value=5.6e9,
        unit="USD",
        usd_value=5.6e9,
        quote="CRRC signed a 5.6 billion US dollar contract for the Dubai Metro Blue Line.",
        article=_ARTICLE,
        sources=2,
        source_times=[_AT, _AT],
        at=_AT,
    )


def sample_article() -> ArticleEvent:
    """An article with every field set."""
    return ArticleEvent(status="new", article=_ARTICLE, text="SASAC announced a restructuring of central SOEs. 国资委宣布重组。", at=_AT)


def sample_feed() -> FeedEvent:
    """A feed health report with every field set."""
    return FeedEvent(
        feed="demo",
        url_display="https://example.com/feed.xml",
        last_success=_AT,
        last_new_entry=_AT,
        consecutive_errors=3,
        last_error="HTTP 503",
        at=_AT,
    )


SAMPLES = {"figure": sample_figure, "contract": sample_contract, "article": sample_article, "feed": sample_feed}


def sample_event(kind: str) -> BaseModel:
    """A fully populated event of the given rule kind."""
    return SAMPLES[kind]()
