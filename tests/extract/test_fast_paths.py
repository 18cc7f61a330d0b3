"""Shortcuts taken for speed give exactly what the plain code they replace gives."""

from __future__ import annotations

import re

from monitor.extract import Extractor, Facts
from monitor.extract.contracts import _total_np

WINDOWS = [
    "Benchmark C Holding Group Co Ltd signed new contracts",
    "contracts", "new  contracts", "three big-ticket new contracts", "x" * 80 + " ab cd Orders",
    "it won " + "a" * 25 + " contracts", "signed two overseas\tdeals", "-- -- agreements",
]


def test_total_np_matches_the_plain_search() -> None:
    for window in WINDOWS:
        noun = window.split()[-1]
        plain = re.search(r"((?:[a-z-]{2,20}\s{1,2}){0,2})" + re.escape(noun) + r"$", window)
        fast = _total_np(window, noun)
        assert (plain and (plain.span(), plain.group(0))) == (fast and (fast.span(), fast.group(0))), window


def test_facts_equal_a_model_construct() -> None:
    facts = Extractor().extract("Its net profit rose 6.6 percent year-on-year to 42.41 billion yuan in the first half of 2020.")
    plain = Facts.model_construct(figures=facts.figures, contracts=facts.contracts)
    assert facts == plain
    assert facts.model_fields_set == plain.model_fields_set
    assert facts.model_dump_json() == plain.model_dump_json()
