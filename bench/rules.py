"""Benchmark of the rules engine: 1,000 rules against 10,000 events.

Counted: a "rule-fact evaluation" is one (rule, event) pair the engine considers, i.e. every rule
of the event's kind (for figures: every rule for the event's metric plus the rules for any
metric) that goes through matcher, status gate and trigger. Pairs the metric index skips are
not counted; the "rules x events" rate (1,000 x events / time) is printed separately.

Run: python bench/rules.py [--rules N] [--events N] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout

from rules.engine import RuleEngine  # noqa: E402
from rules.events import ArticleEvent, ArticleRef, ContractEvent, FigureEvent, PeriodRef, SeriesPoint  # noqa: E402
from rules.history import InMemoryHistory  # noqa: E402
from rules.loader import load_rules  # noqa: E402

METRICS = [
    "operating_revenue", "total_profits", "net_profit", "total_assets", "total_liabilities", "debt_to_asset_ratio",
    "taxes_payable", "exports", "imports", "new_contracts_signed",
]
GROUPS = ["SOEs", "central SOEs", "local SOEs"]
# about as many companies as there are central SOEs: rules and facts spread over them
COMPANIES = ["CRRC", "Sinopec", "COSCO", "China Mobile", "State Grid", "CSCEC", "PowerChina", "CNPC"] + [f"Central SOE {i}" for i in range(90)]


def pick_entity(rng: random.Random) -> str:
    """Group figures are frequent; company figures spread over ~100 companies."""
    return rng.choice(GROUPS) if rng.random() < 0.3 else rng.choice(COMPANIES)

WORDS = ["restructuring", "merger", "bailout", "重组", "合并", "default", "IPO", "dividend"]
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def make_rules(n: int, rng: random.Random) -> str:
    """A rule file with a realistic mix: mostly figure rules, some contract and article rules."""
    out = ["rules:"]
    for i in range(n):
        roll = rng.random()
        if roll < 0.75:
            metric = rng.choice(METRICS)
            entity = sorted({pick_entity(rng) for _ in range(rng.randint(1, 2))})
            trigger = rng.choice(
                [
                    "new_period",
                    "revision",
                    "{type: change, pct_below: 5}",
                    "{type: change, pct_above: 10, compare: same_period_last_year}",
                    "{type: threshold, field: change_pct, lt: -5}",
                    "{type: record, record: both}",
                ]
            )
            out.append(f"  - name: fig-{i}\n    kind: figure\n    match: {{metric: {metric}, entity: [{', '.join(entity)}]}}\n    trigger: {trigger}\n    notify: console")
            if i % 50 == 0:
                out.append("    where: value > 1e9")
            if i % 20 == 0:
                out.append("    message: '{{ entity }} {{ metric | metric }}: {{ value | amount(unit) }} ({{ period.label }})'")
            if i % 10 == 0:
                out.append("    repeat_after: 24h")
        elif roll < 0.95:
            companies = rng.sample(COMPANIES, rng.randint(1, 2))
            out.append(
                f"  - name: con-{i}\n    kind: contract\n    match: {{company: [{', '.join(companies)}]}}\n"
                f"    trigger: {{type: threshold, field: usd_value, gte: {rng.choice([1e8, 5e8, 1e9, 5e9])}}}\n    notify: console"
            )
        else:
            words = rng.sample(WORDS, 2)
            out.append(f"  - name: art-{i}\n    kind: article\n    trigger: {{type: keyword, words: [{', '.join(words)}]}}\n    notify: console")
    return "\n".join(out) + "\n"


def make_events(n: int, rng: random.Random) -> list:
    """Figures (80%), contracts (15%) and articles (5%), in time order."""
    events = []
    for i in range(n):
        at = T0 + timedelta(minutes=i)
        roll = rng.random()
        art = ArticleRef(id=i, title=f"Article {i}", url=f"https://example.com/{i}", feed="demo")
        if roll < 0.8:
            metric, entity = rng.choice(METRICS), pick_entity(rng)
            month = rng.randint(2, 12)
            end = date(2024, month, 28)
            prev_end = date(2024, month - 1, 28)
            value = rng.uniform(1e9, 5e12)
            prev = SeriesPoint(value=value * rng.uniform(0.8, 1.2), unit="CNY", period=PeriodRef(start=date(2024, 1, 1), end=prev_end, label=f"Jan-{prev_end:%b} 2024", kind="ytd"))
            status = rng.choice(["new", "new", "new", "revision", "source"])
            events.append(
                FigureEvent(
                    status=status,
                    series_key=f"{metric}|{entity}|CNY|ytd",
                    metric=metric,
                    entity=entity,
                    unit="CNY",
                    value=value,
                    change_pct=rng.uniform(-10, 10),
                    change_basis="yoy",
                    period=PeriodRef(start=date(2024, 1, 1), end=end, label=f"Jan-{end:%b} 2024", kind="ytd"),
                    quote="...",
                    article=art,
                    sources=2 if status == "source" else 1,
                    previous=prev,
                    same_period_last_year=prev if rng.random() < 0.5 else None,
                    revised_from=prev if status == "revision" else None,
                    series_max=value * rng.uniform(0.9, 1.3),
                    series_min=value * 0.1,
                    at=at,
                )
            )
        elif roll < 0.95:
            company = rng.choice(COMPANIES)
            usd = rng.uniform(1e7, 1e10)
            events.append(ContractEvent(status="new", contract_key=f"c{i}", company=company, counterparty="Buyer", project=f"P{i}", value=usd, unit="USD", usd_value=usd, article=art, at=at))
        else:
            filler = ["growth", "profit", "quarter", "国资委", "state-owned", "enterprises", "revenue", "the", "of", "in"]
            text = " ".join(rng.choice(filler) for _ in range(300))
            if rng.random() < 0.2:  # a fifth of articles mention one of the watched words
                text += " " + rng.choice(WORDS)
            events.append(ArticleEvent(article=art, text=text, at=at))
    return events


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the rates."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_known_args(argv)[1]
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    opts = parser.parse_args(args)
    rng = random.Random(opts.seed)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(make_rules(opts.rules, rng), encoding="utf-8")
        t = time.perf_counter()
        result = load_rules([path], {"console"})
        load_s = time.perf_counter() - t
    if result.errors:
        print("\n".join(str(e) for e in result.errors[:10]))
        return 1
    events = make_events(opts.events, rng)
    engine = RuleEngine(result.ruleset)
    history = InMemoryHistory()

    t = time.perf_counter()
    decisions = 0
    for ev in events:
        decisions += len(engine.evaluate(ev, history, ev.at))
    elapsed = time.perf_counter() - t

    pairs = engine.considered
    print(f"rules: {len(result.ruleset.rules)} (loaded and checked in {load_s:.2f} s), events: {len(events)}")
    print(f"evaluation: {elapsed:.3f} s, {len(events) / elapsed:,.0f} events/s, {decisions} decisions")
    print(f"rule-fact evaluations (rules considered per event, summed): {pairs:,} -> {pairs / elapsed:,.0f} per second")
    print(f"rules x events: {len(result.ruleset.rules) * len(events):,} -> {len(result.ruleset.rules) * len(events) / elapsed:,.0f} per second (with the kind/metric index)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
