"""Outbox queries: claim due deliveries with a lease, record outcomes, list and retry alerts.

A delivery row moves pending -> sending -> sent | failed -> (sending ...) -> dead. A claim sets
status=sending with a lease (owner + lease_until); a row whose lease expired (its worker
crashed) is due again. Digest rows keep status "digest" until their combined send succeeds; a
digest claim only sets the lease fields.

Nothing here commits: callers run each function in its own short transaction (storage.db.
session_scope) and commit straight away. `claim_due` and `collect_digest` must be the first
statement of their transaction: on SQLite their single UPDATE ... RETURNING then takes the write
lock before it reads, so two processes can never claim the same row; on PostgreSQL the inner
SELECT ... FOR UPDATE SKIP LOCKED does the same without blocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, case, exists, or_, update
from sqlmodel import Session, col, select

from storage.models import Alert, Delivery, Observation, Series

PENDING, SENDING, SENT, FAILED, DEAD, SILENCED, DIGEST = (
    "pending", "sending", "sent", "failed", "dead", "silenced", "digest"
)
# Worst first: the status an alert shows when its channels disagree.
_OVERALL = (DEAD, FAILED, SENDING, PENDING, DIGEST, SENT, SILENCED)


@dataclass(frozen=True)
class DeliveryRow:
    """One channel's delivery state of an alert."""

    id: int
    channel: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True)
class AlertRow:
    """An alert (the stored row, detached) with the delivery state of each of its channels."""

    alert: Alert
    deliveries: tuple[DeliveryRow, ...]

    @property
    def id(self) -> int:
        """The alert's id."""
        return self.alert.id  # type: ignore[return-value]

    @property
    def created_at(self) -> datetime:
        """When the alert was stored (UTC)."""
        return self.alert.created_at

    @property
    def status(self) -> str:
        """Overall status: the worst of its channels (dead > failed > sending > pending > digest > sent)."""
        statuses = {d.status for d in self.deliveries}
        return next((s for s in _OVERALL if s in statuses), "none")


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime (naive values are taken as UTC): what sqlmodel's datetime columns bind."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def utc_now() -> datetime:
    """Aware UTC now."""
    return datetime.now(timezone.utc)


# --- claiming and recording ------------------------------------------------------------------


def _claim(session: Session, where: object, owner: str, until: datetime, limit: int, values: dict) -> list[Delivery]:
    ids = (
        select(Delivery.id).where(where)
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id)).limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's UPDATE holds the write lock anyway
    )
    stmt = (
        update(Delivery).where(col(Delivery.id).in_(ids.scalar_subquery()))
        .values(lease_owner=owner, lease_until=until, **values)
        .returning(Delivery)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    rows = list(session.exec(stmt).scalars())  # type: ignore[call-overload]
    return sorted(rows, key=lambda d: (d.next_attempt_at, d.id))


def claim_due(session: Session, owner: str, now: datetime, lease: timedelta, limit: int = 1) -> list[Delivery]:
    """Claim up to `limit` due deliveries for `owner`: pending/failed whose time has come, or
    sending rows whose lease expired (a crashed worker). They become status=sending until now+lease."""
    now = as_utc(now)
    lease_expired = and_(col(Delivery.status) == SENDING,
                         or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now))
    due = or_(and_(col(Delivery.status).in_((PENDING, FAILED)), col(Delivery.next_attempt_at) <= now), lease_expired)
    # A row taken back from a worker that died mid-send counts that send as an attempt, so a send
    # that kills the process every time still reaches max_attempts instead of looping for ever.
    attempts = case((col(Delivery.status) == SENDING, Delivery.attempts + 1), else_=Delivery.attempts)
    return _claim(session, due, owner, now + lease, limit, {"status": SENDING, "attempts": attempts})


def sending_owners(session: Session) -> list[str]:
    """Everyone holding a send lease now."""
    return [o for o in session.exec(select(Delivery.lease_owner).where(col(Delivery.status) == SENDING).distinct()) if o]


