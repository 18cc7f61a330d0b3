"""Figures -> observations -> events: baselines, revisions and sources, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy.engine import Engine

from monitor.extract.models import Contract, Figure, Period
from monitor.observe import store_contract, store_figure
from rules.events import ArticleRef
from storage.db import init_db, make_engine, session_scope
from storage.models import Article


@pytest.fixture
def db(database_url: str) -> Engine:
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()


def ytd(year: int, month: int) -> Period:
    end = date(year, month, 28)
    return Period(start=date(year, 1, 1), end=end, label=f"January-{end:%B} {year}", kind="ytd")


def exports(value: float, period: Period) -> Figure:
    return Figure(metric="exports", metric_text="exports", entity="SOEs", value=value, unit="CNY", period=period,
                  change_pct=3.9, quote=f"exports reached {value}", span=(0, 10))


_counter = iter(range(1, 10_000))


def add_article(engine: Engine, when: datetime, link: str | None = None) -> tuple[Article, ArticleRef]:
    n = next(_counter)
    with session_scope(engine) as s:
        art = Article(uid=f"a{n}", link=link or f"https://x.example/{n}", title=f"t{n}", published=when,
                      content_hash=f"h{n}", first_seen=when)
        s.add(art)
        s.flush()
        return art, ArticleRef(id=art.id, title=art.title, url=art.link, published=when)


def store(engine: Engine, figure: Figure, when: datetime):  # type: ignore[no-untyped-def]
    art, ref = add_article(engine, when)
    with session_scope(engine) as s:
        return store_figure(s, art, ref, figure, when)


def test_first_observation_has_no_baseline(db: Engine) -> None:
    event = store(db, exports(1.61e12, ytd(2024, 10)), datetime(2024, 11, 20, tzinfo=timezone.utc))
    assert event.status == "new" and event.previous is None and event.same_period_last_year is None
    assert event.sources == 1 and event.is_latest


def test_later_period_sees_previous_as_baseline_with_its_source(db: Engine) -> None:
    first = store(db, exports(1.61e12, ytd(2024, 10)), datetime(2024, 11, 20, tzinfo=timezone.utc))
    event = store(db, exports(1.79e12, ytd(2024, 11)), datetime(2024, 12, 20, tzinfo=timezone.utc))
    assert event.status == "new"
    assert event.previous.value == 1.61e12 and event.previous.period.label == "January-October 2024"
    assert event.previous.article.url == first.article.url
    assert event.series_max == 1.61e12


def test_same_period_last_year_is_found_across_the_year_boundary(db: Engine) -> None:
    store(db, exports(1.70e12, ytd(2023, 11)), datetime(2023, 12, 20, tzinfo=timezone.utc))
    store(db, exports(0.15e12, ytd(2024, 1)), datetime(2024, 2, 20, tzinfo=timezone.utc))
    event = store(db, exports(1.79e12, ytd(2024, 11)), datetime(2024, 12, 20, tzinfo=timezone.utc))
    assert event.same_period_last_year.value == 1.70e12
    assert event.previous.value == 0.15e12  # the latest earlier period of the same kind


def test_same_value_from_another_article_is_a_source_not_news(db: Engine) -> None:
    store(db, exports(1.79e12, ytd(2024, 11)), datetime(2024, 12, 20, tzinfo=timezone.utc))
    again = store(db, exports(1.7900001e12, ytd(2024, 11)), datetime(2024, 12, 21, tzinfo=timezone.utc))
    assert again.status == "source" and again.sources == 2


def test_same_article_twice_is_a_no_op(db: Engine) -> None:
    art, ref = add_article(db, datetime(2024, 12, 20, tzinfo=timezone.utc))
    with session_scope(db) as s:
        assert store_figure(s, art, ref, exports(1.79e12, ytd(2024, 11)), datetime(2024, 12, 20, tzinfo=timezone.utc)) is not None
    with session_scope(db) as s:
        assert store_figure(s, art, ref, exports(1.79e12, ytd(2024, 11)), datetime(2024, 12, 20, tzinfo=timezone.utc)) is None


def test_new_value_for_a_known_period_is_a_revision(db: Engine) -> None:
    store(db, exports(1.79e12, ytd(2024, 11)), datetime(2024, 12, 20, tzinfo=timezone.utc))
    revised = store(db, exports(1.81e12, ytd(2024, 11)), datetime(2025, 1, 5, tzinfo=timezone.utc))
    assert revised.status == "revision" and revised.revised_from.value == 1.79e12


def test_an_older_period_arriving_late_is_not_latest(db: Engine) -> None:
    store(db, exports(1.79e12, ytd(2024, 11)), datetime(2024, 12, 20, tzinfo=timezone.utc))
    late = store(db, exports(1.61e12, ytd(2024, 10)), datetime(2024, 12, 21, tzinfo=timezone.utc))
    assert late.status == "new" and not late.is_latest


def test_contract_reported_twice_is_one_contract_with_two_sources(db: Engine) -> None:
    deal = Contract(company="CRRC", counterparty="Roads and Transport Authority", project="Dubai Metro Blue Line",
                    value=5.6e9, unit="USD", usd_value=5.6e9, quote="CRRC secured ...", span=(0, 5))
    events = []
    for day in (1, 2):
        art, ref = add_article(db, datetime(2025, 1, day, tzinfo=timezone.utc))
        with session_scope(db) as s:
            events.append(store_contract(s, art, ref, deal, datetime(2025, 1, day, tzinfo=timezone.utc)))
    assert [e.status for e in events] == ["new", "source"] and events[1].sources == 2


def test_facts_stored_without_events_are_stored_and_counted_alike(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A poll that raises no alerts skips building events: the rows and counts must not change."""
    from sqlalchemy import select

    from monitor.extract.models import Facts
    from monitor.ingest import store_facts
    from storage.models import Observation, ObservationSource

    deal = Contract(company="CRRC", project="Dubai Metro Blue Line", value=5.6e9, unit="USD", usd_value=5.6e9,
                    quote="CRRC secured ...", span=(0, 5))
    facts = Facts(figures=[exports(1.61e12, ytd(2024, 10)), exports(1.79e12, ytd(2024, 11)),
                           exports(1.79e12, ytd(2024, 11))], contracts=[deal])
    stored = {}
    for describe in (True, False):
        engine = make_engine(f"sqlite:///{tmp_path / f'{describe}.db'}")
        init_db(engine)
        for day in (1, 2):  # the second article repeats every fact: sources, not news
            when = datetime(2024, 12, day, tzinfo=timezone.utc)
            art, ref = add_article(engine, when)
            with session_scope(engine) as s:
                out = store_facts(s, facts, art, ref, when, describe=describe)
                assert (out.figures, out.contracts) == (2, 1)
                assert len(out.events) == (3 if describe else 0)
        with session_scope(engine) as s:
            stored[describe] = (
                sorted(s.execute(select(Observation.value, Observation.period_label)).all()),
                len(s.execute(select(ObservationSource.observation_id)).all()),
            )
        engine.dispose()
    assert stored[True] == stored[False] and len(stored[True][0]) == 2 and stored[True][1] == 4
