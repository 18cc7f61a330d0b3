"""Headlines in capitals read like the same headline in sentence case; the quote keeps the capitals."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract import Extractor
from monitor.extract.sentences import normalize

PUB = date(2024, 12, 20)


@pytest.mark.parametrize(("text", "expected"), [
    ("SOES PROFITS ROSE 2.1 PERCENT TO 1.5 TRILLION YUAN IN THE FIRST 11 MONTHS OF 2024",
     "Soes Profits rose 2.1 percent to 1.5 trillion yuan in the first 11 months of 2024"),
    ("US$5.6 BILLION DEAL FOR CHINA’S CRRC IN THE UAE", "US$5.6 billion Deal for China’s Crrc in the UAE"),
    ("CRRC, GDP", "CRRC, GDP"),  # too few capitals for a headline: names
    ("央企CRRC与SASAC签约 NEW CONTRACTS", "央企CRRC与SASAC签约 NEW CONTRACTS"),  # capitals among Chinese: names
    ("Sinopec NET PROFIT ROSE", "Sinopec NET PROFIT ROSE"),  # small letters: written that way on purpose
    ("FIRST LINE IN CAPITALS\nsecond line as is", "first Line in Capitals\nsecond line as is"),
])
def test_lines_in_capitals_are_read_in_headline_case(text: str, expected: str) -> None:
    assert normalize(text) == expected and len(normalize(text)) == len(text)


@pytest.mark.parametrize("headline", [
    "Sinopec's net profit rose 3.5 percent to 21 billion yuan in the first half of 2024",
    "Central SOEs' revenue grew 2.1 percent to 77.9 trillion yuan between January and November",
    "CRRC secured the $5.6 billion Dubai Metro Blue Line contract",
])
def test_a_headline_in_capitals_gives_the_same_facts(headline: str) -> None:
    ex = Extractor()
    plain, capitals = ex.extract(headline, published=PUB), ex.extract(headline.upper(), published=PUB)

    def facts(found):  # type: ignore[no-untyped-def]
        return ([(f.metric, f.value, f.change_pct, f.period.label if f.period else None) for f in found.figures],
                [(c.company, c.value) for c in found.contracts])

    assert facts(capitals) == facts(plain) and (plain.figures or plain.contracts)
    assert all(f.quote.isupper() for f in capitals.figures)  # quoted as written
