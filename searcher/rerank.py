"""Re-ranking a query's best hits after the engine ranked them: neighbour smoothing of long
queries (``neighbours``) and the recency nudge of ``sort="relevance_recent"``.

Engine-agnostic: each step takes the ranked ``(docnum, score)`` pairs and what it needs from the
engine's snapshot (term vectors and document frequencies, dates), and returns new pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from index_data import termvectors
from index_data.fields import number_date

from . import neighbours

if TYPE_CHECKING:
    from index_data.engine import Snapshot

    from .ranking import NeighbourSettings, RecencySettings

Ranked = list[tuple[int, float]]


def smooth_top(snap: Snapshot, top: Ranked, settings: NeighbourSettings) -> Ranked:
    """``top`` (the best hits, best first) and any hits after them: the first ``settings.depth``
    re-ordered by neighbour smoothing with their smoothed scores (0 to 1), the rest in their order
    with their scores divided by the best one, so scores keep falling down the list."""
    depth = settings.depth
    best = top[0][1] if top and top[0][1] > 0 else 0.0
    rest = [(d, sc / best) for d, sc in top[depth:]] if best else top[depth:]
    return smooth(snap, top[:depth], settings) + rest


def smooth(snap: Snapshot, top: Ranked, settings: NeighbourSettings) -> Ranked:
    """``top`` re-ordered by neighbour smoothing, with the smoothed scores (``neighbours``):
    vectors from the hits' term vectors, idf from the whole index's document frequencies."""
    if len(top) < 3:
        return top
    rows, hashes, counts = termvectors.decode(snap.term_vectors([d for d, _ in top]))
    uniq, terms = np.unique(hashes, return_inverse=True)
    terms = terms.reshape(-1)
    df = snap.document_frequencies(uniq)[terms]
    weights = neighbours.unit_vectors(rows, counts, df, snap.doc_count_all(), len(top))
    sim = neighbours.cosine_matrix(rows, terms, weights, len(top))
    rule = neighbours.smooth_averaged if settings.rule == "averaged" else neighbours.smooth
    order, new = rule(np.array([score for _d, score in top]), sim, settings.k, settings.weight)
    return [(top[i][0], float(new[i])) for i in order.tolist()]


def recency(snap: Snapshot, ranked: Ranked, settings: RecencySettings) -> Ranked:
    """Scores nudged up for recent meetings (see ``ranking.RecencySettings``), re-sorted; age is
    counted back from the newest of ``ranked``."""
    dates = snap.dates()[[d for d, _ in ranked]].tolist()
    newest = max(dates, default=0)
    if not newest:
        return ranked

    def day(n: int) -> int:
        return number_date(n).toordinal()

    top = day(newest)
    out = []
    for (docnum, score), date in zip(ranked, dates):
        age = top - day(date) if date else 10 ** 6
        boost = 1.0 + settings.weight * 0.5 ** (age / settings.half_life_days)
        out.append((docnum, score * boost))
    out.sort(key=lambda x: -x[1])
    return out
