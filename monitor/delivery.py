"""The delivery loop: outbox rows -> rendered messages -> one apprise send per (alert, channel).

Each due row is claimed on its own (status=sending, with a lease of DeliveryConfig.lease), sent,
and its outcome committed at once, so one channel's failure never blocks or repeats another
channel's send. Failures back off exponentially with jitter (backoff_initial doubling up to
backoff_max, at least the server's retry-after) and go dead after max_attempts, or at once when
the server's answer is permanent (SMTP 5xx). Rows of channels missing from the config fail with
a clear reason and keep retrying until dead, in case the channel is added back.

Crash safety and the duplicate window: a crash before the send leaves a claimed row whose lease
expires; it is then claimed again and sent, so nothing is lost. A duplicate is possible in one
window only: the server accepted the message and the process died (or lost the database) before
`mark_sent` committed, a few milliseconds later. The row is then sent again after its lease
expires. That window is kept minimal by claiming one row at a time and committing mark_sent
straight after each send; the lease must also outlast one send (apprise's timeouts are well
under the default two minutes), otherwise a slow send could be re-claimed by another worker.
Silenced rows (status "silenced") are never claimed; digest rows wait for `send_digest`.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor.config import ChannelConfig, Config
from monitor.notify.chart import chart_file
from monitor.notify.message import ATTACHMENT_SCHEMES, OutgoingMessage, SendOutcome, scheme_of
from monitor.notify.redact import channel_secrets, redact
from monitor.notify.render import render_alert, render_digest, render_test
from storage import outbox
from storage.db import session_scope
from storage.models import Alert, Delivery

log = logging.getLogger(__name__)

Sender = Callable[[str, ChannelConfig, OutgoingMessage], SendOutcome]
ServiceHook = Callable[[Any], None]


def default_owner() -> str:
    """A lease owner id unique to this process: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one delivery row (or one digest) in a round."""

    delivery_id: int
    alert_id: int
    channel: str
    status: str  # sent | failed | dead | digest (a failed digest row waiting for the next run)
    reason: str | None = None


@dataclass
class DeliveryReport:
    """The outcome of one delivery round."""

    results: list[DeliveryResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many rows ended the round in `status`."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def sent(self) -> int:
        """Rows sent this round."""
        return self.count(outbox.SENT)

    @property
    def failed(self) -> int:
        """Rows that failed and will be retried."""
        return self.count(outbox.FAILED)

    @property
    def dead(self) -> int:
        """Rows given up on this round."""
        return self.count(outbox.DEAD)

    def __str__(self) -> str:
        waiting = self.count(outbox.DIGEST)
        return f"{self.sent} sent, {self.failed + waiting} failed, {self.dead} dead"


class Deliverer:
    """Delivers due outbox rows; several instances (threads or processes) may run at once."""

    def __init__(self, engine: Engine, config: Config, owner: str | None = None, *,
                 sender: Sender | None = None, service_hook: ServiceHook | None = None,
                 clock: Callable[[], datetime] = outbox.utc_now, rng: Callable[[], float] = random.random,
                 max_rows: int = 500) -> None:
        self.engine = engine
        self.owner = owner or default_owner()
        self._sender = sender
        self._service_hook = service_hook
        self._clock = clock
        self._rng = rng
        self.max_rows = max_rows
        self.config = config
        self._secrets = channel_secrets(config.channels)

    def update_config(self, config: Config) -> None:
        """Use a reloaded config (channels may have been added or removed)."""
        self.config = config
        self._secrets = channel_secrets(config.channels)

    # --- public entry points -----------------------------------------------------------------

    def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Claim, send and record every due row, one at a time. `now` fixes the clock (tests)."""
        report = DeliveryReport()
        self._release_orphan_digests()
        attempted: set[int] = set()
        for _ in range(self.max_rows):
            moment = self._now(now)
            with session_scope(self.engine) as session:
                claimed = outbox.claim_due(session, self.owner, moment, self.config.delivery.lease, 1)
            if not claimed:
                break
            row = claimed[0]
            if row.id in attempted:  # due again within this round (tiny backoff): leave it for the next
                with session_scope(self.engine) as session:
                    outbox.release(session, row.id, self.owner)  # type: ignore[arg-type]
                break
            attempted.add(row.id)  # type: ignore[arg-type]
            if row.attempts >= self.config.delivery.max_attempts:  # interrupted sends used up its attempts
                gave_up = SendOutcome(ok=False, permanent=True,
                                      reason=f"gave up after {row.attempts} attempts (the process stopped during a send)")
                report.results.append(self._record(row, gave_up, now))
                continue
            report.results.append(self._deliver_one(row, now))
        return report

    def send_digest(self, channel_name: str, now: datetime | None = None) -> DeliveryReport:
        """Send the waiting digest rows of a channel as one message (per 500 rows) and record it."""
        report = DeliveryReport()
        channel = self.config.channels.get(channel_name)
        if channel is None:
            log.warning("digest for channel %r skipped: no such channel in the config", channel_name)
            return report
        while True:
            with session_scope(self.engine) as session:
                rows = outbox.collect_digest(session, channel_name, self.owner, self._now(now), self.config.delivery.lease)
                alerts = outbox.alerts_by_id(session, [r.alert_id for r in rows])
            if not rows:
                return report
            ordered = sorted(alerts.values(), key=lambda a: (a.created_at, a.id))
            outcome = self._send(channel_name, channel, lambda: render_digest(ordered, channel_name))
            report.results.extend(self._record_digest(rows, outcome, now))
            if not outcome.ok:
                return report

    def notify_test(self, channel_name: str) -> SendOutcome:
        """Really send a test message to a channel and return the real outcome."""
        channel = self.config.channels.get(channel_name)
        if channel is None:
            known = ", ".join(sorted(self.config.channels)) or "none"
            return SendOutcome(ok=False, reason=f"no channel named {channel_name!r} in the config (known: {known})")
        return self._send(channel_name, channel, lambda: render_test(channel_name))

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """Delay before the next try after `attempts` failures: exponential, jittered into [d/2, d],
        capped at backoff_max, never shorter than the server's retry-after."""
        cfg = self.config.delivery
        base = cfg.backoff_initial.total_seconds() * (2 ** max(0, attempts - 1))
        delay = min(base, cfg.backoff_max.total_seconds())
        delay = delay / 2 + self._rng() * delay / 2  # jitter spreads retries of many rows and workers
        if retry_after:
            delay = max(delay, retry_after)
        return timedelta(seconds=max(delay, 1.0))

    # --- one row -----------------------------------------------------------------------------

    def _now(self, fixed: datetime | None) -> datetime:
        return outbox.as_utc(fixed) if fixed is not None else self._clock()

    def _deliver_one(self, row: Delivery, now: datetime | None) -> DeliveryResult:
        channel = self.config.channels.get(row.channel)
        if channel is None:
            outcome = SendOutcome(ok=False, reason=f"channel {row.channel!r} is not in the config "
                                  "(removed or renamed?): add it back or the alert goes dead")
        else:
            outcome = self._send_alert(row, channel)
        return self._record(row, outcome, now)

    def _send_alert(self, row: Delivery, channel: ChannelConfig) -> SendOutcome:
        with session_scope(self.engine) as session:
            alert = session.get(Alert, row.alert_id)
            points = self._chart_points(session, alert, channel)
        if alert is None:
            return SendOutcome(ok=False, reason=f"alert {row.alert_id} no longer exists", permanent=True)
        title = f"{alert.fact.get('metric', '')} {alert.fact.get('entity') or ''}".strip()
        with chart_file(points or [], title, alert.fact.get("unit")) as chart:
            return self._send(row.channel, channel, lambda: render_alert(alert, chart=chart))

    def _chart_points(self, session, alert: Alert | None, channel: ChannelConfig) -> list | None:  # type: ignore[no-untyped-def]
        # Only figure alerts have a series, and only channels that carry attachments get the chart.
        if alert is None or scheme_of(channel.url) not in ATTACHMENT_SCHEMES:
            return None
        fact = alert.fact or {}
        if fact.get("type") != "figure" or not fact.get("series_key"):
            return None
        try:
            return outbox.series_points(session, fact["series_key"])
        except Exception:  # a chart is a nicety: never let it block the alert
            log.exception("could not load the series history for alert %s", alert.id)
            return None

    def _send(self, name: str, channel: ChannelConfig, make: Callable[[], OutgoingMessage]) -> SendOutcome:
        """Render and send, turning any unexpected error into a failed (redacted) outcome."""
        try:
            message = make()
            if self._sender is not None:
                outcome = self._sender(name, channel, message)
            else:
                # Imported on first send: apprise costs ~0.4 s, which CLI reads should not pay.
                from monitor.notify.channels import send

                outcome = send(name, channel, message, self._service_hook)
        except Exception as exc:
            log.exception("sending to channel %r failed unexpectedly", name)
            outcome = SendOutcome(ok=False, reason=f"internal error: {type(exc).__name__}: {exc}")
        if outcome.reason:
            outcome = outcome.model_copy(update={"reason": redact(outcome.reason, self._secrets)[:500]})
        return outcome

    def _record(self, row: Delivery, outcome: SendOutcome, now: datetime | None) -> DeliveryResult:
        moment = self._now(now)
        with session_scope(self.engine) as session:  # committed on exit: right after the send
            if outcome.ok:
                outbox.mark_sent(session, row.id, self.owner, moment)  # type: ignore[arg-type]
                return DeliveryResult(row.id, row.alert_id, row.channel, outbox.SENT)  # type: ignore[arg-type]
            attempts = row.attempts + 1
            dead = outcome.permanent or attempts >= self.config.delivery.max_attempts
            retry_at = moment + self.backoff(attempts, outcome.retry_after)
            if not outbox.mark_failed(session, row.id, self.owner, outcome.reason or "failed", moment, retry_at, dead):  # type: ignore[arg-type]
                log.warning("delivery %s: lease lost before its failure was recorded", row.id)
        status = outbox.DEAD if dead else outbox.FAILED
        log.warning("alert %s to channel %r %s (attempt %d): %s", row.alert_id, row.channel,
                    "gave up" if dead else "failed", attempts, outcome.reason)
        return DeliveryResult(row.id, row.alert_id, row.channel, status, outcome.reason)  # type: ignore[arg-type]

    def _record_digest(self, rows: list[Delivery], outcome: SendOutcome, now: datetime | None) -> list[DeliveryResult]:
        ids = [r.id for r in rows]
        with session_scope(self.engine) as session:
            if outcome.ok:
                outbox.mark_digest_sent(session, ids, self._now(now))  # type: ignore[arg-type]
            else:
                outbox.mark_digest_failed(session, ids, self.owner, outcome.reason or "failed",  # type: ignore[arg-type]
                                          self.config.delivery.max_attempts, dead=outcome.permanent)
        if not outcome.ok:
            log.warning("digest to channel %r failed: %s", rows[0].channel, outcome.reason)
        def status(row: Delivery) -> str:
            if outcome.ok:
                return outbox.SENT
            dead = outcome.permanent or row.attempts + 1 >= self.config.delivery.max_attempts
            return outbox.DEAD if dead else outbox.DIGEST  # DIGEST: waits for the next digest run

        return [DeliveryResult(r.id, r.alert_id, r.channel, status(r), outcome.reason) for r in rows]  # type: ignore[arg-type]

    def _release_orphan_digests(self) -> None:
        digests = [name for name, ch in self.config.channels.items() if ch.digest]
        with session_scope(self.engine) as session:
            outbox.release_orphan_digests(session, digests)
