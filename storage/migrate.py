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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the latest)."""
    with engine.begin() as conn:
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
