"""Silences and digest channels: which outbox status an alert gets (silenced, digest, pending),
that silenced alerts are recorded but never sent, that an expired silence lets later alerts
through, and that a digest channel's alerts go out as one message from `send_digest`.

The matching logic is tested in-process; the user's path (`silence add/list/expire`, `once`)
through CLI subprocesses against a loopback feed and a loopback json:// webhook."""

from __future__ import annotations

import html
import json
import sqlite3
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from monitor.alerting import channel_statuses, is_silenced, store_decisions
from monitor.config import ChannelConfig, Config
from rules.events import Decision
from storage.db import init_db, make_engine, session_scope
from storage.models import Delivery, Silence
from tests.support import LoopbackHTTP, Route, run_cli

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def decision(rule: str = "exports-new", key: str = "exports|SOEs|CNY|ytd|January-November 2024", channels=("hook",),
             **fact: object) -> Decision:
    fact = {"type": "figure", "metric": "exports", "entity": "SOEs", "article": {"feed": "desk-a"}, **fact}
    return Decision(rule=rule, key=key, dedup_key=f"{rule}|{key}|{sorted(fact.items())}", channels=list(channels),
                    subject=f"{rule}: {key}", message="m", fact=fact)


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(("rule", "matchers", "expected"), [
    ("exports-new", {}, True),                                   # the whole rule
    ("*", {}, True),                                             # every rule
    ("other-rule", {}, False),
    ("exports-new", {"entity": "soes"}, True),                   # case-insensitive
    ("exports-new", {"entity": "central SOEs"}, False),
    ("exports-new", {"entity": "SOEs", "metric": "exports"}, True),
    ("exports-new", {"entity": "SOEs", "metric": "imports"}, False),  # every matcher must hold
    ("exports-new", {"key": "exports|SOEs|CNY|ytd|January-November 2024"}, True),
    ("exports-new", {"key": "exports|SOEs|CNY|ytd"}, False),     # the whole key, not a prefix
    ("exports-new", {"feed": "DESK-A"}, True),                   # read from the fact's article
    ("exports-new", {"company": "CRRC"}, False),                 # a field the fact lacks never matches
])
def test_is_silenced(rule: str, matchers: dict, expected: bool) -> None:
    assert is_silenced(Silence(rule=rule, matchers=matchers, ends_at=T0), decision()) is expected


def test_channel_statuses() -> None:
    config = Config(channels={"hook": ChannelConfig(url="json://h/x"),
                              "morning": ChannelConfig(url="json://h/y", digest="0 8 * * mon-fri")})
    d = decision(channels=("hook", "morning", "hook"))
    assert channel_statuses(config, d, silenced=False) == {"hook": "pending", "morning": "digest"}
    assert channel_statuses(config, d, silenced=True) == {"hook": "silenced", "morning": "silenced"}


