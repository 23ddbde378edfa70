"""The tests' reference for mqt's own scoring rules: Whoosh matchers that score ``FieldsTerm``
(BM25F) and ``CoordOr`` (the coordination bonus) one posting at a time, as Whoosh scores
everything else.

mqt never runs these: its executor (``index_data.engine.evaluate``) scores whole posting lists
with numpy. ``tests/test_executor.py`` runs every compiled query through Whoosh's own search
with these matchers (:func:`reference`) and checks that the executor gives the same matches,
scores and order.
"""

from __future__ import annotations

import functools

from whoosh import query as wq
from whoosh.matching import NullMatcher, UnionMatcher, WrappingMatcher
from whoosh.util import make_binary_tree

from index_data.engine.queries import CoordOr, FieldsTerm, GappedPhrase
from index_data.engine.scoring import fields_idf, group_avg_length
from searcher.ranking import BM25Settings, Ranking


# ---- word coordination ---------------------------------------------------------------------------

class _Clause(WrappingMatcher):
    """Marks where one ranked word's matcher starts, so matched words can be counted."""

    def _replacement(self, newchild):
        return _Clause(newchild)


def _count_clauses(m, docid) -> int:
    if isinstance(m, _Clause):
        return 1
    if isinstance(m, UnionMatcher):
        n = 0
        for child in (m.a, m.b):
            if child.is_active() and child.id() == docid:
                n += _count_clauses(child, docid)
        return n
    return 1


class _CoordMatcher(WrappingMatcher):
    """Adds ``bonus`` for every matched clause beyond the first."""

    def __init__(self, child, nclauses: int, bonus: float):
        WrappingMatcher.__init__(self, child)
        self._n = nclauses
        self._bonus = bonus

    def _replacement(self, newchild):
        return _CoordMatcher(newchild, self._n, self._bonus)

    def max_quality(self):
        return self.child.max_quality() + self._bonus * (self._n - 1)

    def block_quality(self):
        return self.child.block_quality() + self._bonus * (self._n - 1)

    def score(self):
        child = self.child
        return child.score() + self._bonus * (_count_clauses(child, child.id()) - 1)


class RefCoordOr(CoordOr):
    """``CoordOr`` with a Whoosh matcher."""

    def matcher(self, searcher, context=None):
        subs = [m for m in (s.matcher(searcher, context) for s in self.subqueries) if m.is_active()]
        if not subs:
            return NullMatcher()
        m = make_binary_tree(UnionMatcher, [_Clause(s) for s in subs])
        if self.bonus and len(self.subqueries) > 1:
            m = _CoordMatcher(m, len(self.subqueries), self.bonus)
        return m


# ---- BM25F: one word over several fields, saturated once -----------------------------------------

def _group_length(reader, fields: tuple[str, ...], docid: int) -> int:
    """A document's length over ``fields`` (a BM25F length group), one document at a time."""
    return sum(reader.doc_field_length(docid, f, 0) or 0 for f in fields)


class _FieldPostings(WrappingMatcher):
    """One field's postings of the word, labelled with what BM25F needs to weigh them
    (``lengths(docid)``: the document's length over the field's length group)."""

    def __init__(self, child, fieldname, weight, b, avg_len, lengths):
        WrappingMatcher.__init__(self, child)
        self.fieldname, self.fweight, self.b, self.avg_len, self.lengths = \
            fieldname, weight, b, avg_len, lengths

    def _replacement(self, newchild):
        return _FieldPostings(newchild, self.fieldname, self.fweight, self.b, self.avg_len, self.lengths)

    def max_quality(self):
        return float("inf")  # only compared when dropping finished postings (minquality 0)

    def pseudo_tf(self) -> float:
        length = self.lengths(self.child.id()) or 1
        return self.fweight * self.child.weight() / (1.0 - self.b + self.b * length / self.avg_len)


def _pseudo_tf(m, docid) -> float:
    if isinstance(m, _FieldPostings):
        return m.pseudo_tf() if m.is_active() and m.id() == docid else 0.0
    if isinstance(m, UnionMatcher):
        return _pseudo_tf(m.a, docid) + _pseudo_tf(m.b, docid)
    return 0.0  # pragma: no cover


