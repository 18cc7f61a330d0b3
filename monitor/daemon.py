"""The long-running daemon: one APScheduler job per feed, plus delivery, rule reload and digests.

Jobs run in a thread pool; each feed job has max_instances=1 and coalesce, so a slow feed never
piles up runs or delays the others. SIGTERM/SIGINT stop the scheduler after running jobs finish.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import FeedConfig
from monitor.delivery import Deliverer
from monitor.gc_tuning import settle_heap
from monitor.metrics import Metrics
from monitor.poll import poll_feed
from monitor.runtime import Runtime
from monitor.server import StatusServer
from monitor.stale import check_stale
from storage import alerts as alert_store
from storage.db import session_scope

log = logging.getLogger(__name__)

DELIVER_JOB = "deliver"


class Daemon:
    """Schedules polls, delivery, rule reloads and digests for one Runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.deliverer = Deliverer(rt.db, rt.config, rt.owner)
        self.metrics = Metrics(rt.db)
        workers = max(4, rt.config.fetch.workers + 2)
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone=timezone.utc,
        )
        self.scheduler.add_listener(self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job %s failed: %r", event.job_id, event.exception)
        else:
            log.warning("job %s skipped a run (still running or missed)", event.job_id)

    def _poll_job(self, feed: FeedConfig) -> None:
        started = time.perf_counter()
        report = poll_feed(self.rt, feed)
        self.metrics.record_poll(report, time.perf_counter() - started)
        if report.alerts:
            # Deliver now rather than at the next delivery tick.
            self.scheduler.modify_job(DELIVER_JOB, next_run_time=datetime.now(timezone.utc))

    def _deliver_job(self) -> None:
        self.deliverer.deliver_due()

    def _stale_job(self) -> None:
        if check_stale(self.rt):
            self.scheduler.modify_job(DELIVER_JOB, next_run_time=datetime.now(timezone.utc))

    def _retention_job(self) -> None:
        from monitor.retention import purge_article_text

        purge_article_text(self.rt.db, self.rt.config.retention.article_text_days)

    def _reload_job(self) -> None:
        book = self.rt.rulebook
        before_error, before_reloads = book.last_error, book.reloads
        book.reload_if_changed()
        if book.reloads != before_reloads:
            self.metrics.reloads.labels("ok").inc()
        elif book.last_error and book.last_error != before_error:
            self.metrics.reloads.labels("error").inc()
        self.write_status("running")

    def write_status(self, state: str) -> None:
        """Publish rules in force, last reload error and scheduler state for `soe-monitor status`."""
        book = self.rt.rulebook
        status = {
            "state": state, "owner": self.rt.owner, "rules": book.rule_names, "last_reload_error": book.last_error,
            "last_reload": book.last_reload.isoformat() if book.last_reload else None, "reloads": book.reloads,
            "jobs": [{"id": j.id, "next_run": j.next_run_time.isoformat() if j.next_run_time else None}
                     for j in self.scheduler.get_jobs()] if self.scheduler.running else [],
            "heartbeat": datetime.now(timezone.utc).isoformat(),
        }
        with session_scope(self.rt.db) as session:
            alert_store.set_value(session, "daemon_status", json.dumps(status))

    def add_jobs(self) -> None:
        """One job per feed (first run now), delivery, rule reload and one cron job per digest channel."""
        now = datetime.now(timezone.utc)
        for i, feed in enumerate(self.rt.config.feeds):
            seconds = feed.interval.total_seconds()
            self.scheduler.add_job(
                self._poll_job, IntervalTrigger(seconds=seconds, jitter=min(60, int(seconds * 0.1))), args=[feed],
                id=f"poll:{feed.name}", replace_existing=True, next_run_time=now + timedelta(milliseconds=200 * i),
            )
        delivery = self.rt.config.delivery
        self.scheduler.add_job(self._deliver_job, IntervalTrigger(seconds=delivery.interval.total_seconds()),
                               id=DELIVER_JOB, replace_existing=True, next_run_time=now + timedelta(seconds=1))
        self.scheduler.add_job(self._reload_job, IntervalTrigger(seconds=self.rt.config.rules.reload_interval.total_seconds()),
                               id="rules-reload", replace_existing=True)
        self.scheduler.add_job(self._stale_job, IntervalTrigger(seconds=60), id="stale-check", replace_existing=True,
                               next_run_time=now + timedelta(seconds=30))
        if self.rt.config.retention.article_text_days > 0:  # hourly; the first run a minute after start
            self.scheduler.add_job(self._retention_job, IntervalTrigger(hours=1), id="retention", replace_existing=True,
                                   next_run_time=now + timedelta(seconds=60))
        for name, channel in self.rt.config.channels.items():
            if channel.digest:
                self.scheduler.add_job(self.deliverer.send_digest, CronTrigger.from_crontab(channel.digest, timezone=timezone.utc),
                                       args=[name], id=f"digest:{name}", replace_existing=True)

    def _start_server(self) -> StatusServer | None:
        listen = self.rt.config.server.listen
        if not listen:
            return None
        server = StatusServer(listen, self.rt.db, self.rt.rulebook, self.metrics, lambda: self.scheduler.running)
        server.start()
        return server

    def run(self) -> None:
        """Run until SIGTERM or SIGINT, then let running jobs finish."""

        stopper: list[threading.Thread] = []

        def stop(signum: int, _frame: object) -> None:
            log.info("received %s: stopping after running jobs finish", signal.Signals(signum).name)
            # Not from the handler itself: it runs on the main thread, possibly inside the
            # scheduler's job loop, whose jobstore lock is re-entrant; shutting down there clears
            # the jobs under the loop's feet. Another thread waits for that lock instead.
            if self.scheduler.running and not stopper:
                stopper.append(threading.Thread(target=self.scheduler.shutdown, name="shutdown"))
                stopper[0].start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.rt.release_dead_leases()
        self.add_jobs()
        log.info("soe-monitor running: %d feed(s), %d rule(s), channels: %s", len(self.rt.config.feeds),
                 len(self.rt.rulebook.rule_names), ", ".join(self.rt.config.channels) or "none")
        self.scheduler.add_job(self.write_status, args=["running"], id="status-once")
        server = self._start_server()
        settle_heap()  # start-up is done: what it built lives as long as the daemon
        try:
            self.scheduler.start()  # blocks until shutdown
            for thread in stopper:
                thread.join()  # running jobs have finished
        finally:
            if server is not None:
                server.stop()
        self.write_status("stopped")
        log.info("soe-monitor stopped")
