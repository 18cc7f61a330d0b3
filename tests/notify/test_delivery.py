"""The delivery loop against real loopback servers and a real SQLite outbox."""

from __future__ import annotations

import email
import logging
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor.delivery import Deliverer
from storage import outbox
from storage.db import make_engine, session_scope
from storage.models import Article, Delivery, Observation, Series
from tests.notify.conftest import T0, HTTPCatcher, SMTPServer, add_alert, deliveries, make_config, no_throttle

MINUTE = timedelta(minutes=1)


def deliverer(engine: Engine, channels: dict, owner: str = "w1", **delivery) -> Deliverer:  # type: ignore[no-untyped-def]
    return Deliverer(engine, make_config(channels, **delivery), owner, service_hook=no_throttle)


def test_alert_is_delivered_exactly_once(engine: Engine, smtp: SMTPServer) -> None:
    add_alert(engine, {"email": "pending"})
    d = deliverer(engine, {"email": smtp.url()})
    assert d.deliver_due(T0).sent == 1
    assert d.deliver_due(T0 + MINUTE).results == []
    assert len(smtp.handler.messages) == 1
    [row] = deliveries(engine)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, T0)


def test_closed_port_for_three_rounds_then_delivered_once(engine: Engine, smtp_closed: SMTPServer) -> None:
    add_alert(engine, {"email": "pending"})
    d = deliverer(engine, {"email": smtp_closed.url()})
    for round_no in range(3):
        report = d.deliver_due(T0 + round_no * MINUTE)
        assert report.failed == 1, report
    [row] = deliveries(engine)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "Connection refused" in (row.last_error or "")
    assert T0 + 2 * MINUTE < row.next_attempt_at <= T0 + 2 * MINUTE + timedelta(seconds=10)
    smtp_closed.start()
    assert d.deliver_due(T0 + 3 * MINUTE).sent == 1
    assert d.deliver_due(T0 + 4 * MINUTE).results == []
    assert len(smtp_closed.handler.messages) == 1
    [row] = deliveries(engine)
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)


def test_451_twice_then_250_delivers_once(engine: Engine, smtp: SMTPServer) -> None:
    smtp.handler.replies = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    alert_id = add_alert(engine, {"email": "pending"})
    d = deliverer(engine, {"email": smtp.url()})
    assert d.deliver_due(T0).failed == 1
    with session_scope(engine) as session:
        row = outbox.get_alert(session, alert_id)
    assert row is not None and row.status == "failed"
    assert "SMTP 451 4.3.0 Try again later" in (row.deliveries[0].last_error or "")
    assert d.deliver_due(T0).results == []  # backing off: not due yet
    assert d.deliver_due(T0 + MINUTE).failed == 1
    assert d.deliver_due(T0 + 2 * MINUTE).sent == 1
    assert len(smtp.handler.messages) == 1
    assert deliveries(engine)[0].attempts == 3


def test_550_is_permanent_and_goes_dead(engine: Engine, smtp: SMTPServer) -> None:
    smtp.handler.always = "550 5.1.1 No such user here"
    alert_id = add_alert(engine, {"email": "pending"})
    d = deliverer(engine, {"email": smtp.url()}, max_attempts=3)
    assert d.deliver_due(T0).dead == 1
    assert d.deliver_due(T0 + 10 * MINUTE).results == []
    with session_scope(engine) as session:
        [row] = outbox.list_alerts(session, 10, status="dead")
    assert row.id == alert_id and row.status == "dead"
    [state] = row.deliveries
    assert state.attempts <= 3 and "SMTP 550 5.1.1 No such user here" in (state.last_error or "")
    assert smtp.handler.messages == []


def test_transient_failures_go_dead_after_max_attempts(engine: Engine, smtp: SMTPServer) -> None:
    smtp.handler.always = "451 4.3.0 Try again later"
    add_alert(engine, {"email": "pending"})
    d = deliverer(engine, {"email": smtp.url()}, max_attempts=3)
    statuses = [d.deliver_due(T0 + i * MINUTE).results[0].status for i in range(3)]
    assert statuses == ["failed", "failed", "dead"]
    assert d.deliver_due(T0 + 10 * MINUTE).results == []
    [row] = deliveries(engine)
    assert (row.status, row.attempts) == ("dead", 3)
    with session_scope(engine) as session:  # `alerts retry ID` brings it back
        assert outbox.retry(session, row.alert_id, now=T0 + 10 * MINUTE) == 1
    smtp.handler.always = None
    assert d.deliver_due(T0 + 10 * MINUTE).sent == 1
    assert len(smtp.handler.messages) == 1


