"""What the engine remembers between events: when a rule fired for a key, and recent matches.

The engine never touches a database: it asks a `RuleHistory`. `InMemoryHistory` serves tests and
backtests; the daemon supplies a database-backed one.

Contract for implementations:
- `last_fired(rule, key)` is the latest time the rule fired for that key: typically the newest
  stored alert with that rule and `Decision.key`. Optionally, a history may also have
  `record_fired(rule, key, at)`: the engine calls it (when present) for every decision it
  returns, so repeated events within one batch see each other before the alerts are stored.
- `record_match(rule, key, at)` must be idempotent for the same (rule, key, at): re-processing an
  event records the same `at` (the event's time), so counts do not grow.
- Stale rules keep their state in the keys: the stale alert has `key`, the recovery notice
  `key + "#recovered"` (as its Decision.key), so `last_fired` on both says whether a feed is
  currently known to be stale.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class RuleHistory(Protocol):
    """State the engine needs for repeat_after, frequency and stale rules."""

    def last_fired(self, rule: str, key: str) -> datetime | None:
        """When this rule last fired for this key, or None."""
        ...

    def count_matches(self, rule: str, key: str, since: datetime) -> int:
        """How many matches were recorded for (rule, key) at or after `since`."""
        ...

    def record_match(self, rule: str, key: str, at: datetime) -> None:
        """A fact matched a frequency rule (idempotent for the same `at`)."""
        ...


class InMemoryHistory:
    """A RuleHistory in dictionaries, for tests and backtests."""

    def __init__(self) -> None:
        self.fired: dict[tuple[str, str], datetime] = {}
        self.matches: dict[tuple[str, str], list[datetime]] = {}

    def last_fired(self, rule: str, key: str) -> datetime | None:
        """When this rule last fired for this key, or None."""
        return self.fired.get((rule, key))

    def record_fired(self, rule: str, key: str, at: datetime) -> None:
        """Remember the latest firing time (optional method: the engine calls it when present)."""
        prev = self.fired.get((rule, key))
        if prev is None or at > prev:
            self.fired[(rule, key)] = at

    def count_matches(self, rule: str, key: str, since: datetime) -> int:
        """Matches recorded at or after `since`."""
        times = self.matches.get((rule, key), [])
        return len(times) - bisect_left(times, since)

    def record_match(self, rule: str, key: str, at: datetime) -> None:
        """Remember a match time once (sorted, without duplicates)."""
        times = self.matches.setdefault((rule, key), [])
        i = bisect_left(times, at)
        if i < len(times) and times[i] == at:
            return
        insort(times, at)
