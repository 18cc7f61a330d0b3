"""Amounts: numbers, scales, currencies, units, qualifiers and dollar conversions."""

from __future__ import annotations

import pytest

from monitor.extract.amounts import AmountParser
from monitor.extract.fx import CurrencyTable
from monitor.extract.sentences import normalize

PARSER = AmountParser(CurrencyTable.load())

# text, value, unit, kind, qualifier, usd_value
CASES = [
    ("sales of 1,234.5 million yuan", 1_234_500_000, "CNY", "money", None, None),
    ("a balance of 129529.7 yuan", 129_529.7, "CNY", "money", None, None),
    ("revenue hit ５.２ billion yuan", 5_200_000_000, "CNY", "money", None, None),
    ("a 3 thousand yuan fee", 3_000, "CNY", "money", None, None),
    ("worth 7 trillion RMB", 7e12, "CNY", "money", None, None),
    ("RMB 12 billion in loans", 12e9, "CNY", "money", None, None),
    ("RMB5bn of bonds", 5e9, "CNY", "money", None, None),
    ("CNY 2.5 mln", 2_500_000, "CNY", "money", None, None),
    ("some 40 bn renminbi", 40e9, "CNY", "money", "some", None),
    ("earned 8.8 tr yuan", 8.8e12, "CNY", "money", None, None),
    ("净利润3.6亿元", 360_000_000, "CNY", "money", None, None),
    ("营收2.1万亿元", 2.1e12, "CNY", "money", None, None),
    ("投资50万元", 500_000, "CNY", "money", None, None),
    ("人民币80亿元", 8e9, "CNY", "money", None, None),
    ("约 12.5 亿元人民币", 1_250_000_000, "CNY", "money", "约", None),
    ("逾300亿元", 30e9, "CNY", "money", "逾", None),
    ("超1000亿元", 100e9, "CNY", "money", "超", None),
    ("近50亿美元", 5e9, "USD", "money", "近", None),
    ("200余亿元", 20e9, "CNY", "money", "more than", None),
    ("a $4.2 billion deal", 4.2e9, "USD", "money", None, None),
    ("US$ 650 million", 650e6, "USD", "money", None, None),
    ("3 billion USD", 3e9, "USD", "money", None, None),
    ("nearly 9 billion U.S. dollars", 9e9, "USD", "money", "nearly", None),
    ("about 2 billion dollars", 2e9, "USD", "money", "about", None),
    ("1.1 billion euros", 1.1e9, "EUR", "money", None, None),
    ("€300 million", 300e6, "EUR", "money", None, None),
    ("EUR 45 million", 45e6, "EUR", "money", None, None),
    ("6亿欧元", 600e6, "EUR", "money", None, None),
    ("HK$2.3 billion", 2.3e9, "HKD", "money", None, None),
    ("15亿港元", 1.5e9, "HKD", "money", None, None),
    ("120 billion roubles", 120e9, "RUB", "money", None, None),
    ("more than 10 billion yuan", 10e9, "CNY", "money", "more than", None),
    ("approximately 3 billion yuan", 3e9, "CNY", "money", "approximately", None),
    ("2.4 billion yuan ($330 million)", 2.4e9, "CNY", "money", None, 330e6),
    ("18 billion yuan (about US$2.5 billion)", 18e9, "CNY", "money", None, 2.5e9),
    ("56 million tonnes", 56e6, "tonnes", "volume", None, None),
    ("3.2 million TEU", 3.2e6, "TEU", "volume", None, None),
    ("1.5 billion barrels", 1.5e9, "barrels", "volume", None, None),
    ("40 billion cubic feet", 40e9, "cubic feet", "volume", None, None),
    ("200 billion cubic meters", 200e9, "cubic metres", "volume", None, None),
    ("1.2 million units", 1.2e6, "units", "volume", None, None),
    ("产量达到1200万吨", 12e6, "tonnes", "volume", None, None),
    ("集装箱吞吐量3000万标准箱", 30e6, "TEU", "volume", None, None),
    ("grew 7.5%", 7.5, "percent", "percent", None, None),
    ("rose 4 percent", 4, "percent", "percent", None, None),
    ("up 3 per cent", 3, "percent", "percent", None, None),
    ("up 12 pct", 12, "percent", "percent", None, None),
    ("增长１２.９％", 12.9, "percent", "percent", None, None),
    ("提高0.3个百分点", 0.3, "percent", "points", None, None),
    ("up 1.2 percentage points", 1.2, "percent", "points", None, None),
]


@pytest.mark.parametrize("text,value,unit,kind,qualifier,usd", CASES)
def test_amount(text: str, value: float, unit: str, kind: str, qualifier: str | None, usd: float | None) -> None:
    amounts = PARSER.find(normalize(text))
    assert len(amounts) == 1, amounts
    a = amounts[0]
    assert a.value == pytest.approx(value)
    assert a.unit == unit
    assert a.kind == kind
    assert a.qualifier == qualifier
    assert a.usd_value == (None if usd is None else pytest.approx(usd))


# Numbers that are not amounts: years, counts, codes, technical specifications, list markers.
NOT_AMOUNTS = [
    "in 2023 the group",
    "A股代码:601766",
    "公告编号:临 2021-029",
    "covering 370000 m2 of floor space",
    "a 1,200 MW power plant",
    "a 56 km railway line",
    "employs 12,000 people",
    "1. 公司所属企业",
    "the 18th session",
    "H1 results",
]


@pytest.mark.parametrize("text", NOT_AMOUNTS)
def test_not_an_amount(text: str) -> None:
    assert PARSER.find(normalize(text)) == []
