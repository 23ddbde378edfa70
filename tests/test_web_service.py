"""The server's index service: searches run on a small pool of its own, and the threads of that
pool share the whole-index columns (facets, dates) of one commit instead of each building them."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import searcher.whoosh_reader as whoosh_reader
from searcher import Searcher
from searcher.web.service import IndexService, default_threads


def test_searches_run_on_a_bounded_pool(library_index):
    svc = IndexService(library_index, threads=2)
    seen = []

    def work(s):
        seen.append(threading.current_thread().name)
        return s.search("crime").total

    async def many():
        return await asyncio.gather(*(svc.run(work) for _ in range(40)))

    try:
        assert asyncio.run(many()) == [4] * 40
    finally:
        svc.close()
    assert len(set(seen)) <= 2 and all(n.startswith("mqt-search") for n in seen)
    assert 1 <= default_threads() <= 8


def test_threads_share_the_whole_index_columns(library_index, monkeypatch):
    builds = []
    real = whoosh_reader.coded_column

    def counting(*a, **kw):
        builds.append(threading.current_thread().name)
        return real(*a, **kw)

    monkeypatch.setattr(whoosh_reader, "coded_column", counting)
    with Searcher(library_index) as s:
        first = s.search("crime").facets
        once = len(builds)
        assert once > 0
        with ThreadPoolExecutor(4) as pool:
            pages = list(pool.map(lambda q: s.search(q), ["crime", "transport", "hate", "fire"] * 5))
        assert len(builds) == once  # no thread built them again
        assert pages[0].facets == first
