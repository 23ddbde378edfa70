"""The exact set of documents a Whoosh query matches, fast: for totals and facet counts.

Whoosh answers "which documents match" by walking the same tree of matcher objects it scores
with, one document at a time in Python. Totals and facets need only the set, so this module reads
each term's posting list block by block into a Python ``set`` and combines the sets with set
algebra (union for OR, intersection for AND, difference for NOT). Query types it does not know
(phrases, ranges, ...) fall back to Whoosh's own matcher, so the answer is always Whoosh's.
``tests/test_docsets.py`` checks it against ``Query.docs()``.
"""

from __future__ import annotations

import copy
import weakref
from array import array

from whoosh import matching, scoring
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import ListMatcher, NullMatcherClass
from whoosh.matching.wrappers import FilterMatcher


def _leaf_ids(m) -> set[int]:
    """All ids of a fresh posting-list matcher, read a block at a time."""
    if isinstance(m, W3LeafMatcher):
        out: set[int] = set()
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            out.update(m._ids[m._i:] if m._i else m._ids)
            m._next_block()
        return out
    if isinstance(m, FilterMatcher):
        ids = _leaf_ids(m.child)
        return ids - m._ids if m._exclude else ids & m._ids
    if isinstance(m, NullMatcherClass):
        return set()
    if isinstance(m, ListMatcher):
        return set(m.all_ids())
    return set(m.all_ids())


def _docs(searcher, reader, q) -> set[int]:
    """Matching docnums of one segment (``searcher`` is that segment's searcher)."""
    if isinstance(q, wq.Term):
        field = q.fieldname
        if (field, q.text) not in reader:
            return set()
        return _leaf_ids(reader.postings(field, q.text))
    if isinstance(q, wq.Or) and not getattr(q, "minmatch", 0) > 1:  # CoordOr too: it only scores
        out: set[int] = set()
        for sub in q.subqueries:
            out |= _docs(searcher, reader, sub)
        return out
    if isinstance(q, wq.And):
        sets = sorted((_docs(searcher, reader, sub) for sub in q.subqueries), key=len)
        out = sets[0] if sets else set()
        for s in sets[1:]:
            if not out:
                break
            out &= s
        return out
    if isinstance(q, wq.AndNot):
        out = _docs(searcher, reader, q.a)
        return out - _docs(searcher, reader, q.b) if out else out
    if isinstance(q, CachedFilter):
        ids = q.segment_ids(searcher)
        return set(ids[0]) if ids is not None else set()
    if isinstance(q, wq.ConstantScoreQuery):
        return _docs(searcher, reader, q.child)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return set()
    if isinstance(q, wq.Every) and not q.fieldname:
        n = reader.doc_count_all()
        return {d for d in range(n) if not reader.is_deleted(d)} if reader.has_deletions() else set(range(n))
    return set(q.docs(searcher))


def matched_docs(searcher, q) -> list[int]:
    """Sorted global docnums of every document ``q`` matches in ``searcher``'s index."""
    out: list[int] = []
    for sub, offset in searcher.leaf_searchers():
        docs = _docs(sub, sub.reader(), q)
        out.extend(sorted(docs) if not offset else sorted(d + offset for d in docs))
    return out



# ---- filters ---------------------------------------------------------------------------------------

#: Per open segment reader (weakly held: entries go with their reader), filter -> (ids, term).
#: Keyed by the reader object, not the segment id: ids are random names, and a program that seeds
#: ``random`` (as hypothesis does) can open two indexes whose segments share one.
_FILTER_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_FILTER_CACHE_MAX = 256


class CachedFilter(wq.ConstantScoreQuery):
    """``ConstantScoreQuery`` whose per-segment document list is computed once and cached.

    Whoosh's ``ConstantScoreQuery`` (how filters such as ``party:labour`` or a date range are
    compiled) re-reads its child's whole match list on every query. This gives the same
    ``ListMatcher`` (same ids, same constant score, so ranking is unchanged) from a cache keyed
    by open segment reader and its live document count.
    """

    def segment_ids(self, searcher):
        """``(ids, term)`` of this filter in one segment's searcher, or None when it matches nothing."""
        reader = searcher.reader()
        try:
            cache = _FILTER_CACHE.setdefault(reader, {})
        except TypeError:  # not weakly referenceable: no caching
            cache = {}
        key = (reader.doc_count(), repr(self.child))
        hit = cache.get(key, False)
        if hit is not False:
            return hit
        from whoosh.searching import SearchContext

        m = self.child.matcher(searcher, SearchContext())
        value = None if isinstance(m, matching.NullMatcherClass) else (array("I", m.all_ids()), m.term())
        if len(cache) >= _FILTER_CACHE_MAX:
            cache.clear()
        cache[key] = value
        return value

    def matcher(self, searcher, context=None):
        from whoosh.searching import SearchContext

        context = context or SearchContext()
        if context.needs_current:
            return wq.ConstantScoreQuery.matcher(self, searcher, context)
        value = self.segment_ids(searcher)
        if value is None:
            return matching.NullMatcher()
        ids, term = value
        return matching.ListMatcher(ids, all_weights=self.score, term=term)


