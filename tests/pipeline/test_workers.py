"""Parsing and extraction in worker processes: same results as inline, failures contained, no
orphans, logs reach the daemon; and a poll stores the same facts with or without workers."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest

from monitor.config import ConfigError, ExtractConfig, load_config
from monitor.feeds import parse_feed, parse_plain_feed
from monitor.fetched import FetchResult
from monitor.poll import poll_feed
from monitor.runtime import Runtime
from monitor.workers import CpuPool, ExtractFailure, ExtractJob, _run_captured, build_extractor, forward_records
from storage.db import session_scope
from storage.models import Article, Observation
from tests.support import Item, LoopbackHTTP, Route, rss, wait_for

ROOT = Path(__file__).resolve().parents[2]
ZH_FEED = ('<?xml version="1.0" encoding="gbk"?><rss version="2.0"><channel><title>国资</title>'
           '<item><title>中央企业出口</title><link>https://x.example/1</link>'
           '<description>1-11月，中央企业出口1.79万亿元，同比增长3.9%。</description></item>'
           '</channel></rss>').encode("gbk")
TEXTS = [
    "SOE exports grew 3.9 percent to 1.79 trillion yuan between January and November 2024.",
    "CRRC secured the $5.6 billion Dubai Metro Blue Line contract.",
]


@pytest.fixture
def pool():  # type: ignore[no-untyped-def]
    extractor = build_extractor(ExtractConfig())
    p = CpuPool(1, ExtractConfig(), lambda: extractor)
    yield p
    p.close()


# Atom is not plain RSS 2.0: feedparser reads it, in a worker.
ATOM_FEED = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>SOE news</title>'
             '<id>urn:soe</id><updated>2024-12-02T08:00:00Z</updated><entry><title>Central SOE exports</title>'
             '<id>urn:soe:1</id><link href="https://x.example/2"/><updated>2024-12-02T08:00:00Z</updated>'
             f'<summary>{TEXTS[0]}</summary></entry></feed>').encode()


def _feed(body: bytes = ZH_FEED, content_type: str = "application/rss+xml; charset=gbk") -> FetchResult:
    return FetchResult(status="ok", url="http://x.example/feed", body=body, headers={"content-type": content_type})


def _atom() -> FetchResult:
    return _feed(ATOM_FEED, "application/atom+xml")


def test_worker_parses_and_extracts_exactly_as_inline(pool: CpuPool) -> None:
    parsed = pool.parse(_atom(), "atom")
    assert pool.worker_pids() and os.getpid() not in pool.worker_pids()  # it really ran elsewhere
    assert parsed.model_dump() == parse_feed(_atom(), "atom").model_dump()
    assert parsed.entries[0].title == "Central SOE exports"
    jobs = [ExtractJob(t, date(2024, 12, 20), None) for t in TEXTS]
    inline = build_extractor(ExtractConfig())
    assert pool.extract(jobs) == [inline.extract(t, published=date(2024, 12, 20)) for t in TEXTS]


def test_plain_rss_is_read_in_the_daemon_and_other_feeds_in_a_worker(pool: CpuPool) -> None:
    parsed = pool.parse(_feed(), "zh")
    assert not pool.worker_pids()  # the fast path ran here: no worker was needed
    assert parsed.model_dump() == parse_feed(_feed(), "zh").model_dump()
    assert parsed.entries[0].title == "中央企业出口"
    # A DOCTYPE makes the fast path decline an RSS feed: feedparser reads it in a worker, same result.
    doctype = _feed(ZH_FEED.replace(b"?>", b'?><!DOCTYPE rss SYSTEM "x.dtd">', 1))
    assert parse_plain_feed(doctype, "zh") is None
    assert pool.parse(doctype, "zh").entries[0].title == "中央企业出口"
    assert pool.worker_pids()


@pytest.mark.parametrize("result", [
    FetchResult(status="not_modified", url="http://x.example/feed"),
    FetchResult(status="error", url="http://x.example/feed", error="connection refused"),
    _atom(),
], ids=["not-modified", "error", "atom"])
def test_the_daemon_side_fast_path_leaves_everything_else_to_parse_feed(result: FetchResult) -> None:
    assert parse_plain_feed(result, "f") is None


def test_an_entry_that_breaks_the_extractor_does_not_lose_the_others(pool: CpuPool) -> None:
    jobs = [ExtractJob(TEXTS[0], date(2024, 12, 20), None), ExtractJob(123, date(2024, 12, 20), None),  # type: ignore[arg-type]
            ExtractJob(TEXTS[1], date(2024, 12, 20), None)]
    first, broken, last = pool.extract(jobs)
    assert isinstance(broken, ExtractFailure) and "Traceback" in broken.error
    assert first.figures[0].value == 1.79e12 and last.contracts[0].usd_value == 5.6e9


def test_a_killed_worker_costs_nothing_and_new_workers_start(pool: CpuPool, caplog: pytest.LogCaptureFixture) -> None:
    pool.restart_after = 0.5
    pool.parse(_atom(), "atom")
    (victim,) = pool.worker_pids()
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not _alive(victim), timeout=10, what="worker gone")
    with caplog.at_level(logging.WARNING, logger="monitor.workers"):
        again = pool.parse(_atom(), "atom")  # the broken pool is noticed: this one runs inline
    assert again.entries[0].title == "Central SOE exports"
    pool.parse(_atom(), "atom")
    assert not pool.worker_pids()  # inline for a while: a worker that cannot start is not respawned per job
    time.sleep(0.6)
    pool.parse(_atom(), "atom")
    assert pool.worker_pids() and victim not in pool.worker_pids()
    assert any("worker process died" in r.getMessage() for r in caplog.records)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): read its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_workers_exit_when_the_daemon_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys, time
        from monitor.config import ExtractConfig
        from monitor.fetched import FetchResult
        from monitor.workers import CpuPool
        if __name__ == "__main__":
            pool = CpuPool(1, ExtractConfig(), lambda: None)
            pool.parse(FetchResult(status="ok", url="http://x/", body=b"<rss version='2.0'><channel/></rss>"), "x")
            print(pool.worker_pids()[0], flush=True)
            time.sleep(600)
    """)
    (tmp_path / "daemon.py").write_text(script)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "daemon.py")], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    worker = int(proc.stdout.readline())
    proc.kill()
    proc.wait()
    wait_for(lambda: not _alive(worker), timeout=15, what="orphaned worker exits")


