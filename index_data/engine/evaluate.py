"""Runs a compiled Whoosh query over whole posting lists with numpy: which documents match, and
their BM25/BM25F scores, in one vectorised pass per query node.

Whoosh evaluates a query by walking a tree of matcher objects one posting at a time in Python,
which is what made a 100,000-question index slow to search. This module reads the same posting
lists (decoded in one go and cached per open segment: ``postings.SegmentArrays``) and computes
for every query node a dense "matches" mask and "score" array over the segment's documents:
OR adds scores, AND intersects, NOT subtracts, exactly as Whoosh's matchers combine them, with
the formulas of ``scoring`` and Whoosh's statistics. Phrases are checked against decoded
positions, only for documents holding every word. Query types it does not know fall back to
Whoosh's own matcher for that node (:meth:`Evaluator.fallback`).
``tests/test_executor.py`` compares match sets, scores and order with Whoosh's search, mqt's own
query types scored there by the reference matchers of ``tests/reference_matchers.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from collections.abc import Callable

import numpy as np
from whoosh import query as wq

from . import format
from .phrases import follow
from .postings import MAX_CACHED_FILTERS, SegmentArrays
from .queries import CoordOr, FieldsTerm, GappedPhrase
from .scoring import bm25, bm25f, fields_idf, group_avg_length

if TYPE_CHECKING:
    from searcher.ranking import BM25Settings


class _Result:
    """One query node evaluated over one segment: a boolean mask and a score array (0 off-mask)."""

    __slots__ = ("mask", "score")

    def __init__(self, mask: np.ndarray, score: np.ndarray):
        self.mask = mask
        self.score = score


def _tree_sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Add arrays in the order Whoosh's ``make_binary_tree`` of union/intersection matchers does
    (``a + (b + c)`` for three), so float sums come out bit for bit the same."""
    if len(arrays) == 1:
        return arrays[0]
    half = len(arrays) // 2
    return _tree_sum(arrays[:half]) + _tree_sum(arrays[half:])


