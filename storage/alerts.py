"""Alerts, rule history (for repeat_after and frequency), silences and daemon status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import functools

from sqlalchemy import Insert, func
from sqlmodel import Session, col, select

from storage.db import insert_ignoring
from storage.models import Alert, Delivery, KeyValue, RuleMatch, Silence, utcnow


@dataclass(frozen=True)
class NewAlert:
    """What the pipeline asks storage to put in the outbox."""

    rule: str
    key: str
    dedup_key: str
    severity: str
    subject: str
    message: str
    fact: dict
    article_id: int | None
    # channel name -> initial status: pending, digest or silenced
    channels: dict[str, str]


@dataclass(frozen=True)
class StoredAlert:
    """An alert just put in the outbox."""

    id: int
    rule: str
    key: str
    severity: str
    subject: str
    message: str
    created_at: datetime


# Alerts are written through the tables (Core): a poll may store thousands, and the ORM's unit of
# work (an object and a flush per row) would cost more than everything else in it.
_INSERT_DELIVERY = Delivery.__table__.insert()


@functools.cache
def _insert_new_alert(dialect: str) -> Insert:
    """INSERT of an alert that returns its id, or no row when its dedup key is stored already."""
    table = Alert.__table__
    return insert_ignoring(dialect, table, "dedup_key").returning(table.c.id)


def insert_alert(session: Session, new: NewAlert, now: datetime) -> StoredAlert | None:
    """Store an alert and one delivery row per channel; None when its dedup key is already stored.

    Runs inside the caller's transaction, so the alert commits together with the observation
    that raised it.
    """
    conn = session.connection()
    alert_id = conn.execute(_insert_new_alert(conn.dialect.name), dict(
        rule=new.rule, key=new.key, dedup_key=new.dedup_key, severity=new.severity, subject=new.subject,
        message=new.message, fact=new.fact, article_id=new.article_id, created_at=now)).scalar()
    if alert_id is None:
        return None
    if new.channels:
        conn.execute(_INSERT_DELIVERY, [
            dict(alert_id=alert_id, channel=channel, status=status, attempts=0, next_attempt_at=now, created_at=now)
            for channel, status in new.channels.items()])
    return StoredAlert(alert_id, new.rule, new.key, new.severity, new.subject, new.message, now)


def last_fired(session: Session, rule: str, key: str) -> datetime | None:
    """When the rule last raised an alert for this key."""
    return session.exec(select(func.max(Alert.created_at)).where(Alert.rule == rule, Alert.key == key)).first()


def record_match(session: Session, rule: str, key: str, at: datetime) -> None:
    """Remember one match of a stateful rule; the same (rule, key, time) is kept once, so re-processing counts once."""
    exists = session.exec(select(RuleMatch.id).where(RuleMatch.rule == rule, RuleMatch.key == key, RuleMatch.at == at)).first()
    if exists is None:
        session.add(RuleMatch(rule=rule, key=key, at=at))
        session.flush()


def count_matches(session: Session, rule: str, key: str, since: datetime) -> int:
    """Matches of a rule for a key since a time."""
    return session.exec(
        select(func.count()).where(RuleMatch.rule == rule, RuleMatch.key == key, RuleMatch.at >= since)
    ).one()


def active_silences(session: Session, now: datetime) -> list[Silence]:
    """Silences in force at `now`; asked again with the same `now` (one poll's articles), the session
    answers from memory."""
    memo: dict[datetime, list[Silence]] = session.info.setdefault("active_silences", {})
    if now not in memo:
        memo.clear()
        memo[now] = list(session.exec(select(Silence).where(Silence.ends_at > now).order_by(Silence.id)))
    return memo[now]


def add_silence(session: Session, silence: Silence) -> Silence:
    """Store a silence."""
    session.add(silence)
    session.flush()
    session.info.pop("active_silences", None)
    return silence


def list_silences(session: Session, include_expired: bool = False) -> list[Silence]:
    """Silences, newest first."""
    query = select(Silence).order_by(col(Silence.id).desc())
    if not include_expired:
        query = query.where(Silence.ends_at > utcnow())
    return list(session.exec(query))


def expire_silence(session: Session, silence_id: int, now: datetime) -> bool:
    """End a silence now; False when there is no such silence."""
    silence = session.get(Silence, silence_id)
    if silence is None:
        return False
    silence.ends_at = min(silence.ends_at, now)
    session.info.pop("active_silences", None)
    return True


def set_value(session: Session, key: str, value: str) -> None:
    """Store a small piece of daemon state."""
    row = session.get(KeyValue, key)
    if row is None:
        session.add(KeyValue(key=key, value=value))
    else:
        row.value, row.updated_at = value, utcnow()


def get_value(session: Session, key: str) -> KeyValue | None:
    """Read a small piece of daemon state."""
    return session.get(KeyValue, key)