def test_worker_log_records_keep_their_text_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    def job() -> int:
        try:
            raise ValueError("bad byte")
        except ValueError:
            logging.getLogger("monitor.feeds").warning("feed %s: skipped an entry", "f1", exc_info=True)
        return 7

    value, records = _run_captured(job)
    shipped = pickle.loads(pickle.dumps(records))  # as they cross the process boundary
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="monitor.feeds"):
        forward_records(shipped)
    assert value == 7
    (record,) = [r for r in caplog.records if r.name == "monitor.feeds"]
    assert record.getMessage() == "feed f1: skipped an entry" and "ValueError: bad byte" in record.exc_text


@pytest.mark.parametrize("value", [-1, 65, "many"])
def test_processes_setting_is_checked(tmp_path: Path, value: object) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[fetch]\nprocesses = {value!r}\n".replace("'", '"'))
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert "processes" in str(err.value)


def _project(tmp_path: Path, http: LoopbackHTTP, processes: int) -> Runtime:
    items = [Item(guid=f"g{i}", title=f"Report {i}", link=f"https://x.example/{i}", date="Mon, 02 Dec 2024 08:00:00 GMT",
                  body=f"Sinopec's net profit rose {i + 1}.5 percent to {20 + i} billion yuan in the first half of {2015 + i}.")
             for i in range(6)]
    http.routes["/feed.xml"] = Route(body=rss(items))
    (tmp_path / "config.toml").write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n[rules]\npaths = []\n'
        f'[fetch]\nprocesses = {processes}\n[[feeds]]\nname = "f"\nurl = "{http.url("/feed.xml")}"\n')
    return Runtime.build(load_config(tmp_path / "config.toml"))


def _stored(rt: Runtime) -> list[tuple[str, float | None, str]]:
    with session_scope(rt.db) as s:
        return sorted((o.period_label, o.value, o.quote) for o in s.query(Observation).all())


