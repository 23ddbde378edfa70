"""Ranking settings: one frozen :class:`Ranking` value, its defaults the product's ranking.

A :class:`~searcher.Searcher` takes one (``Searcher(index_dir, ranking=Ranking(...))``) and
hands it to the engine, so the executor, the Whoosh weighting the tests' reference matchers
score with, the re-ranking steps and the defaults of ``search()`` all read the same numbers;
nothing reads a module global at query time. ``benchmarks/relevance.py --set bm25.k1=1.5``
measures a variation (:func:`Ranking.with_settings`); ``docs/relevance.md`` has the figures
behind the defaults.

Adding a setting: give the nested dataclass it belongs to (or a new one, added as a field of
:class:`Ranking` with a default instance) a field with a default that keeps today's ranking,
read it where it applies from the ``Ranking`` the code was given, and add it to the test of
the documented defaults (``tests/test_ranking.py``). ``--set`` and ``with_settings`` reach
it by its dotted path without further work.

Engine-agnostic: plain numbers and small functions over the query tree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal
from collections.abc import Iterator

from index_data.fields import TEXT_FIELDS

from . import query as q
from .feedback import FeedbackSettings


@dataclass(frozen=True)
class PerField:
    """One number per text field (``index_data.fields.TEXT_FIELDS``), in that order."""

    title: float
    question: float
    answer: float

    def get(self, name: str, default: float) -> float:
        """The number of field ``name``; ``default`` for a field that has none."""
        return getattr(self, name) if name in TEXT_FIELDS else default

    def items(self) -> Iterator[tuple[str, float]]:
        """``(field, number)`` in field order."""
        for f in TEXT_FIELDS:
            yield f, getattr(self, f)

    def as_dict(self) -> dict[str, float]:
        return dict(self.items())


@dataclass(frozen=True)
class BM25Settings:
    """BM25F (Robertson et al. 2004) over the text fields: a word's weighted, length-normalised
    counts in the fields are added and saturated once, with BM25's own idf."""

    #: Term-frequency saturation.
    k1: float = 1.2
    #: Each field's length normalisation ``b`` (in BM25F against its length group's length).
    b: PerField = PerField(title=0.5, question=0.75, answer=0.75)
    #: Length normalisation of any other scored field (Whoosh's ``B``).
    default_b: float = 0.75
    #: How much a match in each text field counts (title above body).
    field_weights: PerField = PerField(title=2.0, question=1.0, answer=0.7)
    #: BM25F normalises a field's count by the joint length of its group's fields (unweighted,
    #: with the field's own ``b``); a field in no group is its own. By default each field is its
    #: own group: the question and its answers as one running text (``(("title",), ("question",
    #: "answer"))``, the simple BM25F of Robertson, Zaragoza & Taylor, CIKM 2004) raised real-dev
    #: short-query MRR alone (0.928 -> 0.939, both halves) but lowered the odd half with 10,000
    #: distractors (0.853 -> 0.846) in every combination of the other changes, so it fails the
    #: halves check and is not the default (``benchmarks/RELEVANCE.md``, "Third round").
    length_groups: tuple[tuple[str, ...], ...] = (("title",), ("question",), ("answer",))
    #: Each name of a synonym group (``searcher.synonyms``: ``TfL`` also finds ``"Transport for
    #: London"``) scores as one word, the mean of its words' scores (a phrase's sum divided by
    #: its word count), as the group counts as one word for coordination. False: a name scores
    #: as a typed phrase, the sum of its words, so a document naming the thing in three words
    #: outscored one with the acronym typed: real-dev "how much fat left at TfL" ranked
    #: "Transport for London performance" over "TfL Efficiencies" (``benchmarks/RELEVANCE.md``,
    #: "Short queries").
    name_as_word: bool = True

    def length_group(self, name: str) -> tuple[str, ...]:
        """The fields whose joint length normalises field ``name``'s counts in BM25F."""
        for group in self.length_groups:
            if name in group:
                return tuple(group)
        return (name,)


@dataclass(frozen=True)
class CoordinationSettings:
    """Keyword precision: with at most ``short_query_words`` ranked words, a document with more
    of the words always ranks above one with fewer (``bonus`` per extra matched word, larger than
    any BM25 score difference), and a word the analyzer splits (``COVID-19``) is a phrase; a
    longer (pasted) query ranks by BM25F alone and a split word's parts rank as words."""

    short_query_words: int = 4
    bonus: float = 1000.0

    def bonus_for(self, n_words: int) -> float:
        """Score added for each matched ranked word beyond the first, for a query of
        ``n_words`` ranked words: demanding or favouring every word of a long question finds
        too little, so long queries get none."""
        if n_words <= 1:
            return 0.0
        if n_words <= self.short_query_words:
            return self.bonus
        return 0.0

    def is_long(self, n_words: int) -> bool:
        """Whether a query of ``n_words`` ranked words is a long (pasted) one."""
        return n_words > self.short_query_words


