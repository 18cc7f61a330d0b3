"""Contracts: company, counterparty, project, location and value, in English and Chinese; totals are figures."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.extract import Extractor

PUB = date(2024, 6, 1)

# name, text, expected contracts (only the keys given are checked), expected total figures (value)
CASES: list[tuple[str, str, list[dict], list[float]]] = [
    ("en-signed-with", "PowerChina signed a $1.5 billion contract with the Ministry of Energy for the Kafue Gorge project in Zambia.",
     [dict(company="PowerChina", value=1.5e9, unit="USD", usd_value=1.5e9, project="Kafue Gorge", location="Zambia")], []),
    ("en-won", "China Railway Group won a contract worth 2.3 billion yuan for the Chengdu Metro Line 30 project.",
     [dict(company="CREC", value=2.3e9, unit="CNY", project="Chengdu Metro Line 30", location="Chengdu")], []),
    ("en-secured-value-next", "CCCC secured a contract for the Jakarta Port expansion project in Indonesia.\nValued at $900 million, the contract covers dredging and berths.",
     [dict(company="CCCC", value=900e6, unit="USD", location="Jakarta, Indonesia")], []),
    ("en-awarded-to", "A 600 million euro (US$650 million) rail contract was awarded to CRRC by the Lisbon Metro.",
     [dict(value=600e6, unit="EUR", usd_value=650e6)], []),
    ("en-inked", "China Energy Engineering inked a deal worth 12 billion yuan for a solar project in Saudi Arabia.",
     [dict(company="China Energy Engineering", value=12e9, unit="CNY", project="solar project", location="Saudi Arabia")], []),
    ("en-clinched", "CSCEC clinched a $2.1 billion contract for the New Capital business district in Egypt.",
     [dict(company="CSCEC", value=2.1e9, location="Egypt")], []),
    ("en-landed-for-party", "Sinomach landed a CNY 3 billion contract for Pakistan Railways.",
     [dict(company="SINOMACH", counterparty="Pakistan Railways", value=3e9, unit="CNY")], []),
    ("en-total-is-figure", "CRCC has won five new overseas contracts worth 45 billion yuan in total.",
     [], [45e9]),
    ("en-plural-is-figure", "Dongfang Electric signed contracts worth 10 billion yuan at the expo.",
     [], [10e9]),
    ("en-headline-deal-once", "PowerChina wins $1.2b Nepal hydropower deal\nPowerChina has won a contract for the 900 MW Upper Karnali hydropower project in Nepal.\nThe contract is worth $1.2 billion.",
     [dict(company="PowerChina", project="Upper Karnali hydropower", location="Nepal", value=1.2e9)], []),
    ("en-headline-without-value", "CRRC wins Dubai Metro contract\nCRRC Corp secured a contract for the Dubai Metro Blue Line project in the United Arab Emirates.\nValued at $5.6 billion, the contract covers design and rolling stock.",
     [dict(company="CRRC", project="Dubai Metro Blue Line", value=5.6e9)], []),
    ("en-deal-restated", "China Harbour Engineering has won a US$1.5 billion contract to build a deep-water port in Lekki, Nigeria.\nThe deal, worth about 10.7 billion yuan, was signed in Lagos on Friday.",
     [dict(company="China Harbour Engineering", value=1.5e9, unit="USD", project="deep-water port", location="Lekki, Nigeria")], []),
    ("en-with-the-ministry-region", "PowerChina wins $1.2 billion hydropower contract in Central Asia\nPower Construction Corp of China, or PowerChina, has signed a $1.2 billion contract with the Ministry of Energy of Uzbekistan to build the Pskem hydropower plant in Tashkent region, Uzbekistan.\nThe plant is expected to generate 1.8 billion kilowatt-hours of electricity a year once completed in 2030.",
     [dict(company="PowerChina", counterparty="Ministry of Energy of Uzbekistan", project="Pskem hydropower plant",
           location="Tashkent region, Uzbekistan", value=1.2e9)], []),
    ("en-no-contract-word", "The directors signed off on a dividend of 0.3 yuan.", [], []),
    # ---- Chinese ----
    ("zh-yu-qianshu", "中国电建与埃塞俄比亚水电公司签署了约15亿美元的水电站建设合同。",
     [dict(company="PowerChina", counterparty="埃塞俄比亚水电公司", value=1.5e9, unit="USD", project="水电站建设", qualifier="约")], []),
    ("zh-tong-qianding", "中国中车所属企业同深圳地铁集团有限公司签订了总计约 21.5 亿元人民币的地铁车辆采购合同。",
     [dict(company="CRRC", counterparty="深圳地铁集团有限公司", value=2.15e9, unit="CNY", project="地铁车辆采购")], []),
    ("zh-subsidiary", "全资子公司中铁一局集团有限公司与西安市地铁公司签署了30亿元的轨道工程合同。",
     [dict(company="中铁一局集团有限公司", counterparty="西安市地铁公司", value=3e9, project="轨道工程")], []),
    ("zh-zhongbiao", "中国交建中标雅加达港口扩建项目，合同金额约12亿美元。",
     [dict(company="CCCC", project="雅加达港口扩建项目", value=1.2e9, unit="USD")], []),
    ("zh-value-after-contract", "本公司所属中国能源建设集团广东省电力设计研究院有限公司与沙特电力公司签署了沙特某光伏电站EPC总承包合同，合同金额约为人民币58.3亿元。",
     [dict(company="中国能源建设集团广东省电力设计研究院有限公司", counterparty="沙特电力公司", project="沙特某光伏电站EPC总承包",
           value=5.83e9, unit="CNY", qualifier="约为")], []),
    ("zh-zhongbiao-winner", "中国铁建股份有限公司关于重大工程中标的公告\n公司于近日收到中标通知书，确认公司为广州地铁7号线二期工程项目的中标单位，中标金额为35.2亿元。",
     [dict(company="CRCC", project="广州地铁7号线二期工程项目", value=3.52e9, unit="CNY", location="广州")], []),
    ("zh-zhongbiao-subsidiary", "中国铁建下属子公司中铁十八局集团有限公司中标广州地铁7号线工程，中标金额约35亿元。",
     [dict(company="中铁十八局集团有限公司", project="广州地铁7号线工程", value=3.5e9, qualifier="约")], []),
    ("zh-total-heji", "本季度公司共签署合同12份，合计金额约 86.4 亿元人民币。",
     [], [8.64e9]),
]


@pytest.mark.parametrize("name,text,expected,totals", CASES, ids=[c[0] for c in CASES])
def test_contracts(extractor: Extractor, name: str, text: str, expected: list[dict], totals: list[float]) -> None:
    facts = extractor.extract(text, published=PUB)
    got = [c.model_dump(mode="json") for c in facts.contracts]
    assert len(got) == len(expected), got
    for c, want in zip(got, expected):
        for key, value in want.items():
            if isinstance(value, float):
                assert c[key] == pytest.approx(value), (key, c)
            else:
                assert c[key] == value, (key, c)
    for c in facts.contracts:
        assert c.quote == text[c.span[0]:c.span[1]]
    contract_figures = [f.value for f in facts.figures if f.metric == "new_contracts_signed"]
    assert contract_figures == [pytest.approx(v) for v in totals], [f.model_dump(mode="json") for f in facts.figures]
