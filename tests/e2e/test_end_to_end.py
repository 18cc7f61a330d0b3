"""The whole path as a user runs it: CLI subprocesses, a loopback feed server, a real SMTP server."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.e2e.storage_choice import storage_url
from tests.support import Item, rss, LoopbackHTTP, Route, SmtpSink, message_text, run_cli


OCT = Item("soe-exports-oct", "SOE exports climb",
           "Chinese SOEs saw their exports rise by 3.5 percent to 1.61 trillion yuan between January and October, "
           "data from the General Administration of Customs showed.",
           "Wed, 20 Nov 2024 08:00:00 GMT", "https://news.example.org/2024/11/soe-exports")
NOV = Item("soe-exports-nov", "SOE exports keep growing",
           "Chinese SOEs saw their exports grow by 3.9 percent to 1.79 trillion yuan between January and November, "
           "data from the General Administration of Customs showed.",
           "Fri, 20 Dec 2024 08:00:00 GMT", "https://news.example.org/2024/12/soe-exports")
NOV_ELSEWHERE = Item("other-desk-nov", "Customs: SOE exports up 3.9%",
                     "Chinese SOEs saw their exports grow by 3.9 percent to 1.79 trillion yuan between January and "
                     "November, according to customs data released on Friday.",
                     "Sat, 21 Dec 2024 03:00:00 GMT", "https://other.example.net/customs-soe-exports")

RULES = """\
rules:
  - name: soe-exports-new-total
    description: A new year-to-date export total for SOEs.
    kind: figure
    match: {metric: exports, entity: SOEs}
    trigger: new_period
    notify: [email]
    severity: info
