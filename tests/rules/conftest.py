"""Shared helpers for the rules tests: load rules from text, build events, run the engine."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from rules.engine import RuleEngine
from rules.events import ArticleEvent, ArticleRef, ContractEvent, FeedEvent, FigureEvent, PeriodRef, SeriesPoint
from rules.history import InMemoryHistory
from rules.loader import LoadResult, load_rules

CHANNELS = {"console", "slack", "email"}
T0 = datetime(2025, 1, 10, 9, 0, tzinfo=timezone.utc)


def period(start: date, end: date, label: str, kind: str = "ytd") -> PeriodRef:
    return PeriodRef(start=start, end=end, label=label, kind=kind)


JAN_OCT_24 = period(date(2024, 1, 1), date(2024, 10, 31), "January-October 2024")
JAN_NOV_24 = period(date(2024, 1, 1), date(2024, 11, 30), "January-November 2024")
JAN_NOV_23 = period(date(2023, 1, 1), date(2023, 11, 30), "January-November 2023")
JAN_FEB_25 = period(date(2025, 1, 1), date(2025, 2, 28), "January-February 2025")


def point(value: float, per: PeriodRef, unit: str = "CNY", url: str = "https://example.com/old") -> SeriesPoint:
    return SeriesPoint(value=value, unit=unit, period=per, article=ArticleRef(id=9, title="Old", url=url), observed_at=T0 - timedelta(days=30))


def figure(**kw: Any) -> FigureEvent:
    data: dict[str, Any] = dict(
        status="new",
        series_key="exports|SOEs|CNY|ytd",
        metric="exports",
        metric_text="exports",
        entity="SOEs",
        unit="CNY",
        value=1.79e12,
        change_pct=3.9,
        change_basis="yoy",
        period=JAN_NOV_24,
        quote="SOE exports reached 1.79 trillion yuan, up 3.9 percent year on year.",
        article=ArticleRef(id=1, title="SOE exports grow", url="https://example.com/a1", feed="demo"),
        previous=point(1.6e12, JAN_OCT_24),
        at=T0,
    )
    data.update(kw)
    return FigureEvent(**data)


def contract(**kw: Any) -> ContractEvent:
    data: dict[str, Any] = dict(
        status="new",
        contract_key="crrc|rta|blue-line",
        company="CRRC",
        counterparty="Roads and Transport Authority",
        project="Dubai Metro Blue Line",
        value=5.6e9,
        unit="USD",
        usd_value=5.6e9,
        quote="CRRC won a 5.6 billion dollar contract.",
        article=ArticleRef(id=2, title="CRRC wins Dubai deal", url="https://example.com/a2", feed="demo"),
        at=T0,
    )
    data.update(kw)
    return ContractEvent(**data)


def article(text: str, title: str = "News", id: int = 3, status: str = "new", **kw: Any) -> ArticleEvent:
    return ArticleEvent(status=status, article=ArticleRef(id=id, title=title, url=f"https://example.com/{id}", feed="demo"), text=text, at=kw.get("at", T0))


def feed(**kw: Any) -> FeedEvent:
    data: dict[str, Any] = dict(feed="demo", last_success=T0, last_new_entry=T0, at=T0)
    data.update(kw)
    return FeedEvent(**data)


def rules_yaml(*bodies: str) -> str:
    """A rule file from rule bodies written without the leading `- ` indentation fuss."""
    out = ["rules:"]
    for body in bodies:
        lines = [ln for ln in body.strip("\n").splitlines()]
        out.append("  - " + lines[0].strip())
        indent = len(lines[1]) - len(lines[1].lstrip()) if len(lines) > 1 else 0
        for ln in lines[1:]:
            out.append("    " + ln[indent:])
    return "\n".join(out) + "\n"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(text: str, name: str = "rules.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def load(write: Callable[[str, str], Path]) -> Callable[..., LoadResult]:
    def _load(text: str, name: str = "rules.yaml", **kw: Any) -> LoadResult:
        return load_rules([write(text, name)], kw.pop("channels", CHANNELS), **kw)

    return _load


class Runner:
    """An engine with an in-memory history."""

    def __init__(self, result: LoadResult) -> None:
        assert result.errors == [], [str(e) for e in result.errors]
        self.engine = RuleEngine(result.ruleset)
        self.history = InMemoryHistory()

    def __call__(self, event: Any, now: datetime | None = None) -> list:
        return self.engine.evaluate(event, self.history, now or getattr(event, "at", T0))

    def names(self, event: Any, now: datetime | None = None) -> list[str]:
        return [d.rule for d in self(event, now)]


@pytest.fixture
def run(load: Callable[..., LoadResult]) -> Callable[..., Runner]:
    def _run(*bodies: str) -> Runner:
        return Runner(load(rules_yaml(*bodies)))

    return _run


@pytest.fixture
def kit():
    """This module: event builders and constants (tests import nothing from conftest directly)."""
    import sys

    return sys.modules[__name__]
