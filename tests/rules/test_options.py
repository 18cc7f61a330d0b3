"""Options on every rule: key, dedup, repeat_after, confirm, where, templates, labels, enabled."""

from __future__ import annotations

from datetime import timedelta

from rules.events import Decision

FIG = "kind: figure\nmatch: {metric: exports, entity: SOEs}\nnotify: [console, slack]"


def rule(name: str, extra: str = "", trigger: str = "new_period") -> str:
    return f"name: {name}\n{FIG}\ntrigger: {trigger}\n{extra}"


def test_decision_shape_and_default_message(run, kit):
    r = run(rule("np", "severity: warning\nlabels: {team: macro, topic: trade}"))
    (d,) = r(kit.figure())
    assert isinstance(d, Decision)
    assert d.rule == "np" and d.severity == "warning" and d.channels == ["console", "slack"]
    assert d.labels == {"team": "macro", "topic": "trade"}
    assert d.fact == kit.figure().model_dump(mode="json")
    assert d.subject == "[warning] SOEs exports: 1.79 trillion yuan (January-November 2024)"
    msg = d.message
    for part in (
        "SOEs exports: 1.79 trillion yuan for January-November 2024, up 3.9% year on year.",
        "Why: new period January-November 2024 after January-October 2024",
        "Compared with: 1.6 trillion yuan for January-October 2024 (previous period), source: https://example.com/old",
        'Quote: "SOE exports reached 1.79 trillion yuan, up 3.9 percent year on year."',
        "Article: SOE exports grow https://example.com/a1",
    ):
        assert part in msg, (part, msg)


def test_default_message_percent_and_rate_only(run, kit):
    r = run("name: any\nkind: figure\ntrigger: any\nnotify: console")
    (d,) = r(kit.figure(metric="debt_to_asset_ratio", unit="percent", value=64.3, change_pct=None, series_key="dar"))
    assert d.subject.startswith("[info] SOEs debt to asset ratio: 64.3 percent")
    (d,) = r(kit.figure(metric="total_profits", value=None, change_pct=5.0, series_key="tp"))
    assert "up 5.0% year on year" in d.subject


def test_dedup_key_is_deterministic_and_unique(run, kit):
    r = run(rule("np"), rule("any-m", "key: [metric]", trigger="any"))
    first = r(kit.figure())
    again = r(kit.figure())
    assert [d.dedup_key for d in first] == [d.dedup_key for d in again]
    assert len({d.dedup_key for d in first}) == 2
    other = kit.figure(series_key="exports|SOEs|CNY|month", period=kit.JAN_FEB_25)
    (_, any_other) = r(other)
    # same key (the metric), different fact: never the same dedup key
    assert any_other.key == first[1].key == "exports" and any_other.dedup_key != first[1].dedup_key


def test_custom_key_fields(run, kit):
    r = run("name: c\nkind: contract\ntrigger: any\nkey: [company, article.feed]\nnotify: console")
    (d,) = r(kit.contract())
    assert d.key == "CRRC|demo"
    (d,) = r(kit.contract(company=None))
    assert d.key == "|demo"


def test_repeat_after_and_expiry(run, kit):
    r = run("name: c\nkind: contract\ntrigger: any\nkey: [company]\nrepeat_after: 24h\nnotify: console")
    t = kit.T0
    assert len(r(kit.contract(contract_key="a"), t)) == 1
    assert r(kit.contract(contract_key="b"), t + timedelta(hours=23)) == []
    assert len(r(kit.contract(contract_key="c", company="Sinopec"), t + timedelta(hours=23))) == 1  # other key
    assert len(r(kit.contract(contract_key="d"), t + timedelta(hours=24))) == 1  # expired
    assert r(kit.contract(contract_key="e"), t + timedelta(hours=30)) == []


def test_naive_and_aware_times_mix(run, kit):
    r = run("name: c\nkind: contract\ntrigger: any\nrepeat_after: 1h\nnotify: console")
    assert len(r(kit.contract(), kit.T0.replace(tzinfo=None))) == 1
    assert r(kit.contract(), kit.T0 + timedelta(minutes=5)) == []


