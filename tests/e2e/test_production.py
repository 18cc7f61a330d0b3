"""Running it in production: health when the database goes away and comes back, the metrics an
operator graphs, and JSON logs with one summary line per poll."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.storage_choice import create_pg_database, drop_pg_database, storage_url
from tests.e2e.test_daemon import RULE_CONTRACTS, RULE_EXPORTS
from tests.support import LoopbackHTTP, Route, free_port, run_cli, start_daemon, wait_for

ITEM = """<item><title>{guid}</title><link>https://news.example.org/{guid}</link><guid>{guid}</guid>
<pubDate>Fri, 20 Dec 2024 08:00:00 GMT</pubDate><description>{body}</description></item>"""
EXPORTS = ("exports-nov", "Chinese SOEs saw their exports grow by 3.9 percent to 1.79 trillion yuan between January and November 2024.")
CONTRACT = ("crrc-deal", "CRRC Corp secured a $2.1 billion contract to supply metro trains to the Roads and Transport Authority of Dubai.")

def rss(*items: tuple[str, str]) -> bytes:
    body = "".join(ITEM.format(guid=g, body=b) for g, b in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def write_config(tmp: Path, db_url: str, http: LoopbackHTTP, feeds: dict[str, str], *, listen: str = "",
                 interval: str = "1s", extra: str = "") -> Path:
    rules = tmp / "alert-rules" / "rules.yaml"
    rules.parent.mkdir(exist_ok=True)
    rules.write_text("rules:\n" + RULE_EXPORTS)
    feed_tables = "".join(f'\n[[feeds]]\nname = "{n}"\nurl = "{http.url(p)}"\ninterval = "{interval}"\n'
                          for n, p in feeds.items())
    config = tmp / "config.toml"
    config.write_text(textwrap.dedent(f"""\
        [storage]
        url = "{db_url}"
        [rules]
        paths = ["alert-rules"]
        reload_interval = "0.3s"
        [channels]
        hook = "json://127.0.0.1:{http.port}/hook"
        [server]
        listen = "{listen}"
        [alerts]
        first_poll = "alert"
        [delivery]
        interval = "0.5s"
        """) + extra + feed_tables)
    return config


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):  # not listening (yet)
        return 0, b""


def stop(proc, log: Path) -> None:  # type: ignore[no-untyped-def]
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-4000:]


# --- health --------------------------------------------------------------------------------------


def _pg_admin() -> str:
    return (os.environ.get("TEST_STORAGE_URL") or os.environ.get("TEST_DATABASE_URL")
            or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_admin().replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                         connect_timeout=5) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_database():  # type: ignore[no-untyped-def]
    """(url, name) of a fresh PostgreSQL database; skips when the server does not answer."""
    try:
        _pg_exec("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL is not reachable at {_pg_admin()}: {type(exc).__name__}")
    url = create_pg_database(_pg_admin())
    name = url.rsplit("/", 1)[1]
    yield url, name
    _pg_exec(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    drop_pg_database(_pg_admin(), name)


def test_healthz_follows_the_database(tmp_path: Path, http_server: LoopbackHTTP, pg_database) -> None:  # type: ignore[no-untyped-def]
    url, name = pg_database
    http_server.routes["/feed.xml"] = Route(rss(EXPORTS))
    port = free_port()
    config = write_config(tmp_path, url, http_server, {"f": "/feed.xml"}, listen=f"127.0.0.1:{port}")
    proc = start_daemon(config, cwd=tmp_path)
    log = tmp_path / "daemon.log"
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        wait_for(lambda: proc.poll() is not None or get(healthz)[0] == 200, what="a healthy daemon")
        assert proc.poll() is None, log.read_text()

        # The database refuses new connections and its open ones are cut: SELECT 1 really fails.
        _pg_exec(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        _pg_exec(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        code, body = wait_for(lambda: (r := get(healthz))[0] == 503 and r, what="/healthz to turn 503")
        details = json.loads(body)
        assert details["healthy"] is False and details["database"].startswith("unreachable"), details
        assert details["scheduler"] == "running"
        assert proc.poll() is None, log.read_text()  # the daemon rides the outage out

        _pg_exec(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        code, body = wait_for(lambda: (r := get(healthz))[0] == 200 and r, what="/healthz to recover")
        assert json.loads(body)["database"] == "ok"
        # and work goes on: a new article after the outage is still alerted
        # The rule first (and wait until it is in force), then the article it should catch.
        (tmp_path / "alert-rules" / "rules.yaml").write_text("rules:\n" + RULE_EXPORTS + RULE_CONTRACTS)
        wait_for(lambda: "rules reloaded" in log.read_text(), what="the new rule to load")
        http_server.routes["/feed.xml"] = Route(rss(EXPORTS, CONTRACT))
        wait_for(lambda: any(b"2.1 billion" in body for p, body in http_server.posts if p == "/hook"),
                 what="an alert after the outage")
    finally:
        stop(proc, log)


# --- metrics -------------------------------------------------------------------------------------


def test_metrics_an_operator_graphs(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    http_server.routes["/good.xml"] = Route(rss(EXPORTS))
    port = free_port()
    config = write_config(tmp_path, storage_url(tmp_path), http_server, {"good": "/good.xml", "bad": "/missing.xml"},
                          listen=f"127.0.0.1:{port}")
    rules = tmp_path / "alert-rules" / "rules.yaml"
    proc = start_daemon(config, cwd=tmp_path)
    log = tmp_path / "daemon.log"
    try:
        wait_for(lambda: any(p == "/hook" for p, _ in http_server.posts), what="the first alert")
        rules.write_text("rules:\n" + RULE_EXPORTS + RULE_CONTRACTS)
        wait_for(lambda: "rules reloaded" in log.read_text(), what="a rule reload")
        rules.write_text("rules:\n" + RULE_EXPORTS.replace("trigger: any", "trigger: anyy"))
        wait_for(lambda: "rule reload rejected" in log.read_text(), what="a rejected reload")

        def scrape() -> dict:
            code, body = get(f"http://127.0.0.1:{port}/metrics")
            assert code == 200
            return {f.name: f for f in text_string_to_metric_families(body.decode())}

        def ready() -> dict | None:
            families = scrape()
            reloads = {s.labels.get("result"): s.value for s in families.get("soe_rule_reloads", _Empty).samples
                       if s.name == "soe_rule_reloads_total"}
            sent = [s.value for s in families["soe_deliveries"].samples if s.labels["status"] == "sent"]
            return families if reloads.get("ok") and reloads.get("error") and sent == [1.0] else None

        families = wait_for(ready, what="metrics to show the reloads and the sent alert")
    finally:
        stop(proc, log)

    def samples(family: str, name: str) -> list:
        return [s for s in families[family].samples if s.name == name]

    polls = {(s.labels["feed"], s.labels["status"]): s.value for s in samples("soe_polls", "soe_polls_total")}
    assert polls.get(("good", "ok"), 0) >= 1 and any(f == "bad" for f, _ in polls), polls
    assert polls.get(("bad", "error"), 0) >= 1, polls
    errors = {s.labels["feed"]: s.value for s in samples("soe_fetch_errors", "soe_fetch_errors_total")}
    assert errors.get("bad", 0) >= 1 and "good" not in errors, errors
    assert samples("soe_alerts", "soe_alerts_total")[0].value >= 1
    statuses = {s.labels["status"] for s in families["soe_deliveries"].samples}
    assert {"pending", "sent", "failed", "dead"} <= statuses
    assert families["soe_poll_duration_seconds"].type == "histogram"
    buckets = [s for s in samples("soe_poll_duration_seconds", "soe_poll_duration_seconds_bucket") if s.labels["feed"] == "good"]
    count = next(s.value for s in samples("soe_poll_duration_seconds", "soe_poll_duration_seconds_count") if s.labels["feed"] == "good")
    assert len(buckets) >= 5 and buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == count >= 1


class _Empty:
    samples: list = []


# --- logs ----------------------------------------------------------------------------------------


def test_once_logs_json_with_one_summary_line_per_poll(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    http_server.routes["/a.xml"] = Route(rss(EXPORTS))
    http_server.routes["/b.xml"] = Route(rss(CONTRACT))
    config = write_config(tmp_path, storage_url(tmp_path), http_server, {"desk-a": "/a.xml", "desk-b": "/b.xml", "gone": "/gone.xml"},
                          extra='[logging]\nformat = "json"\n')
    result = run_cli(["--config", str(config), "once"], cwd=tmp_path)
    assert result.code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "no log output"
    records = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert {"ts", "level", "logger", "msg"} <= record.keys(), record
        records.append(record)
    for feed in ("desk-a", "desk-b"):
        summaries = [r for r in records if r["msg"].startswith(f"poll {feed}:")]
        assert len(summaries) == 1, [r["msg"] for r in records]
        assert summaries[0]["level"] == "info" and summaries[0]["logger"] == "monitor.poll"
    assert "1 figures" in next(r["msg"] for r in records if r["msg"].startswith("poll desk-a:"))
    assert "1 contracts" in next(r["msg"] for r in records if r["msg"].startswith("poll desk-b:"))
    failed = [r for r in records if "gone" in r["msg"] and r["level"] == "warning"]
    assert len(failed) == 1 and "404" in failed[0]["msg"], [r["msg"] for r in records]
