"""Every trigger, with its edge cases."""

from __future__ import annotations

from datetime import date, timedelta

FIG = "kind: figure\nmatch: {metric: exports, entity: SOEs}\nnotify: console"


def rule(name: str, trigger: str, body: str = FIG, extra: str = "") -> str:
    return f"name: {name}\n{body}\ntrigger: {trigger}\n{extra}"


# --------------------------------------------------------------------------- any


def test_any_fires_on_new_facts_only(run, kit):
    r = run(rule("fig-any", "any"), "name: con-any\nkind: contract\ntrigger: any\nnotify: console", "name: art-any\nkind: article\ntrigger: any\nnotify: console")
    assert r.names(kit.figure()) == ["fig-any"]
    assert r.names(kit.figure(status="revision", revised_from=kit.point(1.7e12, kit.JAN_NOV_24))) == []
    assert r.names(kit.figure(status="source", sources=2)) == []  # a repeated report never re-fires
    assert r.names(kit.contract()) == ["con-any"]
    assert r.names(kit.contract(status="source", sources=2)) == []
    assert r.names(kit.article("text")) == ["art-any"]
    assert r.names(kit.article("text", status="updated")) == []


def test_match_lists_and_case(run, kit):
    r = run("name: m\nkind: figure\nmatch: {metric: [EXPORTS, imports], entity: [soes, central SOEs], period_kind: ytd, unit: cny, feed: demo}\ntrigger: any\nnotify: console")
    assert r.names(kit.figure()) == ["m"]
    assert r.names(kit.figure(metric="imports", entity="central SOEs")) == ["m"]
    assert r.names(kit.figure(entity="local SOEs")) == []
    assert r.names(kit.figure(entity=None)) == []
    assert r.names(kit.figure(unit="USD")) == []
    assert r.names(kit.figure(period=kit.period(date(2024, 1, 1), date(2024, 12, 31), "2024", kind="year"))) == []


def test_rule_without_metric_sees_every_metric(run, kit):
    r = run("name: all\nkind: figure\ntrigger: any\nnotify: console", rule("exp", "any"))
    assert r.names(kit.figure()) == ["all", "exp"]
    assert r.names(kit.figure(metric="total_profits")) == ["all"]


# --------------------------------------------------------------------------- new_period


def test_new_period_first_observation_without_baseline(run, kit):
    r = run(rule("np", "new_period"))
    (d,) = r(kit.figure(previous=None))
    assert "first value" in d.reason
    assert "Compared with" not in d.message


def test_new_period_later_period(run, kit):
    r = run(rule("np", "new_period"))
    (d,) = r(kit.figure())
    assert d.reason == "new period January-November 2024 after January-October 2024"
    assert d.subject == "[info] SOEs exports: 1.79 trillion yuan (January-November 2024)"
    assert d.channels == ["console"] and d.severity == "info"
    assert d.key == "exports|SOEs|CNY|ytd|January-November 2024"


def test_new_period_not_latest_or_not_later(run, kit):
    r = run(rule("np", "new_period"))
    assert r(kit.figure(is_latest=False)) == []
    assert r(kit.figure(period=kit.JAN_OCT_24)) == []  # not later than the baseline
    assert r(kit.figure(status="revision", revised_from=kit.point(1.7e12, kit.JAN_NOV_24))) == []


def test_new_period_year_to_date_across_year_boundary(run, kit):
    r = run(rule("np", "new_period"))
    jan_feb = kit.figure(value=2.9e11, period=kit.JAN_FEB_25, previous=kit.point(1.79e12, kit.JAN_NOV_24))
    (d,) = r(jan_feb)
    assert "January-February 2025 after January-November 2024" in d.reason


# --------------------------------------------------------------------------- revision


def test_revision(run, kit):
    r = run(rule("rev", "revision"))
    assert r(kit.figure()) == []
    ev = kit.figure(status="revision", value=1.8e12, revised_from=kit.point(1.79e12, kit.JAN_NOV_24))
    (d,) = r(ev)
    assert "revised from 1.79 trillion yuan to 1.8 trillion yuan" in d.reason
    assert "Compared with: 1.79 trillion yuan for January-November 2024" in d.message
    again = r(ev)[0]
    assert again.dedup_key == d.dedup_key  # re-processing gives the same decision
    (d2,) = r(ev.model_copy(update={"value": 1.81e12}))
    assert d2.dedup_key != d.dedup_key and d2.key == d.key  # the value is never in the key
    assert r(kit.figure(status="revision", value=1.79e12, revised_from=kit.point(1.79e12, kit.JAN_NOV_24))) == []


