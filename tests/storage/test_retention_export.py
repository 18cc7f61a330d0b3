"""Retention of raw article text and `soe-monitor export`, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.config import ConfigError, load_config
from monitor.export import COLUMNS, write_export
from monitor.retention import purge_article_text
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Article, ContractRecord, Observation, Series
from tests.support import run_cli

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _article(uid: str, age_days: float, text: str | None = "full text") -> Article:
    seen = NOW - timedelta(days=age_days)
    return Article(uid=uid, link=f"https://news.example.org/{uid}", title=uid, text=text, content_hash=f"h-{uid}",
                   first_seen=seen, updated_at=seen)


@pytest.fixture
def db(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _seed(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Two series, three observations (one a revision), a contract; articles 200, 100, 10 days old."""
    with session_scope(db) as s:
        old, mid, new = _article("old", 200), _article("mid", 100), _article("new", 10)
        s.add_all([old, mid, new])
        s.flush()
        exports = Series(key="exports|SOEs|CNY|year_to_date", metric="exports", entity="SOEs", unit="CNY",
                         period_kind="year_to_date")
        profits = Series(key="total_profits|SOEs|CNY|year_to_date", metric="total_profits", entity="SOEs", unit="CNY",
                         period_kind="year_to_date")
        s.add_all([exports, profits])
        s.flush()
        s.add_all([
            Observation(series_id=exports.id, period_start=date(2024, 1, 1), period_end=date(2024, 10, 31),
                        period_label="January-October 2024", value=1.61e12, value_key="1.61e12", usd_value=2.2e11,
                        change_pct=3.5, quote='SOE exports rose 3.5% to 1.61 trillion yuan, "a record", officials said.',
                        article_id=old.id, observed_at=NOW - timedelta(days=200)),
            Observation(series_id=exports.id, period_start=date(2024, 1, 1), period_end=date(2024, 11, 30),
                        period_label="January-November 2024", value=1.79e12, value_key="1.79e12", change_pct=3.9,
                        quote="SOE exports grew 3.9 percent to 1.79 trillion yuan, between January and November.",
                        article_id=mid.id, observed_at=NOW - timedelta(days=100)),
            Observation(series_id=profits.id, period_start=date(2024, 1, 1), period_end=date(2024, 11, 30),
                        period_label="January-November 2024", value=None, value_key="rate:-1.7", change_pct=-1.7,
                        quote="国有企业利润总额同比下降1.7%。", article_id=new.id, observed_at=NOW - timedelta(days=10)),
        ])
        s.add(ContractRecord(key="crrc|rta|blue", company="CRRC", quote="CRRC won it.", article_id=old.id,
                             value=5.6e9, unit="USD", usd_value=5.6e9))
        return {"old": old.id, "mid": mid.id, "new": new.id}  # type: ignore[dict-item]


def test_retention_drops_old_article_text_and_keeps_facts(db) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(db)
    assert purge_article_text(db, 0, now=NOW) == 0  # 0 = keep forever
    assert purge_article_text(db, 90, now=NOW, batch=1) == 2  # small batches still reach every row
    assert purge_article_text(db, 90, now=NOW) == 0  # idempotent
    with Session(db) as s:
        texts = {a.uid: a.text for a in s.exec(select(Article))}
        assert texts == {"old": None, "mid": None, "new": "full text"}
        # the article rows (identity, link, hash) and every fact stay
        assert {a.content_hash for a in s.exec(select(Article))} == {"h-old", "h-mid", "h-new"}
        assert len(s.exec(select(Observation)).all()) == 3
        assert s.exec(select(ContractRecord)).one().article_id == ids["old"]
        assert all(o.quote for o in s.exec(select(Observation)))
    assert purge_article_text(db, 5, now=NOW) == 1


def test_export_csv_and_json(db) -> None:  # type: ignore[no-untyped-def]
    _seed(db)
    out = io.StringIO()
    assert write_export(db, out, "csv") == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0].keys()) == COLUMNS
    assert [r["metric"] for r in rows] == ["exports", "exports", "total_profits"]
    first = rows[0]
    assert first["entity"] == "SOEs" and first["unit"] == "CNY" and first["period_kind"] == "year_to_date"
    assert (first["period_start"], first["period_end"]) == ("2024-01-01", "2024-10-31")
    assert float(first["value"]) == 1.61e12 and float(first["usd_value"]) == 2.2e11 and float(first["change_pct"]) == 3.5
    assert first["quote"].startswith("SOE exports rose 3.5%") and '"a record"' in first["quote"]  # quoting round-trips
    assert first["article_link"] == "https://news.example.org/old"
    assert datetime.fromisoformat(first["observed_at"]) == NOW - timedelta(days=200)
    assert rows[2]["value"] == "" and rows[2]["quote"] == "国有企业利润总额同比下降1.7%。"

    out = io.StringIO()
    assert write_export(db, out, "json", metric="exports") == 2
    data = json.loads(out.getvalue())
    assert isinstance(data, list) and [d["period_end"] for d in data] == ["2024-10-31", "2024-11-30"]
    assert list(data[1].keys()) == list(COLUMNS)
    assert data[1]["value"] == 1.79e12 and data[1]["usd_value"] is None and data[1]["article_link"].endswith("/mid")

    out = io.StringIO()
    assert write_export(db, out, "json", metric="nothing") == 0
    assert json.loads(out.getvalue()) == []


def test_export_cli(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    _seed(engine)
    engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "{database_url}"\n[server]\nlisten = ""\n')
    result = run_cli(["--config", str(config), "export", "exports", "--format", "json"], cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert [d["value"] for d in json.loads(result.stdout)] == [1.61e12, 1.79e12]
    result = run_cli(["--config", str(config), "export"], cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 3
    result = run_cli(["--config", str(config), "export", "--format", "xml"], cwd=tmp_path)
    assert result.code == 2 and "csv or json" in result.stderr


def test_retention_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    assert load_config(config).retention.article_text_days == 90
    config.write_text("[retention]\narticle_text_days = 0\n")
    assert load_config(config).retention.article_text_days == 0
    config.write_text("[retention]\narticle_text_days = -1\n")
    with pytest.raises(ConfigError, match="retention.article_text_days"):
        load_config(config)


def test_daemon_schedules_the_hourly_retention_job(database_url: str, tmp_path: Path) -> None:
    from monitor.daemon import Daemon
    from monitor.runtime import Runtime

    engine = make_engine(database_url)
    upgrade(engine)
    ids = _seed(engine)
    with session_scope(engine) as s:  # the seed is dated NOW (2026-06-01): age it relative to the real clock
        for article in s.exec(select(Article)):
            article.first_seen = datetime.now(timezone.utc) - (NOW - article.first_seen)
    engine.dispose()
    config = tmp_path / "config.toml"
    for days, scheduled in ((0, False), (90, True)):
        config.write_text(f'[storage]\nurl = "{database_url}"\n[server]\nlisten = ""\n[rules]\npaths = []\n'
                          f"[retention]\narticle_text_days = {days}\n")
        rt = Runtime.build(load_config(config), load_rules=False)
        try:
            daemon = Daemon(rt)
            daemon.add_jobs()
            job = next((j for j in daemon.scheduler.get_jobs() if j.id == "retention"), None)
            assert (job is not None) == scheduled
            if job is not None:
                assert job.trigger.interval == timedelta(hours=1)
                daemon._retention_job()
                with Session(rt.db) as s:
                    assert {a.id: a.text for a in s.exec(select(Article))} == {
                        ids["old"]: None, ids["mid"]: None, ids["new"]: "full text"}
        finally:
            rt.close()
