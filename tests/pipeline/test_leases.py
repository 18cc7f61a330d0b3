"""Leases left by a killed process: released at start, and a send interrupted every time still ends."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

from sqlmodel import Session

from monitor.config import Config, DeliveryConfig, StorageConfig
from monitor.runtime import Runtime, is_dead_local_owner
from storage import outbox
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Alert, Delivery, FeedState, utcnow


def dead_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}:abc123"


def test_owner_liveness() -> None:
    assert is_dead_local_owner(dead_owner())
    assert not is_dead_local_owner(f"{socket.gethostname()}:{os.getppid()}:x")  # alive
    assert not is_dead_local_owner(f"{socket.gethostname()}:{os.getpid()}:x")  # ourselves
    assert not is_dead_local_owner("another-host:1:x")  # cannot tell: left to expire


def test_release_dead_leases_frees_feeds_and_sends(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    dead, alive = dead_owner(), f"{socket.gethostname()}:{os.getppid()}:x"
    until = utcnow() + timedelta(hours=1)
    with session_scope(engine) as s:
        s.add(FeedState(name="killed", url="u", lease_owner=dead, lease_until=until))
        s.add(FeedState(name="busy", url="u", lease_owner=alive, lease_until=until))
        alert = Alert(rule="r", key="k", dedup_key="d", subject="s", message="m")
        s.add(alert)
        s.flush()
        s.add(Delivery(alert_id=alert.id, channel="c", status="sending", lease_owner=dead, lease_until=until))
    rt = Runtime(Config(storage=StorageConfig(url=database_url)), engine)
    rt.release_dead_leases()
    with Session(engine) as s:
        assert s.get(FeedState, "killed").lease_owner is None
        assert s.get(FeedState, "busy").lease_owner == alive
    with session_scope(engine) as s:
        (row,) = outbox.claim_due(s, "me", utcnow(), timedelta(minutes=1))
        assert row.attempts == 1  # the interrupted send counts
    engine.dispose()


def test_send_interrupted_every_time_goes_dead(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from monitor.delivery import Deliverer

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        alert = Alert(rule="r", key="k", dedup_key="d", subject="s", message="m")
        s.add(alert)
        s.flush()
        s.add(Delivery(alert_id=alert.id, channel="c", status="sending", attempts=2, lease_owner="gone",
                       lease_until=utcnow() - timedelta(seconds=1)))
    config = Config(storage=StorageConfig(url=url), delivery=DeliveryConfig(max_attempts=3))
    report = Deliverer(engine, config, "me").deliver_due()
    assert [r.status for r in report.results] == ["dead"]
    with Session(engine) as s:
        (row,) = s.query(Delivery).all()
    assert row.status == "dead" and "stopped during a send" in row.last_error
    engine.dispose()
