"""Numbers and changes in words."""

from datetime import date

import pytest

from rules.events import PeriodRef
from rules.format import amount_words, change_words, duration_words, number_words, pct_change, percent_words, period_words


@pytest.mark.parametrize(
    "value, unit, words",
    [
        (1.79e12, "CNY", "1.79 trillion yuan"),
        (5.6e9, "USD", "5.6 billion US dollars"),
        (64.3, "percent", "64.3 percent"),
        (1_234_000, "EUR", "1.234 million euros"),
        (950_000, "tonnes", "950,000 tonnes"),
        (4.5e12, "cny", "4.5 trillion yuan"),
        (2e9, "XYZ", "2 billion XYZ"),
        (3.0, None, "3"),
        (-2.5e9, "CNY", "-2.5 billion yuan"),
        (1.5e15, "CNY", "1,500 trillion yuan"),
        (None, "CNY", "no value given"),
        (float("nan"), "USD", "n/a US dollars"),
    ],
)
def test_amount_words(value, unit, words):
    assert amount_words(value, unit) == words


def test_change_and_percent_words():
    assert change_words(3.94, "yoy") == "up 3.9% year on year"
    assert change_words(-6.2, "previous") == "down 6.2% on the previous period"
    assert change_words(0.01, None) == "unchanged"
    assert change_words(None, "yoy") == ""
    assert percent_words(-6.25) == "-6.2%" or percent_words(-6.25) == "-6.3%"
    assert number_words(1.79e12) == "1.79 trillion"


def test_pct_change_edges():
    assert pct_change(110, 100) == pytest.approx(10)
    assert pct_change(5, 0) is None
    assert pct_change(None, 5) is None
    assert pct_change(-50, -100) == pytest.approx(50)  # a smaller loss is a rise


def test_period_and_duration_words():
    assert period_words(PeriodRef(label="2024", start=date(2024, 1, 1), end=date(2024, 12, 31))) == "2024"
    assert period_words(PeriodRef(start=date(2024, 1, 1), end=date(2024, 3, 31))) == "2024-01-01 to 2024-03-31"
    assert period_words(None) == ""
    assert duration_words(172800) == "2 days"
    assert duration_words(3600) == "1 hour"
    assert duration_words(5400) == "1.5 hours"