def test_a_silence_holds_until_it_ends(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    init_db(engine)
    config = Config(channels={"hook": ChannelConfig(url="json://h/x")})
    with session_scope(engine) as s:
        s.add(Silence(rule="exports-new", matchers={"entity": "SOEs"}, comment="c", ends_at=T0 + timedelta(hours=1)))
    with session_scope(engine) as s:
        (during,) = store_decisions(s, config, [decision(period="Oct")], None, T0 + timedelta(minutes=59))
        (other_entity,) = store_decisions(s, config, [decision(entity="central SOEs")], None, T0 + timedelta(minutes=59))
        (after,) = store_decisions(s, config, [decision(period="Nov")], None, T0 + timedelta(hours=1))
        status = {d.alert_id: d.status for d in s.exec(select(Delivery))}
    assert status[during.id] == "silenced"
    assert status[other_entity.id] == "pending"
    assert status[after.id] == "pending"  # ends_at is exclusive: the silence is over
    engine.dispose()



def test_silences_are_read_once_per_poll_time_and_a_new_one_counts_at_once(tmp_path: Path) -> None:
    from storage import alerts as alert_store

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    init_db(engine)
    config = Config(channels={"hook": ChannelConfig(url="json://h/x")})
    at = T0 + timedelta(minutes=5)
    with session_scope(engine) as s:
        (before,) = store_decisions(s, config, [decision(period="Sep")], None, at)
        assert alert_store.active_silences(s, at) is alert_store.active_silences(s, at)  # one query per time
        alert_store.add_silence(s, Silence(rule="*", matchers={}, comment="c", ends_at=T0 + timedelta(hours=1)))
        (added,) = store_decisions(s, config, [decision(period="Oct")], None, at)
        alert_store.expire_silence(s, 1, at)
        (expired,) = store_decisions(s, config, [decision(period="Nov")], None, at)
        status = {d.alert_id: d.status for d in s.exec(select(Delivery))}
    engine.dispose()
    assert [status[a.id] for a in (before, added, expired)] == ["pending", "silenced", "pending"]

# --------------------------------------------------------------------------- the user's path


def rss(items: list[tuple[str, str, str, str]]) -> bytes:
    """RSS with items (guid, title, body, RFC 822 date)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
             "<link>http://example.org/</link><description>d</description>"]
    for guid, title, body, date in items:
        parts.append(f"<item><title>{html.escape(title)}</title><link>https://news.example.org/{guid}</link>"
                     f'<guid isPermaLink="false">{guid}</guid><pubDate>{date}</pubDate>'
                     f"<description>{html.escape(body)}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


OCT = ("oct", "SOE exports climb", "Chinese SOEs saw their exports rise by 3.5 percent to 1.61 trillion yuan between "
       "January and October, data from the General Administration of Customs showed.", "Wed, 20 Nov 2024 08:00:00 GMT")
NOV = ("nov", "SOE exports keep growing", "Chinese SOEs saw their exports grow by 3.9 percent to 1.79 trillion yuan "
       "between January and November, data from the General Administration of Customs showed.",
       "Fri, 20 Dec 2024 08:00:00 GMT")
CRRC = ("crrc", "Rail deal in the Gulf", "CRRC Corp secured a contract for the Dubai Metro's Blue Line project "
        "in the United Arab Emirates. Valued at $5.6 billion, the contract covers design and rolling stock.",
        "Sat, 21 Dec 2024 08:00:00 GMT")

RULES = """\
rules:
  - name: exports-new
    kind: figure
    match: {metric: exports, entity: SOEs}
    trigger: new_period
    notify: [NOTIFY]
  - name: contracts-any
    kind: contract
    trigger: any
    notify: [NOTIFY]
"""


def project(tmp: Path, http: LoopbackHTTP, notify: str = "hook") -> Path:
    (tmp / "alert-rules").mkdir()
    (tmp / "alert-rules" / "rules.yaml").write_text(RULES.replace("NOTIFY", notify))
    (tmp / "config.toml").write_text(textwrap.dedent(f"""\
        [storage]
        url = "sqlite:///monitor.db"
        [rules]
        paths = ["alert-rules"]
        [channels]
        hook = "json://127.0.0.1:{http.port}/hook"
        morning = {{ url = "json://127.0.0.1:{http.port}/morning", digest = "0 8 * * mon-fri" }}
        [server]
        listen = ""
        [alerts]
        first_poll = "alert"
        [delivery]
        backoff_initial = "0s"
        [[feeds]]
        name = "desk-a"
        url = "{http.url('/feed.xml')}"
        interval = "15m"
        """))
    return tmp / "config.toml"


def cli(config: Path, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(["--config", str(config), *args], cwd=config.parent)
    return result


def posts(http: LoopbackHTTP, path: str) -> list[dict]:
    return [json.loads(body) for p, body in http.posts if p == path]


def statuses(config: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(config.parent / "monitor.db") as conn:
        return conn.execute("select a.rule, a.subject, d.status from alert a join delivery d on d.alert_id = a.id "
                            "order by a.id").fetchall()


def test_silenced_alerts_are_recorded_not_sent_until_the_silence_expires(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    config = project(tmp_path, http_server)
    added = cli(config, "silence", "add", "--rule", "exports-new", "--match", "entity=soes", "--for", "1h",
                "--comment", "known data issue")
    assert added.code == 0, added.stderr
    assert added.stdout.startswith("silence 1: rule exports-new {'entity': 'soes'} until ")
    listing = cli(config, "silence", "list").stdout
    assert "1  rule=exports-new  match={'entity': 'soes'}" in listing and "known data issue" in listing

    http_server.routes["/feed.xml"] = Route(rss([OCT, CRRC]))
    assert cli(config, "once").code == 0
    assert statuses(config) == [("exports-new", "[info] SOEs exports: 1.61 trillion yuan (January-October 2024)", "silenced"),
                                ("contracts-any", statuses(config)[1][1], "sent")]  # another rule is not muted
    assert [p["title"] for p in posts(http_server, "/hook")] == [statuses(config)[1][1]]
    shown = cli(config, "alerts", "--status", "silenced").stdout
    assert "exports-new" in shown and "hook=silenced" in shown and "contracts-any" not in shown
    assert cli(config, "once").code == 0  # silenced rows are never picked up by later deliveries
    assert len(posts(http_server, "/hook")) == 1

    expired = cli(config, "silence", "expire", "1")
    assert expired.code == 0 and "silence 1 expired" in expired.stdout
    assert cli(config, "silence", "list").stdout.strip() == "no silences"
    assert "known data issue" in cli(config, "silence", "list", "--all").stdout
    assert cli(config, "silence", "expire", "42").code == 1

    http_server.routes["/feed.xml"] = Route(rss([OCT, CRRC, NOV]))
    assert cli(config, "once").code == 0
    titles = [p["title"] for p in posts(http_server, "/hook")]
    assert len(titles) == 2 and "1.79 trillion yuan" in titles[1]  # later alerts go out again
    assert statuses(config)[0][2] == "silenced"  # the silenced one stays recorded, unsent


def test_silence_add_rejects_bad_input(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    config = project(tmp_path, http_server)
    bad_match = cli(config, "silence", "add", "--rule", "x", "--match", "entity", "--for", "1h")
    assert bad_match.code == 2 and "use field=value" in bad_match.stderr
    bad_for = cli(config, "silence", "add", "--rule", "x", "--for", "soon")
    assert bad_for.code == 2 and "--for" in bad_for.stderr


def test_digest_channel_waits_and_sends_one_combined_message(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    from monitor.config import load_config
    from monitor.delivery import Deliverer

    config = project(tmp_path, http_server, notify="morning")
    http_server.routes["/feed.xml"] = Route(rss([OCT, NOV, CRRC]))
    out = cli(config, "once")
    assert out.code == 0, out.stderr
    rows = statuses(config)
    assert len(rows) == 3 and {status for _, _, status in rows} == {"digest"}
    assert http_server.posts == []  # nothing sent by `once`
    assert cli(config, "once").code == 0 and http_server.posts == []

    cfg = load_config(config)
    engine = make_engine(cfg.storage.url)
    try:
        report = Deliverer(engine, cfg).send_digest("morning")
        assert report.sent == 3
        (digest,) = posts(http_server, "/morning")
        assert digest["title"].startswith("SOE Monitor digest: 3 alerts")
        for _, subject, _ in rows:
            assert subject in digest["message"]
        assert {status for _, _, status in statuses(config)} == {"sent"}
        assert Deliverer(engine, cfg).send_digest("morning").results == []  # nothing left: nothing sent
        assert len(http_server.posts) == 1
    finally:
        engine.dispose()