@dataclass(frozen=True)
class NeighbourSettings:
    """Neighbour smoothing (``searcher.neighbours``) of the ``depth`` best hits of a query of at
    least ``min_words`` ranked words (``ranked_words``), each hit regularised towards its ``k``
    most similar ones; ``enabled`` is the default of ``search(neighbours=None)``. Short keyword
    queries keep their strict order."""

    enabled: bool = True
    depth: int = 1000
    k: int = 3
    #: How much a neighbour of cosine 1 counts against the hit's own score (1): a neighbour of
    #: cosine ``c`` counts ``weight * c`` (the graph regularisation's ``w``, chosen on Cranfield).
    weight: float = 3.0
    #: Queries with fewer ranked words are never smoothed (keyword queries, whose coordination
    #: bonus already orders the hits, have at most ``coordination.short_query_words``).
    min_words: int = 5
    #: ``"regularised"``: graph regularisation (``neighbours.smooth``); ``"averaged"``: each
    #: hit's neighbours averaged (``neighbours.smooth_averaged``, the rule before issue 17, kept
    #: for the ablation: it lowers Cranfield and both real-dev halves alone, see
    #: ``benchmarks/RELEVANCE.md``, "Third round").
    rule: Literal["regularised", "averaged"] = "regularised"

    def __post_init__(self) -> None:
        if self.rule not in ("regularised", "averaged"):
            raise ValueError(f"neighbours.rule must be 'regularised' or 'averaged', not {self.rule!r}")


@dataclass(frozen=True)
class RecencySettings:
    """``sort="relevance_recent"``: among the ``pool`` best matches, a score is multiplied by
    ``1 + weight * 0.5 ** (age / half_life_days)``, age counted back from the newest of them:
    a small nudge that reorders near-ties, not relevance levels."""

    weight: float = 0.1
    half_life_days: float = 365.0
    pool: int = 200


@dataclass(frozen=True)
class SimilarSettings:
    """``Searcher.similar``: how many of a question's key words are searched for."""

    terms: int = 25


@dataclass(frozen=True)
class Ranking:
    """Every ranking setting; ``Ranking()`` is the product's ranking.

    >>> Ranking().bm25.k1
    1.2
    >>> Ranking().with_settings({"bm25.k1": 1.5, "neighbours.enabled": False}).bm25.k1
    1.5
    """

    bm25: BM25Settings = BM25Settings()
    coordination: CoordinationSettings = CoordinationSettings()
    neighbours: NeighbourSettings = NeighbourSettings()
    #: Pseudo-relevance feedback (RM3), off by default: ``enabled`` is the default of
    #: ``search(feedback=None)``.
    feedback: FeedbackSettings = FeedbackSettings()
    recency: RecencySettings = RecencySettings()
    similar: SimilarSettings = SimilarSettings()

    def with_settings(self, settings: dict[str, Any]) -> Ranking:
        """A copy with some settings changed, each named by its dotted path
        (``"bm25.b.title"``, ``"feedback.enabled"``); an unknown name raises ``ValueError``."""
        out = self
        for path, value in settings.items():
            out = _replace(out, path.split("."), value, path)
        return out


def _replace(obj: Any, names: list[str], value: Any, path: str) -> Any:
    fields = {f.name for f in dataclasses.fields(obj)}
    if names[0] not in fields:
        raise ValueError(f"no ranking setting {path!r} ({names[0]!r} is not one of "
                         f"{', '.join(sorted(fields))})")
    if len(names) > 1:
        inner = getattr(obj, names[0])
        if not dataclasses.is_dataclass(inner):
            raise ValueError(f"no ranking setting {path!r}")
        value = _replace(inner, names[1:], value, path)
    return dataclasses.replace(obj, **{names[0]: value})


def ranked_words(node: q.Node) -> int:
    """How many ranked words (words, phrases, prefixes, fuzzy words) a whole query has; an OR
    of alternatives counts as its largest side. Decides short vs long for every group in it."""
    if isinstance(node, (q.Words, q.Phrase, q.Prefix, q.Fuzzy)):
        return 1
    if isinstance(node, q.Or):
        return max((ranked_words(c) for c in node.children), default=0)
    if isinstance(node, q.Bool):
        return sum(ranked_words(c) for c in node.must + node.should)
    return 0
