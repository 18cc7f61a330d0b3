"""Vocabulary, gazetteer, FX table and user files that extend them; the public API."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.extract import Extractor, Facts, extract, format_table
from monitor.extract.sentences import detect_lang, split_sentences

METRIC_PHRASES = [
    ("operating revenue", "operating_revenue"), ("Revenue", "operating_revenue"), ("营业总收入", "operating_revenue"),
    ("营业收入", "operating_revenue"), ("total profits", "total_profits"), ("利润总额", "total_profits"),
    ("net profits", "net_profit"), ("净利润", "net_profit"), ("total assets", "total_assets"), ("资产总额", "total_assets"),
    ("liabilities", "total_liabilities"), ("负债总额", "total_liabilities"), ("asset liability ratio", "debt_to_asset_ratio"),
    ("debt-to-asset ratio", "debt_to_asset_ratio"), ("资产负债率", "debt_to_asset_ratio"), ("taxes payable", "taxes_payable"),
    ("应交税费", "taxes_payable"), ("exports", "exports"), ("出口", "exports"), ("imports", "imports"),
    ("new contracts signed", "new_contracts_signed"), ("新签合同额", "new_contracts_signed"), ("R&D spending", "rd_spending"),
    ("研发投入", "rd_spending"), ("投资", "investment"), ("state capital equity", "state_capital_equity"),
    ("crude output", "crude_output"), ("natural gas production", "natural_gas_production"), ("dividend", "dividend"),
    ("domestic crude output", "domestic_crude_output"), ("widget throughput", "widget_throughput"),
]


@pytest.mark.parametrize("phrase,canonical", METRIC_PHRASES)
def test_metric_vocabulary(extractor: Extractor, phrase: str, canonical: str) -> None:
    assert extractor.vocabulary.canonical(phrase) == canonical


ENTITY_NAMES = [
    ("CRRC Corp", "CRRC"), ("中国中车", "CRRC"), ("PowerChina", "PowerChina"), ("Power Construction Corp of China", "PowerChina"),
    ("中国电建", "PowerChina"), ("Sinopec", "Sinopec"), ("China Petroleum and Chemical Corporation", "Sinopec"),
    ("中国石化", "Sinopec"), ("PetroChina", "CNPC"), ("State Grid", "State Grid"), ("China Southern Power Grid", "China Southern Power Grid"),
    ("China State Construction Engineering Corp", "CSCEC"), ("China Railway Construction Corp", "CRCC"),
    ("China Communications Construction", "CCCC"), ("COSCO Shipping", "COSCO Shipping"), ("Baowu", "China Baowu"),
    ("SOEs", "SOEs"), ("state-owned enterprises", "SOEs"), ("国有企业", "SOEs"), ("central SOEs", "central SOEs"),
    ("centrally administered SOEs", "central SOEs"), ("中央企业", "central SOEs"), ("央企", "central SOEs"),
    ("local SOEs", "local SOEs"), ("地方国有企业", "local SOEs"), ("non financial SOEs", "non-financial SOEs"),
    ("Unknown Widget Group Co Ltd", "Unknown Widget Group Co Ltd"),
]


@pytest.mark.parametrize("name,canonical", ENTITY_NAMES)
def test_gazetteer(extractor: Extractor, name: str, canonical: str) -> None:
    assert extractor.gazetteer.canonical(name) == canonical


def test_gazetteer_has_many_central_soes(extractor: Extractor) -> None:
    companies = {n for n in extractor.known_entities()}
    assert len(companies) >= 60
    assert {"CRRC", "Sinopec", "CNPC", "State Grid", "AVIC", "COMAC", "CNNC", "FAW", "COFCO"} <= companies


def test_unknown_organisation_kept_as_written(extractor: Extractor) -> None:
    facts = extractor.extract("Zhejiang Widget Holdings Group Co Ltd reported revenue of 3 billion yuan in 2023.")
    assert facts.figures[0].entity == "Zhejiang Widget Holdings Group Co Ltd"
    facts = extractor.extract("浙江某某科技有限公司2023年营业收入3亿元。")
    assert facts.figures[0].entity == "浙江某某科技有限公司"


def test_user_files_extend_shipped_data(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.yaml"
    vocab.write_text("metrics:\n  - name: hydrogen_output\n    phrases: [hydrogen output, 氢气产量]\n", encoding="utf-8")
    gaz = tmp_path / "gaz.yaml"
    gaz.write_text("entities:\n  - name: Acme Energy\n    kind: company\n    aliases: [Acme, 阿克米能源]\n", encoding="utf-8")
    ex = Extractor(vocabulary_files=[vocab], gazetteer_files=[gaz], fx_to_usd={"CNY": 0.5})
    assert "hydrogen_output" in ex.known_metrics() and "operating_revenue" in ex.known_metrics()
    assert "Acme Energy" in ex.known_entities() and "CRRC" in ex.known_entities()
    f = ex.extract("Acme's hydrogen output rose 12 percent to 2 million tonnes in 2023.").figures[0]
    assert (f.entity, f.metric, f.value, f.change_pct) == ("Acme Energy", "hydrogen_output", 2e6, 12)
    g = ex.extract("阿克米能源2023年营业收入10亿元。").figures[0]
    assert g.entity == "Acme Energy" and g.usd_value == pytest.approx(5e8)


def test_fx_conversion_is_approximate(extractor: Extractor) -> None:
    f = extractor.extract("Sinopec's net profit was 10 billion yuan in 2023.").figures[0]
    assert f.usd_value == pytest.approx(10e9 * extractor.fx.usd_rates["CNY"])


def test_module_level_extract_and_table() -> None:
    facts = extract("中国中车2023年营业收入2342.6亿元，同比增长5.1%。")
    assert isinstance(facts, Facts)
    table = format_table(facts)
    assert "operating_revenue" in table and "CRRC" in table and "+5.1%" in table
    assert "Contracts (0)" in table


def test_empty_text() -> None:
    assert extract("") == Facts()
    assert extract("   \n ") == Facts()
    assert format_table(Facts()).startswith("Figures (0)")


@pytest.mark.parametrize("text,lang", [("China's SOEs grew.", "en"), ("国有企业营业总收入增长。", "zh"), ("CRRC 中国中车 签署合同", "zh")])
def test_detect_lang(text: str, lang: str) -> None:
    assert detect_lang(text) == lang


def test_lang_argument_accepted(extractor: Extractor) -> None:
    text = "2023年，中央企业净利润2.6万亿元。"
    assert extractor.extract(text, lang="zh") == extractor.extract(text, lang=None)


@pytest.mark.parametrize("text,count", [
    ("Sales rose 5.4% in 2023. Profits fell. U.S. dollars were used.", 3),
    ("BEIJING, Aug. 28 (Xinhua) -- Revenue rose.", 1),
    ("国有企业营业总收入增长。利润总额下降！税费持平？", 3),
    ("Title line\n\nFirst paragraph. Second sentence.", 3),
    ("1. 公司签署合同;\n2. 子公司签署合同。", 2),
])
def test_sentences(text: str, count: int) -> None:
    assert len(split_sentences(text)) == count


def test_every_quote_is_the_sentence(extractor: Extractor) -> None:
    text = "CNOOC said on Monday its revenue rose 5% to 400 billion yuan in 2023. Net profit was 120 billion yuan."
    facts = extractor.extract(text, published=date(2024, 3, 20))
    assert [f.quote for f in facts.figures] == [
        "CNOOC said on Monday its revenue rose 5% to 400 billion yuan in 2023.", "Net profit was 120 billion yuan."]
    assert all(text[f.span[0]:f.span[1]] == f.quote for f in facts.figures)
