"""The lead's end-to-end check: every fact of the seed article comes out right."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from monitor.extract import extract

SEED_PATHS = [
    Path(__file__).resolve().parents[3] / "shared" / "corpora" / "dev" / "seed-soe-article.json",
    Path("/work/shared/corpora/dev/seed-soe-article.json"),
]


@pytest.fixture(scope="module")
def seed() -> dict:
    for path in SEED_PATHS:
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    pytest.skip("seed article not available")


def test_seed_figures(seed: dict) -> None:
    text = seed["text"]
    facts = extract(text, published=date(2025, 1, 3))
    got = [(f.metric, f.entity, f.value, f.unit, f.period.label if f.period else None, f.change_pct)
           for f in facts.figures]
    assert got == [
        ("total_assets", "SOEs", 71.4e12, "CNY", "2012", None),
        ("total_assets", "SOEs", 317.1e12, "CNY", "2023", None),
        ("total_profits", "SOEs", 2e12, "CNY", "2012", None),
        ("total_profits", "SOEs", 4.5e12, "CNY", "2023", None),
        ("exports", "SOEs", 1.79e12, "CNY", "January-November 2024", 3.9),
        ("operating_revenue", "SOEs", 74.89e12, "CNY", "January-November 2024", 1.3),
    ]
    first = facts.figures[0]
    assert first.usd_value == pytest.approx(9.78e12)
    exports = facts.figures[4]
    assert (exports.period.start, exports.period.end, exports.period.kind) == (date(2024, 1, 1), date(2024, 11, 30), "ytd")
    assert exports.change_basis == "yoy"  # growth of a January-to-date total: implicitly year on year
    revenue = facts.figures[5]
    assert revenue.qualifier == "more than"
    assert revenue.change_basis == "yoy"
    assert (revenue.period.start, revenue.period.end) == (date(2024, 1, 1), date(2024, 11, 30))
    for f in facts.figures:
        assert f.quote == text[f.span[0]:f.span[1]]


def test_seed_contract(seed: dict) -> None:
    text = seed["text"]
    facts = extract(text, published=date(2025, 1, 3))
    assert len(facts.contracts) == 1
    c = facts.contracts[0]
    assert c.company in ("CRRC", "CRRC Corp")
    assert c.project == "Dubai Metro Blue Line"
    assert c.counterparty == "Roads and Transport Authority"
    assert c.location == "Dubai, United Arab Emirates"
    assert (c.value, c.unit, c.usd_value) == (5.6e9, "USD", 5.6e9)
    assert c.quote == text[c.span[0]:c.span[1]]
    assert "Valued at $5.6 billion" in c.quote


def test_seed_json_shape(seed: dict) -> None:
    data = extract(seed["text"], published=date(2025, 1, 3)).model_dump(mode="json")
    assert set(data) == {"figures", "contracts"}
    fig = data["figures"][4]
    assert fig["period"] == {"start": "2024-01-01", "end": "2024-11-30", "label": "January-November 2024", "kind": "ytd"}
    assert isinstance(fig["span"], list) and len(fig["span"]) == 2
    assert {"metric", "metric_text", "entity", "value", "unit", "usd_value", "qualifier", "period", "change_pct",
            "change_basis", "quote", "span"} <= set(fig)
    con = data["contracts"][0]
    assert {"company", "counterparty", "project", "location", "value", "unit", "usd_value", "quote", "span"} <= set(con)
