"""Ranking settings: field weights, BM25 parameters and the word-coordination policy.

Plain numbers and small functions, engine-agnostic; ``benchmarks/relevance.py`` measures them.
"""

from __future__ import annotations

from . import query as q
from .feedback import FeedbackSettings

#: How much a match in each text field counts (title above body).
FIELD_WEIGHTS = {"title": 2.0, "question": 1.0, "answer": 0.7}

#: BM25 term-frequency saturation and each field's ``b`` (a word searched in one field, phrases,
#: and in BM25F each field's ``b`` against its length group's length, below).
BM25_K1 = 1.2
BM25_B = {"title": 0.5, "question": 0.75, "answer": 0.75}

#: BM25F normalises a field's count by the joint length of its group's fields: the question and
#: its answers are one text, so a long answer counts against a match in the question and the
#: other way round (see ``whoosh_ranking.FieldsTerm``; the simple BM25F of Robertson, Zaragoza &
#: Taylor, CIKM 2004, within the group); the title stays apart. Per-field groups gave real-dev
#: short-query MRR 0.892, these 0.921; Cranfield has no answers (``benchmarks/RELEVANCE.md``).
BM25F_LENGTH_GROUPS = (("title",), ("question", "answer"))

#: Queries with at most this many ranked words are "short": a document with more of the words
#: always ranks above one with fewer (a two-word query puts documents with both words first).
SHORT_QUERY_WORDS = 4
#: A word the analyzer splits (``free-flight``, ``COVID-19``) is a phrase in a short query; in a
#: long one its parts rank as words ("words"), plus the phrase's score when adjacent
#: ("words+phrase"), or it stays a phrase ("" / False).
LONG_QUERY_SPLIT_WORDS = "words"
#: Score added per extra matched word in a short query: larger than any BM25 score difference.
STRICT_COORD_BONUS = 1000.0


def ranked_words(node) -> int:
    """How many ranked words (words, phrases, prefixes, fuzzy words) a whole query has; an OR
    of alternatives counts as its largest side. Decides short vs long for every group in it."""
    if isinstance(node, (q.Words, q.Phrase, q.Prefix, q.Fuzzy)):
        return 1
    if isinstance(node, q.Or):
        return max((ranked_words(c) for c in node.children), default=0)
    if isinstance(node, q.Bool):
        return sum(ranked_words(c) for c in node.must + node.should)
    return 0


def coordination_bonus(n_words: int) -> float:
    """Score added for each matched ranked word beyond the first, given the query's word count.

    Short queries rank strictly by how many words match; long (pasted) queries rank by BM25
    alone, since demanding or favouring every word of a long question finds too little.
    """
    if n_words <= 1:
        return 0.0
    if n_words <= SHORT_QUERY_WORDS:
        return STRICT_COORD_BONUS
    return 0.0

#: Inverse document frequency: "robertson" (BM25's own, near 0 for ubiquitous words) or
#: "whoosh" (Whoosh's default, never below 1).
IDF = "robertson"

#: How a word's matches in several fields combine: "bm25f" adds the fields' weighted, length-
#: normalised counts and saturates once (a word in title and text is not counted twice over);
#: "sum" scores each field with its own BM25 and adds the scores.
FIELD_COMBINATION = "bm25f"

#: Pseudo-relevance feedback (RM3) on by default for relevance-sorted searches, and its settings.
FEEDBACK = False
FEEDBACK_SETTINGS = FeedbackSettings()

#: Neighbour smoothing (see ``searcher.neighbours``) of long queries' best hits: on by default,
#: over the ``NEIGHBOUR_DEPTH`` best, each hit helped by its ``NEIGHBOUR_K`` most similar ones with
#: weight ``NEIGHBOUR_GAMMA``, for queries of at least ``NEIGHBOUR_MIN_WORDS`` ranked words
#: (``ranked_words``). Short keyword queries keep their strict order.
NEIGHBOURS = True
NEIGHBOUR_MIN_WORDS = SHORT_QUERY_WORDS + 1
NEIGHBOUR_DEPTH = 1000
NEIGHBOUR_K = 3
NEIGHBOUR_GAMMA = 1.0

#: Similar questions: how many of a question's key words are searched for.
SIMILAR_TERMS = 25

#: ``sort="relevance_recent"``: a score is multiplied by ``1 + RECENCY_WEIGHT * 0.5 ** (age /
#: RECENCY_HALF_LIFE_DAYS)``, age counted back from the newest question in the index, over the
#: RECENCY_POOL best matches; a small nudge that reorders near-ties, not relevance levels.
RECENCY_WEIGHT = 0.1
RECENCY_HALF_LIFE_DAYS = 365.0
RECENCY_POOL = 200