class Evaluator:
    """Evaluates query nodes over one segment; ``top`` is the whole index's searcher (for the
    collection statistics: idf, average field lengths), ``sub`` this segment's, ``seg`` its
    decoded arrays."""

    def __init__(self, top, sub, seg: SegmentArrays, bm25: BM25Settings, want_scores: bool = True,
                 idfs: dict | None = None):
        self.top = top
        self.idfs = {} if idfs is None else idfs  # word -> idf, shared by one query's segments
        self.sub = sub
        self.reader = sub.reader()
        self.seg = seg
        self.bm25 = bm25
        self.n = self.seg.n
        self.want_scores = want_scores

    def empty(self) -> _Result:
        return _Result(np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=np.float64))

    def eval(self, q) -> _Result | None:
        """None means "matches nothing" (Whoosh's NullMatcher)."""
        t = type(q)
        if q is wq.NullQuery or t is type(wq.NullQuery):
            return None
        if t is FieldsTerm:
            return self.fields_term(q)
        if t is wq.Term:
            return self.term(q)
        if t is CoordOr:
            return self.union(q.subqueries, coord_bonus=q.bonus)
        if t is wq.Or:
            return self.union(q.subqueries)
        if t is wq.And:
            return self.intersection(q.subqueries)
        if t is wq.AndNot:
            return self.and_not(q)
        if t is wq.AndMaybe:
            return self.and_maybe(q)
        if isinstance(q, wq.ConstantScoreQuery):
            return self.constant(q)
        if t is GappedPhrase or t is wq.Phrase:
            return self.phrase(q)
        if t is wq.NumericRange:
            return self.numeric_range(q)
        if t is wq.Every and q.fieldname in (None, "", "*"):
            # every document (``-housing``, filters alone), at Whoosh's ListMatcher weight
            return _Result(np.ones(self.n, dtype=bool), np.full(self.n, float(q.boost or 1.0)))
        return self.fallback(q)

    # -- leaves --

    def term(self, q: wq.Term) -> _Result | None:
        field = self.top.schema[q.fieldname] if q.fieldname in self.top.schema else None
        if field is None or not field.scorable:
            return self.fallback(q)
        p = self.seg.postings(q.fieldname, q.text)
        if p is None or not len(p[0]):
            return None
        ids, tf = p
        res = self.empty()
        res.mask[ids] = True
        if self.want_scores:
            res.score[ids] = self._bm25(q.fieldname, q.text, ids, tf) * q.boost if q.boost != 1.0 \
                else self._bm25(q.fieldname, q.text, ids, tf)
        return res

    def _bm25(self, fieldname, text, ids, tf) -> np.ndarray:
        """One field's BM25 (``scoring.bm25``) with the ranking's ``b`` and ``k1``; the idf from
        the searcher's weighting model (``scoring.MqtBM25``, cached per searcher)."""
        b = self.bm25.b.get(fieldname, self.bm25.default_b)
        idf = self.top.idf(fieldname, text)
        avgfl = self.top.avg_field_length(fieldname) or 1
        fl = self.seg.lengths(fieldname)[ids]
        return bm25(idf, tf.astype(np.float64), fl, avgfl, b, self.bm25.k1)

    def fields_term(self, q: FieldsTerm) -> _Result | None:
        top = self.top
        parts = []
        res = None
        for f, w in q.weights.items():
            if w <= 0:
                continue
            p = self.seg.postings(f, q.text)
            if p is None or not len(p[0]):
                continue
            ids, tf = p
            if res is None:
                res = self.empty()
            res.mask[ids] = True
            if self.want_scores:
                b = self.bm25.b.get(f, self.bm25.default_b)
                group = self.bm25.length_group(f)
                norm = self.seg.norm(group, b, group_avg_length(top, group))
                part = np.zeros(self.n, dtype=np.float64)
                part[ids] = w * tf.astype(np.float64) / norm[ids]
                parts.append(part)
        if res is None:
            return None
        if self.want_scores:
            key = (q.text, tuple(q.weights))
            idf = self.idfs.get(key)
            if idf is None:
                idf = self.idfs[key] = fields_idf(top, q.text, q.weights)
            s = bm25f(idf, _tree_sum(parts), self.bm25.k1, q.boost)
            res.score = np.where(res.mask, s, 0.0)
        return res

    def phrase(self, q: wq.Phrase) -> _Result | None:
        """Documents where the words occur in order, each at its query distance from the one
        before (a ``GappedPhrase``'s offsets; 1 for Whoosh's ``Phrase``) up to ``slop - 1``
        positions further (Whoosh's ``SpanNear2(ordered=True, mindist=1)`` for a phrase without
        gaps), scored as the sum of the words' BM25 scores, as Whoosh's phrase matcher does."""
        if q.fieldname not in self.top.schema:
            return None
        field = self.top.schema[q.fieldname]
        if not field.format or not field.format.supports("positions"):
            return self.fallback(q)
        words = list(q.words)
        if not words:
            return None
        posts = [self.seg.postings(q.fieldname, w) for w in words]
        if any(p is None or not len(p[0]) for p in posts):
            return None
        cands = posts[0][0]
        for ids, _ in posts[1:]:
            cands = np.intersect1d(cands, ids, assume_unique=True)
            if not len(cands):
                return None
        if len(words) > 1:
            deltas = q.deltas() if isinstance(q, GappedPhrase) else [0] + [1] * (len(words) - 1)
            cands = self._check_positions(q.fieldname, words, deltas, cands, q.slop - 1)
            if not len(cands):
                return None
        res = self.empty()
        res.mask[cands] = True
        if self.want_scores:
            scores = []
            for w, (ids, tf) in zip(words, posts):
                idx = np.searchsorted(ids, cands)
                scores.append(self._bm25(q.fieldname, w, cands, tf[idx]))
            s = _tree_sum(scores)
            res.score[cands] = s * q.boost if q.boost != 1.0 else s
        return res

    def _check_positions(self, fieldname, words, deltas, cands, extra) -> np.ndarray:
        """The candidates where the words occur in order, word ``i`` ``deltas[i]`` to
        ``deltas[i] + extra`` positions after word ``i - 1``, checked for all candidates at once
        on ``(candidate, position)`` keys."""
        fmt = self.top.schema[fieldname].format
        reach: np.ndarray | None = None
        for w, delta in zip(words, deltas):
            keys = format.position_keys(self.seg.values_for(fieldname, w, cands), fmt)
            if reach is None:
                reach = keys
                continue
            reach = follow(reach, keys, delta, extra)
            if not len(reach):
                return reach
        assert reach is not None  # words has two or more
        return cands[np.unique(reach >> format.POS_BITS)]

    def numeric_range(self, q: wq.NumericRange) -> _Result | None:
        """A date range as a filter, from the date column instead of Whoosh's expansion into
        many terms. Only for ``date``: every question has a meeting date (a number > 0), so
        "has a value" is "column > 0"; scored ranges and other fields go to Whoosh."""
        if q.fieldname != "date" or self.want_scores:
            return self.fallback(q)
        values = self.seg.column(q.fieldname)
        mask = values > 0
        if q.start is not None:
            mask &= (values > q.start) if q.startexcl else (values >= q.start)
        if q.end is not None:
            mask &= (values < q.end) if q.endexcl else (values <= q.end)
        if not mask.any():
            return None
        return _Result(mask, np.zeros(self.n, dtype=np.float64))

    def fallback(self, q) -> _Result | None:
        """Any other query type: Whoosh's own matcher, one posting at a time, scored by the
        searcher's weighting (``scoring.weighting``). mqt's compiler reaches it only for terms
        and phrases of unscored fields (``id``, ``status``) inside filters; a query type added
        later is answered correctly here, only slower."""
        m = q.matcher(self.sub, self.sub.context(needs_current=True, weighting=self.top.weighting))
        if not m.is_active():
            return None
        ids, scores = [], []
        while m.is_active():
            ids.append(m.id())
            scores.append(m.score() if self.want_scores else 0.0)
            m.next()
        res = self.empty()
        idx = np.array(ids, dtype=np.int64)
        res.mask[idx] = True
        res.score[idx] = scores
        return res

    # -- combinations --

    def union(self, subqueries, coord_bonus: float | None = None) -> _Result | None:
        subs = [r for r in (self.eval(s) for s in subqueries) if r is not None]
        if not subs:
            return None
        if len(subs) == 1 and not (coord_bonus and len(subqueries) > 1):
            return subs[0]
        mask = subs[0].mask.copy()
        for r in subs[1:]:
            mask |= r.mask
        res = _Result(mask, _tree_sum([r.score for r in subs]) if self.want_scores else subs[0].score)
        if coord_bonus and len(subqueries) > 1 and self.want_scores:
            count = np.zeros(self.n, dtype=np.float64)
            for r in subs:
                count += r.mask
            res.score = np.where(mask, res.score + coord_bonus * (count - 1), 0.0)
        return res

    def intersection(self, subqueries) -> _Result | None:
        if not subqueries:
            return None
        subs = []
        for s in subqueries:
            r = self.eval(s)
            if r is None:
                return None
            subs.append(r)
        if len(subs) == 1:
            return subs[0]
        mask = subs[0].mask.copy()
        for r in subs[1:]:
            mask &= r.mask
        score = np.where(mask, _tree_sum([r.score for r in subs]), 0.0) if self.want_scores \
            else subs[0].score
        return _Result(mask, score)

    def and_not(self, q) -> _Result | None:
        a = self.eval(q.a)
        if a is None:
            return None
        b = self.eval(q.b)
        if b is None:
            return a
        mask = a.mask & ~b.mask
        return _Result(mask, np.where(mask, a.score, 0.0))

    def and_maybe(self, q) -> _Result | None:
        a = self.eval(q.a)
        if a is None:
            return None
        b = self.eval(q.b)
        if b is None or not self.want_scores:
            return a
        return _Result(a.mask, a.score + np.where(a.mask, b.score, 0.0))

    def constant(self, q: wq.ConstantScoreQuery) -> _Result | None:
        """A filter (party, asker, status, dates): its mask is cached per segment."""
        filters = self.seg.filters
        key = repr(q.child)
        mask = filters.get(key)
        if mask is None:
            saved, self.want_scores = self.want_scores, False
            try:
                r = self.eval(q.child)
            finally:
                self.want_scores = saved
            mask = r.mask if r is not None else np.zeros(self.n, dtype=bool)
            filters[key] = mask
            if len(filters) > MAX_CACHED_FILTERS:
                filters.popitem(last=False)
        else:
            filters.move_to_end(key)
        if not mask.any():
            return None
        score = np.zeros(self.n, dtype=np.float64)
        if q.score:
            score[mask] = q.score
        return _Result(mask, score)


def execute(searcher, q, arrays: Callable[[Any], SegmentArrays], bm25: BM25Settings,
            want_scores: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every live document ``q`` matches in ``searcher``'s index, as sorted global docnums, and
    their scores (zeros when ``want_scores`` is False). ``arrays(segment_reader)`` gives a
    segment's decoded arrays (kept by the caller between queries); ``bm25`` the scoring
    settings (the ones the searcher's weighting was built from)."""
    docs, scores = [], []
    idfs: dict = {}
    for sub, offset in searcher.leaf_searchers():
        ev = Evaluator(searcher, sub, arrays(sub.reader()), bm25, want_scores, idfs)
        r = ev.eval(q)
        if r is None:
            continue
        mask = r.mask if ev.seg.live is None else (r.mask & ev.seg.live)
        local = np.flatnonzero(mask)
        docs.append(local + offset)
        scores.append(r.score[local])
    if not docs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return np.concatenate(docs).astype(np.int64), np.concatenate(scores)