def test_confirm_two_sources_within_window(run, kit):
    r = run(rule("conf", "confirm: {sources: 2, within: 24h}", trigger="any"))
    t0 = kit.T0
    assert r(kit.figure(sources=1, source_times=[t0])) == []
    second = kit.figure(status="source", sources=2, source_times=[t0, t0 + timedelta(hours=5)])
    (d,) = r(second)
    assert "confirmed by 2 sources within 1 day" in d.reason
    assert r(second)[0].dedup_key == d.dedup_key  # re-processing: same decision
    third = kit.figure(status="source", sources=3, source_times=[t0, t0 + timedelta(hours=5), t0 + timedelta(hours=8)])
    assert r(third) == []  # already confirmed: a further source never re-fires


def test_confirm_sources_outside_window(run, kit):
    r = run(rule("conf", "confirm: {sources: 2, within: 24h}", trigger="any"))
    t0 = kit.T0
    late = kit.figure(status="source", sources=2, source_times=[t0, t0 + timedelta(hours=30)])
    assert r(late) == []
    third = kit.figure(status="source", sources=3, source_times=[t0, t0 + timedelta(hours=30), t0 + timedelta(hours=40)])
    assert len(r(third)) == 1  # the 2nd and 3rd are within 24h


def test_confirm_edge_cases(run, kit):
    r = run(
        rule("one", "confirm: {sources: 1}", trigger="any"),
        rule("count", "confirm: {sources: 2}", trigger="new_period"),
        "name: con\nkind: contract\ntrigger: {type: threshold, field: usd_value, gte: 1e9}\nconfirm: {sources: 2}\nnotify: console",
    )
    assert r.names(kit.figure(source_times=[kit.T0])) == ["one"]
    assert r.names(kit.figure(status="source", sources=2)) == ["count"]  # no times: the count decides
    assert r.names(kit.figure(status="source", sources=3)) == []
    assert r.names(kit.contract(status="source", sources=2)) == ["con"]
    assert r.names(kit.contract(status="source", sources=2, usd_value=1e8)) == []


def test_where_cel(run, kit):
    r = run(
        rule("big", "where: value > 1.5e12 && article.feed == 'demo'", trigger="any"),
        rule("base", "where: has_baseline && value - baseline.value > 1e11"),
        "name: c\nkind: contract\ntrigger: any\nwhere: usd_value >= 1e9 && company in ['CRRC', 'Sinopec']\nnotify: console",
    )
    assert r.names(kit.figure()) == ["big", "base"]
    assert r.names(kit.figure(value=1.0e12)) == []
    assert r.names(kit.figure(value=None, change_pct=3.0)) == []  # null: an error counts as false
    assert r.names(kit.figure(previous=None)) == ["big"]
    assert r.names(kit.contract()) == ["c"]
    assert r.names(kit.contract(usd_value=None)) == []
    assert r.names(kit.contract(company="COSCO")) == []


def test_templates_render(run, kit):
    r = run(
        rule(
            "t",
            'subject: "{{ entity }} {{ metric | metric }} {{ value | amount(unit) }}\\n({{ period.label }})"\n'
            "message: |\n"
            "  {{ rule.name }}: {{ value | amount(unit) }} vs {{ baseline.value | amount(baseline.unit) }} ({{ baseline_label }})\n"
            "  {{ change_pct | pct }} {{ article.url }} key={{ key }}\n",
        )
    )
    (d,) = r(kit.figure())
    assert d.subject == "SOEs exports 1.79 trillion yuan (January-November 2024)"  # one line
    assert d.message.startswith("t: 1.79 trillion yuan vs 1.6 trillion yuan (previous period)\n+3.9% https://example.com/a1 key=")


def test_template_failing_at_run_time_falls_back(run, kit):
    r = run(rule("t", "message: 'vs {{ baseline.value | amount(unit) }}'"))
    (d,) = r(kit.figure(previous=None))  # no baseline: the template cannot render
    assert "SOEs exports: 1.79 trillion yuan" in d.message
    assert "message template failed" in d.message and d.message.strip()


def test_disabled_rules_never_fire(run, kit):
    r = run(rule("off", "enabled: false"), rule("on"))
    assert r.names(kit.figure()) == ["on"]


