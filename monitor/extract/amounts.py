"""Numbers with their scale, currency or unit, qualifier and a dollar conversion in parentheses.

One pass of a bounded number regex over the text finds every numeral; the words around each one
are read with anchored regexes on short windows, so the work per numeral is constant and the
whole pass is linear even on megabytes of digits.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from .fx import CurrencyTable
from .matcher import lower_of

AmountKind = Literal["money", "volume", "percent", "points"]


class Amount(NamedTuple):
    """A quantity in the text: [start, end) covers qualifier, currency, number, scale, unit and any conversion."""

    start: int
    end: int
    num_start: int
    num_end: int
    value: float
    unit: str
    kind: AmountKind
    qualifier: str | None = None
    usd_value: float | None = None


# A numeral: digits with optional thousands separators and decimals. Bounded; it starts with a digit so the
# regex engine can skip ahead fast. The character before it and a minus sign are checked in Python.
# Written with one leading \d (same language and match order as "\d{1,3}(?:,\d{3}){1,6}(?![\d,])|\d{1,18}(?!\d)"): a
# pattern that opens with a character class lets the regex engine skip non-digits in C.
_NUM = re.compile(r"\d(?:\d{0,2}(?:,\d{3}){1,6}(?![\d,])|\d{0,17}(?!\d))(?:\.\d{1,12}(?!\d))?")
_NOT_BEFORE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,_")

_EN_SCALES = {
    "trillion": 1e12, "tr": 1e12, "trn": 1e12, "tn": 1e12,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "bln": 1e9,
    "million": 1e6, "mln": 1e6, "mn": 1e6, "m": 1e6,
    "thousand": 1e3, "k": 1e3,
}
_ZH_SCALES = {"万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "十亿": 1e9, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4, "千": 1e3}
_SCALE = re.compile(
    r"(?:\s{0,2}(?P<en>trillion|billion|million|thousand|trn|tr|tn|bln|bn|mln|mn|b|m|k)(?![A-Za-z0-9])\.?"
    r"|\s{0,2}(?P<zhq0>余|多)?(?P<zh>万亿|千亿|百亿|十亿|亿|千万|百万|万|千)(?P<zhq>余|多)?)",
    re.IGNORECASE,
)
_PERCENT = re.compile(
    r"\s{0,2}(?:(?P<pp>percentage[\s-]points?|pct[\s-]points?|个百分点|百分点|basis points|bps)"
    r"|(?P<pct>%|percent(?![A-Za-z])|per[\s-]cent(?![A-Za-z])|pct(?![A-Za-z])|pc(?![A-Za-z])))",
    re.IGNORECASE,
)
# Units of physical volume (unit word -> unit written into the fact). Longest first.
_UNITS = [
    ("barrels of oil equivalent", "boe"), ("twenty-foot equivalent units", "TEU"), ("metric tonnes", "tonnes"),
    ("metric tons", "tonnes"), ("cubic metres", "cubic metres"), ("cubic meters", "cubic metres"),
    ("cubic feet", "cubic feet"), ("kilowatt-hours", "kWh"), ("kilowatt hours", "kWh"), ("kwh", "kWh"),
    ("tonnes", "tonnes"), ("tonne", "tonnes"), ("tons", "tonnes"), ("ton", "tonnes"), ("teus", "TEU"), ("teu", "TEU"),
    ("barrels", "barrels"), ("barrel", "barrels"), ("bbl", "barrels"), ("boe", "boe"), ("units", "units"),
    ("vehicles", "vehicles"), ("cars", "vehicles"),
    ("立方英尺", "cubic feet"), ("桶油当量", "boe"), ("千瓦时", "kWh"), ("标准箱", "TEU"), ("标箱", "TEU"), ("立方米", "cubic metres"), ("吨", "tonnes"), ("桶", "barrels"),
    ("辆", "vehicles"), ("台", "units"),
]
_UNIT = re.compile(
    r"\s{0,2}(?:" + "|".join(re.escape(u) + (r"(?![A-Za-z])" if u.isascii() else "") for u, _ in _UNITS) + ")",
    re.IGNORECASE,
)
_UNIT_MAP = {u.lower(): v for u, v in _UNITS}
# Qualifiers written before an amount (checked with str.endswith on a short window: no scanning regex).
_QUALIFIERS = (
    "more than", "in excess of", "an estimated", "approximately", "at least", "less than", "close to", "up to",
    "approx.", "roughly", "nearly", "almost", "around", "about", "over", "some",
    "不少于", "不低于", "超过", "将近", "接近", "大约", "突破", "约为", "逾", "超", "近", "约",
)
_QUALIFIER_SET = tuple(_QUALIFIERS)
_OPEN_PAREN = re.compile(r"\s{0,2}[(（]\s{0,2}(?:about |around |approximately |roughly |or |some |nearly |约)?\s{0,2}")
_CLOSE_PAREN = re.compile(r"\s{0,2}[)）]")


def _caseless(pattern: str) -> bool:
    """True when a pattern's letters are all lower-case ASCII or caseless (CJK), outside escapes, A-Z ranges and
    group names."""
    rest = re.sub(r"\\[A-Za-z]|A-Z|\(\?P<\w+>", "", pattern)
    return not any(c.isalpha() and (c.upper() != c.lower() if not c.isascii() else c.isupper()) for c in rest)


class AmountParser:
    """Finds amounts in text using the currency table's prefixes and names."""

    def __init__(self, currencies: CurrencyTable) -> None:
        self._fx = currencies
        self._prefix_list = sorted(currencies.prefixes(), key=len, reverse=True)
        self._prefixes = tuple(self._prefix_list)
        names = sorted(currencies.names(), key=len, reverse=True)
        self._name = re.compile(
            r"\s{0,2}(?:"
            + "|".join(re.escape(n).replace(r"\ ", r"\s{1,2}") + (r"(?![A-Za-z])" if n.isascii() else "") for n in names)
            + ")",
            re.IGNORECASE,
        )
        # The four suffix patterns in one (tried in this order), so one call tells whether any follows the number.
        # Named groups say which part matched: the part's match is then what its own regex would return there.
        self._any_suffix = re.compile(
            "|".join(r.pattern for r in (_PERCENT, _SCALE)) + "|(?P<unitw>" + _UNIT.pattern + ")|(?P<cur>"
            + self._name.pattern + ")", re.IGNORECASE)
        # The same three patterns, case-sensitive, for lower-cased text: the regex engine can then skip the
        # alternatives by their first character (it cannot under IGNORECASE), with the same matches (see find()).
        self._any_suffix_cs = re.compile(self._any_suffix.pattern)
        self._name_cs = re.compile(self._name.pattern)
        self._unit_cs = re.compile(_UNIT.pattern)
        self._cs_ok = all(_caseless(r.pattern) for r in (self._any_suffix, self._name, _UNIT))

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[Amount]:
        """All amounts in text[start:end], dollar conversions in parentheses folded into the amount before them."""
        end = len(text) if end is None else end
        raw: list[Amount] = []
        # Case-insensitive matching equals case-sensitive matching of lower-case patterns on lower-cased text when
        # lower-casing keeps every offset and the text has none of the letters re.IGNORECASE also folds
        # (ſ for s, ı for i, the Kelvin sign for k).
        lower = lower_of(text)
        if self._cs_ok and len(lower) == len(text) and not ("\u017f" in text or "\u0131" in text or "\u212a" in text):
            regexes = (lower, self._any_suffix_cs, self._name_cs, self._unit_cs)
        else:
            regexes = (text, self._any_suffix, self._name, _UNIT)
        for m in _NUM.finditer(text, start, end):
            s = m.start()
            if s > 0 and text[s - 1] in _NOT_BEFORE:
                # "RMB5bn", "US$5m": letters right before digits are fine only when they are a currency prefix.
                if not (text[s - 1].isalpha() and text[max(0, s - 8):s].endswith(self._prefixes)):
                    continue
            if s > 0 and text[s - 1] in "-−" and (s < 2 or not (text[s - 2].isascii() and text[s - 2].isalnum())):
                s -= 1  # a minus sign: "-5.9%"
            amount = self._read(text, s, m.end(), end, regexes)
            if amount is not None:
                raw.append(amount)
        return _fold_conversions(text, raw)

    def _read(self, text: str, s: int, e: int, limit: int, regexes: tuple) -> Amount | None:
        hay, any_suffix_rx, name_rx, unit_rx = regexes  # hay: text, or its lower-cased copy for the -_cs regexes
        # Fast reject: years, dates and counts followed by punctuation, with no currency sign before them.
        nxt = text[e:e + 2].lstrip()[:1]
        prefixed = None  # is a currency prefix written before the number? (computed when first needed)
        if not nxt or not (nxt.isalnum() or nxt in "%$€£¥"):
            prefixed = text[max(0, s - 8):s].rstrip().endswith(self._prefixes)
            if not prefixed:
                return None
        # One cheap look for any suffix at all (percent, scale, currency or unit) before the detailed reading.
        any_suffix = any_suffix_rx.match(hay, e, limit)
        if not any_suffix:
            if prefixed is None:
                prefixed = text[max(0, s - 8):s].rstrip().endswith(self._prefixes)
            if not prefixed:
                return None
        digits = text[s:e].replace(",", "").replace("−", "-")
        try:
            value = float(digits)
        except ValueError:
            return None
        pos = e
        # Percentages and percentage points come straight after the number (the look above already says so).
        pm = any_suffix if any_suffix and (any_suffix.group("pp") or any_suffix.group("pct")) else None
        if pm:
            kind: AmountKind = "points" if pm.group("pp") else "percent"
            qualifier, q_start = self._qualifier(text, s)
            return Amount(q_start if qualifier else s, pm.end(), s, e, value, "percent", kind, qualifier)
        qualifier_after = None
        # _SCALE.match(text, pos, limit), read off the combined match: the scale part matched, or the number has none.
        sm = any_suffix if any_suffix is not None and (any_suffix.group("en") or any_suffix.group("zh")) else None
        if sm:
            word = sm.group("en") or sm.group("zh")
            scale = _EN_SCALES.get(word.lower()) if sm.group("en") else _ZH_SCALES[word]
            # Single-letter scales ("5m", "3b") only when written right after the digits.
            if sm.group("en") and len(word) == 1 and sm.start("en") != pos:
                scale = None
            if scale is not None:
                value = float(f"{value * scale:.15g}")  # 35.2 * 1e8 -> 3520000000.0, not ...0000005
                pos = sm.end()
                if sm.group("zh") and (sm.group("zhq") or sm.group("zhq0")):
                    qualifier_after = sm.group("zhq") or sm.group("zhq0")
        elif text.startswith(("余", "多"), pos):
            qualifier_after = text[pos]
            pos += 1
        unit: str | None = None
        kind = "money"
        begin = s
        window = text[max(0, s - 8):s].rstrip()
        if window.endswith(self._prefixes):
            for p in self._prefix_list:
                before = window[-len(p) - 1] if len(window) > len(p) else " "
                if window.endswith(p) and not (p[0].isascii() and p[0].isalpha() and before.isascii() and before.isalpha()):
                    unit = self._fx.code_for_prefix(p)
                    begin = s - (len(text[max(0, s - 8):s]) - len(window)) - len(p)
                    break
        if pos == e and (any_suffix is None or any_suffix.group("cur") is not None):
            nm = any_suffix  # the currency part of the combined match is what _name.match returns here
        else:
            nm = name_rx.match(hay, pos, limit)
        if nm:
            code = self._fx.code_for_name(nm.group().strip())
            if unit is None or code == unit or code is None:
                unit = unit or code
                pos = nm.end()
                # "亿元人民币": the currency may be written twice.
                again = name_rx.match(hay, pos, limit)
                if again and self._fx.code_for_name(again.group().strip()) == unit:
                    pos = again.end()
        if unit is None:
            if pos == e and (any_suffix is None or any_suffix.group("cur") is not None):
                um = None  # the combined match found no unit here (its unit part comes before the currency part)
            elif pos == e and any_suffix.group("unitw") is not None:
                um = any_suffix
            else:
                um = unit_rx.match(hay, pos, limit)
            if not um:
                return None
            unit = _UNIT_MAP[um.group().strip().lower()]
            kind = "volume"
            pos = um.end()
        qualifier, q_start = self._qualifier(text, begin)
        if qualifier:
            begin = q_start
        else:
            qualifier = qualifier_after
        if qualifier_after and qualifier == qualifier_after:
            qualifier = {"余": "more than", "多": "more than"}[qualifier_after]
        if not qualifier and text.startswith("左右", pos):  # "6500亿元左右": about
            qualifier, pos = "左右", pos + 2
        return Amount(begin, pos, s, e, value, unit, kind, qualifier)  # type: ignore[arg-type]

    @staticmethod
    def _qualifier(text: str, s: int) -> tuple[str | None, int]:
        """A qualifier ("more than", 约) just before position s, and where it starts."""
        raw = text[max(0, s - 16):s]
        window = raw.rstrip()
        low = window.lower()
        if not low.endswith(_QUALIFIER_SET):
            return None, s
        for q in _QUALIFIERS:
            if low.endswith(q):
                i = len(low) - len(q)
                if q.isascii() and i > 0 and low[i - 1].isalpha():
                    continue
                return (q if q.isascii() else window[i:]), s - (len(raw) - i)
        return None, s


def _fold_conversions(text: str, amounts: list[Amount]) -> list[Amount]:
    """Fold "X yuan ($Y)" into one amount with usd_value Y; the parenthesised amount is not a figure."""
    out: list[Amount] = []
    i = 0
    while i < len(amounts):
        a = amounts[i]
        if a.kind == "money" and i + 1 < len(amounts):
            b = amounts[i + 1]
            op = _OPEN_PAREN.match(text, a.end)
            if op and b.kind == "money" and op.end() >= b.start - 1 and b.start >= a.end:
                cl = _CLOSE_PAREN.match(text, b.end)
                if cl and b.start - a.end <= 20:
                    usd = b.value if b.unit == "USD" and a.unit != "USD" else a.usd_value
                    out.append(a._replace(end=cl.end(), usd_value=usd))
                    i += 2
                    continue
        out.append(a)
        i += 1
    return out
