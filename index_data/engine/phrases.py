"""Phrase matching on ``(document << shift) | position`` keys, shared by the executor
(``evaluate``) and the posting stores (``blockmax``): one rule for "word ``i`` follows word
``i - 1`` by ``delta`` to ``delta + extra`` positions", checked for every candidate at once."""

from __future__ import annotations

import numpy as np


def follow(reach: np.ndarray, keys: np.ndarray, delta: int, extra: int) -> np.ndarray:
    """The ``keys`` (sorted) that lie ``delta`` to ``delta + extra`` positions after one of the
    sorted keys in ``reach`` (the phrase so far, reaching its last word), in order.

    >>> follow(np.array([3, 10]), np.array([4, 5, 12]), 1, 1).tolist()
    [4, 5, 12]
    >>> follow(np.array([3, 10]), np.array([4, 5, 12]), 1, 0).tolist()
    [4]
    """
    ok = np.zeros(len(keys), dtype=bool)
    for d in range(delta, delta + extra + 1):
        want = keys - d
        at = np.minimum(np.searchsorted(reach, want), len(reach) - 1)
        ok |= reach[at] == want
    return keys[ok]