@pytest.mark.parametrize("processes", [0, 1])
def test_poll_stores_the_same_facts_with_or_without_workers(tmp_path: Path, http_server: LoopbackHTTP, processes: int) -> None:
    rt = _project(tmp_path, http_server, processes)
    try:
        report = poll_feed(rt, rt.config.feeds[0], force=True)
        stored = _stored(rt)
        assert bool(rt.cpu.worker_pids()) == (processes > 0)
    finally:
        rt.close()
    assert report.new_articles == 6 and report.entry_errors == 0
    assert [label for label, _, _ in stored] == [f"{2015 + i}-H1" for i in range(6)]
    assert sorted(v for _, v, _ in stored) == [(20 + i) * 1e9 for i in range(6)]


def test_an_entry_that_cannot_be_stored_is_the_only_one_lost(tmp_path: Path, http_server: LoopbackHTTP,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    import monitor.poll

    real = monitor.poll.ingest_entry

    def failing(session, config, extractor, engine, feed, entry, **kw):  # type: ignore[no-untyped-def]
        if entry.entry_id.endswith("g3"):
            raise RuntimeError("disk full")  # stands in for any storage failure of one entry
        return real(session, config, extractor, engine, feed, entry, **kw)

    monkeypatch.setattr(monitor.poll, "ingest_entry", failing)
    rt = _project(tmp_path, http_server, 0)
    try:
        with caplog.at_level(logging.ERROR, logger="monitor.poll"):
            report = poll_feed(rt, rt.config.feeds[0], force=True)
        with session_scope(rt.db) as s:
            links = sorted(a.link for a in s.query(Article).all())
        values = [v for _, v, _ in _stored(rt)]
    finally:
        rt.close()
    assert report.entry_errors == 1 and report.new_articles == 5
    assert links == [f"https://x.example/{i}" for i in (0, 1, 2, 4, 5)]
    assert len(values) == 5 and 23e9 not in values
    assert any("https://x.example/3" in r.getMessage() and r.exc_text and "disk full" in r.exc_text
               for r in caplog.records)


@pytest.mark.parametrize("stage", ["store", "extract"])
def test_an_entry_that_failed_is_retried_by_the_next_poll(tmp_path: Path, http_server: LoopbackHTTP,
                                                          monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    """A failed entry must not be lost behind the feed's new ETag (the next poll would get 304)."""
    import monitor.poll
    from storage.models import FeedState

    broken = {"on": True}
    if stage == "store":
        real_ingest = monitor.poll.ingest_entry

        def ingest(session, config, extractor, engine, feed, entry, **kw):  # type: ignore[no-untyped-def]
            if broken["on"] and entry.entry_id.endswith("g3"):
                raise RuntimeError("database is locked")  # a transient storage failure of one entry
            return real_ingest(session, config, extractor, engine, feed, entry, **kw)

        monkeypatch.setattr(monitor.poll, "ingest_entry", ingest)
    rt = _project(tmp_path, http_server, 0)
    http_server.routes["/feed.xml"].headers["ETag"] = '"v1"'
    if stage == "extract":
        real_extract = rt.extractor.extract

        def extract(text, published=None, lang=None):  # type: ignore[no-untyped-def]
            if broken["on"] and "Report 3" in text:
                raise ValueError("extractor bug")
            return real_extract(text, published, lang)

        monkeypatch.setattr(rt.extractor, "extract", extract)
    try:
        first = poll_feed(rt, rt.config.feeds[0], force=True)
        with session_scope(rt.db) as s:
            failed = s.get(FeedState, "f")
            etag_after_failure, error_after_failure = failed.etag, failed.last_error
        broken["on"] = False  # fixed (the lock cleared, the extractor upgraded)
        second = poll_feed(rt, rt.config.feeds[0], force=True)
        with session_scope(rt.db) as s:
            retried = s.get(FeedState, "f")
            etag_after_retry, error_after_retry, errors = retried.etag, retried.last_error, retried.consecutive_errors
            links = sorted(a.link for a in s.query(Article).all())
    finally:
        rt.close()
    assert (first.entry_errors, first.new_articles) == (1, 5) and etag_after_failure is None
    assert error_after_failure.startswith("1 entry could not be read or stored")  # shown by `soe-monitor feeds`
    assert (second.entry_errors, second.new_articles) == (0, 1) and etag_after_retry == '"v1"'
    assert error_after_retry is None and errors == 0
    assert links == [f"https://x.example/{i}" for i in range(6)]
