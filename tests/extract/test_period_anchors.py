"""The fast paths of the period finder agree with their plain definitions."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest

from monitor.extract import periods as P


def _spec_anchors(text: str, start: int, end: int, spans: list[tuple[int, int]] | None) -> list[tuple[int, str]]:
    """Every occurrence of every anchor word starting in a span and ending by `end`, kept when it is a whole word
    (month words: the whole run of letters is a month name; years: two more digits, none around)."""
    def letter(ch: str) -> bool:
        return ch.isascii() and ch.isalpha()

    out = []
    n = len(text)
    for lo, stop in ([(start, end)] if spans is None else spans):
        lo = max(lo, start)
        for cls, words in P._ANCHOR_WORDS.items():
            for w in words:
                for i in range(lo, min(stop, end - len(w) + 1)):
                    if not text.startswith(w, i):
                        continue
                    j = i + len(w)
                    before = text[i - 1] if i > 0 else " "
                    after = text[j] if j < n else " "
                    if cls == "num":
                        ok = j + 2 <= end and text[j:j + 2].isdigit() and not before.isdigit() and not text[j + 2:j + 3].isdigit()
                    elif cls == "zh":
                        ok = True
                    elif cls == "mon":
                        k = j
                        while k < min(n, i + 10) and letter(text[k]):
                            k += 1
                        ok = not letter(before) and text[i:k] in P._MONTH_WORDS
                    else:
                        ok = not letter(before) and (not letter(after) or after == "s")
                    if ok:
                        out.append((i, cls))
    return sorted(out)


PIECES = ["H", "1", "2", "0", "9", "19", "20", "Q", "a", "s", "Jan", "January", "Mayear", "May", "Sept", "Septembers", "half",
          "Half", "HALF", "quarter", "QUARTER", "QUARTERS", "months", "MONTHS", "year", "Year", "YEAR", "end", "End", "END", "S", " ", "-", ",", ".", "年", "月", "季", "期", "²", "٣", "x",
          "\n", "(", "ſ", "FY", "2024", "H2025", "Q2024"]


def test_anchors_match_their_definition() -> None:
    rnd = random.Random(3)
    for _ in range(3000):
        text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 25)))
        n = len(text)
        cuts = sorted(rnd.sample(range(n + 1), min(n + 1, 4)))
        spans = [(cuts[k], cuts[k + 1]) for k in range(0, len(cuts) - 1, 2)]
        for start, end, sp in ((0, n, None), (rnd.randint(0, n), n - rnd.randint(0, min(n, 3)), None), (0, n, spans)):
            end = max(start, end)
            assert P._anchors(text, start, end, sp) == _spec_anchors(text, start, end, sp), (text, start, end, sp)


def test_cased_first_characters_are_exact() -> None:
    """A character passes the cased set exactly when (lower-cased if folding) it is in the original set."""
    by_lower: dict[str, list[str]] = {}
    for c in range(0x110000):
        ch = chr(c)
        by_lower.setdefault(ch.lower(), []).append(ch)
    for entries in P._BY_TAG_FIRST.values():
        for _, first, fold in entries:
            if first is None or not fold:
                continue
            expect = {ch for low, chars in by_lower.items() if low in first for ch in chars}
            assert set(P._cased(first, fold)) == expect, first


def test_end_literal_ignoring_case() -> None:
    ignoring_case = re.compile("(?i:[end])")
    assert [chr(c) for c in range(0x110000) if ignoring_case.fullmatch(chr(c))] == list("DENden")
    assert P._END_RE.pattern == "[eE][nN][dD]"


def test_word_starts_match_their_definition() -> None:
    rnd = random.Random(4)
    pieces = ["ab", " ", "  ", "\t", "\n", "(", ",", "-", "x", "\u3000", "\r", "é"]
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 30)))
        p = rnd.randint(0, len(text))
        floor = rnd.randint(0, p)
        words = rnd.randint(0, 5)
        expect = [m.start() for m in P._WORD_START.finditer(text, floor, p)]
        expect = (expect[-words:] if words else []) + [p]
        assert P._word_starts(text, p, floor, words) == expect, (text, p, floor, words)


@pytest.mark.parametrize("text, label", [
    ("Profit rose 5 percent to 3 billion yuan in the ſecond quarter of 2024.", "2024-Q2"),
    ("Exports rose 5 percent to 3 billion yuan in the fırst half of 2024.", "2024-H1"),
])
def test_letters_that_case_folding_matches_do_not_break_word_lookups(text: str, label: str) -> None:
    # Case-insensitive patterns match "ſ" as "s" and "ı" as "i"; the lookups after them must too.
    from monitor.extract import Extractor

    (figure,) = Extractor().extract(text, published=date(2024, 12, 1)).figures
    assert figure.period.label == label and figure.value == 3e9
