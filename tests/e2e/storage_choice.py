"""Which database the end-to-end tests put in their config.toml.

By default a SQLite file in the test's folder. With TEST_STORAGE_URL set (an admin URL such as
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), each call creates a fresh, empty
PostgreSQL database and returns its URL; the database is dropped when the test process exits.
`.ci/run` runs tests/e2e a second time that way.
"""

from __future__ import annotations

import atexit
import os
import uuid
from pathlib import Path

_CREATED: list[str] = []


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _admin_url() -> str | None:
    return os.environ.get("TEST_STORAGE_URL") or None


def create_pg_database(admin_url: str) -> str:
    """Create an empty database on the server of `admin_url`, dropped at exit; return its SQLAlchemy URL."""
    import psycopg

    name = f"soe_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_dsn(admin_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    if not _CREATED:
        atexit.register(_drop_all, admin_url)
    _CREATED.append(name)
    base = admin_url.rsplit("/", 1)[0]
    if not base.startswith("postgresql+"):
        base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop_pg_database(admin_url: str, name: str) -> None:
    """Drop one database, closing its connections first."""
    import psycopg

    with psycopg.connect(_dsn(admin_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_all(admin_url: str) -> None:
    while _CREATED:
        name = _CREATED.pop()
        try:
            drop_pg_database(admin_url, name)
        except Exception:  # best effort at exit
            pass


def storage_url(folder: Path, filename: str = "monitor.db") -> str:
    """The `[storage] url` for a test config: SQLite in `folder`, or a fresh PostgreSQL database."""
    admin = _admin_url()
    if admin:
        return create_pg_database(admin)
    return f"sqlite:///{Path(folder).resolve() / filename}"


def using_postgresql() -> bool:
    """True when TEST_STORAGE_URL makes the e2e tests run on PostgreSQL."""
    return _admin_url() is not None