def test_source_events_reach_only_confirm_rules(run, kit):
    r = run(
        rule("np"),
        rule("drop", trigger="{type: change, pct_below: 5}"),
        rule("conf", "confirm: {sources: 2}", trigger="any"),
    )
    ev = kit.figure(status="source", sources=2, value=1.0e12)
    assert r.names(ev) == ["conf"]


def test_history_protocol_is_satisfied():
    from rules.history import InMemoryHistory, RuleHistory

    h = InMemoryHistory()
    assert isinstance(h, RuleHistory)
    from datetime import datetime, timezone

    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    h.record_match("r", "k", t)
    h.record_match("r", "k", t)
    h.record_match("r", "k", t + timedelta(days=1))
    assert h.count_matches("r", "k", t) == 2 and h.count_matches("r", "k", t + timedelta(hours=1)) == 1
    assert h.last_fired("r", "k") is None
    h.record_fired("r", "k", t + timedelta(days=1))
    h.record_fired("r", "k", t)
    assert h.last_fired("r", "k") == t + timedelta(days=1)


def test_long_keys_give_bounded_dedup_keys(run, kit):
    r = run("name: c\nkind: contract\ntrigger: any\nnotify: console")
    (d,) = r(kit.contract(project="x" * 1000))
    assert len(d.dedup_key) <= 255
    assert r(kit.contract(project="x" * 1000))[0].dedup_key == d.dedup_key


class _AlertTableHistory:
    """Like a database-backed history: no record_fired; last_fired comes from stored alerts."""

    def __init__(self) -> None:
        self.alerts: list[tuple[str, str, object]] = []
        self.matches: set[tuple[str, str, object]] = set()

    def last_fired(self, rule, key):
        times = [t for r, k, t in self.alerts if r == rule and k == key]
        return max(times) if times else None

    def count_matches(self, rule, key, since):
        return sum(1 for r, k, t in self.matches if r == rule and k == key and t >= since)

    def record_match(self, rule, key, at):
        self.matches.add((rule, key, at))


def test_history_without_record_fired(load, kit):
    from rules.engine import RuleEngine
    from rules.history import RuleHistory

    result = load(
        "rules:\n  - name: c\n    kind: contract\n    trigger: any\n    repeat_after: 1h\n    notify: console\n"
        "  - name: quiet\n    kind: feed\n    trigger: {type: stale, window: 1d}\n    notify: console\n"
    )
    engine, history = RuleEngine(result.ruleset), _AlertTableHistory()
    assert isinstance(history, RuleHistory)
    (d,) = engine.evaluate(kit.contract(), history, kit.T0)
    history.alerts.append((d.rule, d.key, kit.T0.replace(tzinfo=None)))  # stored naive, as SQLite does
    assert engine.evaluate(kit.contract(), history, kit.T0 + timedelta(minutes=5)) == []
    (s,) = engine.check_stale([kit.feed()], history, kit.T0 + timedelta(days=2))
    history.alerts.append((s.rule, s.key, kit.T0 + timedelta(days=2)))
    assert engine.check_stale([kit.feed()], history, kit.T0 + timedelta(days=3)) == []
    back = kit.feed(last_new_entry=kit.T0 + timedelta(days=4))
    (r,) = engine.check_stale([back], history, kit.T0 + timedelta(days=4))
    assert r.key == "demo#recovered"
    history.alerts.append((r.rule, r.key, kit.T0 + timedelta(days=4)))
    assert engine.check_stale([back], history, kit.T0 + timedelta(days=4, hours=1)) == []


def test_history_failures_propagate_rule_failures_do_not(load, kit):
    import pytest

    from rules.engine import RuleEngine

    class Broken(_AlertTableHistory):
        def last_fired(self, rule, key):
            raise ConnectionError("database gone")

    result = load("rules:\n  - name: c\n    kind: contract\n    trigger: any\n    repeat_after: 1h\n    notify: console\n")
    engine = RuleEngine(result.ruleset)
    with pytest.raises(ConnectionError):
        engine.evaluate(kit.contract(), Broken(), kit.T0)
