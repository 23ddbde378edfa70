"""The server's index service: searches run on a small pool of its own, and the threads of that
pool share the facet and date columns of each segment instead of each reading them."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import index_data.engine.facets as engine_facets
import index_data.engine.postings as engine_postings
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


@pytest.mark.parametrize("stores", [False, True], ids=["executor", "stores"])
def test_threads_share_the_facet_and_date_columns(library_index, monkeypatch, stores):
    """Facet codes and date columns are read once per segment (the engine reader's
    ``SegmentCache``) and shared by every thread's view: a pool of threads, each opening its own
    searcher, reads neither again. Through the posting stores (the default) they come from the
    stores, opened once per segment and shared by every thread's view: Whoosh's columns are not
    read at all."""
    facet_reads, date_reads = [], []
    real_coded, real_numeric = engine_facets.coded_column, engine_postings.numeric_column

    def coded(*a, **kw):
        facet_reads.append(threading.current_thread().name)
        return real_coded(*a, **kw)

    def numeric(reader, fieldname, *a, **kw):
        if fieldname == "date":
            date_reads.append(threading.current_thread().name)
        return real_numeric(reader, fieldname, *a, **kw)

    monkeypatch.setattr(engine_facets, "coded_column", coded)
    monkeypatch.setattr(engine_postings, "numeric_column", numeric)
    queries = ["crime", "transport", "hate", "fire"] * 5
    with Searcher(library_index) as s:
        s.engine.use_stores = stores
        first = s.search("crime").facets
        newest = s.search("crime", sort="newest").hits
        once = (len(facet_reads), len(date_reads))
        if stores:
            assert once == (0, 0)
            mine = [id(st) for st in s.engine.snapshot().fast().stores]
        else:
            assert once[0] > 0 and once[1] > 0
        threads = set()
        shared = []

        def search(q):
            threads.add(threading.current_thread().name)
            if stores:
                shared.append([id(st) for st in s.engine.snapshot().fast().stores])
            return s.search(q), s.search(q, sort="newest")

        with ThreadPoolExecutor(4) as pool:
            pages = list(pool.map(search, queries))
        assert len(threads) > 1  # several threads, each with a searcher of its own
        assert (len(facet_reads), len(date_reads)) == once  # no thread read them again
        if stores:
            assert shared and all(ids == mine for ids in shared)  # one store per segment
        assert pages[0][0].facets == first
        assert [h.id for h in pages[0][1].hits] == [h.id for h in newest]