# --------------------------------------------------------------------------- change


def test_change_pct_below_on_previous(run, kit):
    r = run(rule("drop", "{type: change, pct_below: 5, compare: previous}"))
    base = kit.point(1.0e12, kit.JAN_OCT_24)
    (d,) = r(kit.figure(value=0.94e12, previous=base))  # -6%
    assert "down 6.0% on the previous period" in d.reason and "drop of more than 5%" in d.reason
    assert r(kit.figure(value=0.96e12, previous=base)) == []  # -4%
    assert r(kit.figure(value=0.95e12, previous=base)) == []  # exactly -5%: not more than 5%
    assert r(kit.figure(value=1.2e12, previous=base)) == []  # a rise


def test_change_pct_above_and_abs(run, kit):
    r = run(
        rule("up", "{type: change, pct_above: 10}"),
        rule("abs-up", "{type: change, abs_above: 1e11}"),
        rule("abs-down", "{type: change, abs_below: 1e11}"),
    )
    base = kit.point(1.0e12, kit.JAN_OCT_24)
    assert r.names(kit.figure(value=1.15e12, previous=base)) == ["up", "abs-up"]
    assert r.names(kit.figure(value=0.85e12, previous=base)) == ["abs-down"]
    assert r.names(kit.figure(value=1.05e12, previous=base)) == []


def test_change_without_baseline(run, kit):
    r = run(rule("drop", "{type: change, pct_below: 5}"))
    assert r(kit.figure(previous=None)) == []
    assert r(kit.figure(value=None, change_pct=-20)) == []


def test_change_same_period_last_year(run, kit):
    r = run(rule("yoy", "{type: change, pct_below: 5, compare: same_period_last_year}"))
    assert r(kit.figure(value=1.0e12, same_period_last_year=None)) == []  # missing: no alert
    (d,) = r(kit.figure(value=1.0e12, same_period_last_year=kit.point(1.2e12, kit.JAN_NOV_23)))
    assert "on the same period last year" in d.reason
    assert "January-November 2023 (same period last year), source: https://example.com/old" in d.message


def test_change_never_compares_ytd_across_a_year_boundary(run, kit):
    r = run(rule("drop", "{type: change, pct_below: 5}"))
    jan_feb = kit.figure(value=2.9e11, period=kit.JAN_FEB_25, previous=kit.point(1.79e12, kit.JAN_NOV_24))
    assert r(jan_feb) == []


def test_change_units_must_agree_and_zero_base(run, kit):
    r = run(rule("drop", "{type: change, pct_below: 5}"), rule("abs", "{type: change, abs_below: 10}"))
    assert r(kit.figure(value=1.0, previous=kit.point(2.0e12, kit.JAN_OCT_24, unit="USD"))) == []
    assert r.names(kit.figure(value=-100.0, previous=kit.point(0.0, kit.JAN_OCT_24))) == ["abs"]


def test_change_on_revision(run, kit):
    r = run(rule("drop", "{type: change, pct_below: 5}"))
    ev = kit.figure(status="revision", value=1.0e12, revised_from=kit.point(1.79e12, kit.JAN_NOV_24))
    (d,) = r(ev)
    assert d.dedup_key.endswith("rev:1000000000000.0")


# --------------------------------------------------------------------------- threshold


def test_threshold_contracts_over_a_billion(run, kit):
    r = run("name: big\nkind: contract\ntrigger: {type: threshold, field: usd_value, gte: 1e9}\nnotify: console")
    (d,) = r(kit.contract())
    assert d.reason == "usd_value 5.6 billion >= 1 billion"
    assert d.subject == "[info] CRRC contract: 5.6 billion US dollars with Roads and Transport Authority (Dubai Metro Blue Line)"
    assert r(kit.contract(usd_value=9.99e8, contract_key="k2")) == []
    assert r(kit.contract(usd_value=None, contract_key="k3")) == []
    assert r(kit.contract(usd_value=1e9, contract_key="k4"))  # gte includes the bound


