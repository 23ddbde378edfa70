"""The fast query path behind the engine's reader: a compiled query as a ``blockmax`` tree
(:func:`plan`), and the segments' posting stores (``poststore``) with each view's deletions
(:class:`StoreKeeper`). ``reader.Snapshot`` answers from them when every segment has its store
and the query's nodes are known, and with the executor (``evaluate``) otherwise; both give the
same results, scores and order (``tests/test_blockmax.py``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from whoosh import query as wq

from ..fields import FACETS, facet_column
from . import blockmax as bm
from . import internals, poststore
from .facets import SegmentFacets
from .queries import CoordOr, FieldsTerm, GappedPhrase

Unsupported = bm.Unsupported

if TYPE_CHECKING:
    from searcher.ranking import BM25Settings


def scoring(bm25: BM25Settings) -> bm.Scoring:
    """A ranking's BM25 settings as a ``blockmax.Scoring`` value."""
    return bm.Scoring(k1=bm25.k1, b=tuple(bm25.b.items()), default_b=bm25.default_b,
                      groups=_groups(bm25))


def _groups(bm25: BM25Settings) -> tuple[tuple[str, ...], ...]:
    """BM25F's length groups of a ranking (none: each field is its own)."""
    return tuple(tuple(g) for g in getattr(bm25, "length_groups", ()))


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


class StoreKeeper:
    """The posting stores of one index's segments, opened read-only once per segment and shared
    by every view (``reader.EngineReader`` owns one): a new commit opens only its new segments'
    stores; stores of segments no longer in use are dropped. It never writes: a store that is
    missing, damaged or stale (its segment's fingerprint differs) makes :meth:`index` answer
    None, and the caller answers with the executor until a build or reindex has written it."""

    def __init__(self, index_dir):
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self._stores: dict[str, poststore.PostStore] = {}

    def clear(self) -> None:
        with self._lock:
            self._stores = {}

    def index(self, searcher, bm25: BM25Settings) -> bm.Index | None:
        """A ``blockmax.Index`` over a Whoosh ``searcher``'s segments (their stores, their
        deletions as live masks), or None when a segment's store cannot be used."""
        stores: list[poststore.PostStore] = []
        live: list[np.ndarray | None] = []
        with self._lock:
            known = self._stores
        found: dict[str, poststore.PostStore] = {}
        missing = False
        for sub, _offset in searcher.leaf_searchers():
            reader = sub.reader()
            if reader.segment() is None:
                continue
            fp = poststore.segment_fingerprint(reader)
            seg = fp["segment"]
            st = known.get(seg)
            if st is None or st.dir.get("fingerprint") != fp:
                st = poststore.open_store(poststore.store_path(self.index_dir, seg), segment_id=seg,
                                          doc_count=fp["docs"], fingerprint=fp)
                if st is None:
                    missing = True  # the others are still kept: a recheck opens only this one
                    continue
            found[seg] = st
            if not missing:
                stores.append(st)
                live.append(live_mask(reader))
        with self._lock:
            if any(self._stores.get(seg) is not st for seg, st in found.items()):  # newly opened
                self._stores = {**self._stores, **found}
                if len(self._stores) > 2 * len(found) + 8:  # segments merged away: drop theirs
                    self._stores = dict(found)
        if missing:
            return None
        return bm.Index(stores, live, scoring(bm25))


def store_facets(st: poststore.PostStore) -> SegmentFacets:
    """A segment's facet codes and labels (``facets.SegmentFacets``) from its store's columns,
    made once per store."""
    got = st.facets
    if got is None:
        codes: dict[str, np.ndarray] = {}
        labels: dict[str, list[str]] = {}
        for name in FACETS:
            if name == "year":
                years, local = np.unique(st.array("date").astype(np.int64) // 10000, return_inverse=True)
                codes[name] = local.reshape(-1)
                labels[name] = [str(y) if y else "" for y in years.tolist()]
            else:
                codes[name] = st.array(facet_column(name))
                labels[name] = st.labels.get(facet_column(name), [])
        got = st.facets = SegmentFacets(codes, labels)
    return got


def live_mask(reader) -> np.ndarray | None:
    """A segment's live documents as a mask (None: no deletions)."""
    if not reader.has_deletions():
        return None
    m = np.ones(reader.doc_count_all(), dtype=bool)
    gone = internals.deleted_docs(reader)
    if gone is None:
        gone = (d for d in range(reader.doc_count_all()) if reader.is_deleted(d))
    m[np.fromiter(gone, dtype=np.int64)] = False
    return m


def open_index(index_dir, searcher, bm25: BM25Settings) -> bm.Index | None:
    """The stores of a Whoosh ``searcher``'s segments as a ``blockmax.Index`` with the segments'
    deletions; None when a store is missing or stale (writing them is the build's and reindex's
    job: ``poststore.ensure_stores``, under the job lock)."""
    return StoreKeeper(index_dir).index(searcher, bm25)
