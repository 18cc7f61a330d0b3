"""The cheap pre-checks in front of the period regexes never skip a position where the regex would match."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.extract import periods as P

SAMPLES = [
    "between January and March 2020, from Feb. to Oct. 2023, in the first half of 2024, the ſecond half, H1 2024, 2023H2",
    "1H 2023 and 2H, Q3 2024, 2024 Q1, 2022-03, FY2023, fiscal year 2023, Fiscal 2024, FISCAL 2022 and THE FIRST HALF",
    "at the end of March, By the End of June 2024, as of the end of 2023, year-end 2022, the first three quarters of 2024",
    "the first 11 months, The first nine months of last year, third quarter, 4th quarter of 2019, Sept. 30, 2024",
    "截至2024年9月30日，12月31日，十一月三十日，到2023年6月30日，over the same period of last year, compared with 2023",
]


def _texts() -> list[str]:
    folder = Path("/work/shared/corpora/dev")
    corpus = [json.loads(p.read_text(encoding="utf-8"))["text"] for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return SAMPLES + corpus


def test_first_characters_cover_every_match() -> None:
    for text in _texts():
        for tag, entries in P._BY_TAG_FIRST.items():
            for rx, first, fold in entries:
                if first is None:
                    continue
                for s in range(len(text)):
                    if rx.match(text, s) is not None:
                        ch = text[s].lower() if fold else text[s]
                        assert ch in first, (tag, rx.pattern[:40], text[s:s + 30])
