"""Fixtures shared by the whole suite: real servers on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.support import LoopbackHTTP, SmtpSink


@pytest.fixture
def http_server() -> Iterator[LoopbackHTTP]:
    """A loopback HTTP server for feeds and webhooks."""
    server = LoopbackHTTP()
    yield server
    server.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A running loopback SMTP server."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def _pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        import psycopg

        dsn = _pg_admin_url().replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    """Whether the PostgreSQL test server answers (TEST_DATABASE_URL, else 127.0.0.1:5432)."""
    return _pg_available()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path, pg_available: bool) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, empty database: a SQLite file, then a PostgreSQL database created and dropped for the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL or start the server on 127.0.0.1:5432)")
    import psycopg

    admin = _pg_admin_url().replace("postgresql+psycopg://", "postgresql://")
    name = f"soe_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = _pg_admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
