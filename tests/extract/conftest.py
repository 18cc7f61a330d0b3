"""Shared fixtures for the extractor tests."""

from __future__ import annotations

import pytest

from monitor.extract import Extractor


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    """One extractor for the whole session (loading the data files takes a few milliseconds)."""
    return Extractor()
