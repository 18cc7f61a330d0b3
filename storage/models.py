"""SQLModel tables.

Datetimes are timezone-aware UTC (sqlmodel's UTCDateTime refuses naive values and returns aware
UTC from SQLite and PostgreSQL alike); amounts are floats (SQLite has no exact decimal). Uniqueness constraints carry the idempotency guarantees: re-processing the same feed,
article or fact inserts nothing new.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now, the form every datetime column holds."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.utcoffset() is None else value.astimezone(timezone.utc)


class FeedState(SQLModel, table=True):
    """Poll state and health of one configured feed."""

    __tablename__ = "feed_state"

    name: str = Field(primary_key=True)
    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_poll: datetime | None = None
    last_success: datetime | None = None
    last_new_entry: datetime | None = None
    consecutive_errors: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_poll_after: datetime | None = None
    polls: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None


class Article(SQLModel, table=True):
    """One news article, however many feeds carried it."""

    __tablename__ = "article"
    __table_args__ = (Index("ix_article_link", "link"), Index("ix_article_hash", "content_hash"))

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(unique=True, description="stable identity: GUID, else normalised link, else content hash")
    link: str | None = None
    title: str = ""
    published: datetime | None = None
    lang: str | None = None
    text: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str
    first_seen: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ArticleSource(SQLModel, table=True):
    """A feed that carried an article."""

    __tablename__ = "article_source"
    __table_args__ = (UniqueConstraint("article_id", "feed"),)

    id: int | None = Field(default=None, primary_key=True)
    # Looked up by article through the unique constraint's index (article_id comes first in it).
    article_id: int = Field(foreign_key="article.id")
    feed: str
    entry_id: str
    seen_at: datetime = Field(default_factory=utcnow)


class Series(SQLModel, table=True):
    """A time series: (metric, entity, unit, period kind)."""

    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    metric: str = Field(index=True)
    entity: str
    unit: str
    period_kind: str


class Observation(SQLModel, table=True):
    """One value of a series for one period. A revision is a later row for the same period."""

    __tablename__ = "observation"
    __table_args__ = (
        # Also the index for reading a series (series_id leads); its rows are few enough to sort.
        UniqueConstraint("series_id", "period_start", "period_end", "value_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="series.id")
    period_start: date | None = None
    period_end: date | None = None
    period_label: str = ""
    value: float | None = None
    value_key: str = Field(description="the value rounded for identity (or the rate when there is no level)")
    usd_value: float | None = None
    change_pct: float | None = None
    change_basis: str | None = None
    qualifier: str | None = None
    metric_text: str = ""
    quote: str = Field(sa_column=Column(Text))
    article_id: int = Field(foreign_key="article.id")
    observed_at: datetime = Field(default_factory=utcnow)


class ObservationSource(SQLModel, table=True):
    """An article that reported an observation."""

    __tablename__ = "observation_source"
    __table_args__ = (UniqueConstraint("observation_id", "article_id"),)

    id: int | None = Field(default=None, primary_key=True)
    observation_id: int = Field(foreign_key="observation.id")  # indexed first in the unique constraint
    article_id: int = Field(foreign_key="article.id")
    quote: str = Field(sa_column=Column(Text))
    seen_at: datetime = Field(default_factory=utcnow)


class ContractRecord(SQLModel, table=True):
    """A named contract, identified by company, counterparty and project."""

    __tablename__ = "contract"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    company: str | None = None
    counterparty: str | None = None
    project: str | None = None
    location: str | None = None
    value: float | None = None
    unit: str | None = None
    usd_value: float | None = None
    quote: str = Field(sa_column=Column(Text))
    article_id: int = Field(foreign_key="article.id")
    observed_at: datetime = Field(default_factory=utcnow)


class ContractSource(SQLModel, table=True):
    """An article that reported a contract."""

    __tablename__ = "contract_source"
    __table_args__ = (UniqueConstraint("contract_id", "article_id"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")  # indexed first in the unique constraint
    article_id: int = Field(foreign_key="article.id")
    seen_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """A rule decision. `dedup_key` is unique: the same decision is never stored (or sent) twice."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_rule_key", "rule", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str
    key: str = Field(description="the alert's identity within its rule (series+period, contract...): never the value")
    dedup_key: str = Field(unique=True)
    severity: str = "info"
    subject: str = Field(sa_column=Column(Text))
    message: str = Field(sa_column=Column(Text))
    fact: dict = Field(default_factory=dict, sa_column=Column(JSON))
    article_id: int | None = Field(default=None, foreign_key="article.id")
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """The outbox: one row per (alert, channel). pending -> sending -> sent | failed -> dead."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id")  # indexed first in the unique constraint
    channel: str
    status: str = "pending"  # pending | sending | sent | failed | dead | silenced | digest
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    lease_owner: str | None = None
    sent_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class RuleMatch(SQLModel, table=True):
    """A match of a stateful rule (frequency), kept so counts survive restarts."""

    __tablename__ = "rule_match"
    __table_args__ = (UniqueConstraint("rule", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str
    key: str
    at: datetime


class Silence(SQLModel, table=True):
    """Mute a rule (optionally only alerts whose fact matches `matchers`) until `ends_at`."""

    __tablename__ = "silence"

    id: int | None = Field(default=None, primary_key=True)
    rule: str
    matchers: dict = Field(default_factory=dict, sa_column=Column(JSON))
    comment: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    ends_at: datetime


class KeyValue(SQLModel, table=True):
    """Small daemon state shared with the CLI: rules in force, last reload error, heartbeat."""

    __tablename__ = "key_value"

    key: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text))
    updated_at: datetime = Field(default_factory=utcnow)
