"""Pseudo-relevance feedback (RM3): learn extra query words from the best-ranked documents.

Engine-agnostic arithmetic. The searcher runs the query, hands the top documents' index terms and
scores here, and gets back weighted expansion terms; the engine then re-ranks the query's own
matches with those terms added (feedback reorders results, it never adds or drops one).

RM3 (Abdul-Jaleel et al., 2004): the relevance model ``P(w|R) = sum_d P(d|q) * tf(w,d) / |d|`` over
the top ``docs`` documents, its ``terms`` heaviest words kept, mixed with the query's own words
with weight ``original_weight``.
"""

from __future__ import annotations

import heapq
from collections import Counter
from operator import itemgetter
from dataclasses import dataclass
from collections.abc import Callable


@dataclass(frozen=True)
class FeedbackSettings:
    """Whether feedback is on by default (``search(feedback=None)``), how many documents to learn
    from, how many words to add, how much the query keeps."""

    enabled: bool = False
    docs: int = 10
    terms: int = 10
    original_weight: float = 0.5
    min_score_ratio: float = 0.5  # learn only from documents scoring at least this share of the best
    min_hits: int = 3  # fewer matches than this: nothing to learn from, no feedback
    min_words: int = 5  # shorter (keyword) queries stay as typed: precise, and no drift
    idf_weighted: bool = True  # weigh candidate words by idf (see relevance_model)


def relevance_model(docs: list[tuple[float, list[str]]], n_terms: int,
                    idf: Callable[[str], float] | None = None) -> dict[str, float]:
    """The ``n_terms`` heaviest words of the relevance model of ``docs`` ``(score, terms)``,
    weights summing to 1; with ``idf``, each word's weight is multiplied by its idf first, so words
    common to the whole collection do not crowd out the topic's own."""
    total_score = sum(max(s, 0.0) for s, _ in docs)
    model: dict[str, float] = {}
    for score, terms in docs:
        if not terms:
            continue
        p_doc = (max(score, 0.0) / total_score) if total_score > 0 else 1.0 / len(docs)
        inv_len = 1.0 / len(terms)
        for term, tf in Counter(terms).items():
            if len(term) < 2 or term.isdigit():
                continue  # lone letters and bare numbers say little about a topic
            model[term] = model.get(term, 0.0) + p_doc * tf * inv_len
    if idf is not None:
        for term in model:
            model[term] *= idf(term)
    top = heapq.nlargest(n_terms, model.items(), key=itemgetter(1))  # = Counter.most_common
    norm = sum(w for _, w in top)
    return {t: w / norm for t, w in top} if norm > 0 else {}


def expansion_weights(query_terms: int, model: dict[str, float],
                      settings: FeedbackSettings) -> dict[str, float]:
    """Boosts for the expansion terms relative to the original query, whose terms each count 1.

    RM3 mixes ``lambda * P(w|q) + (1 - lambda) * P(w|R)``; with ``P(w|q) = 1/n`` for the ``n``
    query words, scaling so each query word weighs 1 gives the expansion word
    ``(1 - lambda) / lambda * n * P(w|R)``.
    """
    lam = settings.original_weight
    if not model or lam >= 1.0 or query_terms <= 0:
        return {}
    scale = (1.0 - lam) / lam * query_terms
    return {t: scale * p for t, p in model.items()}


def key_terms(terms: list[str], idf: Callable[[str], float], n_terms: int) -> dict[str, float]:
    """A document's ``n_terms`` most telling words, ``(1 + log tf) * idf``, scaled so the top is 1
    (what ``Searcher.similar`` searches for)."""
    from math import log

    scored = {t: (1.0 + log(tf)) * idf(t) for t, tf in Counter(terms).items()
              if len(t) > 1 and not t.isdigit()}
    top = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:n_terms]
    best = top[0][1] if top and top[0][1] > 0 else 1.0
    return {t: w / best for t, w in top if w > 0}
