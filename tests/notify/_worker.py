"""Entry point for the two-process delivery test (run in a spawned child process)."""

from __future__ import annotations

from datetime import datetime


def deliver_in_process(db_url: str, json_url: str, owner: str, now_iso: str, go: object, results: object) -> None:
    """Build an engine and a Deliverer of our own (as a second daemon would) and deliver due rows."""
    from monitor.delivery import Deliverer
    from storage.db import make_engine
    from tests.notify.conftest import make_config, no_throttle

    engine = make_engine(db_url)
    deliverer = Deliverer(engine, make_config({"hook": json_url}), owner, service_hook=no_throttle)
    go.wait(30)  # type: ignore[attr-defined]  # both processes start claiming together
    results.put(deliverer.deliver_due(datetime.fromisoformat(now_iso)).sent)  # type: ignore[attr-defined]