def cache_filters(q):
    """``q`` with every ``ConstantScoreQuery`` (a filter) made a :class:`CachedFilter`."""
    if type(q) is wq.ConstantScoreQuery:
        return CachedFilter(q.child, q.score)
    if isinstance(q, wq.CompoundQuery):
        new = copy.copy(q)  # keeps subclass state (e.g. CoordOr's bonus)
        new.subqueries = [cache_filters(s) for s in q.subqueries]
        return new
    if isinstance(q, wq.BinaryQuery):
        new = copy.copy(q)
        new.a, new.b = cache_filters(q.a), cache_filters(q.b)
        new.subqueries = (new.a, new.b)
        return new
    return q


# ---- sorting by date -------------------------------------------------------------------------------

def top_by_date(searcher, q, docs: list[int], dates, k: int, newest: bool) -> list[tuple[int, float]]:
    """The first ``k`` of ``docs`` ordered by date (newest or oldest first), then relevance, then
    docnum, as ``(docnum, score)``: exactly what Whoosh's ``sortedby=[FieldFacet("date"),
    ScoreFacet()]`` returns, but scoring only the documents on or before the k-th one's date
    instead of every match. ``dates`` maps a global docnum to its date number.
    """
    if not docs or k <= 0:
        return []
    order = sorted(docs, key=dates.__getitem__, reverse=newest)
    cutoff = dates[order[min(k, len(order)) - 1]]
    if newest:
        cands = [d for d in docs if dates[d] >= cutoff]
    else:
        cands = [d for d in docs if dates[d] <= cutoff]
    scores = _scores(searcher, q, cands)
    sign = -1 if newest else 1
    ranked = sorted(cands, key=lambda d: (sign * dates[d], -scores[d], d))
    return [(d, scores[d]) for d in ranked[:k]]


def _scores(searcher, q, docs: list[int]) -> dict[int, float]:
    """Relevance of each of ``docs`` (sorted global docnums), from the same matcher, in the same
    context, that Whoosh's sorting collector scores with."""
    out: dict[int, float] = {}
    context = searcher.context(needs_current=True)
    i = 0
    leaves = searcher.leaf_searchers()
    for n, (sub, offset) in enumerate(leaves):
        end = leaves[n + 1][1] if n + 1 < len(leaves) else offset + sub.reader().doc_count_all()
        m = q.matcher(sub, context)
        while i < len(docs) and docs[i] < end:
            local = docs[i] - offset
            if m.is_active():
                if m.id() < local:
                    m.skip_to(local)
                if m.is_active() and m.id() == local:
                    out[docs[i]] = m.score()
            out.setdefault(docs[i], 0.0)
            i += 1
    return out


# ---- field lengths for scoring ----------------------------------------------------------------------

#: Per open per-document reader (weakly held), field name -> decoded lengths.
_LENGTHS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _field_lengths(searcher, fieldname):
    """Every document's length in ``fieldname`` for one segment, decoded exactly as
    ``doc_field_length`` decodes it (None for 0), or None when it cannot be read in one go."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
    from whoosh.util.numeric import byte_to_length

    reader = searcher.reader()
    segment = getattr(reader, "segment", None)
    perdoc = getattr(reader, "_perdoc", None)
    if segment is None or perdoc is None or not hasattr(perdoc, "_cached_reader"):
        return None
    try:
        cache = _LENGTHS.setdefault(perdoc, {})
    except TypeError:
        return None
    lens = cache.get(fieldname)
    if lens is None:
        cr = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if cr is None or getattr(cr, "_fixedlen", None) != 1 or not hasattr(cr, "_dbfile"):
            return None
        table = [None] + [byte_to_length(b) for b in range(1, 256)]
        raw = cr._dbfile.get(cr._basepos, cr._count) if cr._count else b""
        lens = [table[b] for b in raw] + [None] * (cr._doccount - cr._count)
        cache[fieldname] = lens
    return lens


class FastBM25F(scoring.BM25F):
    """Whoosh's BM25F, scoring from a per-segment list of field lengths read once, instead of
    a column lookup and decode for every posting scored. Same formula, same numbers."""

    def scorer(self, searcher, fieldname, text, qf=1):
        sc = scoring.BM25F.scorer(self, searcher, fieldname, text, qf=qf)
        if isinstance(sc, scoring.BM25FScorer):
            lens = _field_lengths(searcher, fieldname)
            if lens is not None:
                sc.dfl = lens.__getitem__
        return sc
