"""The scoring formulas, once: BM25's idf, BM25 of one field, BM25F over several, and the Whoosh
weighting model built from the same settings.

The executor (``evaluate``) scores with these; the Whoosh weighting (:func:`weighting`) scores
whatever Whoosh's own matchers evaluate (the executor's fallback, and the reference matchers in
``tests/reference_matchers.py``), built from the same ``Ranking.bm25`` the executor reads.
"""

from __future__ import annotations

from math import log
from typing import TYPE_CHECKING

from whoosh import scoring

if TYPE_CHECKING:
    import numpy as np

    from searcher.ranking import BM25Settings


def robertson_idf(doc_freq: int, doc_count: int) -> float:
    """BM25's own idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``: near 0 for a word in every document.

    Whoosh's default ``1 + log(N / (df + 1))`` never drops below 1, so words found nearly
    everywhere ("problem", "question") still weigh a sizeable share of a rare word's score.
    """
    return log(1.0 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


class MqtBM25(scoring.BM25F):
    """Whoosh's per-field BM25 with the Robertson idf (see :func:`robertson_idf`)."""

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        return robertson_idf(parent.doc_frequency(fieldname, text), parent.doc_count_all())


def weighting(bm25: BM25Settings) -> MqtBM25:
    """The Whoosh weighting model of ``bm25`` (a ``searcher.ranking.BM25Settings``)."""
    return MqtBM25(B=bm25.default_b, K1=bm25.k1, **{f"{f}_B": b for f, b in bm25.b.items()})


def fields_idf(searcher, text: str, weights) -> float:
    """The idf a ``FieldsTerm`` scores ``text`` with, over the whole index (``searcher``): from
    its largest document frequency in any of the fields (weighted or not)."""
    df = max((searcher.doc_frequency(f, text) for f in weights), default=0)
    return robertson_idf(df, searcher.doc_count_all())


def group_avg_length(searcher, fields: tuple[str, ...]) -> float:
    """The average document length over ``fields`` (a BM25F length group, see
    ``BM25Settings.length_groups``), whole index; 1 if every one is empty."""
    return sum(searcher.avg_field_length(f) or 0.0 for f in fields) or 1.0


def bm25(idf: float, tf: np.ndarray, length: np.ndarray, avg_length: float, b: float,
         k1: float) -> np.ndarray:
    """Whoosh's ``scoring.bm25(idf, tf, fl, avgfl, B, K1)`` over arrays: one field's BM25."""
    return idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * length / avg_length)))


def bm25f_norm(length: np.ndarray, b: float, avg_length: float) -> np.ndarray:
    """BM25F's length normalisation ``1 - b + b * len / avg`` of every document (len 0 as 1),
    ``len`` its length over a field's length group: the field's pseudo term frequency is
    ``weight * tf / norm``."""
    import numpy as np

    return 1.0 - b + b * np.maximum(length, 1.0) / avg_length


def bm25f(idf: float, pseudo_tf: np.ndarray, k1: float, boost: float = 1.0) -> np.ndarray:
    """BM25F: the fields' pseudo term frequencies, added (``pseudo_tf``), saturated once."""
    return boost * idf * pseudo_tf * (k1 + 1.0) / (k1 + pseudo_tf)
