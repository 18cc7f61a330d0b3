"""Drop repeated figures: a headline restating a body figure, or the same fact said twice."""

from __future__ import annotations

from .models import Contract, Figure


def _round_sig(x: float, digits: int) -> float:
    return float(f"{x:.{max(1, digits)}g}")


def _sig_digits(x: float) -> int:
    mantissa = f"{abs(x):.12g}".split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return max(1, len(mantissa))


def _restates(title: Figure, body: Figure) -> bool:
    """Does a headline figure say the same as a body figure, allowing headline rounding of a level?"""
    if title.metric != body.metric:
        return False
    if title.period and body.period and (title.period.start, title.period.end) != (body.period.start, body.period.end):
        return False
    if title.value is None:
        # "exports up 3.9%" in a headline restates "exports grew 3.9% to X" in the body.
        return title.change_pct is not None and title.change_pct == body.change_pct and title.entity in (None, body.entity)
    if title.change_pct is not None and body.change_pct is not None and title.change_pct != body.change_pct:
        return False
    candidates = []
    if body.value is not None and body.unit == title.unit:
        candidates.append(body.value)
    if title.unit == "USD" and body.usd_value is not None and body.unit != "USD":
        candidates.append(body.usd_value)
    digits = _sig_digits(title.value)
    return any(abs(_round_sig(c, digits) - title.value) <= 1e-9 * max(1.0, abs(title.value)) for c in candidates)


def dedupe(figures: list[Figure], title_span: tuple[int, int] | None) -> list[Figure]:
    """Keep one figure per (metric, entity, value, unit, period, change); headline copies give way to the body's."""
    def in_title(f: Figure) -> bool:
        """Is the figure from the headline?"""
        return title_span is not None and f.span[0] >= title_span[0] and f.span[1] <= title_span[1]

    body = [f for f in figures if not in_title(f)]
    out: list[Figure] = []
    seen: set[tuple] = set()
    for f in figures:
        if in_title(f) and any(_restates(f, b) for b in body):
            continue
        key = (f.metric, f.entity, f.value, f.unit, (f.period.start, f.period.end, f.period.label) if f.period else None,
               f.change_pct)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


def dedupe_contracts(contracts: list[Contract], title_span: tuple[int, int] | None) -> list[Contract]:
    """One contract per (company, value, unit): a headline deal restated in the body keeps the body's version."""
    def in_title(c: Contract) -> bool:
        """Is the contract from the headline?"""
        return title_span is not None and c.span[0] >= title_span[0] and c.span[1] <= title_span[1]

    body = [c for c in contracts if not in_title(c)]
    body_keys = {(c.company, c.unit, _round_sig(c.value, 2) if c.value else None) for c in body}
    body_companies = {c.company for c in body}
    out: list[Contract] = []
    seen: set[tuple] = set()
    for c in contracts:
        key = (c.company, c.unit, _round_sig(c.value, 2) if c.value else None)
        # "CRRC wins Dubai Metro contract" announces the deal the body then details: keep the body's.
        if in_title(c) and (key in body_keys or (c.value is None and c.company in body_companies)):
            continue
        exact = (c.company, c.counterparty, c.project, c.value, c.unit, c.span)
        if exact in seen:
            continue
        seen.add(exact)
        out.append(c)
    return out
