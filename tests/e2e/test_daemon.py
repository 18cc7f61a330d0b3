"""`soe-monitor run` as a subprocess: polls, delivers, hot-reloads rules, serves health and metrics, stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.storage_choice import storage_url
from tests.support import LoopbackHTTP, Route, free_port, start_daemon, wait_for

ITEM = """<item><title>{title}</title><link>https://news.example.org/{guid}</link><guid>{guid}</guid>
<pubDate>{date}</pubDate><description>{body}</description></item>"""


def feed(*items: tuple[str, str, str]) -> bytes:
    body = "".join(ITEM.format(guid=g, title=g, body=b, date="Fri, 20 Dec 2024 08:00:00 GMT") for g, b, _ in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


EXPORTS = ("exports-nov", "Chinese SOEs saw their exports grow by 3.9 percent to 1.79 trillion yuan between January and November 2024.", "")
CONTRACT = ("crrc-deal", "CRRC Corp secured a $2.1 billion contract to supply metro trains to the Roads and Transport Authority of Dubai.", "")
PROFITS = ("profits-nov", "China's SOEs made total profits of 3.8 trillion yuan in the first 11 months of 2024, down 1.7 percent year-on-year.", "")

RULE_EXPORTS = """\
  - name: exports-any
    kind: figure
    match: {metric: exports}
    trigger: any
    notify: [hook]
"""
RULE_CONTRACTS = """\
  - name: big-contracts
    kind: contract
    trigger: {type: threshold, field: usd_value, gte: 1000000000}
    notify: [hook]
"""
RULE_PROFITS = """\
  - name: profits-any
    kind: figure
    match: {metric: total_profits}
    trigger: any
    notify: [hook]
"""


def posts_by_rule(http: LoopbackHTTP) -> list[str]:
    return [json.loads(body)["title"] for path, body in http.posts if path == "/hook"]


def test_daemon_hot_reload_health_metrics_and_clean_stop(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    http_server.routes["/feed.xml"] = Route(feed(EXPORTS))
    port = free_port()
    rules = tmp_path / "alert-rules" / "rules.yaml"
    rules.parent.mkdir()
    rules.write_text("rules:\n" + RULE_EXPORTS)
    config = tmp_path / "config.toml"
    config.write_text(textwrap.dedent(f"""\
        [storage]
        url = "{storage_url(tmp_path)}"
        [rules]
        paths = ["alert-rules"]
        reload_interval = "0.3s"
        [channels]
        hook = "json://127.0.0.1:{http_server.port}/hook"
        [server]
        listen = "127.0.0.1:{port}"
        [alerts]
        first_poll = "alert"
        [delivery]
        interval = "0.5s"
        [[feeds]]
        name = "f"
        url = "{http_server.url('/feed.xml')}"
        interval = "1s"
        """))
    proc = start_daemon(config, cwd=tmp_path)
    log = tmp_path / "daemon.log"
    try:
        wait_for(lambda: len(http_server.posts) >= 1, what="the first alert")
        assert "1.79 trillion" in json.loads(http_server.posts[0][1])["message"]

        # A valid edit takes effect without restart.
        rules.write_text("rules:\n" + RULE_EXPORTS + RULE_CONTRACTS)
        wait_for(lambda: "rules reloaded" in log.read_text(), what="the reload")
        http_server.routes["/feed.xml"] = Route(feed(EXPORTS, CONTRACT))
        wait_for(lambda: len(http_server.posts) >= 2, what="the contract alert")
        assert "2.1 billion" in json.loads(http_server.posts[1][1])["message"]

        # An invalid edit is reported with its line; the old rules keep running.
        rules.write_text("rules:\n" + RULE_EXPORTS + RULE_CONTRACTS + RULE_PROFITS.replace("trigger: any", "trigger: anyy"))
        wait_for(lambda: "rule reload rejected" in log.read_text(), what="the rejected reload")
        assert "rules.yaml:" in log.read_text() and "rules.yaml:14:" in log.read_text()
        http_server.routes["/feed.xml"] = Route(feed(EXPORTS, CONTRACT, PROFITS))
        wait_for(lambda: http_server.hits.get("/feed.xml", 0) >= 8, what="more polls")
        assert len(http_server.posts) == 2  # profits-any never loaded

        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
        assert health["healthy"] and health["rules_loaded"] == 2 and "anyy" in (health["last_reload_error"] or "")
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        polls = sum(s.value for s in families["soe_polls"].samples if s.name == "soe_polls_total")
        assert polls >= 3
        sent = [s.value for s in families["soe_deliveries"].samples if s.labels["status"] == "sent"]
        assert sent == [2.0]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()
    assert "soe-monitor stopped" in log.read_text()
