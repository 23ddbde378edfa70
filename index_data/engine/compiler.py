"""Compiling a query tree (``searcher.query``) into a Whoosh query for the executor, and the
queries the searcher builds itself (similar questions, feedback).

The scoring rules the compiled query carries come from the ``Ranking`` given: field weights
(``FieldsTerm``), the coordination bonus of short queries (``CoordOr``) and the treatment of
words the analyzer splits (a phrase in a short query, its parts as words in a long one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Callable

from whoosh import query as wq

from searcher import query as q

from ..analysis import normalize_token, stem
from ..errors import QueryError
from ..fields import TEXT_FIELDS, date_number
from ..model import STATUSES
from .queries import CoordOr, FieldsTerm, GappedPhrase

if TYPE_CHECKING:
    from searcher.ranking import Ranking

    from .lexicon import Lexicon

#: A prefix (``hous*``) or fuzzy word expands to at most this many index words, most frequent first.
MAX_EXPANSIONS = 256
#: A pasted text ranks by its first this-many words (bounds the cost of a 10,000-character query).
MAX_RANKED_WORDS = 256
#: A prefix matching more words than this is refused: it is too short to mean anything.
MAX_PREFIX_SCAN = 20_000


@dataclass
class Compiled:
    """A Whoosh query plus what the snippet builder needs to mark matches."""

    query: wq.Query
    terms: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    #: Ranked words of the typed query (``ranking.ranked_words``): short or long query.
    words: int = 0

    def matches(self, term: str) -> bool:
        return term in self.terms or any(term.startswith(p) for p in self.prefixes)


def fields_term(text: str, ranking: Ranking, boost: float = 1.0) -> FieldsTerm:
    """A word over all text fields, scored by BM25F with the ranking's field weights."""
    return FieldsTerm(text, ranking.bm25.field_weights.as_dict(), boost)


