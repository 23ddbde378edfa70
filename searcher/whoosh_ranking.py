"""Whoosh side of ranking: the BM25 weighting model and the multi-field word query mqt scores with.

Kept apart from ``whoosh_reader`` (which compiles and runs queries) so the scoring formulas can be
read and changed in one place; the numbers they use live in ``ranking``.
"""

from __future__ import annotations

import functools
from math import log

from whoosh import query as wq
from whoosh import scoring
from whoosh.matching import NullMatcher, UnionMatcher, WrappingMatcher
from whoosh.util import make_binary_tree

from index_data.schema import TEXT_FIELDS

from . import ranking


def robertson_idf(doc_freq: int, doc_count: int) -> float:
    """BM25's own idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``: near 0 for a word in every document.

    Whoosh's default ``1 + log(N / (df + 1))`` never drops below 1, so words found nearly
    everywhere ("problem", "question") still weigh a sizeable share of a rare word's score.
    """
    return log(1.0 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


class MqtBM25(scoring.BM25F):
    """Whoosh's per-field BM25 with the Robertson idf (see :func:`robertson_idf`)."""

    def idf(self, searcher, fieldname, text):
        if ranking.IDF == "whoosh":
            return scoring.WeightingModel.idf(self, searcher, fieldname, text)
        parent = searcher.get_parent()
        return robertson_idf(parent.doc_frequency(fieldname, text), parent.doc_count_all())


def weighting() -> MqtBM25:
    """The weighting model for a searcher, from the current ``ranking`` settings."""
    return MqtBM25(B=0.75, K1=ranking.BM25_K1, **{f"{f}_B": b for f, b in ranking.BM25_B.items()})


# ---- BM25F: one word over several fields, saturated once ----------------------------------------

class _FieldPostings(WrappingMatcher):
    """One field's postings of the word, labelled with what BM25F needs to weigh them."""

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


class FieldsTerm(wq.Query):
    """One analysed word searched in every text field and scored by BM25F (Robertson, Zaragoza
    & Taylor, "Simple BM25 extension to multiple weighted fields", CIKM 2004): the fields'
    weighted, length-normalised counts are added, then saturated once with the collection-wide
    idf (from the field where the word is most common).

    A field's count is normalised by the length of its group (``ranking.BM25F_LENGTH_GROUPS``):
    the question and the answer together, as one text, the title alone. Per-field normalisation
    (Zaragoza et al., "Microsoft Cambridge at TREC-13", 2004) treats each field as a document of
    its own, so an answer of 300 words that mentions a query word in passing adds a match at no
    cost to the question's. Normalising the fields of one running text by their joint length
    (unweighted, each field's own ``b``) is what the simple BM25F does for the whole document
    (each field's text repeated by its weight, then plain BM25: Robertson et al. 2004; Lucene's
    ``CombinedFieldQuery``), kept apart from the title so that a title match in a long question
    still counts in full.
    """

    def __init__(self, text: str, weights: dict[str, float], boost: float = 1.0):
        self.text = text
        self.weights = weights
        self.boost = boost

    def __repr__(self):
        return f"FieldsTerm({self.text!r}, boost={self.boost})"

    def __eq__(self, other):
        return (type(other) is type(self) and self.text == other.text
                and self.weights == other.weights and self.boost == other.boost)

    def __hash__(self):
        return hash((self.text, self.boost, tuple(sorted(self.weights.items()))))

    def terms(self, phrases=False):
        for f in self.weights:
            yield f, self.text

    def estimate_size(self, ixreader):
        return sum(ixreader.doc_frequency(f, self.text) for f in self.weights)

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        parent = searcher.get_parent()
        subs = []
        for f, w in self.weights.items():
            if w <= 0 or (f, self.text) not in reader:
                continue
            b = ranking.BM25_B.get(f, 0.75)
            group = length_group(f)
            subs.append(_FieldPostings(reader.postings(f, self.text), f, w, b,
                                       group_avg_length(parent, group),
                                       functools.partial(group_length, reader, group)))
        if not subs:
            return NullMatcher()
        return _BM25FMatcher(make_binary_tree(UnionMatcher, subs), fields_idf(parent, self.text, self.weights),
                             ranking.BM25_K1, self.boost)


def length_group(fieldname: str) -> tuple[str, ...]:
    """The fields whose joint length normalises ``fieldname``'s counts in BM25F (``ranking``)."""
    for group in ranking.BM25F_LENGTH_GROUPS:
        if fieldname in group:
            return tuple(group)
    return (fieldname,)


def group_length(reader, fields: tuple[str, ...], docid: int) -> int:
    """A document's length over ``fields`` (0 if it has none)."""
    return sum(reader.doc_field_length(docid, f, 0) or 0 for f in fields)


def group_avg_length(searcher, fields: tuple[str, ...]) -> float:
    """The average document length over ``fields``, whole index (1 if every one is empty)."""
    return sum(searcher.avg_field_length(f) or 0.0 for f in fields) or 1.0


def fields_idf(searcher, text: str, weights) -> float:
    """The idf a :class:`FieldsTerm` scores ``text`` with, over the whole index (``searcher``):
    from its largest document frequency in any of the fields (weighted or not)."""
    df = max((searcher.doc_frequency(f, text) for f in weights), default=0)
    n = searcher.doc_count_all()
    return log(n / (df + 1)) + 1 if ranking.IDF == "whoosh" else robertson_idf(df, n)


def fields_term(text: str, boost: float = 1.0) -> wq.Query:
    """A word over all text fields, combined as ``ranking.FIELD_COMBINATION`` says."""
    if ranking.FIELD_COMBINATION == "bm25f":
        return FieldsTerm(text, dict(ranking.FIELD_WEIGHTS), boost)
    return wq.Or([wq.Term(f, text, boost=boost * ranking.FIELD_WEIGHTS.get(f, 1.0)) for f in TEXT_FIELDS])