def test_one_channel_failing_never_blocks_or_repeats_another(engine: Engine, smtp: SMTPServer, http: HTTPCatcher) -> None:
    smtp.handler.replies = ["451 4.3.0 busy"]
    add_alert(engine, {"email": "pending", "hook": "pending", "quiet": "silenced"})
    d = deliverer(engine, {"email": smtp.url(), "hook": http.json_url, "quiet": http.json_url})
    report = d.deliver_due(T0)
    assert sorted((r.channel, r.status) for r in report.results) == [("email", "failed"), ("hook", "sent")]
    assert d.deliver_due(T0 + MINUTE).sent == 1
    assert len(http.posts) == 1 and len(smtp.handler.messages) == 1
    assert [r.status for r in deliveries(engine)] == ["sent", "sent", "silenced"]


def test_unknown_channel_fails_clearly_until_dead(engine: Engine, http: HTTPCatcher) -> None:
    add_alert(engine, {"gone": "pending"})
    d = deliverer(engine, {"hook": http.json_url}, max_attempts=2)
    first = d.deliver_due(T0).results[0]
    assert first.status == "failed" and "'gone' is not in the config" in (first.reason or "")
    assert d.deliver_due(T0 + MINUTE).results[0].status == "dead"


def test_channel_added_back_is_delivered(engine: Engine, http: HTTPCatcher) -> None:
    add_alert(engine, {"hook": "pending"})
    assert deliverer(engine, {}).deliver_due(T0).failed == 1
    assert deliverer(engine, {"hook": http.json_url}).deliver_due(T0 + MINUTE).sent == 1
    assert len(http.posts) == 1


