"""Issue 6 acceptance: alert delivery never loses an alert and doubles one only inside the
documented window (monitor/delivery.py). Real subprocesses, a real aiosmtpd server on loopback,
feeds on a loopback HTTP server, the SQLite outbox read directly."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.crash_helpers import (
    CONTRACT_RULES,
    SUBJECT_PREFIX,
    GrowingFeeds,
    ScriptedSmtp,
    delivery_statuses,
    query,
    subject_of,
    write_project,
)
from tests.support import ROOT, LoopbackHTTP, SmtpSink, run_cli, wait_for


def cli(config: Path, *args: str) -> str:
    result = run_cli(["--config", str(config), *args], cwd=config.parent)
    assert result.code == 0, f"{args}: exit {result.code}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def mails_by_project(messages: list) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for msg in messages:
        subject = subject_of(msg)
        assert subject.startswith(SUBJECT_PREFIX + " "), subject
        counts[subject[len(SUBJECT_PREFIX) + 1:]] += 1
    return counts


# --- 1. SIGKILL at random moments ------------------------------------------------------------

KILLS = 20
SEED = int(os.environ.get("CRASH_SEED", "20241126"))


def spawn(config: Path, log) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"], cwd=config.parent,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def running_since(log_path: Path, offset: int) -> bool:
    """The daemon started at log offset `offset` has its scheduler running."""
    with open(log_path, "rb") as f:
        f.seek(offset)
        return b"soe-monitor running" in f.read()


@pytest.mark.timeout(600)
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    rng = random.Random(SEED)
    smtp = SmtpSink()
    smtp.start()
    feeds = GrowingFeeds(http_server, ["desk-a", "desk-b", "desk-c"])
    for name in feeds.names:
        feeds.add(name)
    config = write_project(
        tmp_path, feeds={n: feeds.url(n) for n in feeds.names}, channels={"email": smtp.url()}, rules=CONTRACT_RULES,
        delivery='interval = "0.5s"\nbackoff_initial = "0s"\nlease = "3s"\n',
        # A poll killed midway keeps its feed lease for 3 x deadline + 60 s: keep that short.
        extra='[fetch]\ndeadline = 2\n\n', feed_interval="1s",
    )
    log_path = tmp_path / "daemon.log"
    log_path.touch()
    started = time.monotonic()
    stuck_polls: set[tuple] = set()  # (feed, owner) poll leases a killed daemon left behind
    procs: list[subprocess.Popen] = []
    try:
        with open(log_path, "ab") as log:
            for round_no in range(KILLS):
                feeds.add(feeds.names[round_no % len(feeds.names)])  # the feeds change between restarts...
                offset = log_path.stat().st_size
                proc = spawn(config, log)
                procs.append(proc)
                t0 = time.monotonic()
                if rng.random() < 0.25:  # a quarter of the kills may land during start-up (migration, rule load)
                    phase, delay = "start", rng.uniform(0.3, 3.0)
                else:  # the rest while the scheduler polls and delivers
                    wait_for(lambda: running_since(log_path, offset) or proc.poll() is not None, timeout=60,
                             interval=0.05, what="the daemon to start")
                    phase, delay = "run", rng.uniform(0.0, 2.5)
                    if rng.random() < 0.6:  # ...and while the daemon runs
                        feeds.add(rng.choice(feeds.names))
                        delay = rng.uniform(0.3, 1.5)  # new alert: polled and sent within about a second
                time.sleep(delay)
                assert proc.poll() is None, log_path.read_text()[-3000:]
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                held = set(query(tmp_path, "SELECT name, lease_owner FROM feed_state WHERE lease_owner IS NOT NULL"))
                print(f"kill {round_no + 1:>2} ({phase}, {delay:.2f}s after {'spawn' if phase == 'start' else 'start-up'}, "
                      f"{time.monotonic() - t0:.1f}s alive): {len(smtp.messages)} mails, outbox {delivery_statuses(tmp_path)}"
                      + (f", poll lease left held: {sorted(n for n, _ in held - stuck_polls)}" if held - stuck_polls else ""))
                stuck_polls |= held

            # Finally let it run to completion: every published contract mailed, outbox drained.
            expected = {a.project for a in feeds.published}
            final_start = time.monotonic()
            proc = spawn(config, log)
            procs.append(proc)
            try:
                def done() -> bool:
                    statuses = delivery_statuses(tmp_path)
                    drained = not any(statuses.get(s) for s in ("pending", "failed", "sending"))
                    return drained and expected <= set(mails_by_project(smtp.messages))
                wait_for(done, timeout=240, interval=0.5, what="every alert delivered and the outbox drained")
                final = time.monotonic() - final_start
                stable = len(smtp.messages)
                time.sleep(4)  # longer than the lease: a late re-send would show up now
                assert len(smtp.messages) == stable
            finally:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=60)
        assert code == 0, log_path.read_text()[-3000:]
    finally:
        for leftover in procs:  # only when an assertion stopped the loop early
            if leftover.poll() is None:
                leftover.kill()
                leftover.wait(timeout=30)
        smtp.stop()

    counts = mails_by_project(smtp.messages)
    missing = sorted(expected - set(counts))
    unexpected = sorted(set(counts) - expected)
    duplicates = {p: n - 1 for p, n in counts.items() if n > 1}
    statuses = delivery_statuses(tmp_path)
    alert_rows = query(tmp_path, "SELECT count(*), count(DISTINCT key) FROM alert WHERE rule = 'big-contracts'")[0]
    print(f"\ncrash test (seed {SEED}): {KILLS} kills, {len(expected)} expected alerts, {len(smtp.messages)} mails, "
          f"missing {len(missing)}, duplicates {sum(duplicates.values())} {duplicates or ''}, outbox {statuses}, "
          f"{len(stuck_polls)} poll lease(s) left by killed polls, drained {final:.0f}s after the last restart, "
          f"{time.monotonic() - started:.0f}s in all")
    assert missing == [], f"alerts never delivered: {missing}"
    assert unexpected == []
    assert alert_rows == (len(expected), len(expected)), "one alert row per contract, never two"
    assert statuses == {"sent": len(expected)}
    assert sum(duplicates.values()) <= KILLS, f"duplicates beyond the documented window: {duplicates}"


# --- 2. SMTP down for three polls ------------------------------------------------------------


@pytest.mark.timeout(300)
def test_smtp_down_for_three_polls_then_every_alert_arrives_once(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    smtp = SmtpSink()  # not started: nobody listens on its port
    feeds = GrowingFeeds(http_server, ["desk"])
    config = write_project(tmp_path, feeds={"desk": feeds.url("desk")}, channels={"email": smtp.url()},
                           rules=CONTRACT_RULES, delivery='backoff_initial = "0s"\n')
    for _ in range(3):  # each poll raises a new alert that cannot be sent
        feeds.add("desk")
        out = cli(config, "once")
        assert "0 sent" in out, out
        time.sleep(1.1)  # the shortest backoff is 1 s: every failed row is due again at the next poll
    listing = cli(config, "alerts")
    assert listing.count("email=failed") == 3, listing
    assert query(tmp_path, "SELECT max(attempts) FROM delivery")[0][0] == 3  # the first alert tried at each poll

    smtp.start()
    try:
        out = cli(config, "once")
        assert "3 sent" in out, out
        time.sleep(1.1)
        out = cli(config, "once")
        assert "0 sent, 0 failed, 0 dead" in out, out
        expected = {a.project for a in feeds.published}
        assert mails_by_project(smtp.messages) == {p: 1 for p in expected}
    finally:
        smtp.stop()
    assert delivery_statuses(tmp_path) == {"sent": 3}
    assert cli(config, "alerts").count("email=sent") == 3


# --- 3. temporary and permanent SMTP errors ----------------------------------------------------


@pytest.mark.timeout(300)
def test_two_451_then_250_delivers_exactly_once(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    smtp = ScriptedSmtp(["451 4.3.0 Mailbox busy, try again later", "451 4.3.0 Mailbox busy, try again later"]).start()
    try:
        feeds = GrowingFeeds(http_server, ["desk"])
        article = feeds.add("desk")
        config = write_project(tmp_path, feeds={"desk": feeds.url("desk")}, channels={"email": smtp.url()},
                               rules=CONTRACT_RULES, delivery='max_attempts = 3\nbackoff_initial = "0s"\n')
        outs = []
        for _ in range(4):
            outs.append(cli(config, "once"))
            time.sleep(1.1)
        assert "1 failed" in outs[0] and "1 failed" in outs[1], outs
        assert "1 sent" in outs[2] and "0 sent, 0 failed, 0 dead" in outs[3], outs
        assert smtp.data_commands == 3
        assert [subject_of(m) for m in smtp.accepted] == [f"{SUBJECT_PREFIX} {article.project}"]
        listing = cli(config, "alerts")
        assert "email=sent" in listing, listing
        show = cli(config, "alerts", "show", listing.split()[0])
        assert "email: sent, 3 attempt(s)" in show, show
    finally:
        smtp.stop()


@pytest.mark.timeout(300)
def test_550_makes_the_alert_dead_with_its_error(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    smtp = ScriptedSmtp(["550 5.7.1 Relaying denied"] * 5).start()
    try:
        feeds = GrowingFeeds(http_server, ["desk"])
        feeds.add("desk")
        config = write_project(tmp_path, feeds={"desk": feeds.url("desk")}, channels={"email": smtp.url()},
                               rules=CONTRACT_RULES, delivery='max_attempts = 3\nbackoff_initial = "0s"\n')
        out = cli(config, "once")
        assert "0 sent, 0 failed, 1 dead" in out, out
        time.sleep(1.1)
        out = cli(config, "once")
        assert "0 sent, 0 failed, 0 dead" in out, out  # dead rows are never retried on their own
        assert smtp.data_commands == 1 and smtp.accepted == []  # permanent: no second try
        listing = cli(config, "alerts")
        line = next(l for l in listing.splitlines() if "big-contracts" in l)
        assert "email=dead" in line and "550" in line and "Relaying denied" in line, listing
        dead = cli(config, "alerts", "--status", "dead")
        assert "email=dead" in dead, dead
        show = cli(config, "alerts", "show", line.split()[0])
        assert "email: dead, 1 attempt(s)" in show and "last error:" in show and "550" in show, show
    finally:
        smtp.stop()
