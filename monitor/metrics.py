"""Prometheus metrics of one daemon. Outbox gauges are read from the database at scrape time,
so every instance on a shared database reports the same queue."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.models import Delivery


class OutboxCollector:
    """Deliveries by status, counted in the database on each scrape."""

    def __init__(self, db: Engine) -> None:
        self._db = db

    def collect(self):  # type: ignore[no-untyped-def]
        """Yield soe_deliveries{status}."""
        gauge = GaugeMetricFamily("soe_deliveries", "Alert deliveries by status (outbox)", labels=["status"])
        try:
            with Session(self._db) as session:
                rows = session.exec(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        except Exception:  # a down database shows in /healthz; metrics still answer
            rows = []
        counts = dict(rows)
        for status in ("pending", "sending", "sent", "failed", "dead", "silenced", "digest"):
            gauge.add_metric([status], float(counts.get(status, 0)))
        yield gauge


class Metrics:
    """The daemon's counters and histograms, in a registry of its own."""

    def __init__(self, db: Engine | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("soe_polls", "Feed polls by outcome", ["feed", "status"], registry=r)
        self.fetch_errors = Counter("soe_fetch_errors", "Failed feed polls", ["feed"], registry=r)
        self.articles = Counter("soe_articles", "New articles stored", ["feed"], registry=r)
        self.facts = Counter("soe_facts", "Facts stored", ["type"], registry=r)
        self.alerts = Counter("soe_alerts", "Alerts created", registry=r)
        self.reloads = Counter("soe_rule_reloads", "Rule reloads by result", ["result"], registry=r)
        self.deliveries = Counter("soe_delivery_attempts", "Delivery attempts by result", ["result"], registry=r)
        self.poll_seconds = Histogram("soe_poll_duration_seconds", "Time to poll one feed", ["feed"], registry=r,
                                      buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        if db is not None:
            r.register(OutboxCollector(db))

    def record_poll(self, report, seconds: float) -> None:  # type: ignore[no-untyped-def]
        """Count one PollReport."""
        self.polls.labels(report.feed, report.status).inc()
        self.poll_seconds.labels(report.feed).observe(seconds)
        if report.status == "error":
            self.fetch_errors.labels(report.feed).inc()
        self.articles.labels(report.feed).inc(report.new_articles)
        self.facts.labels("figure").inc(report.figures)
        self.facts.labels("contract").inc(report.contracts)
        self.alerts.inc(report.alerts)
