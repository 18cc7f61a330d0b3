"""Figures: level + rate in one clause, rates alone, ratios, from-to, respectively, entity and metric switches.

Each case is a sentence (or short article) written for these tests, and the figures expected from it,
in order. Only the keys given are checked.
"""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract import Extractor

PUB = date(2025, 1, 3)

CASES: list[tuple[str, str, date | None, list[dict]]] = [
    # ---- English: level and rate in one clause ----
    ("en-level-rate-to", "Central SOEs' net profit rose 6.2 percent year-on-year to 1.9 trillion yuan in 2023.", PUB,
     [dict(metric="net_profit", entity="central SOEs", value=1.9e12, unit="CNY", change_pct=6.2, change_basis="yoy", period="2023")]),
    ("en-level-then-rate", "State-owned enterprises posted operating revenue of 80.2 trillion yuan in 2023, up 3.6 percent from a year earlier.", PUB,
     [dict(metric="operating_revenue", entity="SOEs", value=80.2e12, change_pct=3.6, change_basis="yoy", period="2023")]),
    ("en-fall-negative", "Chinalco's net profit fell 18.5% to 4.1 billion yuan in the first half of 2023.", PUB,
     [dict(metric="net_profit", entity="Chinalco", value=4.1e9, change_pct=-18.5, period="2023-H1")]),
    ("en-declined", "Total profits of local SOEs declined 4.2 percent in the first three quarters of 2024.", PUB,
     [dict(metric="total_profits", entity="local SOEs", value=None, unit="percent", change_pct=-4.2, period="January-September 2024")]),
    ("en-dropped", "Ansteel's steel output dropped 3 percent to 55.6 million tonnes last year.", date(2024, 2, 1),
     [dict(metric="steel_output", entity="Ansteel", value=55.6e6, unit="tonnes", change_pct=-3, period="2023")]),
    ("en-slid", "Exports by state firms slid 2.1% in November.", date(2024, 12, 20),
     [dict(metric="exports", entity="SOEs", change_pct=-2.1, value=None, period="2024-11")]),
    ("en-jumped", "China Mobile's net profit jumped 5.0 percent to 131.8 billion yuan in 2023.", PUB,
     [dict(entity="China Mobile", metric="net_profit", value=131.8e9, change_pct=5.0)]),
    ("en-surged", "Dongfeng's vehicle sales surged 20 percent to 2.5 million units in the year.", date(2024, 1, 10),
     [dict(entity="Dongfeng", metric="vehicle_sales", value=2.5e6, unit="units", change_pct=20)]),
    ("en-climbed", "Revenue at China Telecom climbed 7.7% to 513.6 billion yuan in 2023.", PUB,
     [dict(entity="China Telecom", metric="operating_revenue", value=513.6e9, change_pct=7.7, period="2023")]),
    ("en-decreased", "CNOOC's oil and gas production decreased 1.1 percent in the third quarter of 2020.", PUB,
     [dict(entity="CNOOC", change_pct=-1.1, value=None, period="2020-Q3")]),
    ("en-rate-only-title", "Sinochem H1 net profit up 9 pct\nSinochem said its business grew.", date(2024, 8, 30),
     [dict(entity="Sinochem", metric="net_profit", change_pct=9, value=None, period="2024-H1")]),
    ("en-qualifier-nearly", "CRCC's new contracts signed reached nearly 3.3 trillion yuan in 2023.", PUB,
     [dict(entity="CRCC", metric="new_contracts_signed", value=3.3e12, qualifier="nearly")]),
    ("en-qualifier-about", "PowerChina's R&D spending was about 28 billion yuan in 2023, up 4 percent.", PUB,
     [dict(entity="PowerChina", metric="rd_spending", value=28e9, qualifier="about", change_pct=4)]),
    ("en-dollar-conversion", "Sinopec's net profit was 60.5 billion yuan ($8.5 billion) in 2023.", PUB,
     [dict(entity="Sinopec", value=60.5e9, unit="CNY", usd_value=8.5e9)]),
    ("en-usd-level", "CNOOC's capital expenditure reached $18 billion in 2024.", date(2025, 3, 1),
     [dict(entity="CNOOC", metric="investment", value=18e9, unit="USD", usd_value=18e9, period="2024")]),
    ("en-euro", "COSCO Shipping invested 1.2 billion euros in the port in 2022.", PUB,
     [dict(entity="COSCO Shipping", value=1.2e9, unit="EUR")]),
    ("en-volume-teu", "COSCO Shipping's container throughput rose 5.1 percent to 130 million TEU in 2023.", PUB,
     [dict(entity="COSCO Shipping", metric="container_throughput", value=130e6, unit="TEU", change_pct=5.1)]),
    ("en-volume-barrels", "PetroChina's crude output was 906 million barrels in 2023.", PUB,
     [dict(entity="CNPC", metric="crude_output", value=906e6, unit="barrels", period="2023")]),
    ("en-gas", "Its natural gas output grew 6.7 percent to 5,000 billion cubic feet in 2023.", PUB,
     [dict(metric="natural_gas_production", value=5000e9, unit="cubic feet", change_pct=6.7)]),
    ("en-ratio-level", "The debt-to-asset ratio of central SOEs stood at 64.9 percent at the end of June.", date(2024, 7, 20),
     [dict(metric="debt_to_asset_ratio", entity="central SOEs", value=64.9, unit="percent", change_pct=None, period="2024-06-30")]),
    ("en-ratio-pp", "Their asset liability ratio was 65.1 percent, down 0.2 percentage points.", PUB,
     [dict(metric="debt_to_asset_ratio", value=65.1, unit="percent", change_pct=None)]),
    ("en-from-to", "China Energy Engineering's new contracts grew from 1 trillion yuan in 2020 to 1.5 trillion yuan in 2023.", PUB,
     [dict(value=1e12, period="2020", entity="China Energy Engineering"), dict(value=1.5e12, period="2023", entity="China Energy Engineering")]),
    ("en-from-to-two-metrics", "Their total assets grew from 50 trillion yuan in 2015 to 90 trillion yuan in 2024, while their net profits rose from 1 trillion yuan in 2015 to 2 trillion yuan in 2024.", PUB,
     [dict(metric="total_assets", value=50e12, period="2015"), dict(metric="total_assets", value=90e12, period="2024"),
      dict(metric="net_profit", value=1e12, period="2015"), dict(metric="net_profit", value=2e12, period="2024")]),
    ("en-respectively", "Operating revenue, total profits and taxes payable of SOEs rose 2.1%, 4.5% and 3.3% respectively in 2023.", PUB,
     [dict(metric="operating_revenue", change_pct=2.1), dict(metric="total_profits", change_pct=4.5), dict(metric="taxes_payable", change_pct=3.3)]),
    ("en-two-entities-respectively", "Net profits of central SOEs and local SOEs grew 5% and 3% respectively.", PUB,
     [dict(entity="central SOEs", change_pct=5), dict(entity="local SOEs", change_pct=3)]),
    ("en-month-range", "SOE exports grew 4.1 percent to 2.2 trillion yuan from January to October, customs data showed.", date(2024, 11, 15),
     [dict(metric="exports", value=2.2e12, change_pct=4.1, period="January-October 2024")]),
    ("en-jan-nov-abbrev", "Imports of central SOEs reached 1.4 trillion yuan in Jan.-Nov. 2023.", PUB,
     [dict(metric="imports", value=1.4e12, period="January-November 2023")]),
    ("en-first-months-last-year", "China's SOEs earned total profits of 3.4 trillion yuan in the first 10 months of last year.", date(2024, 1, 20),
     [dict(metric="total_profits", value=3.4e12, period="January-October 2023")]),
    ("en-this-year", "Sinopec expects capital expenditure of 164.3 billion yuan this year.", date(2024, 3, 25),
     [dict(entity="Sinopec", metric="investment", value=164.3e9, period="2024")]),
    ("en-quarter", "China Unicom's revenue rose 3 percent to 99.5 billion yuan in the first quarter.", date(2024, 4, 25),
     [dict(entity="China Unicom", value=99.5e9, change_pct=3, period="2024-Q1")]),
    ("en-year-end-point", "Total assets of China Three Gorges reached 1.4 trillion yuan at the end of 2023.", PUB,
     [dict(entity="China Three Gorges", metric="total_assets", value=1.4e12, period="2023-12-31")]),
    ("en-dividend-a-year-earlier", "The board proposed a final dividend of 0.2 yuan, up from 0.18 yuan a year earlier, for 2023.", PUB,
     [dict(metric="final_dividend", value=0.2), dict(metric="final_dividend", value=0.18)]),
    ("en-investment", "Central SOEs' fixed-asset investment totaled 5.1 trillion yuan in 2023, up 11 percent.", PUB,
     [dict(metric="investment", entity="central SOEs", value=5.1e12, change_pct=11)]),
    ("en-unknown-metric-noun-phrase", "Huaneng's wind capacity additions were worth 30 billion yuan in 2023.", PUB,
     [dict(entity="China Huaneng", value=30e9)]),
    ("en-skip-planned-capacity", "The plant is expected to generate 1.8 billion kilowatt-hours of electricity a year once completed in 2030.", PUB, []),
    ("en-skip-share-move", "Sinopec's shares rose 2.3 percent in Hong Kong on Monday.", PUB, []),
    ("en-skip-share-of-total", "SOEs accounted for 30 percent of industrial output and hold a 51% stake in the venture.", PUB, []),
    ("en-skip-share-price", "Shares of CRRC closed at 6.5 yuan in Shanghai on Monday.", PUB, []),
    ("en-skip-counts-specs", "The 1,200 MW plant, built by 3,000 workers over 36 months, has 12 units in 2023.", PUB, []),
    ("en-entity-carried", "Sinopec released its annual report on Sunday.\nThe company's net profit rose 9 percent to 62 billion yuan.", date(2024, 3, 25),
     [dict(entity="Sinopec", metric="net_profit", value=62e9, change_pct=9)]),
    ("en-full-width-digits", "China Resources' revenue rose ５.５％ to ８０ billion yuan in 2023.", PUB,
     [dict(entity="China Resources", value=80e9, change_pct=5.5)]),
    ("en-headline-dedupe", "CSCEC new contracts hit 4.3 trillion yuan\nCSCEC said its new contracts hit 4.3 trillion yuan in 2023, up 10.8 percent.", PUB,
     [dict(entity="CSCEC", metric="new_contracts_signed", value=4.3e12, change_pct=10.8)]),
    ("en-unknown-subject-carried", "Hubei Lianhe Logistics Group Co Ltd said on Monday it would expand.\nIts net profit rose 4 percent to 2.1 billion yuan in 2023.", PUB,
     [dict(entity="Hubei Lianhe Logistics Group Co Ltd", metric="net_profit", value=2.1e9, change_pct=4)]),
    ("en-headline-rate-dedupe", "Customs: SOE exports up 3.9%\nChinese SOEs saw their exports grow by 3.9 percent to 1.79 trillion yuan in 2024.", PUB,
     [dict(entity="SOEs", metric="exports", value=1.79e12, change_pct=3.9)]),
    ("en-mln-bn", "Harbin Electric's net profit reached 950 mln yuan, while revenue was 34.5 bn yuan in 2023.", PUB,
     [dict(entity="Harbin Electric", metric="net_profit", value=950e6), dict(entity="Harbin Electric", metric="operating_revenue", value=34.5e9)]),
    ("en-basis-not-period", "Profits stood at 1.3 trillion yuan in the first half of 2024, while investment in fixed assets rose 3.2 percent from a year earlier to 2.4 trillion yuan.", PUB,
     [dict(metric="total_profits", period="2024-H1"), dict(metric="investment", value=2.4e12, change_pct=3.2, change_basis="yoy", period="2024-H1")]),
    ("en-balance-vs-flow-context", "Central SOEs earned revenue of 20 trillion yuan in the first half of 2024.\nBy the end of June, their debt-to-asset ratio was 65.3 percent.\nTheir R&D expenses reached 420 billion yuan.\nTotal assets were 88 trillion yuan.", PUB,
     [dict(period="2024-H1"), dict(period="2024-06-30", value=65.3), dict(metric="rd_spending", period="2024-H1"),
      dict(metric="total_assets", period="2024-06-30")]),
    ("en-qoq", "China Mobile's revenue rose 2 percent quarter-on-quarter to 250 billion yuan in the third quarter of 2024.", PUB,
     [dict(change_basis="qoq", change_pct=2, period="2024-Q3")]),
    ("en-caps-eps-volume-sales", "SINOPEC's refinery throughput reached 190 million tonnes in 2024, while domestic sales of refined oil totaled 138 million tonnes. Earnings per share were 0.42 yuan.", PUB,
     [dict(entity="Sinopec", metric="refinery_throughput", value=190e6), dict(entity="Sinopec", metric="domestic_sales", value=138e6),
      dict(entity="Sinopec", metric="eps", value=0.42)]),
    ("en-from-comparison-year", "Sinopec's net profit rose 5 percent compared with 2022 to 60 billion yuan in 2023.", PUB,
     [dict(value=60e9, change_pct=5, period="2023")]),
    ("en-three-companies-respectively", "Revenue of China Mobile, China Telecom and China Unicom grew 3.1 percent, 3.5 percent and 2.9 percent, respectively, in 2024.", PUB,
     [dict(entity="China Mobile", change_pct=3.1, period="2024"), dict(entity="China Telecom", change_pct=3.5),
      dict(entity="China Unicom", change_pct=2.9)]),
    ("en-levels-respectively", "Central SOEs and local SOEs posted total profits of 2.4 trillion yuan and 1.3 trillion yuan respectively in 2024.", PUB,
     [dict(entity="central SOEs", value=2.4e12, period="2024"), dict(entity="local SOEs", value=1.3e12, period="2024")]),
    ("en-rate-unknown-metric-subject", "China's GDP grew 5.2 percent in 2023, while Dongfeng output fell 12 percent.", PUB,
     [dict(metric="gdp", metric_text="GDP", change_pct=5.2, period="2023"), dict(metric="output", entity="Dongfeng", change_pct=-12)]),
    ("en-capitalised-unknown-metric", "Net production reached 678 million barrels of oil equivalent in 2023, up 8.7 percent from a year earlier.", PUB,
     [dict(metric="net_production", value=678e6, unit="boe", change_pct=8.7, change_basis="yoy", period="2023")]),
    # ---- Chinese ----
    ("zh-level-rate", "2023年，中央企业实现营业收入39.8万亿元，同比增长2.1%。", None,
     [dict(metric="operating_revenue", entity="central SOEs", value=39.8e12, unit="CNY", change_pct=2.1, change_basis="yoy", period="2023")]),
    ("zh-fall", "1-6月，地方国有企业利润总额8920.5亿元，同比下降3.4%。", date(2024, 7, 30),
     [dict(metric="total_profits", entity="local SOEs", value=892.05e9, change_pct=-3.4, period="January-June 2024")]),
    ("zh-decrease", "前三季度，国有企业应交税费减少2.5%。", date(2024, 10, 25),
     [dict(metric="taxes_payable", entity="SOEs", value=None, change_pct=-2.5, period="January-September 2024")]),
    ("zh-qiyue", "其中，中央企业营业总收入5.2万亿元，同比增长4.0%；地方国有企业3.1万亿元，同比增长1.5%。", None,
     [dict(entity="central SOEs", value=5.2e12, change_pct=4.0, metric="operating_revenue"),
      dict(entity="local SOEs", value=3.1e12, change_pct=1.5, metric="operating_revenue")]),
    ("zh-ratio", "截至2024年6月末，国有企业资产负债率65.0%，上升0.2个百分点。", None,
     [dict(metric="debt_to_asset_ratio", value=65.0, unit="percent", change_pct=None, period="2024-06-30")]),
    ("zh-ratio-carried", "9月末，国有企业资产负债率64.9%；中央企业67.1%，地方国有企业63.2%。", date(2024, 10, 25),
     [dict(entity="SOEs", value=64.9), dict(entity="central SOEs", value=67.1, metric="debt_to_asset_ratio"),
      dict(entity="local SOEs", value=63.2, metric="debt_to_asset_ratio")]),
    ("zh-year-carried", "2023年1-9月，国有企业主要指标平稳。\n1-9月，国有企业利润总额3.2万亿元，同比增长5.0%。", None,
     [dict(value=3.2e12, period="January-September 2023", change_pct=5.0)]),
    ("zh-metric-carried", "1-9月，国有企业应交税费4.1万亿元，同比增长3.0%。其中中央企业2.9万亿元，同比增长2.0%。", None,
     [dict(metric="taxes_payable", entity="SOEs", value=4.1e12), dict(metric="taxes_payable", entity="central SOEs", value=2.9e12, change_pct=2.0)]),
    ("zh-respectively", "国有企业营业总收入、利润总额分别增长3.1%和2.2%。", None,
     [dict(metric="operating_revenue", change_pct=3.1), dict(metric="total_profits", change_pct=2.2)]),
    ("zh-qualifier", "中国石化全年研发投入超200亿元。", None,
     [dict(entity="Sinopec", metric="rd_spending", value=20e9, qualifier="超")]),
    ("zh-usd", "中国海油上半年资本支出约65亿美元。", date(2024, 8, 20),
     [dict(entity="CNOOC", value=6.5e9, unit="USD", qualifier="约", period="2024-H1")]),
    ("zh-volume", "中国宝武粗钢产量1.3亿吨，同比增长1.2%。", None,
     [dict(entity="China Baowu", metric="steel_output", value=130e6, unit="tonnes", change_pct=1.2)]),
    ("zh-quarter", "2024年一季度，中国移动净利润241亿元，同比增长2.1%。", None,
     [dict(entity="China Mobile", metric="net_profit", value=24.1e9, change_pct=2.1, period="2024-Q1")]),
    ("zh-half", "国家电网上半年完成投资2500亿元。", date(2024, 7, 15),
     [dict(entity="State Grid", metric="investment", value=250e9, period="2024-H1")]),
    ("zh-last-year", "去年，中央企业净利润2.6万亿元。", date(2024, 1, 20),
     [dict(entity="central SOEs", metric="net_profit", value=2.6e12, period="2023")]),
    ("zh-month-end-point", "截至11月末，国有企业资产总额401.6万亿元。", date(2024, 12, 25),
     [dict(metric="total_assets", value=401.6e12, period="2024-11-30")]),
    ("zh-export", "1—11月，国有企业出口1.79万亿元，增长3.9%。", PUB,
     [dict(metric="exports", value=1.79e12, change_pct=3.9, period="January-November 2024")]),
    ("zh-jan-dec-is-year", "中国建筑2023年1-12月新签合同额43241亿元，同比增长10.8%。", None,
     [dict(entity="CSCEC", metric="new_contracts_signed", value=4.3241e12, change_pct=10.8, period="2023")]),
    ("zh-headline-rounded", "中国建筑2023年新签合同额4.32万亿元\n中国建筑公告，2023年1-12月新签合同额43241亿元，同比增长10.8%。", None,
     [dict(value=4.3241e12, period="2023")]),
    ("zh-full-year-and-year-end", "截至2024年底，中央企业资产总额突破90万亿元，全年实现利润总额2.6万亿元。", date(2025, 1, 20),
     [dict(metric="total_assets", value=90e12, qualifier="突破", period="2024-12-31"), dict(metric="total_profits", value=2.6e12, period="2024")]),
    ("zh-levels-then-rates-respectively", "1-3月，中央企业和地方国有企业利润总额分别为7784.6亿元和2402.8亿元，分别增长11.7%和下降5.9%。", date(2024, 4, 20),
     [dict(entity="central SOEs", value=778.46e9, change_pct=11.7), dict(entity="local SOEs", value=240.28e9, change_pct=-5.9)]),
    ("zh-about-after", "南方电网今年计划完成固定资产投资1730亿元左右，同比增长12%。", date(2024, 3, 1),
     [dict(entity="China Southern Power Grid", metric="investment", value=173e9, qualifier="左右", change_pct=12, period="2024")]),
    ("zh-skip-codes", "A股代码:601390 公告编号:临2024-015", None, []),
    ("zh-skip-pp", "资产负债率提高0.1个百分点。", None, []),
]


def _check(fig, want: dict) -> None:
    got = fig.model_dump(mode="json")
    got["period"] = fig.period.label if fig.period else None
    for key, value in want.items():
        if isinstance(value, float) and got[key] is not None:
            assert got[key] == pytest.approx(value, rel=1e-6), (key, got)
        else:
            assert got[key] == value, (key, got)


@pytest.mark.parametrize("name,text,published,expected", CASES, ids=[c[0] for c in CASES])
def test_figures(extractor: Extractor, name: str, text: str, published: date | None, expected: list[dict]) -> None:
    facts = extractor.extract(text, published=published)
    assert len(facts.figures) == len(expected), [f.model_dump(mode="json") for f in facts.figures]
    for fig, want in zip(facts.figures, expected):
        _check(fig, want)
        assert fig.quote == text[fig.span[0]:fig.span[1]]
