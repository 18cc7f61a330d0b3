"""The rules in force, and their hot reload: a bad edit never replaces rules that work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from rules.engine import RuleEngine
from rules.loader import LoadResult, fingerprint, load_rules

log = logging.getLogger(__name__)


class RuleBookError(Exception):
    """The rule files could not be loaded at start-up."""


class RuleBook:
    """Holds the running RuleEngine and swaps it when rule files change and still validate."""

    def __init__(self, paths: list[str], channels: Iterable[str], known_metrics: set[str] | None = None,
                 known_entities: set[str] | None = None) -> None:
        self.paths = [Path(p) for p in paths]
        self._channels = set(channels)
        self._metrics, self._entities = known_metrics, known_entities
        self._lock = threading.Lock()
        self._engine: RuleEngine | None = None
        self._fingerprint: str | None = None
        self.rule_names: list[str] = []
        self.last_error: str | None = None
        self.last_reload: datetime | None = None
        self.reloads = 0

    def _load(self) -> LoadResult:
        return load_rules(self.paths, self._channels, self._metrics, self._entities)

    def load(self) -> LoadResult:
        """First load; raise RuleBookError (with every file:line error) when the rules are invalid."""
        self._fingerprint = fingerprint(self.paths)
        result = self._load()
        for warning in result.warnings:
            log.warning("%s", warning)
        if result.errors or result.ruleset is None:
            raise RuleBookError("\n".join(str(e) for e in result.errors) or "no rules could be loaded")
        self._install(result)
        return result

    def _install(self, result: LoadResult) -> None:
        engine = RuleEngine(result.ruleset)
        with self._lock:
            self._engine = engine
            self.rule_names = [r.name for r in result.ruleset.rules]
            self.last_error = None
            self.last_reload = datetime.now(timezone.utc)
            self.reloads += 1

    @property
    def engine(self) -> RuleEngine:
        """The engine in force."""
        with self._lock:
            if self._engine is None:
                raise RuleBookError("rules have not been loaded")
            return self._engine

    def reload_if_changed(self) -> bool:
        """Reload when the files changed; on errors log them and keep the running rules. True if swapped."""
        current = fingerprint(self.paths)
        if current == self._fingerprint:
            return False
        self._fingerprint = current
        result = self._load()
        if result.errors or result.ruleset is None:
            self.last_error = "\n".join(str(e) for e in result.errors)
            for error in result.errors:
                log.error("rule reload rejected, keeping the running rules: %s", error)
            return False
        for warning in result.warnings:
            log.warning("%s", warning)
        self._install(result)
        log.info("rules reloaded: %d rule(s) in force", len(self.rule_names))
        return True
