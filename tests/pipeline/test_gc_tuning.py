"""The daemon settles its start-up heap before it starts polling (monitor.gc_tuning)."""

from __future__ import annotations

import gc
import os
import signal
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.gc_tuning import YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """The test process's collector settings and signal handlers, put back afterwards."""
    threshold = gc.get_threshold()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settle_heap_freezes_survivors_collects_garbage_and_raises_the_young_threshold(restored_gc: None) -> None:
    garbage = _Cycle()
    ref = weakref.ref(garbage)
    del garbage
    middle, oldest = gc.get_threshold()[1:]
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, oldest)
    assert ref() is None  # start-up's garbage was collected before freezing, not kept for ever


def test_the_daemon_settles_its_heap_before_the_scheduler_starts(tmp_path: Path, restored_gc: None) -> None:
    from monitor.daemon import Daemon
    from monitor.runtime import Runtime

    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[server]\nlisten = ""\n[rules]\npaths = []\n')
    rt = Runtime.build(load_config(config), load_rules=False)
    seen: list[tuple[int, int]] = []

    def first_job() -> None:  # runs once the scheduler has started; then stops the daemon as SIGTERM does
        seen.append((gc.get_freeze_count(), gc.get_threshold()[0]))
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()

    try:
        daemon = Daemon(rt)
        daemon.scheduler.add_job(first_job, id="probe")
        daemon.run()
    finally:
        rt.close()
    assert len(seen) == 1
    frozen, young = seen[0]
    assert frozen > 1000 and young == YOUNG_THRESHOLD


def test_settling_again_frees_cycles_that_were_frozen(restored_gc: None) -> None:
    cycle = _Cycle()
    ref = weakref.ref(cycle)
    settle_heap()
    del cycle  # garbage now, but frozen: no collection looks at it
    gc.collect()
    assert ref() is not None
    settle_heap()
    assert ref() is None