"""


def write_project(tmp: Path, http: LoopbackHTTP, smtp: SmtpSink, feeds: dict[str, str], extra: str = "") -> Path:
    """A config folder as a user would have it: config.toml and alert-rules/."""
    (tmp / "alert-rules").mkdir(exist_ok=True)
    (tmp / "alert-rules" / "exports.yaml").write_text(RULES)
    feed_tables = "".join(
        f'\n[[feeds]]\nname = "{name}"\nurl = "{http.url(path)}"\ninterval = "15m"\n' for name, path in feeds.items()
    )
    (tmp / "config.toml").write_text(textwrap.dedent(f"""\
        [storage]
        url = "{storage_url(tmp / 'data')}"

        [rules]
        paths = ["alert-rules"]

        [channels]
        email = "{smtp.url()}"

        [server]
        listen = ""

        [delivery]
        backoff_initial = "0s"
        {extra}
        """) + feed_tables)
    return tmp


def once(tmp: Path) -> str:
    result = run_cli(["--config", str(tmp / "config.toml"), "once"], cwd=tmp)
    assert result.code == 0, result.stderr
    return result.stdout + result.stderr


def test_new_export_total_sends_one_email_with_baseline(tmp_path: Path, http_server: LoopbackHTTP, smtp_server: SmtpSink) -> None:
    http_server.routes["/a.xml"] = Route(rss([OCT]))
    http_server.routes["/b.xml"] = Route(rss([]))
    write_project(tmp_path, http_server, smtp_server, {"desk-a": "/a.xml", "desk-b": "/b.xml"})

    once(tmp_path)  # first poll of each feed: the October total becomes the baseline, silently
    assert smtp_server.messages == []

    http_server.routes["/a.xml"] = Route(rss([OCT, NOV]))
    once(tmp_path)
    assert len(smtp_server.messages) == 1
    body = message_text(smtp_server.messages[0])
    assert "1.79 trillion" in body  # the new value, in words
    assert "1.61 trillion" in body  # the baseline it was compared with
    assert NOV.link in body and OCT.link in body  # both articles

    once(tmp_path)  # nothing new: nothing sent
    http_server.routes["/b.xml"] = Route(rss([NOV_ELSEWHERE]))
    once(tmp_path)  # the same figure from another feed adds a source, sends nothing
    assert len(smtp_server.messages) == 1

    listing = run_cli(["--config", str(tmp_path / "config.toml"), "alerts"], cwd=tmp_path)
    assert listing.code == 0 and "soe-exports-new-total" in listing.stdout and "email=sent" in listing.stdout
    series = run_cli(["--config", str(tmp_path / "config.toml"), "series", "exports"], cwd=tmp_path)
    assert "1,790,000,000,000" in series.stdout


def test_bad_feeds_are_recorded_and_others_go_on(tmp_path: Path, http_server: LoopbackHTTP, smtp_server: SmtpSink) -> None:
    http_server.routes["/good.xml"] = Route(rss([OCT]))
    http_server.routes["/broken.xml"] = Route(b"<rss><channel><item><title>unclosed")
    http_server.routes["/boom.xml"] = Route(b"oops", status=500)
    write_project(tmp_path, http_server, smtp_server,
                  {"good": "/good.xml", "broken": "/broken.xml", "missing": "/nope.xml", "boom": "/boom.xml"})
    out = once(tmp_path)
    assert "feed good: ok" in out
    health = run_cli(["--config", str(tmp_path / "config.toml"), "feeds"], cwd=tmp_path).stdout
    assert "good: ok" in health
    for name, hint in (("missing", "404"), ("boom", "500"), ("broken", "")):
        line = next(l for l in health.splitlines() if l.startswith(f"{name}:"))
        assert "FAILING" in line, health
        assert hint in health
    assert http_server.url("/nope.xml") in health  # the error names the URL


def test_alert_waits_for_a_dead_smtp_server(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    smtp = SmtpSink()  # not started: the port is closed
    http_server.routes["/a.xml"] = Route(rss([OCT]))
    write_project(tmp_path, http_server, smtp, {"desk-a": "/a.xml"})
    once(tmp_path)
    http_server.routes["/a.xml"] = Route(rss([OCT, NOV]))
    once(tmp_path)
    listing = run_cli(["--config", str(tmp_path / "config.toml"), "alerts"], cwd=tmp_path).stdout
    assert "email=failed" in listing or "email=pending" in listing
    smtp.start()
    try:
        once(tmp_path)
        assert len(smtp.messages) == 1
        once(tmp_path)
        assert len(smtp.messages) == 1
    finally:
        smtp.stop()


def test_rule_file_with_three_errors(tmp_path: Path, http_server: LoopbackHTTP, smtp_server: SmtpSink) -> None:
    write_project(tmp_path, http_server, smtp_server, {})
    (tmp_path / "alert-rules" / "bad.yaml").write_text(textwrap.dedent("""\
        rules:
          - name: one
            kind: figure
            trigger: new_period
            notify: [pager]
          - name: two
            kind: figure
            trigger: new_period
            notify: [email]
            severty: info
          - name: three
            kind: figurine
            trigger: any
            notify: [email]
        """))
    result = run_cli(["--config", str(tmp_path / "config.toml"), "rules", "check"], cwd=tmp_path)
    assert result.code == 1
    errors = [l for l in result.stdout.splitlines() if "bad.yaml:" in l]
    assert len(errors) == 3, result.stdout
    assert any(":5:" in l and "pager" in l for l in errors)
    assert any(":10:" in l and "severty" in l for l in errors)
    assert any(":12:" in l and "kind" in l for l in errors)


def test_config_with_a_bad_key_exits_2(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[storage]\nurl = "sqlite:///x.db"\n\n[[feeds]]\nname = "a"\nurl = "x.xml"\nintervall = "5m"\n')
    result = run_cli(["--config", str(tmp_path / "config.toml"), "once"], cwd=tmp_path)
    assert result.code == 2
    assert "config.toml" in result.stderr and "feeds.0.intervall" in result.stderr


def test_extract_json_on_the_seed_article(tmp_path: Path) -> None:
    seed = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "dev" / "seed-soe-article.json"
    if not seed.exists():
        pytest.skip("shared corpus not present")
    article = json.loads(seed.read_text())
    (tmp_path / "a.txt").write_text(article["text"])
    result = run_cli(["extract", "--json", "--published", article["published"], str(tmp_path / "a.txt")], cwd=tmp_path)
    assert result.code == 0, result.stderr
    facts = json.loads(result.stdout)
    values = {round(f["value"] or 0) for f in facts["figures"]}
    for expected in article["figures"]:
        assert round(expected["value"]) in values
    exports = next(f for f in facts["figures"] if f["metric"] == "exports")
    assert exports["period"]["start"] == "2024-01-01" and exports["period"]["end"] == "2024-11-30"
    assert exports["change_pct"] == 3.9 and exports["unit"] == "CNY"
    (contract,) = facts["contracts"]
    assert contract["value"] == 5.6e9 and contract["unit"] == "USD"
