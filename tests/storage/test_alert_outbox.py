"""Alerts into the outbox: one row per dedup key, with its deliveries, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import Session, select

from storage import alerts as alert_store
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Alert, Delivery

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


def new(dedup: str, channels: dict[str, str]) -> alert_store.NewAlert:
    return alert_store.NewAlert(rule="r", key="k", dedup_key=dedup, severity="warning", subject="s", message="m",
                                fact={"value": 1.79e12, "period": {"label": "January-November 2024"}}, article_id=None,
                                channels=channels)


def test_an_alert_is_stored_once_with_one_delivery_per_channel(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as s:
        first = alert_store.insert_alert(s, new("d1", {"mail": "pending", "slack": "digest"}), NOW)
        again = alert_store.insert_alert(s, new("d1", {"mail": "pending"}), NOW)  # same transaction
    with session_scope(engine) as s:
        later = alert_store.insert_alert(s, new("d1", {"mail": "pending"}), NOW)  # a later one
        quiet = alert_store.insert_alert(s, new("d2", {}), NOW)
    with Session(engine) as s:
        rows = s.exec(select(Alert).order_by(Alert.id)).all()
        deliveries = sorted((d.alert_id, d.channel, d.status, d.attempts) for d in s.exec(select(Delivery)))
    engine.dispose()
    assert first is not None and again is None and later is None and quiet is not None
    assert (first.rule, first.severity, first.subject, first.created_at) == ("r", "warning", "s", NOW)
    assert [(a.id, a.dedup_key, a.fact["period"]["label"], a.created_at) for a in rows] == [
        (first.id, "d1", "January-November 2024", NOW), (quiet.id, "d2", "January-November 2024", NOW)]
    assert deliveries == [(first.id, "mail", "pending", 0), (first.id, "slack", "digest", 0)]
