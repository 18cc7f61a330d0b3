"""Numbers, periods and changes in words, for alert subjects and messages.

Alerts are read by people on a phone: "1.79 trillion yuan", never "1790000000000.0 CNY".
"""

from __future__ import annotations

import math
from datetime import date, datetime

#: ISO 4217 codes -> the currency in words (plural). Unknown codes are written as the code.
CURRENCY_WORDS: dict[str, str] = {
    "CNY": "yuan",
    "RMB": "yuan",
    "USD": "US dollars",
    "EUR": "euros",
    "HKD": "Hong Kong dollars",
    "JPY": "yen",
    "GBP": "pounds sterling",
    "AUD": "Australian dollars",
    "CAD": "Canadian dollars",
    "SGD": "Singapore dollars",
    "CHF": "Swiss francs",
    "RUB": "roubles",
    "INR": "rupees",
    "KRW": "won",
    "AED": "dirhams",
    "SAR": "riyals",
    "BRL": "reais",
    "ZAR": "rand",
    "MYR": "ringgit",
    "IDR": "rupiah",
    "THB": "baht",
    "NGN": "naira",
    "PKR": "Pakistani rupees",
    "TRY": "lira",
}

_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))

CHANGE_BASIS_WORDS: dict[str, str] = {
    "yoy": "year on year",
    "mom": "month on month",
    "qoq": "quarter on quarter",
    "previous": "on the previous period",
    "same_period_last_year": "on the same period last year",
    "unspecified": "",
}


def number_words(value: float | int | None, digits: int = 3) -> str:
    """A number with a scale word: 1790000000000 -> "1.79 trillion", 950000 -> "950,000"."""
    if value is None:
        return "an unknown amount"
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    for scale, word in _SCALES:
        if magnitude >= scale:
            return f"{sign}{_trim(magnitude / scale, digits)} {word}"
    if magnitude == int(magnitude):
        return f"{sign}{int(magnitude):,}"
    return f"{sign}{_trim(magnitude, 2)}"


def _trim(x: float, digits: int) -> str:
    """Fixed decimals without trailing zeros, with thousands separators: 1.790 -> "1.79"."""
    text = f"{x:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def unit_words(unit: str | None) -> str:
    """The unit in words: CNY -> "yuan", percent -> "percent", tonnes -> "tonnes"."""
    if not unit:
        return ""
    if unit.upper() in CURRENCY_WORDS:
        return CURRENCY_WORDS[unit.upper()]
    if unit.lower() in ("percent", "pct", "%"):
        return "percent"
    return unit


def amount_words(value: float | int | None, unit: str | None = None) -> str:
    """A value with its unit in words: (1.79e12, "CNY") -> "1.79 trillion yuan",
    (5.6e9, "USD") -> "5.6 billion US dollars", (64.3, "percent") -> "64.3 percent"."""
    if value is None:
        return "no value given"
    if unit and unit.lower() in ("percent", "pct", "%"):
        return f"{_trim(float(value), 2) if math.isfinite(value) else 'n/a'} percent"
    words = unit_words(unit)
    return f"{number_words(value)} {words}".rstrip()


def percent_words(pct: float | None, digits: int = 1) -> str:
    """A signed percentage: 3.94 -> "+3.9%", -6.2 -> "-6.2%"."""
    if pct is None or not math.isfinite(pct):
        return "n/a"
    return f"{pct:+.{digits}f}%"


def change_words(pct: float | None, basis: str | None = None, digits: int = 1) -> str:
    """A change in words: (3.9, "yoy") -> "up 3.9% year on year"; (0, None) -> "unchanged"."""
    if pct is None or not math.isfinite(pct):
        return ""
    rounded = round(pct, digits)
    basis_text = CHANGE_BASIS_WORDS.get(basis or "", basis or "")
    if rounded == 0:
        text = "unchanged"
    else:
        text = f"{'up' if rounded > 0 else 'down'} {abs(rounded):.{digits}f}%"
    return f"{text} {basis_text}".strip()


def pct_change(value: float | None, base: float | None) -> float | None:
    """Percentage change from `base` to `value`; None when either is missing or base is 0.

    A negative base (a loss) is measured against its size, so a smaller loss is a rise.
    """
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base) * 100.0


def period_words(period: object | None) -> str:
    """A PeriodRef in words: its label, else "start to end", else ""."""
    if period is None:
        return ""
    label = getattr(period, "label", "") or ""
    if label:
        return label
    start, end = getattr(period, "start", None), getattr(period, "end", None)
    if start and end and start != end:
        return f"{start.isoformat()} to {end.isoformat()}"
    if end or start:
        return (end or start).isoformat()
    return ""


def metric_words(metric: str | None) -> str:
    """A canonical metric name for people: operating_revenue -> "operating revenue"."""
    return (metric or "").replace("_", " ")


def duration_words(seconds: float) -> str:
    """A duration in words: 172800 -> "2 days", 5400 -> "1.5 hours"."""
    for size, word in ((604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and (size != 604800 or seconds % size == 0):  # "30 days", not "4.3 weeks"
            n = seconds / size
            text = _trim(n, 1)
            return f"{text} {word}{'' if text == '1' else 's'}"
    n = int(seconds)
    return f"{n} second{'' if n == 1 else 's'}"


def when_words(moment: datetime | date | None) -> str:
    """A timestamp for messages: 2026-11-26 11:00 UTC."""
    if moment is None:
        return "never"
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            return moment.strftime("%Y-%m-%d %H:%M %Z").strip()
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.isoformat()
