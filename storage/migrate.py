"""Schema migrations with alembic: `soe-monitor db upgrade`, also run on every start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The newest revision under migrations/versions (a test keeps it equal to alembic's head). Every
# start checks the schema; at this revision nothing needs alembic, which then is never imported
# (it and Mako would stay resident for the life of the daemon: ~10 MB).
HEAD_REVISION = "0002"


def _alembic_config(connection: Connection) -> "AlembicConfig":
    from alembic.config import Config as AlembicConfig

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
    if revision == "head" and _stored_revision(engine) == HEAD_REVISION:
        return  # up to date: the common case on every start
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        command.upgrade(_alembic_config(conn), revision)


def _stored_revision(engine: Engine) -> str | None:
    """The revision in alembic's version table, read without alembic; None when there is none."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The latest revision this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def revise(engine: Engine, message: str) -> None:
    """Developer helper: autogenerate a migration from the models against `engine`'s schema."""
    from alembic import command

    with engine.begin() as conn:
        command.revision(_alembic_config(conn), message=message, autogenerate=True)
