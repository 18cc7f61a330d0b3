"""Alembic migrations: the models and the migrations agree, and old databases upgrade with their data."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel, select, text

from storage.db import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import FeedState

FIRST_RELEASE = "0001"


def test_migrations_build_exactly_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models changed without a migration: {diff}"


def test_database_of_the_first_release_upgrades_with_its_data(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, FIRST_RELEASE)
    assert current_revision(engine) == FIRST_RELEASE
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO feed_state (name, url, consecutive_errors, polls) VALUES ('old', 'http://x/', 2, 7)"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with Session(engine) as session:
        row = session.exec(select(FeedState).where(FeedState.name == "old")).one()
    engine.dispose()
    assert (row.url, row.consecutive_errors, row.polls) == ("http://x/", 2, 7)


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_head_revision_constant_matches_alembic_head() -> None:
    # upgrade() skips alembic when the stored revision equals HEAD_REVISION: it must be the head.
    from storage.migrate import HEAD_REVISION

    assert HEAD_REVISION == head_revision()


def test_starting_on_an_up_to_date_database_does_not_load_alembic(tmp_path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    code = ("import sys; from storage.db import make_engine; from storage.migrate import upgrade; "
            f"e = make_engine({url!r}); upgrade(e); print('alembic' in sys.modules)")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


def test_lookups_by_a_unique_constraints_leading_column_still_use_an_index(tmp_path) -> None:
    # 0002 dropped the indexes that led with these columns: the unique constraints serve them.
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    lookups = [("article_source", "article_id"), ("observation_source", "observation_id"),
               ("contract_source", "contract_id"), ("delivery", "alert_id"), ("observation", "series_id")]
    with engine.connect() as conn:
        indexes = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plans = {table: " ".join(r[-1] for r in conn.exec_driver_sql(
                     f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {column} = 1"))
                 for table, column in lookups}
    engine.dispose()
    assert not indexes & {"ix_article_source_article_id", "ix_observation_source_observation_id",
                          "ix_contract_source_contract_id", "ix_delivery_alert_id", "ix_observation_series_period"}
    for (table, column), plan in zip(lookups, plans.values()):
        assert f"SEARCH {table} USING INDEX sqlite_autoindex_{table}_1 ({column}=?)" in plan, plan