def release_owners(session: Session, owners: list[str]) -> int:
    """Hand back every row claimed by `owners` (processes known to be dead): due again at once."""
    if not owners:
        return 0
    result = session.exec(  # type: ignore[call-overload]
        update(Delivery).where(col(Delivery.status) == SENDING, col(Delivery.lease_owner).in_(owners))
        .values(lease_until=None)
    )
    return int(result.rowcount or 0)


def mark_sent(session: Session, delivery_id: int, owner: str, now: datetime) -> bool:
    """Record a successful send. Applies even if the lease was lost meanwhile (the message did go
    out); False when the row was already sent."""
    now = as_utc(now)
    result = session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.status).in_((SENDING, PENDING, FAILED)))
        .values(status=SENT, sent_at=now, attempts=Delivery.attempts + 1, last_error=None,
                lease_owner=None, lease_until=None)
    )
    return bool(result.rowcount)


def mark_failed(session: Session, delivery_id: int, owner: str, reason: str, now: datetime,
                next_attempt_at: datetime, dead: bool) -> bool:
    """Record a failed attempt: status failed (due again at next_attempt_at) or dead. Only the
    lease holder may do this, so a late worker never overwrites another's outcome."""
    result = session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.status) == SENDING, col(Delivery.lease_owner) == owner)
        .values(status=DEAD if dead else FAILED, attempts=Delivery.attempts + 1, last_error=reason,
                next_attempt_at=as_utc(next_attempt_at), lease_owner=None, lease_until=None)
    )
    return bool(result.rowcount)


def release(session: Session, delivery_id: int, owner: str) -> bool:
    """Give a claimed row back unsent without counting an attempt (pending or failed again, as due as before)."""
    result = session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.status) == SENDING, col(Delivery.lease_owner) == owner)
        .values(status=case((Delivery.attempts == 0, PENDING), else_=FAILED), lease_owner=None, lease_until=None)
    )
    return bool(result.rowcount)


def retry(session: Session, alert_id: int, channel: str | None = None, now: datetime | None = None) -> int:
    """`alerts retry ID`: dead or failed deliveries of an alert (optionally one channel) go back to
    pending, due now, with attempts reset. Returns how many rows changed."""
    where = [col(Delivery.alert_id) == alert_id, col(Delivery.status).in_((DEAD, FAILED))]
    if channel is not None:
        where.append(col(Delivery.channel) == channel)
    return _reset(session, where, now)


def retry_delivery(session: Session, delivery_id: int, now: datetime | None = None) -> bool:
    """Like `retry`, for one delivery row."""
    return bool(_reset(session, [col(Delivery.id) == delivery_id, col(Delivery.status).in_((DEAD, FAILED))], now))


def _reset(session: Session, where: list, now: datetime | None) -> int:
    values: dict = {"status": PENDING, "attempts": 0, "lease_owner": None, "lease_until": None}
    if now is not None:  # otherwise the old next_attempt_at (in the past) already makes it due
        values["next_attempt_at"] = as_utc(now)
    return session.exec(update(Delivery).where(*where).values(**values)).rowcount  # type: ignore[call-overload]


# --- digests ---------------------------------------------------------------------------------


def collect_digest(session: Session, channel: str, owner: str, now: datetime,
                   lease: timedelta = timedelta(minutes=5), limit: int = 500) -> list[Delivery]:
    """Claim the waiting digest rows of a channel (status stays "digest"; the lease marks them taken)."""
    now = as_utc(now)
    free = and_(col(Delivery.channel) == channel, col(Delivery.status) == DIGEST,
                or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now))
    return _claim(session, free, owner, now + lease, limit, {})


def mark_digest_sent(session: Session, delivery_ids: Sequence[int], now: datetime) -> int:
    """The combined digest message went out: its rows are sent."""
    if not delivery_ids:
        return 0
    return session.exec(  # type: ignore[call-overload]
        update(Delivery).where(col(Delivery.id).in_(delivery_ids), col(Delivery.status) == DIGEST)
        .values(status=SENT, sent_at=as_utc(now), attempts=Delivery.attempts + 1, last_error=None,
                lease_owner=None, lease_until=None)
    ).rowcount


