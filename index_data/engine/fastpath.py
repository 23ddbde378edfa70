"""The prototype fast path (``poststore`` + ``blockmax``) behind the engine's reader: a compiled
query as a ``blockmax`` tree, and a snapshot's posting stores with its live-document masks.

Not yet part of the engine's interface (issue 15's prototype): ``benchmarks/fastsearch.py``
runs the searcher's ``_run`` through :class:`FastView`, and ``tests/test_blockmax.py`` checks it
against the executor. Wiring it in means a ``Snapshot`` method answering "the total, the
matches and the first ``k``" from :meth:`FastView.search`, the searcher's ``_run`` calling it
instead of ``run`` + ``top_k``, and the build and reindex writing the stores
(``poststore.StoreWriter``, ``poststore.ensure_stores``); ``benchmarks/RESULTS.md`` has the notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from whoosh import query as wq

from . import blockmax as bm
from . import internals, poststore
from .queries import CoordOr, FieldsTerm, GappedPhrase

if TYPE_CHECKING:
    from searcher.ranking import BM25Settings


def scoring(bm25: BM25Settings) -> bm.Scoring:
    """A ranking's BM25 settings as a ``blockmax.Scoring`` value."""
    return bm.Scoring(k1=bm25.k1, b=tuple(bm25.b.items()), default_b=bm25.default_b)


def plan(q) -> Any:
    """The ``blockmax`` tree of a compiled Whoosh query (``blockmax.Unsupported`` for node types
    it does not know: the caller answers that query with the executor)."""
    t = type(q)
    if q is wq.NullQuery or t is type(wq.NullQuery):
        return bm.Nothing()
    if t is FieldsTerm:
        return bm.FieldsWord(q.text, tuple(q.weights.items()), float(q.boost))
    if t is wq.Term:
        return bm.Word(q.fieldname, q.text, float(q.boost))
    if t is CoordOr:
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
    if t is GappedPhrase:
        return bm.Phrase(q.fieldname, tuple(q.words), tuple(q.deltas()), int(q.extra), float(q.boost))
    if t is wq.Phrase:
        return bm.Phrase(q.fieldname, tuple(q.words), (), int(q.slop) - 1, float(q.boost))
    if t is wq.NumericRange and q.fieldname == "date":
        return bm.DateRange(q.start, q.end, bool(q.startexcl), bool(q.endexcl))
    if t is wq.Every and q.fieldname in (None, "", "*"):
        return bm.Everything(float(q.boost or 1.0))
    raise bm.Unsupported(f"query type {t.__name__}")


def open_index(index_dir, searcher, bm25: BM25Settings, window_bits: int | None = None) -> bm.Index | None:
    """The stores of a Whoosh ``searcher``'s segments as a ``blockmax.Index`` with the segments'
    deletions; None when a store is missing or stale. With ``window_bits``, stores are first
    (re)built where missing, stale or of another window size (``poststore.ensure_stores``: the
    build's and reindex's job; tests and benchmarks ask for it here)."""
    if window_bits is not None:
        stores = poststore.ensure_stores(index_dir, searcher, window_bits=window_bits)
    else:
        found = poststore.open_stores(index_dir, searcher)
        if found is None:
            return None
        stores = found
    live: list[np.ndarray | None] = []
    for sub, _offset in searcher.leaf_searchers():
        reader = sub.reader()
        if reader.has_deletions():
            m = np.ones(reader.doc_count_all(), dtype=bool)
            gone = internals.deleted_docs(reader)
            if gone is None:
                gone = (d for d in range(reader.doc_count_all()) if reader.is_deleted(d))
            m[np.fromiter(gone, dtype=np.int64)] = False
            live.append(m)
        else:
            live.append(None)
    return bm.Index(stores, live, scoring(bm25))


class FastView:
    """One snapshot's stores (opened on first use; ``index`` None while one is missing or
    stale), answering searches the snapshot's ``run`` + ``top_k`` would, with the same results."""

    def __init__(self, snapshot, bm25: BM25Settings):
        self.snapshot = snapshot
        self.bm25 = bm25
        self._index: bm.Index | None | bool = False

    @property
    def index(self) -> bm.Index | None:
        if self._index is False:
            self._index = open_index(self.snapshot.index_dir, self.snapshot.whoosh_searcher, self.bm25)
        return self._index  # type: ignore[return-value]

    def search(self, compiled, k: int, sort: str = "relevance") -> bm.Result | None:
        """The total, the matches and the first ``k`` (by score, or ``sort="newest"``/``"oldest"``
        by date) of a compiled query; None when the stores cannot answer it."""
        idx = self.index
        if idx is None:
            return None
        try:
            return idx.search(plan(compiled.query), k, sort=sort)
        except bm.Unsupported:
            return None
