"""Plain-text rendering of extracted facts for `soe-monitor extract` without --json."""

from __future__ import annotations

from .models import Facts


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    for scale, word in ((1e12, "tn"), (1e9, "bn"), (1e6, "mn")):
        if abs(value) >= scale:
            return f"{value / scale:,.4g} {word}"
    return f"{value:,.6g}"


def _grid(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    fmt = "  ".join("{:<" + str(w) + "}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines.extend(fmt.format(*row) for row in rows)
    return [line.rstrip() for line in lines]


def _cut(s: str | None, n: int = 40) -> str:
    if not s:
        return "-"
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def format_table(facts: Facts) -> str:
    """A readable table of figures and contracts (one line each; "-" where a field is empty)."""
    lines: list[str] = []
    rows = []
    for f in facts.figures:
        change = "-" if f.change_pct is None else f"{f.change_pct:+g}%" + (f" {f.change_basis}" if f.change_basis not in (None, "unspecified") else "")
        value = _num(f.value) if f.unit == "percent" or f.value is None else f"{_num(f.value)} {f.unit}"
        if f.unit == "percent" and f.value is not None:
            value = f"{f.value:g}%"
        rows.append([_cut(f.metric, 30), _cut(f.entity, 24), (f.qualifier + " " if f.qualifier else "") + value,
                     _num(f.usd_value), change, f.period.label if f.period else "-"])
    lines.append(f"Figures ({len(facts.figures)})")
    if rows:
        lines.extend(_grid(["metric", "entity", "value", "usd", "change", "period"], rows))
    crow = []
    for c in facts.contracts:
        value = "-" if c.value is None else f"{_num(c.value)} {c.unit or ''}".strip()
        crow.append([_cut(c.company, 28), _cut(c.counterparty, 28), _cut(c.project, 30), _cut(c.location, 24), value,
                     _num(c.usd_value)])
    lines.append("")
    lines.append(f"Contracts ({len(facts.contracts)})")
    if crow:
        lines.extend(_grid(["company", "counterparty", "project", "location", "value", "usd"], crow))
    return "\n".join(lines) + "\n"
