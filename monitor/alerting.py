"""Rule decisions -> alert rows in the outbox (inside the observation's transaction)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from monitor.config import Config
from rules.events import Decision
from storage import alerts as alert_store
from storage.models import Silence

log = logging.getLogger(__name__)


class DatabaseHistory:
    """The rules engine's memory (repeat_after, frequency) kept in the database.

    Decisions of the current batch are not stored yet when later events of the same article are
    evaluated, so `record_fired` keeps them in memory until then.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._fired: dict[tuple[str, str], datetime] = {}

    def last_fired(self, rule: str, key: str) -> datetime | None:
        """When the rule last alerted for this key (stored, or earlier in this batch)."""
        stored = alert_store.last_fired(self._session, rule, key)
        pending = self._fired.get((rule, key))
        return max(filter(None, (stored, pending)), default=None)

    def record_fired(self, rule: str, key: str, at: datetime) -> None:
        """Remember a decision of this batch."""
        self._fired[(rule, key)] = at

    def count_matches(self, rule: str, key: str, since: datetime) -> int:
        """Matches of a frequency rule since a time."""
        return alert_store.count_matches(self._session, rule, key, since)

    def record_match(self, rule: str, key: str, at: datetime) -> None:
        """Remember one match of a frequency rule."""
        alert_store.record_match(self._session, rule, key, at)


def _fact_value(fact: dict, field: str) -> str | None:
    value = fact.get(field)
    if value is None and isinstance(fact.get("article"), dict):
        value = fact["article"].get(field)
    return None if value is None else str(value)


def is_silenced(silence: Silence, decision: Decision) -> bool:
    """True when the silence covers this decision: same rule and every matcher equal (case-insensitive)."""
    if silence.rule not in ("*", decision.rule):
        return False
    for field, wanted in (silence.matchers or {}).items():
        actual = decision.key if field == "key" else _fact_value(decision.fact, field)
        if actual is None or actual.lower() != str(wanted).lower():
            return False
    return True


def channel_statuses(config: Config, decision: Decision, silenced: bool) -> dict[str, str]:
    """Initial outbox status per channel: silenced, digest (batched) or pending (send now)."""
    statuses: dict[str, str] = {}
    for name in dict.fromkeys(decision.channels):
        channel = config.channels.get(name)
        if silenced:
            statuses[name] = "silenced"
        elif channel is not None and channel.digest:
            statuses[name] = "digest"
        else:
            statuses[name] = "pending"
    return statuses


def store_decisions(
    session: Session, config: Config, decisions: list[Decision], article_id: int | None, now: datetime,
) -> list[alert_store.StoredAlert]:
    """Put each decision in the outbox (deduplicated); return the alerts that are new."""
    if not decisions:
        return []
    silences = alert_store.active_silences(session, now)
    created: list[alert_store.StoredAlert] = []
    for decision in decisions:
        silenced = any(is_silenced(s, decision) for s in silences)
        alert = alert_store.insert_alert(session, alert_store.NewAlert(
            rule=decision.rule, key=decision.key, dedup_key=decision.dedup_key, severity=decision.severity,
            subject=decision.subject, message=decision.message, fact=decision.fact, article_id=article_id,
            channels=channel_statuses(config, decision, silenced),
        ), now)
        if alert is not None:
            created.append(alert)
            log.info("alert %s: rule=%s key=%s%s", alert.id, decision.rule, decision.key, " (silenced)" if silenced else "")
    return created
