"""One poll with repeated articles: a shared link or identical content is one article, stored once,
whether the poll's entries are stored together or one by one; a changed entry is re-extracted."""

from __future__ import annotations

from pathlib import Path

import pytest

import monitor.poll
from monitor.config import load_config
from monitor.poll import poll_feed
from monitor.runtime import Runtime
from storage.db import session_scope
from storage.models import Article, ArticleSource, Observation
from tests.support import Item, LoopbackHTTP, Route, rss

DATE = "Mon, 0{d} Dec 2024 08:00:00 GMT"


def _item(guid: str, link: str, title: str, body: str, day: int) -> Item:
    return Item(guid=guid, title=title, link=f"https://x.example/{link}", date=DATE.format(d=day), body=body)


def profit(value: int, year: int) -> str:
    return f"Sinopec's net profit rose 3.5 percent to {value} billion yuan in the first half of {year}."


ITEMS = [
    _item("g1", "1", "Sinopec results", profit(21, 2020), 1),
    _item("g2", "1", "Sinopec results, again", profit(22, 2021), 2),  # same link as g1: the same article
    _item("g3", "3", "Sinopec results", profit(21, 2020), 3),  # same title and text as g1: the same article
    _item("g4", "4", "Sinopec results later", profit(24, 2023), 4),
]


def _runtime(tmp_path: Path, http: LoopbackHTTP, items: list[Item]) -> Runtime:
    http.routes["/feed.xml"] = Route(body=rss(items))
    (tmp_path / "config.toml").write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n[rules]\npaths = []\n[fetch]\nprocesses = 0\n'
        f'[[feeds]]\nname = "f"\nurl = "{http.url("/feed.xml")}"\n')
    return Runtime.build(load_config(tmp_path / "config.toml"))


def _stored(rt: Runtime) -> tuple[list[str], list[float], int]:
    with session_scope(rt.db) as s:
        links = sorted(a.link for a in s.query(Article).all())
        values = sorted(o.value for o in s.query(Observation).all())
        sources = s.query(ArticleSource).count()
    return links, values, sources


@pytest.mark.parametrize("together", [True, False], ids=["stored-together", "one-by-one"])
def test_repeated_articles_in_one_poll_are_stored_once(tmp_path: Path, http_server: LoopbackHTTP,
                                                        monkeypatch: pytest.MonkeyPatch, together: bool) -> None:
    if not together:  # as after a failed first attempt: every entry in its own savepoint
        real = monitor.poll._store
        monkeypatch.setattr(monitor.poll, "_store", lambda *a, isolate, **kw: real(*a, isolate=True, **kw))
    rt = _runtime(tmp_path, http_server, ITEMS)
    try:
        report = poll_feed(rt, rt.config.feeds[0], force=True)
        links, values, sources = _stored(rt)
        again = poll_feed(rt, rt.config.feeds[0], force=True)
        assert _stored(rt) == (links, values, sources)
    finally:
        rt.close()
    assert (report.new_articles, report.entry_errors) == (2, 0)
    assert links == ["https://x.example/1", "https://x.example/4"]
    assert values == [21e9, 24e9] and sources == 2
    assert again.new_articles == 0


def test_changed_entry_is_re_extracted_and_only_its_new_fact_is_stored(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    rt = _runtime(tmp_path, http_server, ITEMS)
    try:
        poll_feed(rt, rt.config.feeds[0], force=True)
        changed = [*ITEMS[:3], _item("g4", "4", "Sinopec results later", profit(24, 2023) + " " + profit(25, 2024), 4)]
        http_server.routes["/feed.xml"] = Route(body=rss(changed))
        report = poll_feed(rt, rt.config.feeds[0], force=True)
        links, values, _ = _stored(rt)
    finally:
        rt.close()
    assert report.new_articles == 0 and report.figures == 1
    assert links == ["https://x.example/1", "https://x.example/4"] and values == [21e9, 24e9, 25e9]
