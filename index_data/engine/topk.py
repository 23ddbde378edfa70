"""The best matches of an evaluated query, in Whoosh's order: by score (ties to the lower
document number), or by date then score. Plain numpy over ``evaluate.execute``'s arrays.
"""

from __future__ import annotations

import numpy as np


def top_k(docs: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best ``(docnum, score)``: highest score first, then lowest docnum (Whoosh's order)."""
    if k <= 0 or not len(docs):
        return []
    if len(docs) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= threshold
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:k]
    return [(int(d), float(s)) for d, s in zip(docs[order].tolist(), scores[order].tolist())]


def top_by_date(docs: np.ndarray, scores: np.ndarray, dates: np.ndarray, k: int,
                newest: bool) -> list[tuple[int, float]]:
    """The first ``k`` matches by date (newest or oldest first), then score, then docnum: what
    Whoosh's ``sortedby=[FieldFacet("date"), ScoreFacet()]`` returns. ``dates`` is indexed by
    global docnum."""
    if k <= 0 or not len(docs):
        return []
    d = dates[docs]
    key = -d if newest else d
    if len(docs) > k:
        cutoff = np.partition(key, k - 1)[k - 1]
        keep = key <= cutoff
        docs, scores, key = docs[keep], scores[keep], key[keep]
    order = np.lexsort((docs, -scores, key))[:k]
    return [(int(x), float(s)) for x, s in zip(docs[order].tolist(), scores[order].tolist())]