def mark_digest_failed(session: Session, delivery_ids: Sequence[int], owner: str, reason: str,
                       max_attempts: int, dead: bool = False) -> int:
    """The digest send failed: rows wait for the next digest run, or go dead (permanent failure,
    or max_attempts reached)."""
    if not delivery_ids:
        return 0
    status = DEAD if dead else case((Delivery.attempts + 1 >= max_attempts, DEAD), else_=DIGEST)
    return session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(col(Delivery.id).in_(delivery_ids), col(Delivery.status) == DIGEST, col(Delivery.lease_owner) == owner)
        .values(status=status, attempts=Delivery.attempts + 1, last_error=reason, lease_owner=None, lease_until=None)
    ).rowcount


def release_orphan_digests(session: Session, digest_channels: Sequence[str]) -> int:
    """Digest rows of channels that are no longer digests (config changed) become pending."""
    where = [col(Delivery.status) == DIGEST]
    if digest_channels:
        where.append(col(Delivery.channel).not_in(list(digest_channels)))
    return session.exec(  # type: ignore[call-overload]
        update(Delivery).where(*where).values(status=PENDING, lease_owner=None, lease_until=None)
    ).rowcount


# --- reading ---------------------------------------------------------------------------------


def alerts_by_id(session: Session, alert_ids: Sequence[int]) -> dict[int, Alert]:
    """Alerts keyed by id."""
    if not alert_ids:
        return {}
    return {a.id: a for a in session.exec(select(Alert).where(col(Alert.id).in_(list(alert_ids))))}  # type: ignore[misc]


def _rows(session: Session, alerts: Sequence[Alert]) -> list[AlertRow]:
    ids = [a.id for a in alerts]
    by_alert: dict[int, list[DeliveryRow]] = {i: [] for i in ids}  # type: ignore[misc]
    if ids:
        query = select(Delivery).where(col(Delivery.alert_id).in_(ids)).order_by(col(Delivery.channel))
        for d in session.exec(query):
            by_alert[d.alert_id].append(DeliveryRow(d.id, d.channel, d.status, d.attempts, d.last_error,  # type: ignore[arg-type]
                                                    d.next_attempt_at, d.sent_at))
    return [AlertRow(a, tuple(by_alert[a.id])) for a in alerts]  # type: ignore[index]


def list_alerts(session: Session, limit: int = 50, status: str | None = None) -> list[AlertRow]:
    """Most recent alerts first, each with its per-channel delivery status, attempts and last error.
    `status` keeps alerts with at least one delivery in that status."""
    query = select(Alert).order_by(col(Alert.created_at).desc(), col(Alert.id).desc()).limit(limit)
    if status is not None:
        query = query.where(exists().where(col(Delivery.alert_id) == Alert.id, col(Delivery.status) == status))
    return _rows(session, list(session.exec(query)))


def get_alert(session: Session, alert_id: int) -> AlertRow | None:
    """One alert with its deliveries, or None."""
    alert = session.get(Alert, alert_id)
    return _rows(session, [alert])[0] if alert is not None else None


def series_points(session: Session, series_key: str, limit: int = 24) -> list[tuple[str, float | None]]:
    """(period label, current value) of the latest `limit` periods of a series, oldest first."""
    rows = session.exec(
        select(Observation).join(Series, col(Series.id) == Observation.series_id)
        .where(col(Series.key) == series_key)
        .order_by(col(Observation.period_end), col(Observation.observed_at), col(Observation.id))
    ).all()
    current: dict[tuple, Observation] = {}
    for obs in rows:  # later observations of a period are revisions: the last one wins
        current[(obs.period_start, obs.period_end)] = obs
    points = [(o.period_label or str(o.period_end or ""), o.value) for o in current.values()]
    return points[-limit:]