def test_figure_alert_email_has_png_chart_and_escaped_html(engine: Engine, smtp: SMTPServer,
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chart_dir = tmp_path / "charts"
    chart_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(chart_dir))
    key = "exports|SOEs|CNY|ytd"
    with session_scope(engine) as session:
        article = Article(uid="a1", title="t", content_hash="h", first_seen=T0, updated_at=T0)
        series = Series(key=key, metric="exports", entity="SOEs", unit="CNY", period_kind="ytd")
        session.add_all([article, series])
        session.flush()
        for year, value in [(2022, 1.4e12), (2023, 1.6e12), (2024, 1.79e12)]:
            session.add(Observation(series_id=series.id, period_start=date(year, 1, 1), period_end=date(year, 11, 30),
                                    period_label=f"Jan-Nov {year}", value=value, value_key=str(value), quote="q",
                                    article_id=article.id, observed_at=T0))
    fact = {"type": "figure", "series_key": key, "metric": "exports", "entity": "SOEs", "unit": "CNY",
            "quote": "Exports hit 1.79 trillion <b>yuan</b>",
            "article": {"title": "SOE exports", "url": "https://news.example.com/x"}}
    add_alert(engine, {"email": "pending"}, fact=fact, message="Text with <script>alert(1)</script> inside")
    assert deliverer(engine, {"email": smtp.url()}).deliver_due(T0).sent == 1
    mail = email.message_from_bytes(smtp.handler.messages[0])
    parts = {p.get_content_type(): p for p in mail.walk()}
    png = parts["image/png"].get_payload(decode=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;yuan&lt;/b&gt;" in html
    assert list(chart_dir.iterdir()) == []  # the temporary chart is gone


def test_two_deliverers_in_threads_send_each_row_once(engine: Engine, http: HTTPCatcher) -> None:
    ids = [add_alert(engine, {"hook": "pending"}, subject=f"alert {i}") for i in range(24)]
    # Separate engines (connection pools), as two daemons on one database file would have.
    workers = [deliverer(make_engine(str(engine.url)), {"hook": http.json_url}, owner=f"w{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    reports = []

    def run(d: Deliverer) -> None:
        barrier.wait()
        reports.append(d.deliver_due(T0))

    threads = [threading.Thread(target=run, args=(d,)) for d in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    titles = sorted(post["json"]["title"] for post in http.posts)
    assert titles == sorted(f"alert {i}" for i in range(24))
    assert sum(r.sent for r in reports) == len(ids)
    assert all(row.status == "sent" and row.attempts == 1 for row in deliveries(engine))


def test_two_processes_send_each_row_once(engine: Engine, http: HTTPCatcher) -> None:
    import multiprocessing

    from tests.notify._worker import deliver_in_process

    for i in range(30):
        add_alert(engine, {"hook": "pending"}, subject=f"alert {i}")
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=deliver_in_process,
                         args=(str(engine.url), http.json_url, f"proc{i}", T0.isoformat(), go, results))
             for i in range(2)]
    for proc in procs:
        proc.start()
    go.set()
    sent = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert sum(sent) == 30 and all(proc.exitcode == 0 for proc in procs)
    assert sorted(p["json"]["title"] for p in http.posts) == sorted(f"alert {i}" for i in range(30))
    assert all(row.status == "sent" and row.attempts == 1 for row in deliveries(engine))


def test_expired_lease_of_a_crashed_worker_is_sent_again(engine: Engine, http: HTTPCatcher) -> None:
    add_alert(engine, {"hook": "pending"})
    add_alert(engine, {"hook": "pending"})
    with session_scope(engine) as session:  # a worker claims both, then "crashes"
        claimed = outbox.claim_due(session, "crashed", T0, timedelta(minutes=2), 10)
    assert len(claimed) == 2
    d = deliverer(engine, {"hook": http.json_url})
    assert d.deliver_due(T0 + MINUTE).results == []  # leases still valid: nothing sent twice
    assert d.deliver_due(T0 + 3 * MINUTE).sent == 2
    assert len(http.posts) == 2


def test_digest_channel_sends_one_combined_message(engine: Engine, http: HTTPCatcher) -> None:
    channels = {"morning": {"url": http.json_url, "digest": "0 8 * * *"}}
    for i in range(3):
        add_alert(engine, {"morning": "digest"}, subject=f"digest item {i}", at=T0 + i * MINUTE)
    d = deliverer(engine, channels)
    assert d.deliver_due(T0 + 5 * MINUTE).results == []  # digest rows wait for their schedule
    report = d.send_digest("morning", T0 + 10 * MINUTE)
    assert report.sent == 3
    [post] = http.posts
    assert post["json"]["title"] == "SOE Monitor digest: 3 alerts (morning)"
    body = post["json"]["message"]
    assert body.index("digest item 0") < body.index("digest item 1") < body.index("digest item 2")
    assert d.send_digest("morning", T0 + 20 * MINUTE).results == []
    assert {r.status for r in deliveries(engine)} == {"sent"}


def test_failed_digest_waits_for_the_next_run(engine: Engine, http: HTTPCatcher) -> None:
    add_alert(engine, {"morning": "digest"})
    d = deliverer(engine, {"morning": {"url": http.json_url, "digest": "0 8 * * *"}})
    http.status = [500]
    assert [r.status for r in d.send_digest("morning", T0).results] == ["digest"]
    [row] = deliveries(engine)
    assert (row.status, row.attempts) == ("digest", 1) and "500" in (row.last_error or "")
    assert d.send_digest("morning", T0 + MINUTE).sent == 1


def test_digest_rows_of_a_channel_no_longer_digest_are_sent_normally(engine: Engine, http: HTTPCatcher) -> None:
    add_alert(engine, {"hook": "digest"})
    assert deliverer(engine, {"hook": http.json_url}).deliver_due(T0).sent == 1


def test_console_channel_prints_the_alert(engine: Engine, capfd: pytest.CaptureFixture[str]) -> None:
    add_alert(engine, {"console": "pending"}, subject="CRRC wins Dubai Metro deal")
    assert deliverer(engine, {"console": "console://"}).deliver_due(T0).sent == 1
    out = capfd.readouterr().out
    assert "CRRC wins Dubai Metro deal" in out and "SOE exports reached 1.79 trillion yuan." in out


def test_notify_test_really_sends_and_reports(http: HTTPCatcher, engine: Engine, smtp_closed: SMTPServer) -> None:
    d = deliverer(engine, {"hook": http.json_url, "email": smtp_closed.url()})
    assert d.notify_test("hook").ok
    assert "test notification" in http.posts[0]["json"]["title"]
    failed = d.notify_test("email")
    assert not failed.ok and "Connection refused" in (failed.reason or "")
    missing = d.notify_test("nope")
    assert not missing.ok and "no channel named 'nope'" in (missing.reason or "")


def test_backoff_is_exponential_jittered_capped_and_respects_retry_after(engine: Engine) -> None:
    d = Deliverer(engine, make_config({}, backoff_initial=timedelta(seconds=30), backoff_max=timedelta(hours=1)),
                  "w", rng=lambda: 1.0)
    assert [d.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert d.backoff(20).total_seconds() == 3600
    assert d.backoff(1, retry_after=600).total_seconds() == 600
    low = Deliverer(engine, d.config, "w", rng=lambda: 0.0)
    assert low.backoff(2).total_seconds() == 30  # jitter keeps at least half the delay


SMTP_PASSWORD = "Hunter2SmtpPassw0rd"
SLACK_TOKEN = "XoxSecretTokenC0123456789"


def test_secrets_never_reach_logs_database_or_reasons(engine: Engine, http: HTTPCatcher, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from apprise.plugins.slack import NotifySlack
    from aiosmtpd.smtp import AuthResult

    from tests.notify.conftest import ScriptedSMTP, SMTPServer, free_port

    caplog.set_level(logging.DEBUG)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    def reject(server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
        return AuthResult(success=False, handled=False)

    smtp = SMTPServer(free_port(), ScriptedSMTP(), kwargs={"authenticator": reject, "auth_require_tls": False})
    smtp.start()
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{http.port}/services")
    http.status = [500] * 10
    try:
        channels = {"email": smtp.url(f"analyst:{SMTP_PASSWORD}@"),
                    "slack": f"slack://T0SECRETAA/B0SECRETBB/{SLACK_TOKEN}/#alerts"}
        add_alert(engine, {"email": "pending", "slack": "pending"})
        d = deliverer(engine, channels, max_attempts=2)
        reports = [d.deliver_due(T0), d.deliver_due(T0 + MINUTE)]
        outcomes = [d.notify_test("email"), d.notify_test("slack")]
    finally:
        smtp.stop()
    reasons = [r.reason or "" for rep in reports for r in rep.results] + [o.reason or "" for o in outcomes]
    assert all(not o.ok for o in outcomes) and all(reasons)
    assert any("535" in r for r in reasons) and any("500" in r for r in reasons)
    with session_scope(engine) as session:
        stored = [d.last_error or "" for a in outbox.list_alerts(session, 10) for d in a.deliveries]
    # 535 (bad credentials) is permanent: dead at once; Slack's 500 is retried until max_attempts.
    assert [(row.channel, row.status, row.attempts) for row in deliveries(engine)] == [("email", "dead", 1), ("slack", "dead", 2)]
    everything = "\n".join([caplog.text, *[r.getMessage() for r in caplog.records], *reasons, *stored])
    for secret in (SMTP_PASSWORD, SLACK_TOKEN, "T0SECRETAA", "B0SECRETBB"):
        assert secret not in everything


def test_list_alerts_shows_per_channel_status(engine: Engine, smtp: SMTPServer, http: HTTPCatcher) -> None:
    smtp.handler.always = "451 4.3.0 later"
    first = add_alert(engine, {"email": "pending", "hook": "pending"}, at=T0)
    second = add_alert(engine, {"hook": "pending"}, at=T0 + MINUTE)
    deliverer(engine, {"email": smtp.url(), "hook": http.json_url}).deliver_due(T0 + MINUTE)
    with session_scope(engine) as session:
        rows = outbox.list_alerts(session, 10)
        assert [r.id for r in rows] == [second, first]
        assert [r.status for r in rows] == ["sent", "failed"]
        by_channel = {d.channel: d for d in rows[1].deliveries}
        assert by_channel["email"].attempts == 1 and "SMTP 451" in (by_channel["email"].last_error or "")
        assert by_channel["hook"].status == "sent"
        assert [r.id for r in outbox.list_alerts(session, 10, status="failed")] == [first]
        assert outbox.get_alert(session, 999) is None


def test_claim_skips_silenced_sent_and_future_rows(engine: Engine) -> None:
    add_alert(engine, {"a": "silenced", "b": "sent", "c": "pending", "d": "dead"})
    with session_scope(engine) as session:
        assert outbox.claim_due(session, "w", T0 - MINUTE, timedelta(minutes=2), 10) == []
        [row] = outbox.claim_due(session, "w", T0, timedelta(minutes=2), 10)
    assert (row.channel, row.status, row.lease_owner, row.lease_until) == ("c", "sending", "w", T0 + 2 * MINUTE)
    with session_scope(engine) as session:
        assert not outbox.mark_failed(session, row.id, "someone-else", "x", T0, T0, False)  # type: ignore[arg-type]
        assert isinstance(session.get(Delivery, row.id), Delivery)


def test_retry_delivery_and_release(engine: Engine) -> None:
    add_alert(engine, {"a": "pending"})
    lease = timedelta(minutes=2)
    with session_scope(engine) as session:
        [row] = outbox.claim_due(session, "w", T0, lease, 5)
        assert outbox.release(session, row.id, "w")  # type: ignore[arg-type]
    assert deliveries(engine)[0].status == "pending"  # never attempted: back to pending
    with session_scope(engine) as session:
        [row] = outbox.claim_due(session, "w", T0, lease, 5)
        assert outbox.mark_failed(session, row.id, "w", "boom", T0, T0 + MINUTE, dead=True)  # type: ignore[arg-type]
        assert outbox.claim_due(session, "w", T0 + 10 * MINUTE, lease, 5) == []
        assert outbox.retry_delivery(session, row.id, now=T0 + 10 * MINUTE)  # type: ignore[arg-type]
        assert not outbox.retry_delivery(session, row.id)  # type: ignore[arg-type]  # pending now: nothing to retry
    [row] = deliveries(engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, T0 + 10 * MINUTE)
