"""The prototype fast path (``index_data.poststore`` + ``index_data.blockmax``) behind the
current reader, for tests and benchmarks: a compiled Whoosh query turned into a ``blockmax``
tree, and one open index's stores with their live-document masks.

Not wired into ``whoosh_reader`` (issue 13 moves it into ``index_data/engine/``); see
``benchmarks/blockmax_bench.py`` and ``tests/test_blockmax.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from whoosh import query as wq

from index_data import blockmax as bm
from index_data import poststore
from index_data.schema import FACETS

from . import ranking
from .whoosh_ranking import FieldsTerm
from .whoosh_reader import RawHit, WhooshReader


def scoring() -> bm.Scoring:
    """The current ranking settings as a ``blockmax.Scoring`` value."""
    return bm.Scoring(k1=ranking.BM25_K1, b=tuple(sorted(ranking.BM25_B.items())), default_b=0.75,
                      idf=ranking.IDF)


def plan(q) -> object:
    """The ``blockmax`` tree of a compiled Whoosh query (``Unsupported`` for other node types:
    the caller runs that query through the executor)."""
    t = type(q)
    if q is wq.NullQuery or t is type(wq.NullQuery):
        return bm.Nothing()
    if t is FieldsTerm:
        return bm.FieldsWord(q.text, tuple(q.weights.items()), float(q.boost))
    if t is wq.Term:
        return bm.Word(q.fieldname, q.text, float(q.boost))
    if isinstance(q, wq.Or) and getattr(q, "bonus", None) is not None:
        return bm.AnyOf(tuple(plan(s) for s in q.subqueries), float(q.bonus), len(q.subqueries))
    if t is wq.Or:
        return bm.AnyOf(tuple(plan(s) for s in q.subqueries), None, len(q.subqueries))
    if t is wq.And:
        return bm.AllOf(tuple(plan(s) for s in q.subqueries))
    if t is wq.AndNot:
        return bm.Without(plan(q.a), plan(q.b))
    if t is wq.AndMaybe:
        return bm.Maybe(plan(q.a), plan(q.b))
    if isinstance(q, wq.ConstantScoreQuery):
        return bm.Filter(plan(q.child), float(q.score))
    if t is wq.Phrase:
        return bm.Phrase(q.fieldname, tuple(q.words), int(q.slop), float(q.boost))
    if t is wq.NumericRange and q.fieldname == "date":
        return bm.DateRange(q.start, q.end, bool(q.startexcl), bool(q.endexcl))
    if t is wq.Every and q.fieldname in (None, "", "*"):
        return bm.Everything(float(q.boost or 1.0))
    raise bm.Unsupported(f"query type {t.__name__}")


def open_index(index_dir, searcher, window_bits: int | None = None) -> bm.Index | None:
    """The stores of ``searcher``'s segments as a ``blockmax.Index`` with the segments'
    deletions; None when a store is missing or stale. With ``window_bits``, stores are first
    (re)built where missing, stale or of another window size (``ensure_stores``: the build's
    and reindex's job; tests and benchmarks ask for it)."""
    if window_bits is not None:
        stores = poststore.ensure_stores(index_dir, searcher, window_bits=window_bits)
    else:
        stores = poststore.open_stores(index_dir, searcher)
        if stores is None:
            return None
    live = []
    for sub, _offset in searcher.leaf_searchers():
        reader = sub.reader()
        if reader.has_deletions():
            m = np.ones(reader.doc_count_all(), dtype=bool)
            m[np.fromiter(reader._perdoc.deleted_docs(), dtype=np.int64)] = False
            live.append(m)
        else:
            live.append(None)
    return bm.Index(stores, live, scoring())


class FastReader(WhooshReader):
    """``WhooshReader`` answering ``search``/``count``/``top_documents`` from the posting stores
    (the same results; queries the stores cannot run go the old way). The integration sketch:
    after issue 13 this is the engine's search, not a subclass."""

    def __init__(self, index_dir):
        self._fast: tuple | None = None  # (searcher generation key, blockmax.Index or None)
        WhooshReader.__init__(self, index_dir)

    def fast_index(self, s) -> bm.Index | None:
        """The stores of the current searcher's segments (None: missing or stale)."""
        key = (id(s.reader()), s.reader().generation())
        if self._fast is None or self._fast[0] != key:
            self._fast = (key, open_index(self.index_dir, s))
        return self._fast[1]

    def _plan(self, compiled):
        try:
            return plan(compiled.query)
        except bm.Unsupported:
            return None

    def search(self, compiled, *, offset: int, limit: int, sort: str, want_facets: bool,
               neighbours: bool = False):
        p = self._plan(compiled)
        s = self._current()
        idx = self.fast_index(s) if p is not None else None
        if idx is None:
            return WhooshReader.search(self, compiled, offset=offset, limit=limit, sort=sort,
                                       want_facets=want_facets, neighbours=neighbours)
        try:
            if sort in ("newest", "oldest"):
                res = idx.search(p, offset + limit, sort=sort)
                top = res.top
            else:
                want = max(1, offset + limit)
                smooth = neighbours and compiled.words > ranking.SHORT_QUERY_WORDS
                if smooth:
                    want = max(want, ranking.NEIGHBOUR_DEPTH)
                if sort == "relevance_recent":
                    want = max(want, ranking.RECENCY_POOL)
                res = idx.search(p, want)
                top = res.top
                if smooth:
                    depth = ranking.NEIGHBOUR_DEPTH
                    best = top[0][1] if top and top[0][1] > 0 else 0.0
                    rest = [(d, sc / best) for d, sc in top[depth:]] if best else top[depth:]
                    top = self._neighbour_smoothing(s, top[:depth]) + rest
                if sort == "relevance_recent":
                    top = self._recency(s, top)
        except bm.Unsupported:
            return WhooshReader.search(self, compiled, offset=offset, limit=limit, sort=sort,
                                       want_facets=want_facets, neighbours=neighbours)
        facets = idx.facet_counts(res.docs, FACETS) if want_facets else {}
        hits = []
        for docnum, score in top[offset:offset + limit]:
            record = json.loads(s.stored_fields(docnum)["record"])
            hits.append(RawHit(docnum, float(score or 0.0), record))
        self.last = res
        return res.total, hits, facets

    def count(self, compiled) -> int:
        p = self._plan(compiled)
        s = self._current()
        idx = self.fast_index(s) if p is not None else None
        if idx is None:
            return WhooshReader.count(self, compiled)
        return len(idx.matches(p)[1])


def fast_searcher(index_dir):
    """A ``Searcher`` whose engine is :class:`FastReader` (stores built beforehand:
    ``poststore.ensure_stores``)."""
    from .search import Searcher

    searcher = Searcher.__new__(Searcher)
    searcher.index_dir = Path(index_dir)
    searcher._engine = FastReader(searcher.index_dir)
    return searcher
