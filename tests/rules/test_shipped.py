"""The shipped rules in alert-rules/ do what their comments say."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rules.engine import RuleEngine
from rules.history import InMemoryHistory
from rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[2]


def engine() -> tuple[RuleEngine, InMemoryHistory]:
    result = load_rules([ROOT / "alert-rules"], {"console"})
    assert result.errors == []
    return RuleEngine(result.ruleset), InMemoryHistory()


def names(decisions) -> list[str]:
    return sorted(d.rule for d in decisions)


def test_headline_rules(kit):
    eng, hist = engine()
    assert names(eng.evaluate(kit.figure(), hist, kit.T0)) == ["soe-headline-new-period"]
    full_year = kit.period(date(2024, 1, 1), date(2024, 12, 31), "January-December 2024")
    drop = kit.figure(value=1.5e12, change_pct=-6.0, period=full_year, previous=kit.point(1.79e12, kit.JAN_NOV_24))
    assert names(eng.evaluate(drop, hist, kit.T0)) == ["soe-headline-drop", "soe-headline-new-period", "soe-headline-reported-decline"]
    revision = kit.figure(status="revision", value=1.8e12, revised_from=kit.point(1.79e12, kit.JAN_NOV_24))
    (d,) = eng.evaluate(revision, hist, kit.T0)
    assert d.rule == "soe-headline-revision" and d.severity == "warning" and d.channels == ["console"]
    # other entities, other metrics, repeated reports: nothing
    assert eng.evaluate(kit.figure(entity="local SOEs"), hist, kit.T0) == []
    assert eng.evaluate(kit.figure(metric="net_profit"), hist, kit.T0) == []
    assert eng.evaluate(kit.figure(status="source", sources=2), hist, kit.T0) == []


def test_contract_rule(kit):
    eng, hist = engine()
    (d,) = eng.evaluate(kit.contract(), hist, kit.T0)
    assert d.rule == "contracts-over-1bn-usd"
    assert d.subject == "[info] CRRC contract: 5.6 billion US dollars with Roads and Transport Authority (Dubai Metro Blue Line)"
    assert eng.evaluate(kit.contract(usd_value=2e8, contract_key="small"), hist, kit.T0) == []
