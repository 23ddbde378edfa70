"""mqt's own Whoosh query types: what the compiler builds beyond Whoosh's, for the executor.

Both are data only: ``evaluate`` recognises them by type and scores them (``scoring``); running
them through Whoosh's own matchers is for the tests, whose reference matchers
(``tests/reference_matchers.py``) implement the same rules one posting at a time. Asking one of
these for a Whoosh matcher raises, so a query that bypassed the executor cannot silently lose
its scoring rule.
"""

from __future__ import annotations

from whoosh import query as wq


class FieldsTerm(wq.Query):
    """One analysed word searched in every text field and scored by BM25F (Robertson, Zaragoza
    & Taylor, "Simple BM25 extension to multiple weighted fields", CIKM 2004): the fields'
    weighted, length-normalised counts are added, then saturated once with the collection-wide
    idf (from the field where the word is most common). A field's count is normalised by the
    length of its group (``BM25Settings.length_groups``: the question and its answers as one
    text, the title alone). ``weights``: field -> weight, in field order."""

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
        raise NotImplementedError("FieldsTerm is scored by index_data.engine.evaluate "
                                  "(tests/reference_matchers.py has Whoosh matchers for it)")


class CoordOr(wq.Or):
    """OR of ranked words where a document gets ``bonus`` for every matched word beyond the first
    (keyword precision, see ``searcher.ranking.CoordinationSettings``)."""

    def __init__(self, subqueries, boost=1.0, bonus=0.0):
        wq.Or.__init__(self, subqueries, boost=boost)
        self.bonus = bonus

    def normalize(self):
        norm = wq.Or.normalize(self)
        if isinstance(norm, CoordOr):
            norm.bonus = self.bonus
        return norm

    def matcher(self, searcher, context=None):
        raise NotImplementedError("CoordOr is scored by index_data.engine.evaluate "
                                  "(tests/reference_matchers.py has Whoosh matchers for it)")


class GappedPhrase(wq.Phrase):
    """A phrase whose words keep the distances the query gives them: ``offsets[i]`` is word
    ``i``'s position in the analysed query, counted with the positions removed stopwords and
    sentence ends keep (``"secretary of state"`` -> ``secretari`` at 0, ``state`` at 2). A
    document matches when each word follows the one before at its query distance, up to
    ``extra`` positions further (the user's ``"…"~N``); scored, as Whoosh scores a phrase, by
    the sum of the words' BM25 scores. ``slop`` keeps Whoosh's meaning (``extra + 1``), so a
    phrase without gaps is Whoosh's own ``Phrase``."""

    def __init__(self, fieldname, words, offsets, extra: int = 0, boost: float = 1.0):
        wq.Phrase.__init__(self, fieldname, words, slop=extra + 1, boost=boost)
        self.offsets = tuple(offsets)
        self.extra = extra

    def __repr__(self):
        return (f"GappedPhrase({self.fieldname!r}, {self.words!r}, {self.offsets!r}, "
                f"extra={self.extra}, boost={self.boost})")

    def __eq__(self, other):
        return (type(other) is type(self) and self.fieldname == other.fieldname
                and self.words == other.words and self.offsets == other.offsets
                and self.extra == other.extra and self.boost == other.boost)

    def __hash__(self):
        return hash((self.fieldname, tuple(self.words), self.offsets, self.extra, self.boost))

    def deltas(self) -> list[int]:
        """Each word's distance from the word before it in the query (the first: 0)."""
        return [0] + [b - a for a, b in zip(self.offsets, self.offsets[1:])]

    def matcher(self, searcher, context=None):
        raise NotImplementedError("GappedPhrase is matched by index_data.engine.evaluate "
                                  "(tests/reference_matchers.py has a Whoosh matcher for it)")