def test_threshold_range_and_other_fields(run, kit):
    r = run(
        "name: mid\nkind: contract\ntrigger: {type: threshold, field: usd_value, gte: 1e9, lt: 5e9}\nnotify: console",
        rule("falling", "{type: threshold, field: change_pct, lt: -5}"),
        "name: errors\nkind: feed\ntrigger: {type: threshold, field: consecutive_errors, gte: 3}\nnotify: console",
    )
    assert r.names(kit.contract(usd_value=2e9)) == ["mid"]
    assert r.names(kit.contract(usd_value=6e9)) == []
    assert r.names(kit.figure(change_pct=-6.1)) == ["falling"]
    assert r.names(kit.figure(change_pct=-5)) == []
    assert r.names(kit.feed(consecutive_errors=3)) == ["errors"]
    assert r.names(kit.feed(consecutive_errors=2)) == []


# --------------------------------------------------------------------------- record


def test_record_high_low_both(run, kit):
    r = run(rule("hi", "{type: record, record: high}"), rule("lo", "{type: record, record: low}"), rule("both", "{type: record, record: both}"))
    assert r.names(kit.figure(value=2e12, series_max=1.9e12, series_min=1e11)) == ["hi", "both"]
    assert r.names(kit.figure(value=5e10, series_max=1.9e12, series_min=1e11)) == ["lo", "both"]
    assert r.names(kit.figure(value=1e12, series_max=1.9e12, series_min=1e11)) == []
    assert r.names(kit.figure(value=1e12, series_max=None, series_min=None)) == []  # first observation: no record
    (d,) = r(kit.figure(value=2e12, series_max=1.9e12))[:1]
    assert "new all-time high: 2 trillion yuan, above the previous high of 1.9 trillion yuan" == d.reason


# --------------------------------------------------------------------------- keyword


def test_keyword_words_en_and_zh(run, kit):
    r = run("name: kw\nkind: article\ntrigger: {type: keyword, words: [restructuring, rail, 重组]}\nnotify: console")
    assert r.names(kit.article("SASAC announces RESTRUCTURING of two groups")) == ["kw"]
    assert r.names(kit.article("A trail of losses", id=4)) == []  # whole words for Latin script
    assert r.names(kit.article("国资委宣布两家央企重组", id=5)) == ["kw"]  # substrings for Chinese
    assert r.names(kit.article("nothing here", title="Rail merger", id=6)) == ["kw"]  # the title counts


def test_keyword_regexes(run, kit):
    r = run("name: rx\nkind: article\ntrigger: {type: keyword, regexes: ['merg(er|ing)', '中国.{0,4}集团']}\nnotify: console")
    (d,) = r(kit.article("Two SOEs are MERGING"))
    assert "merg(er|ing)" in d.reason
    assert r.names(kit.article("中国宝武钢铁集团", id=7)) == ["rx"]
    assert r.names(kit.article("merge", id=8)) == []


def test_keyword_on_figure_quotes_and_updated_articles(run, kit):
    r = run(rule("q", "{type: keyword, words: [record]}"), "name: kw\nkind: article\ntrigger: {type: keyword, words: [bailout]}\nnotify: console")
    assert r.names(kit.figure(quote="Exports hit a record 1.79 trillion yuan")) == ["q"]
    assert r.names(kit.article("a bailout", id=10)) == ["kw"]
    assert r.names(kit.article("a bailout, updated", id=10, status="updated")) == []  # already alerted
    assert r.names(kit.article("now mentions a bailout", id=11, status="updated")) == ["kw"]


# --------------------------------------------------------------------------- frequency


def test_frequency_counts_per_key_within_window(run, kit):
    r = run("name: busy\nkind: contract\ntrigger: {type: frequency, count: 3, window: 30d}\nkey: [company]\nnotify: console")

    def c(i: int, days: float, company: str = "CRRC"):
        return kit.contract(contract_key=f"k{i}", project=f"p{i}", company=company, at=kit.T0 + timedelta(days=days))

    assert r(c(1, 0)) == []
    assert r(c(2, 1)) == []
    assert r(c(2, 1)) == []  # the same event again is not a new match
    assert r(c(3, 2, "Sinopec")) == []  # another key
    (d,) = r(c(4, 3))
    assert d.key == "CRRC" and "3 matching contracts within 30 days" in d.reason
    assert r(c(5, 4)) == []  # same burst: already alerted
    assert r(c(6, 40)) == []  # the window moved on: one match left
    assert r(c(7, 41)) == []
    (d2,) = r(c(8, 42))
    assert d2.dedup_key != d.dedup_key