class Compiler:
    """Compiles one query tree against one open index (its ``schema``; prefixes and fuzzy
    words expand to the words of its ``lexicon``, a ``lexicon.Lexicon``)."""

    def __init__(self, lexicon: Lexicon, schema, ranking: Ranking, query_words: int):
        self.lexicon = lexicon
        self.schema = schema
        self.ranking = ranking
        self.terms: set[str] = set()
        self.prefixes: list[str] = []
        #: Ranked words of the whole query: decides short vs long for every group in it.
        self.query_words = query_words

    def text_terms(self, text: str, fieldname: str) -> list[tuple[str, int]]:
        """The index terms of ``text`` as ``fieldname`` analyses it, with their positions
        (removed stopwords and sentence ends keep theirs, as in the index)."""
        return [(t.text, t.pos) for t in
                self.schema[fieldname].analyzer(text, positions=True, mode="query")]

    def fields(self, fieldname: str | None) -> list[str]:
        return [fieldname] if fieldname else list(TEXT_FIELDS)

    def over_fields(self, fieldname: str | None, make: Callable[[str, float], wq.Query]) -> wq.Query:
        weights = self.ranking.bm25.field_weights
        subs = [make(f, weights.get(f, 1.0)) for f in self.fields(fieldname)]
        return subs[0] if len(subs) == 1 else wq.Or(subs)

    def words(self, node, extra: int = 0, highlight: bool = True, one_word: bool = False):
        """A word, or the phrase of the words the analyzer makes of ``node``; ``one_word``: a
        phrase scores as one word, its words' mean (a synonym group's name)."""
        analysed = self.text_terms(node.text, node.field or "question")
        if not analysed:
            return None
        terms = [t for t, _ in analysed]
        offsets = [p - analysed[0][1] for _, p in analysed]
        if highlight:
            self.terms.update(terms)
        if len(terms) == 1:
            if node.field is None:
                return fields_term(terms[0], self.ranking)
            return self.over_fields(node.field, lambda f, w: wq.Term(f, terms[0], boost=w))
        scale = 1.0 / len(terms) if one_word else 1.0
        phrase = self.over_fields(
            node.field, lambda f, w: GappedPhrase(f, terms, offsets, extra=extra, boost=w * scale))
        if (isinstance(node, q.Words) and node.field is None
                and self.ranking.coordination.is_long(self.query_words)):
            # "free-flight" in a pasted question: its parts rank as words (the text may write
            # "free flight" or "flight, free")
            return wq.Or([fields_term(t, self.ranking, scale) for t in terms])
        return phrase

    def name(self, node, highlight: bool):
        """One name of a synonym group (``q.Synonyms``), scored as one word when the ranking's
        ``bm25.name_as_word`` says so (see there)."""
        if isinstance(node, (q.Words, q.Phrase)) and self.ranking.bm25.name_as_word:
            return self.words(node, extra=getattr(node, "slop", 0), highlight=highlight, one_word=True)
        return self.compile(node, highlight)

    def expansion(self, node, surface: list[str], highlight: bool):
        if len(surface) > MAX_EXPANSIONS:
            df = self.lexicon.doc_frequency
            surface = sorted(surface, key=lambda w: -df(w))[:MAX_EXPANSIONS]
        stems = sorted({stem(w) for w in surface})
        if highlight:
            self.terms.update(stems)
        if not stems:
            return wq.NullQuery
        return self.over_fields(node.field, lambda f, w: wq.Or([wq.Term(f, s, boost=w) for s in stems]))

    def prefix(self, node: q.Prefix, highlight: bool):
        p = normalize_token(node.text)
        words = []
        for i, w in enumerate(self.lexicon.expand_prefix(p)):
            if i >= MAX_PREFIX_SCAN:
                raise QueryError(f"{node.text}* matches too many words; use a longer prefix")
            words.append(w)
        if highlight:
            self.prefixes.append(stem(p) if len(p) > 3 else p)
        return self.expansion(node, words, highlight)

    def fuzzy(self, node: q.Fuzzy, highlight: bool):
        word = normalize_token(node.text)
        words = list(self.lexicon.terms_within(word, node.distance, prefix=1))
        return self.expansion(node, words or [word], highlight)

    def match(self, node: q.Match):
        if node.field == "id":
            return wq.ConstantScoreQuery(wq.Term("id", node.value), 0.0)
        if node.field == "status":
            value = node.value.lower()
            if value not in STATUSES:
                raise QueryError(f"status:{node.value} is not a status; use one of {', '.join(STATUSES)}")
            return wq.ConstantScoreQuery(wq.Term("status", value), 0.0)
        terms = list(dict.fromkeys(
            t.text for t in self.schema[node.field].analyzer(node.value, mode="query")))
        if not terms:
            return wq.NullQuery
        # every word, in any order: asker:"sahota marina" finds "Marina Sahota"
        inner = wq.Term(node.field, terms[0]) if len(terms) == 1 else \
            wq.And([wq.Term(node.field, t) for t in terms])
        return wq.ConstantScoreQuery(inner, 0.0)

    def compile(self, node, highlight: bool = True):
        """Whoosh query for a node (None when it analyses to nothing, e.g. only stopwords)."""
        if isinstance(node, q.Words):
            return self.words(node, highlight=highlight)
        if isinstance(node, q.Phrase):
            return self.words(node, extra=node.slop, highlight=highlight)
        if isinstance(node, q.Prefix):
            return self.prefix(node, highlight)
        if isinstance(node, q.Fuzzy):
            return self.fuzzy(node, highlight)
        if isinstance(node, q.Match):
            return self.match(node)
        if isinstance(node, q.DateRange):
            lo = node.start and date_number(node.start)
            hi = node.end and date_number(node.end)
            return wq.ConstantScoreQuery(wq.NumericRange("date", lo, hi), 0.0)
        if isinstance(node, q.Synonyms):
            subs = [s for s in (self.name(c, highlight) for c in node.children) if s is not None]
            return wq.Or(subs) if subs else None
        if isinstance(node, q.Or):
            subs = [s for s in (self.compile(c, highlight) for c in node.children) if s is not None]
            return wq.Or(subs) if subs else None
        if isinstance(node, q.Bool):
            return self.boolean(node, highlight)
        raise TypeError(f"unknown query node {node!r}")  # pragma: no cover

    def boolean(self, node: q.Bool, highlight: bool):
        must = [s for s in (self.compile(c, highlight) for c in node.must) if s is not None]
        should = [s for s in (self.compile(c, highlight) for c in node.should[:MAX_RANKED_WORDS])
                  if s is not None]
        must_not = [s for s in (self.compile(c, False) for c in node.must_not) if s is not None]
        if not (must or should):
            if node.should or node.must:
                return None  # only stopwords
            base = wq.Every()
        else:
            parts = list(must)
            if should:
                bonus = self.ranking.coordination.bonus_for(max(len(should), self.query_words))
                parts.append(should[0] if len(should) == 1 else CoordOr(should, bonus=bonus))
            base = parts[0] if len(parts) == 1 else wq.And(parts)
        if must_not:
            base = wq.AndNot(base, must_not[0] if len(must_not) == 1 else wq.Or(must_not))
        return base


def compile_tree(node, lexicon: Lexicon, schema, ranking: Ranking) -> Compiled:
    """The compiled query of a whole query tree (see :class:`Compiler`)."""
    from searcher.ranking import ranked_words

    c = Compiler(lexicon, schema, ranking, ranked_words(node))  # a group in a long query is not "short"
    wquery = c.compile(node)
    return Compiled(wquery if wquery is not None else wq.NullQuery, c.terms, c.prefixes,
                    c.query_words)


def weighted_terms(weights: dict[str, float], ranking: Ranking,
                   exclude_id: str | None = None) -> Compiled:
    """A query for weighted index terms over the text fields (similar questions)."""
    if not weights:
        return Compiled(wq.NullQuery)
    query = wq.Or([fields_term(t, ranking, w) for t, w in sorted(weights.items())])
    if exclude_id is not None:
        query = wq.AndNot(query, wq.Term("id", exclude_id))
    return Compiled(query, set(weights))


def with_feedback(compiled: Compiled, weights: dict[str, float], ranking: Ranking) -> Compiled:
    """The query re-ranked by weighted expansion terms: same matches, feedback adds score only."""
    if not weights or compiled.query is wq.NullQuery:
        return compiled
    extra = wq.Or([fields_term(t, ranking, w) for t, w in sorted(weights.items())])
    return Compiled(wq.AndMaybe(compiled.query, extra), compiled.terms, compiled.prefixes,
                    compiled.words)
