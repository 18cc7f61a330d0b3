"""Stale feeds and series: one alert per silence, one recovery notice."""

from __future__ import annotations

from datetime import timedelta


def test_stale_feed_alerts_once_per_silence_and_recovers_once(run, kit):
    r = run("name: quiet\nkind: feed\ntrigger: {type: stale, window: 2d}\nnotify: console\nseverity: warning")
    eng, hist = r.engine, r.history
    t0 = kit.T0
    silent = kit.feed(last_new_entry=t0, last_success=t0 + timedelta(days=3))
    assert eng.check_stale([silent], hist, t0 + timedelta(days=1)) == []
    (d,) = eng.check_stale([silent], hist, t0 + timedelta(days=2, hours=1))
    assert d.labels["state"] == "stale" and d.severity == "warning" and d.key == "demo"
    assert "silent" in d.subject and "demo" in d.subject
    assert t0.isoformat() in d.dedup_key
    assert eng.check_stale([silent], hist, t0 + timedelta(days=3)) == []  # still silent: no second alert
    assert eng.evaluate(silent, hist, t0 + timedelta(days=4)) == []
    back = kit.feed(last_new_entry=t0 + timedelta(days=5), last_success=t0 + timedelta(days=5))
    (rec,) = eng.check_stale([back], hist, t0 + timedelta(days=5, minutes=5))
    assert rec.labels["state"] == "recovered" and rec.severity == "info" and "recovered" in rec.subject
    assert rec.dedup_key != d.dedup_key
    assert eng.check_stale([back], hist, t0 + timedelta(days=5, minutes=10)) == []
    # a new silence alerts again, with a new dedup key
    (d2,) = eng.check_stale([back], hist, t0 + timedelta(days=8))
    assert d2.labels["state"] == "stale" and d2.dedup_key != d.dedup_key


def test_stale_since_last_success_and_never_active(run, kit):
    r = run("name: down\nkind: feed\nmatch: {feed: demo}\ntrigger: {type: stale, window: 6h, since: last_success}\nnotify: console")
    eng, hist = r.engine, r.history
    t0 = kit.T0
    assert eng.check_stale([kit.feed(last_success=None, last_new_entry=None)], hist, t0 + timedelta(days=9)) == []
    assert eng.check_stale([kit.feed(feed="other", last_success=t0)], hist, t0 + timedelta(days=1)) == []
    assert len(eng.check_stale([kit.feed(last_success=t0, last_new_entry=t0 + timedelta(days=1))], hist, t0 + timedelta(hours=7))) == 1


def test_stale_series(run, kit):
    r = run("name: exports-quiet\nkind: figure\nmatch: {metric: exports}\ntrigger: {type: stale, window: 60d}\nnotify: console")
    eng, hist = r.engine, r.history
    t0 = kit.T0
    latest = kit.figure(at=t0)
    assert [x.name for x in eng.stale_rules()] == ["exports-quiet"]
    (d,) = eng.check_stale([latest], hist, t0 + timedelta(days=61))
    assert d.key == "exports|SOEs|CNY|ytd" and "series" in d.subject
    assert eng.check_stale([latest], hist, t0 + timedelta(days=62)) == []
    new = kit.figure(at=t0 + timedelta(days=70), period=kit.JAN_FEB_25)
    (rec,) = eng.evaluate(new, hist, t0 + timedelta(days=70))  # a new figure ends the silence
    assert rec.labels["state"] == "recovered"
    assert eng.check_stale([new], hist, t0 + timedelta(days=71)) == []


def test_stale_rules_are_only_stale_rules(run, kit):
    r = run(
        "name: quiet\nkind: feed\ntrigger: {type: stale, window: 2d}\nnotify: console",
        "name: errors\nkind: feed\ntrigger: {type: threshold, field: consecutive_errors, gte: 5}\nnotify: console",
    )
    assert [x.name for x in r.engine.stale_rules()] == ["quiet"]
    # check_stale runs only stale rules, even if a threshold would hold
    assert r.engine.check_stale([kit.feed(consecutive_errors=9)], r.history, kit.T0) == []
    (d,) = r.engine.evaluate(kit.feed(consecutive_errors=9), r.history, kit.T0)
    assert d.rule == "errors"
    # one alert per error streak (identified by the last success)
    assert r.engine.evaluate(kit.feed(consecutive_errors=10), r.history, kit.T0)[0].dedup_key == d.dedup_key
