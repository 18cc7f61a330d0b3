"""Two `soe-monitor run` processes on one PostgreSQL database: every alert goes out exactly once and
every feed is polled once per interval between them, while the feeds change underneath."""

from __future__ import annotations

import json
import math
import os
import signal
import textwrap
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlmodel import Session, func, select

from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Alert, Delivery, utcnow
from storage import outbox
from tests.e2e.storage_choice import create_pg_database, drop_pg_database
from tests.support import LoopbackHTTP, Route, free_port, start_daemon, wait_for

INTERVAL = 2.0  # seconds between polls of one feed
RUN_FOR = 20.0  # seconds the feeds keep changing

ITEM = """<item><title>{guid}</title><link>https://news.example.org/{guid}</link><guid>{guid}</guid>
<pubDate>Fri, 20 Dec 2024 08:00:00 GMT</pubDate><description>{body}</description></item>"""

MONTHS = ["February", "March", "April", "May", "June", "July", "August", "September", "October", "November"]
EXPORTS = [(f"exports-{m.lower()}", f"Chinese SOEs saw their exports grow by {3 + i / 10:.1f} percent to "
            f"{1.2 + i / 20:.2f} trillion yuan between January and {m} 2024.") for i, m in enumerate(MONTHS)]
CONTRACTS = [
    ("crrc", "CRRC Corp secured a $2.1 billion contract to supply metro trains to the Roads and Transport Authority of Dubai."),
    ("crcc", "China Railway Construction Corp signed a $1.4 billion contract to build a railway in Nigeria."),
    ("cccc", "China Communications Construction Co won a $3.2 billion contract to build a port in Kenya."),
    ("sinopec", "Sinopec signed a $1.1 billion contract to build a refinery in Saudi Arabia."),
    ("powerchina", "PowerChina won a $2.5 billion contract to build a dam in Pakistan."),
    ("cscec", "China State Construction Engineering Corp won a $1.8 billion contract to build a stadium in Egypt."),
]

RULES = """\
rules:
  - name: exports-any
    kind: figure
    match: {metric: exports}
    trigger: any
    notify: [hook]
  - name: big-contracts
    kind: contract
    trigger: {type: threshold, field: usd_value, gte: 1000000000}
    notify: [hook]
"""


def rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(ITEM.format(guid=g, body=b) for g, b in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def _admin_url() -> str:
    return (os.environ.get("TEST_STORAGE_URL") or os.environ.get("TEST_DATABASE_URL")
            or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_url():  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL database (skips when the server does not answer), dropped afterwards."""
    admin = _admin_url()
    try:
        import psycopg

        with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2):
            pass
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL is not reachable at {admin}: {type(exc).__name__}")
    url = create_pg_database(admin)
    yield url
    drop_pg_database(admin, url.rsplit("/", 1)[1])


class TimedHits(dict):
    """LoopbackHTTP.hits that also remembers when each path was hit."""

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __setitem__(self, key: str, value: int) -> None:
        with self._lock:
            self.times.setdefault(key, []).append(time.monotonic())
            super().__setitem__(key, value)


def _write_instance(folder: Path, db_url: str, hook_port: int, feeds: dict[str, str]) -> tuple[Path, int]:
    folder.mkdir()
    (folder / "alert-rules").mkdir()
    (folder / "alert-rules" / "rules.yaml").write_text(RULES)
    port = free_port()
    feed_tables = "".join(f'\n[[feeds]]\nname = "{n}"\nurl = "{u}"\ninterval = "{INTERVAL:g}s"\n' for n, u in feeds.items())
    config = folder / "config.toml"
    config.write_text(textwrap.dedent(f"""\
        [storage]
        url = "{db_url}"
        [rules]
        paths = ["alert-rules"]
        [channels]
        hook = "json://127.0.0.1:{hook_port}/hook"
        [server]
        listen = "127.0.0.1:{port}"
        [alerts]
        first_poll = "alert"
        [delivery]
        interval = "0.5s"
        backoff_initial = "0.5s"
        """) + feed_tables)
    return config, port


def _metrics(port: int) -> dict[str, float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        if family.name == "soe_polls":
            for s in family.samples:
                if s.name == "soe_polls_total":
                    key = f"{s.labels['feed']}:{s.labels['status']}"
                    out[key] = out.get(key, 0) + s.value
    return out


def test_two_daemons_share_one_database(tmp_path: Path, http_server: LoopbackHTTP, pg_url: str) -> None:
    http_server.hits = TimedHits()
    exports, contracts = [EXPORTS[0]], [CONTRACTS[0]]
    http_server.routes["/a.xml"] = Route(rss(exports))
    http_server.routes["/b.xml"] = Route(rss(contracts))
    feeds = {"a": http_server.url("/a.xml"), "b": http_server.url("/b.xml")}
    instances = [_write_instance(tmp_path / name, pg_url, http_server.port, feeds) for name in ("one", "two")]

    # Both start at once on an empty database: their schema migrations race.
    procs = [start_daemon(config, cwd=config.parent) for config, _ in instances]
    logs = [config.parent / "daemon.log" for config, _ in instances]
    engine = make_engine(pg_url)
    try:
        wait_for(lambda: all(http_server.hits.get(p, 0) >= 1 for p in ("/a.xml", "/b.xml")), timeout=90,
                 what="the first polls")
        for proc, log in zip(procs, logs):
            assert proc.poll() is None, log.read_text()
        # The feeds change underneath both instances. Halfway, the instance doing the polls stops
        # (SIGTERM, as in a rolling restart) and the other one takes over.
        started = time.monotonic()
        step = 0
        stopped: int | None = None
        while time.monotonic() - started < RUN_FOR:
            time.sleep(2.5)
            if stopped is None and time.monotonic() - started >= RUN_FOR / 2:
                counts = [log.read_text().count("poll a:") for log in logs]
                stopped = counts.index(max(counts))
                procs[stopped].send_signal(signal.SIGTERM)
                assert procs[stopped].wait(timeout=60) == 0, logs[stopped].read_text()[-3000:]
                lines_at_stop = [log.read_text().count("poll a:") for log in logs]
            if step % 2 == 0 and len(exports) < len(EXPORTS):
                exports.append(EXPORTS[len(exports)])
                http_server.routes["/a.xml"] = Route(rss(exports))
            elif len(contracts) < len(CONTRACTS):
                contracts.append(CONTRACTS[len(contracts)])
                http_server.routes["/b.xml"] = Route(rss(contracts))
            step += 1
        expected = len(exports) + len(contracts)

        def hook_posts() -> list[dict]:
            return [json.loads(body) for path, body in list(http_server.posts) if path == "/hook"]

        def settled() -> bool:
            with Session(engine) as s:
                alerts = s.exec(select(func.count()).select_from(Alert)).one()
                unsent = s.exec(select(func.count()).select_from(Delivery).where(Delivery.status != "sent")).one()
            return alerts == expected and unsent == 0 and len(hook_posts()) >= expected

        wait_for(settled, timeout=60, what=f"{expected} alerts stored and sent")
        time.sleep(3 * INTERVAL)  # room for a late duplicate to show up
        survivor = 1 - stopped  # type: ignore[operator]
        assert procs[survivor].poll() is None, logs[survivor].read_text()
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{instances[survivor][1]}/healthz", timeout=5).read())
        survivor_polls = _metrics(instances[survivor][1])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=60) for proc in procs]

    posts = hook_posts()
    messages = [p["message"] for p in posts]
    with Session(engine) as s:
        alerts = s.exec(select(Alert)).all()
        deliveries = s.exec(select(Delivery)).all()
    engine.dispose()

    poll_lines = [log.read_text().count("poll a:") for log in logs]
    summary = {"expected_alerts": expected, "alerts_stored": len(alerts), "hook_posts": len(posts),
               "deliveries": {d.status for d in deliveries}, "exit_codes": codes, "stopped_halfway": stopped,
               "feed_a_polls_per_instance_at_stop": lines_at_stop, "feed_a_polls_per_instance_at_end": poll_lines,
               "survivor_poll_metrics": survivor_polls,
               # not asserted: a known race (two instances creating one feed_state row at once) logs one
               "error_log_lines": [l for log in logs for l in log.read_text().splitlines() if " ERROR " in l][:5]}
    for path in ("/a.xml", "/b.xml"):
        times = http_server.hits.times[path]
        span = times[-1] - times[0]
        windows = math.floor(span / INTERVAL) + 1
        summary[path] = {"gets": len(times), "span_s": round(span, 1), "windows": windows,
                         "min_gap_s": round(min((b - a for a, b in zip(times, times[1:])), default=0), 2)}
    print("two instances:", json.dumps(summary, default=sorted, indent=1))

    assert codes == [0, 0], [log.read_text()[-3000:] for log in logs]
    assert health["healthy"], health
    # Every alert exactly once.
    assert len(alerts) == expected
    assert len(posts) == expected, messages
    assert len(set(messages)) == expected, messages
    assert {d.status for d in deliveries} == {"sent"} and len(deliveries) == expected
    # Each feed polled about once per interval between the two instances, not twice.
    for path in ("/a.xml", "/b.xml"):
        info = summary[path]
        assert info["gets"] <= info["windows"] + 2, summary
        assert info["gets"] >= info["windows"] / 3, summary  # and polled regularly
    # The survivor took the polls over after the stop (and had left them to the other before).
    assert poll_lines[survivor] > lines_at_stop[survivor], summary


def test_outbox_claims_skip_locked_rows_on_postgresql(pg_url: str) -> None:
    """A second claimer neither waits for nor takes rows another transaction has claimed."""
    engine = make_engine(pg_url)
    try:
        upgrade(engine)
        with session_scope(engine) as s:
            alert = Alert(rule="r", key="k", dedup_key="r|k", subject="s", message="m")
            s.add(alert)
            s.flush()
            s.add_all([Delivery(alert_id=alert.id, channel=f"c{i}", next_attempt_at=utcnow() - timedelta(seconds=1))
                       for i in range(5)])
        now, lease = utcnow(), timedelta(minutes=2)
        with Session(engine) as first, Session(engine) as second:
            mine = [d.id for d in outbox.claim_due(first, "one", now, lease, limit=2)]  # transaction left open: rows stay locked
            second.exec(text("SET LOCAL lock_timeout = '2s'"))  # type: ignore[call-overload]
            started = time.monotonic()
            theirs = [d.id for d in outbox.claim_due(second, "two", now, lease, limit=10)]
            waited = time.monotonic() - started
            second.commit()
            first.commit()
        assert len(mine) == 2 and len(theirs) == 3, (mine, theirs)
        assert not set(mine) & set(theirs)
        assert waited < 1.5
        with Session(engine) as s:
            owners = {d.lease_owner for d in s.exec(select(Delivery))}
        assert owners == {"one", "two"}
    finally:
        engine.dispose()