class _BM25FMatcher(WrappingMatcher):
    def __init__(self, child, idf, k1, boost):
        WrappingMatcher.__init__(self, child)
        self.idf, self.k1, self.boost = idf, k1, boost
        self._max = boost * idf * (k1 + 1.0)  # tf / (k1 + tf) < 1

    def _replacement(self, newchild):
        return _BM25FMatcher(newchild, self.idf, self.k1, self.boost)

    # The postings carry no scorer, so no block-quality skipping: this bound is all there is.
    def supports_block_quality(self):
        return False

    def max_quality(self):
        return self._max

    def replace(self, minquality=0):
        if not self.is_active() or (minquality and self._max < minquality):
            return NullMatcher()
        r = self.child.replace(0)
        return self if r is self.child else self._replacement(r)

    def score(self):
        tf = _pseudo_tf(self.child, self.child.id())
        return self.boost * self.idf * tf * (self.k1 + 1.0) / (self.k1 + tf)


class RefFieldsTerm(FieldsTerm):
    """``FieldsTerm`` with a Whoosh matcher scoring BM25F with ``bm25``'s settings."""

    def __init__(self, text, weights, boost=1.0, bm25: BM25Settings = BM25Settings()):
        FieldsTerm.__init__(self, text, weights, boost)
        self.bm25 = bm25

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        parent = searcher.get_parent()
        subs = []
        for f, w in self.weights.items():
            if w <= 0 or (f, self.text) not in reader:
                continue
            b = self.bm25.b.get(f, self.bm25.default_b)
            group = self.bm25.length_group(f)
            subs.append(_FieldPostings(reader.postings(f, self.text), f, w, b,
                                       group_avg_length(parent, group),
                                       functools.partial(_group_length, reader, group)))
        if not subs:
            return NullMatcher()
        return _BM25FMatcher(make_binary_tree(UnionMatcher, subs),
                             fields_idf(parent, self.text, self.weights), self.bm25.k1, self.boost)


class RefGappedPhrase(wq.Query):
    """The reference of a ``GappedPhrase``: Whoosh's intersection of the words (scored as the
    sum of their BM25 scores, as Whoosh's phrase matcher scores), kept to the documents whose
    positions, read one posting at a time through Whoosh's own matchers, hold the words at
    their query distances (up to ``extra`` further)."""

    def __init__(self, fieldname, words, offsets, extra, boost):
        self.fieldname, self.words, self.offsets = fieldname, list(words), list(offsets)
        self.extra, self.boost = extra, boost

    def _ok(self, reader) -> list[int]:
        positions: list[dict[int, list[int]]] = []
        for w in self.words:
            if (self.fieldname, w) not in reader:
                return []
            m = reader.postings(self.fieldname, w)
            per_doc = {}
            while m.is_active():
                per_doc[m.id()] = m.value_as("positions")
                m.next()
            positions.append(per_doc)
        docs = set(positions[0]).intersection(*positions[1:])
        deltas = [b - a for a, b in zip(self.offsets, self.offsets[1:])]
        ok = []
        for d in sorted(docs):
            reach = set(positions[0][d])
            for delta, per_doc in zip(deltas, positions[1:]):
                reach = {p for p in per_doc[d]
                         if any(p - k in reach for k in range(delta, delta + self.extra + 1))}
            if reach:
                ok.append(d)
        return ok

    def matcher(self, searcher, context=None):
        from whoosh.matching import FilterMatcher

        terms = wq.And([wq.Term(self.fieldname, w, boost=self.boost) for w in self.words])
        m = terms.matcher(searcher, context)
        ok = self._ok(searcher.reader())
        if not ok or not m.is_active():
            return NullMatcher()
        return FilterMatcher(m, frozenset(ok), exclude=False)


def reference(q: wq.Query, ranking: Ranking = Ranking()) -> wq.Query:
    """``q`` (a compiled query) with mqt's own query types replaced by the reference ones, for
    Whoosh's own search (``searcher.search(reference(q))``, ``reference(q).docs(searcher)``)."""
    if type(q) is FieldsTerm:
        return RefFieldsTerm(q.text, q.weights, q.boost, ranking.bm25)
    if type(q) is GappedPhrase:
        if list(q.offsets) == list(range(len(q.words))):  # no gaps: Whoosh's own phrase
            return wq.Phrase(q.fieldname, q.words, slop=q.slop, boost=q.boost)
        return RefGappedPhrase(q.fieldname, q.words, q.offsets, q.extra, q.boost)
    if type(q) is CoordOr:
        return RefCoordOr([reference(s, ranking) for s in q.subqueries], boost=q.boost, bonus=q.bonus)
    if isinstance(q, (wq.AndNot, wq.AndMaybe)):
        return type(q)(reference(q.a, ranking), reference(q.b, ranking))
    if isinstance(q, wq.ConstantScoreQuery):
        return wq.ConstantScoreQuery(reference(q.child, ranking), q.score)
    if type(q) in (wq.Or, wq.And):
        return type(q)([reference(s, ranking) for s in q.subqueries], boost=q.boost)
    return q
