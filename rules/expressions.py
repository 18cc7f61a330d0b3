"""`where:` conditions in CEL (Common Expression Language) through cel-python.

CEL is side-effect free and cannot reach Python objects, which is why it is used instead of
`eval`. The activation is the event as JSON plus `baseline` (the SeriesPoint the rule compares
with, or null) and `has_baseline` (cel-python 0.5 cannot test `baseline != null`). An expression that fails at run time (e.g. `usd_value > 1e9` when usd_value is
null) counts as false.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

log = logging.getLogger(__name__)


@cache
def _env() -> Any:
    """cel-python's environment, imported on first use: only rules with `where` need it (~8 MB)."""
    import celpy

    return celpy.Environment()


def _is_bool(value: Any) -> bool:
    from celpy import celtypes

    return isinstance(value, celtypes.BoolType)


class ExpressionError(ValueError):
    """A `where` expression that does not compile, or fails on a sample event."""


def _cel_message(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if "undeclared reference to" in text:
        # cel-python's message dumps the whole activation; keep the useful head.
        name = text.split("undeclared reference to", 1)[1].split("(", 1)[0].strip()
        return f"unknown name {name}"
    return " ".join(text.split())[:300]


class WhereExpr:
    """A compiled CEL condition."""

    __slots__ = ("source", "_program")

    def __init__(self, source: str) -> None:
        """Compile `source`; raise ExpressionError with cel-python's message if it does not parse."""
        self.source = source
        if not source.strip():
            raise ExpressionError("empty expression")
        try:
            env = _env()
            self._program = env.program(env.compile(source))
        except Exception as exc:  # celpy raises CELParseError, and lark errors for odd input
            raise ExpressionError(f"does not compile: {' '.join(str(exc).split())}") from None

    def evaluate(self, activation: dict[str, Any]) -> Any:
        """The raw CEL value; raises ExpressionError if evaluation fails."""
        try:
            result = self._program.evaluate(activation)
        except Exception as exc:
            raise ExpressionError(_cel_message(exc)) from None
        if isinstance(result, Exception):  # cel-python returns some errors instead of raising
            raise ExpressionError(_cel_message(result))
        return result

    def test(self, activation: dict[str, Any]) -> bool:
        """True only when the expression evaluates to boolean true; errors count as false."""
        try:
            result = self.evaluate(activation)
        except ExpressionError as exc:
            log.debug("where %r failed: %s", self.source, exc)
            return False
        return _is_bool(result) and bool(result)

    def check(self, activation: dict[str, Any]) -> None:
        """Load-time check against a fully populated sample event: unknown names and non-boolean
        results are errors (typos would otherwise silently never match)."""
        result = self.evaluate(activation)
        if not _is_bool(result):
            raise ExpressionError(f"must be true or false, but gives a {type(result).__name__.replace('Type', '').lower()}")


def activation(fields: dict[str, Any]) -> dict[str, Any]:
    """CEL variables from JSON-like data (the event's model_dump(mode="json") plus extras)."""
    import celpy

    return {name: celpy.json_to_cel(value) for name, value in fields.items()}
