"""Periods: finding and resolving years, halves, quarters, months, ranges, year to date and month-ends."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract.periods import find_periods, resolve

PUB = date(2025, 1, 3)

# text, published, context year, label, kind, start, end
CASES = [
    ("in 2023", None, None, "2023", "year", "2023-01-01", "2023-12-31"),
    ("for fiscal 2022", None, None, "2022", "year", "2022-01-01", "2022-12-31"),
    ("FY2021 results", None, None, "2021", "year", "2021-01-01", "2021-12-31"),
    ("in the first quarter of 2024", None, None, "2024-Q1", "quarter", "2024-01-01", "2024-03-31"),
    ("third quarter", date(2024, 11, 5), None, "2024-Q3", "quarter", "2024-07-01", "2024-09-30"),
    ("Q2 2023", None, None, "2023-Q2", "quarter", "2023-04-01", "2023-06-30"),
    ("2024 Q4", None, None, "2024-Q4", "quarter", "2024-10-01", "2024-12-31"),
    ("2024年一季度", None, None, "2024-Q1", "quarter", "2024-01-01", "2024-03-31"),
    ("第三季度", None, 2023, "2023-Q3", "quarter", "2023-07-01", "2023-09-30"),
    ("H1 2024", None, None, "2024-H1", "half", "2024-01-01", "2024-06-30"),
    ("in the first half", date(2024, 8, 30), None, "2024-H1", "half", "2024-01-01", "2024-06-30"),
    ("the second half of 2023", None, None, "2023-H2", "half", "2023-07-01", "2023-12-31"),
    ("second half", date(2023, 8, 1), 2023, "2023-H2", "half", "2023-07-01", "2023-12-31"),
    ("2024年上半年", None, None, "2024-H1", "half", "2024-01-01", "2024-06-30"),
    ("下半年", None, 2022, "2022-H2", "half", "2022-07-01", "2022-12-31"),
    ("in March 2024", None, None, "2024-03", "month", "2024-03-01", "2024-03-31"),
    ("2022-03", None, None, "2022-03", "month", "2022-03-01", "2022-03-31"),
    ("2023年5月", None, None, "2023-05", "month", "2023-05-01", "2023-05-31"),
    ("January-November 2024", None, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("Jan.-Nov.", PUB, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("between January and November", PUB, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("from January to June", date(2023, 7, 20), None, "January-June 2023", "ytd", "2023-01-01", "2023-06-30"),
    ("from March to May 2021", None, None, "March-May 2021", "range", "2021-03-01", "2021-05-31"),
    ("1-11月", PUB, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("1—11月", PUB, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("3-6月", None, 2021, "March-June 2021", "range", "2021-03-01", "2021-06-30"),
    ("2022年1-3月", None, None, "January-March 2022", "ytd", "2022-01-01", "2022-03-31"),
    ("the first 11 months", PUB, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("the first 11 months last year", PUB, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("the first eight months of 2023", None, None, "January-August 2023", "ytd", "2023-01-01", "2023-08-31"),
    ("the first three quarters", date(2024, 10, 25), None, "January-September 2024", "ytd", "2024-01-01", "2024-09-30"),
    ("前三季度", date(2024, 10, 25), None, "January-September 2024", "ytd", "2024-01-01", "2024-09-30"),
    ("前11个月", PUB, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("今年前10个月", date(2024, 11, 20), None, "January-October 2024", "ytd", "2024-01-01", "2024-10-31"),
    ("3月末", None, 2022, "2022-03-31", "point", "2022-03-31", "2022-03-31"),
    ("截至3月末", None, 2022, "2022-03-31", "point", "2022-03-31", "2022-03-31"),
    ("截至2023年6月底", None, None, "2023-06-30", "point", "2023-06-30", "2023-06-30"),
    ("at the end of November", PUB, None, "2024-11-30", "point", "2024-11-30", "2024-11-30"),
    ("at end-2024", None, None, "2024-12-31", "point", "2024-12-31", "2024-12-31"),
    ("at the end of 2023", None, None, "2023-12-31", "point", "2023-12-31", "2023-12-31"),
    ("2024年末", None, None, "2024-12-31", "point", "2024-12-31", "2024-12-31"),
    ("this year", date(2024, 6, 1), None, "2024", "year", "2024-01-01", "2024-12-31"),
    ("last year", PUB, None, "2024", "year", "2024-01-01", "2024-12-31"),
    ("今年", date(2023, 3, 1), None, "2023", "year", "2023-01-01", "2023-12-31"),
    ("去年", date(2023, 3, 1), None, "2022", "year", "2022-01-01", "2022-12-31"),
    ("去年上半年", date(2023, 3, 1), None, "2022-H1", "half", "2022-01-01", "2022-06-30"),
    ("as of June 30, 2024", None, None, "2024-06-30", "point", "2024-06-30", "2024-06-30"),
    ("截至2024年12月31日", None, None, "2024-12-31", "point", "2024-12-31", "2024-12-31"),
    ("2023年1-12月", None, None, "2023", "year", "2023-01-01", "2023-12-31"),
    # Headlines in capitals: the half, quarter, months, year and end words are read in any case.
    ("IN THE FIRST HALF OF 2024", None, None, "2024-H1", "half", "2024-01-01", "2024-06-30"),
    ("THIRD QUARTER OF 2023", None, None, "2023-Q3", "quarter", "2023-07-01", "2023-09-30"),
    ("THE FIRST THREE QUARTERS OF 2024", None, None, "January-September 2024", "ytd", "2024-01-01", "2024-09-30"),
    ("THE FIRST 11 MONTHS OF 2024", None, None, "January-November 2024", "ytd", "2024-01-01", "2024-11-30"),
    ("LAST YEAR", PUB, None, "2024", "year", "2024-01-01", "2024-12-31"),
    ("AT END-2024", None, None, "2024-12-31", "point", "2024-12-31", "2024-12-31"),
]


@pytest.mark.parametrize("text,published,ctx_year,label,kind,start,end", CASES)
def test_period(text: str, published: date | None, ctx_year: int | None, label: str, kind: str, start: str, end: str) -> None:
    mentions = [m for m in find_periods(text) if m.kind != "ignore"]
    assert len(mentions) == 1, mentions
    p = resolve(mentions[0], published, ctx_year)
    assert p is not None
    assert (p.label, p.kind, p.start.isoformat(), p.end.isoformat()) == (label, kind, start, end)


@pytest.mark.parametrize("text", [
    "up 5 percent year-on-year",
    "compared with the same period last year",
    "比上年同期增长",
    "10:13, August 29, 2011",
    "公告编号:临 2021-029",
    "spend more in the market",
    "up 5 percent compared with 2023",
    "比上年末增长5%",
    "较年初提高",
    "on Aug. 28, 2011",
])
def test_not_a_period(text: str) -> None:
    assert all(m.kind == "ignore" for m in find_periods(text))


def test_context_year_is_not_used_for_old_years() -> None:
    """A two-year-old context year does not stick to a yearless range read in a new year's article."""
    m = find_periods("between January and November")[0]
    assert resolve(m, PUB, 2023).label == "January-November 2024"
