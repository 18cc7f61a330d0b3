"""Schema migrations with alembic: `soe-monitor db upgrade`, also run on every start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _alembic_config(connection) -> AlembicConfig:  # type: ignore[no-untyped-def]
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


# Any constant bigint shared by every instance: PostgreSQL advisory lock serialising migrations.
_MIGRATION_LOCK = 0x50E_3017  # "SOE monitor"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the latest).

    On PostgreSQL the migration holds a transaction-scoped advisory lock, so instances starting at
    once on an empty database migrate one after the other (the later ones then find it up to date)
    instead of racing to create the same tables. SQLite's write lock already serialises them.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        command.upgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The latest revision this code knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def revise(engine: Engine, message: str) -> None:
    """Developer helper: autogenerate a migration from the models against `engine`'s schema."""
    with engine.begin() as conn:
        command.revision(_alembic_config(conn), message=message, autogenerate=True)
