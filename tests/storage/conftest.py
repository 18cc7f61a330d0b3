"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from storage.db import make_engine
from storage.migrate import upgrade


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database (SQLite, then PostgreSQL)."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
