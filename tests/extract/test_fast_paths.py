"""Shortcuts taken for speed give exactly what the plain code they replace gives (extractor, trusted models)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

from monitor.extract import Extractor, Facts, Figure
from monitor.extract.contracts import _total_np
from monitor.observe import article_ref
from monitor.trusted_models import build_trusted
from rules.events import ArticleRef, PeriodRef
from storage.articles import KnownArticle

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


def test_figures_equal_a_validated_figure() -> None:
    facts = Extractor().extract("CRRC's revenue rose 3.9 percent to 1.79 trillion yuan between January and November 2024.")
    assert facts.figures
    for figure in facts.figures:
        validated = Figure(**figure.model_dump())
        assert figure == validated
        assert figure.model_fields_set == validated.model_fields_set
        assert figure.model_dump_json() == validated.model_dump_json()


def test_build_trusted_equals_model_construct() -> None:
    values = {"start": date(2024, 1, 1), "end": date(2024, 6, 30), "label": "2024-H1", "kind": "half"}
    fast = build_trusted(PeriodRef, dict(values))
    plain = PeriodRef.model_construct(**values)
    assert fast == plain == PeriodRef(**values)
    assert fast.model_fields_set == plain.model_fields_set
    assert fast.model_dump_json() == plain.model_dump_json()
    assert fast.model_copy(update={"label": "H1"}).label == "H1"  # a real model: copying and updating work
    assert build_trusted(PeriodRef, dict(values)) is not fast


def test_an_article_ref_equals_a_validated_one() -> None:
    known = KnownArticle(7, "uid-7", "https://x.example/7", "h", "Title", datetime(2024, 12, 2, tzinfo=timezone.utc))
    for feed in ("f", None):
        ref = article_ref(known, feed)
        assert ref == ArticleRef(id=7, title="Title", url="https://x.example/7", feed=feed, published=known.published)
        assert ref.model_dump_json() == ArticleRef.model_validate(ref.model_dump()).model_dump_json()
