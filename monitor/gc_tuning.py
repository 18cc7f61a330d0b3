"""Garbage-collector settings for the long-running daemon.

By the time the daemon starts its scheduler it holds a large heap that lives as long as the
process: the config, the extractor's vocabularies and gazetteer, the rules, pydantic schemas and
SQLAlchemy's mappers. Every full collection walks all of it again, and a poll allocates
thousands of short-lived containers (feed entries, facts, rows), which set collections off
every few hundred allocations. Measured on bench/poll.py (b), the collector took about 6% of
the daemon's CPU; with the settings below, under 0.5%.
"""

from __future__ import annotations

import gc

# Container allocations (net of frees) between young-generation collections; CPython's default
# is 700. Garbage in reference cycles waits a little longer; everything else is still freed at once.
YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Call once start-up is done: collect start-up's garbage, then move every surviving object
    to a permanent generation the collector no longer scans, and collect the young generation less
    often. Objects frozen here are still freed by reference counting when released; one in a
    reference cycle waits for the next call, which first unfreezes so that such garbage is found."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
