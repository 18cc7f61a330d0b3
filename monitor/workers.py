"""Feed parsing and fact extraction in worker processes.

Both are CPU-bound pure Python, so polls running in threads share one core under the GIL. A small
pool of processes lets a daemon that watches hundreds of feeds use every core, while fetching,
storage and rules stay in the daemon's process. With 0 processes everything runs inline. Plain
RSS 2.0 feeds are read in the daemon all the same: their fast path costs less than the trip to a
worker and back.

A worker that dies (killed, out of memory) breaks the pool: the job then runs inline, and so do
later ones for a minute before new workers start, so no entry is lost. Workers log through the daemon: records
a job emits travel back with its result and are handled by the daemon's (redacting) handlers.
Workers exit when the daemon does, even when it is killed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from pathlib import Path
from typing import NamedTuple, TypeVar

from monitor.config import ExtractConfig
from monitor.extract import Extractor
from monitor.extract.models import Facts
from monitor.feeds import ParsedFeed, parse_feed, parse_plain_feed
from monitor.fetched import FetchResult

log = logging.getLogger(__name__)
T = TypeVar("T")


class ExtractJob(NamedTuple):
    """One entry's text for the extractor, with what resolves its relative dates."""

    text: str
    published: date
    lang: str | None


class ExtractFailure(NamedTuple):
    """An entry the extractor failed on: the traceback, for the daemon's log."""

    error: str


def build_extractor(extract: ExtractConfig) -> Extractor:
    """The extractor with the shipped data plus the user's vocabulary, gazetteer and FX rates."""
    return Extractor(
        vocabulary_files=[Path(p) for p in extract.vocabulary],
        gazetteer_files=[Path(p) for p in extract.gazetteer],
        fx_to_usd=extract.fx_to_usd or None,
    )


def extract_all(extractor: Extractor, jobs: list[ExtractJob]) -> list[Facts | ExtractFailure]:
    """Facts for each job; a failing entry becomes an ExtractFailure and the others go on."""
    out: list[Facts | ExtractFailure] = []
    for job in jobs:
        try:
            out.append(extractor.extract(job.text, published=job.published, lang=job.lang))
        except Exception:  # noqa: BLE001 - one bad entry must not lose the others
            out.append(ExtractFailure(traceback.format_exc()))
    return out


# ---- inside a worker process -------------------------------------------------------------------

_worker_extractor: Extractor | None = None
_worker_extract_config: ExtractConfig | None = None


class _Captured(logging.Handler):
    """Keeps the records a job emits so they can travel back to the daemon."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Tracebacks and arguments may not pickle: send the finished text.
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def _exit_with_parent(parent: int) -> None:
    # A killed daemon cannot tell its workers to stop, and they hold the pool's queues open
    # themselves: poll for a new parent instead.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init_worker(extract: ExtractConfig, level: int, parent: int) -> None:
    global _worker_extract_config
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the daemon's to handle
    logging.getLogger().setLevel(level)
    _worker_extract_config = extract
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _run_captured(fn: Callable[[], T]) -> tuple[T, list[logging.LogRecord]]:
    handler = _Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        return fn(), handler.records
    finally:
        root.removeHandler(handler)


def _parse_in_worker(result: FetchResult, feed_name: str) -> tuple[ParsedFeed, list[logging.LogRecord]]:
    return _run_captured(lambda: parse_feed(result, feed_name, fast_path=False))


def _extract_in_worker(jobs: list[ExtractJob]) -> tuple[list[Facts | ExtractFailure], list[logging.LogRecord]]:
    global _worker_extractor
    if _worker_extractor is None:
        assert _worker_extract_config is not None
        _worker_extractor = build_extractor(_worker_extract_config)
    extractor = _worker_extractor
    return _run_captured(lambda: extract_all(extractor, jobs))


# ---- in the daemon -----------------------------------------------------------------------------


def forward_records(records: list[logging.LogRecord]) -> None:
    """Hand the records a worker job emitted to the daemon's own loggers (and so its handlers)."""
    for record in records:
        logging.getLogger(record.name).handle(record)


class CpuPool:
    """Parses feeds and extracts facts in worker processes (started on first use), or inline."""

    def __init__(self, processes: int, extract: ExtractConfig, inline_extractor: Callable[[], Extractor], *,
                 restart_after: float = 60.0) -> None:
        self.processes = processes
        # After workers die, jobs run inline this long before new ones start: workers that cannot
        # start at all (no memory, a broken install) must not be respawned for every job.
        self.restart_after = restart_after
        self._broken_until = 0.0
        self._extract_config = extract
        self._inline_extractor = inline_extractor
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def parse(self, result: FetchResult, feed_name: str) -> ParsedFeed:
        """`parse_feed`: plain RSS 2.0 here (its fast path costs less than a trip to a worker), other
        feeds in a worker."""
        quick = parse_plain_feed(result, feed_name)
        if quick is not None:
            return quick
        return self._run(_parse_in_worker, (result, feed_name), lambda: parse_feed(result, feed_name, fast_path=False))

    def extract(self, jobs: list[ExtractJob]) -> list[Facts | ExtractFailure]:
        """Facts for each job, in order; a failing entry comes back as an ExtractFailure."""
        if not jobs:
            return []
        return self._run(_extract_in_worker, (jobs,), lambda: extract_all(self._inline_extractor(), jobs))

    def worker_pids(self) -> list[int]:
        """The process ids of the running workers (for memory figures and tests)."""
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.pid is not None]

    def close(self) -> None:
        """Stop the workers (waiting for running jobs); later calls run inline."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, fn: Callable[..., tuple[T, list[logging.LogRecord]]], args: tuple, inline: Callable[[], T]) -> T:
        executor = self._pool()
        if executor is None:
            return inline()
        try:
            value, records = executor.submit(fn, *args).result()
        except BrokenProcessPool as exc:
            log.warning("a parsing worker process died (%s); running this job in the daemon and starting "
                        "new workers", exc)
            self._discard(executor)
            self._broken_until = time.monotonic() + self.restart_after
            return inline()
        forward_records(records)
        return value

    def _pool(self) -> ProcessPoolExecutor | None:
        if self.processes <= 0 or time.monotonic() < self._broken_until:
            return None
        with self._lock:
            if self._executor is None and not self._closed:
                # spawn, not fork: the daemon runs threads, and a forked child may inherit held locks.
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                    initargs=(self._extract_config, logging.getLogger().getEffectiveLevel(), os.getpid()))
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)
