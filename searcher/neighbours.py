"""Neighbour smoothing: a hit whose nearest neighbours in the result list score well moves up,
as far as they resemble it.

Score regularisation over a document graph (Diaz, "Regularizing ad hoc retrieval scores", CIKM
2005; the cluster hypothesis: similar documents are relevant to the same queries). For the ``n``
best hits of a long query, with scores ``s``:

- each hit's vector ``v[d, t] = (1 + ln tf) * idf(t)`` over its title, question and answer (BM25's
  idf, document frequency over that same text), scaled to unit length;
- ``C[i, j]`` the cosine of hits ``i`` and ``j`` (``C[i, i] = 0``); ``N(i)`` the ``k`` hits most
  similar to ``i`` (ties to the better-ranked);
- ``x = s / max(s)``, and the new scores ``f`` the solution of ``(I + w L) f = x``, ``L = D - C_N``
  the Laplacian of the directed ``k``-nearest-neighbour graph (``C_N[i, j] = C[i, j]`` for ``j``
  in ``N(i)``, else 0; ``D`` its row sums): Tikhonov regularisation on a graph (Belkin, Matveeva
  & Niyogi, COLT 2004; Zhu, Ghahramani & Lafferty, ICML 2003). Row by row,
  ``f[i] = (x[i] + w * sum_N(i) C[i,j] f[j]) / (1 + w * sum_N(i) C[i,j])``: a hit's own score
  counts 1 and each neighbour ``w`` times its cosine, so a hit is pulled towards its neighbours
  as far as they resemble it;
- hits re-sorted by ``f``, ties keeping their order. Same hits, new order; ``f`` lies between
  the smallest and the largest ``x``.

Why the Laplacian itself and not its random-walk normalisation (each hit's neighbours averaged,
``x[i] + w * sum C[i,j] x[j] / sum C[i,j]``, what mqt did before): normalised, a hit with
neighbours of cosine 0.04 gets as much help from them as one with neighbours of cosine 0.9. In a
topical result list (Cranfield: the hits' neighbours have a median cosine of 0.30) both forms
smooth; in a list of unrelated questions around one known item (real Mayor's Questions: 0.12 to
0.18) the normalised form lifted the item's loose neighbours over it, the regularised one mostly
leaves it on top (``docs/relevance.md``, "Short queries"). Zhou, Belkin & Srebro (KDD 2011) also
found ranking with the normalised Laplacian sensitive to its parameter, the unnormalised one
more robust.

Engine-agnostic numpy; the reader supplies vectors and document frequencies (``index_data.
termvectors``). ``docs/relevance.md`` has the measurements behind the settings.
"""

from __future__ import annotations

import numpy as np

#: Terms found in more of the hits than this are multiplied as a dense matrix (BLAS); rarer ones
#: as pairs. Same sums either way; this only splits the work so that neither side is large.
DENSE_MIN_HITS = 32


def unit_vectors(rows: np.ndarray, counts: np.ndarray, df: np.ndarray, n_docs: int,
                 n_rows: int) -> np.ndarray:
    """Entry weights ``(1 + ln tf) * idf``, each row scaled to unit length (see module doc)."""
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    w = (1.0 + np.log(np.maximum(counts, 1.0))) * idf
    norms = np.sqrt(np.bincount(rows, weights=w * w, minlength=n_rows))
    norms[norms == 0] = 1.0
    return w / norms[rows]


def cosine_matrix(rows: np.ndarray, terms: np.ndarray, weights: np.ndarray, n_rows: int) -> np.ndarray:
    """``C = V V^T`` for the sparse matrix ``V[rows[e], terms[e]] = weights[e]`` (``terms`` are
    ids ``0..T-1``), diagonal zeroed.

    Terms in at most one row add nothing and are skipped; terms in more than
    :data:`DENSE_MIN_HITS` rows go through one dense product; the rest as explicit pairs.
    """
    if not len(terms):
        return np.zeros((n_rows, n_rows))
    per_term = np.bincount(terms)
    hits = per_term[terms]
    common = hits > DENSE_MIN_HITS
    if common.any():
        cols, dense_col = np.unique(terms[common], return_inverse=True)
        width = len(cols)
        m = np.bincount(rows[common] * width + dense_col.reshape(-1), weights=weights[common],
                        minlength=n_rows * width).reshape(n_rows, width)
        sim = (m @ m.T).reshape(-1)
    else:
        sim = np.zeros(n_rows * n_rows)
    rare = (hits >= 2) & ~common
    if rare.any():
        order = np.argsort(terms[rare], kind="stable")
        r, w, c = rows[rare][order], weights[rare][order], terms[rare][order]
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        sizes = np.diff(np.r_[starts, len(c)])
        reps = np.repeat(sizes, sizes)  # each entry pairs with every entry of its term
        first = np.repeat(np.arange(len(c)), reps)
        base = np.repeat(np.repeat(starts, sizes), reps)
        second = base + np.arange(len(first)) - np.repeat(np.cumsum(reps) - reps, reps)
        sim += np.bincount(r[first] * n_rows + r[second], weights=w[first] * w[second],
                           minlength=n_rows * n_rows)
    sim = sim.reshape(n_rows, n_rows)
    np.fill_diagonal(sim, 0.0)
    return sim


def nearest(sim: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``k`` largest columns, ties to the lower column: ``argsort(-sim, stable)[:, :k]``
    as a set, from a partition (a full sort of every row costs ~8x more)."""
    n = sim.shape[1]
    near = np.argpartition(sim, n - k, axis=1)[:, n - k:]
    kth = np.take_along_axis(sim, near, axis=1).min(axis=1)
    # A row whose k-th value is shared with columns the partition left out may have picked a
    # higher column than the stable order would: redo those (rare) rows exactly.
    ties = np.flatnonzero((sim >= kth[:, None]).sum(axis=1) > k)
    for i in ties.tolist():
        near[i] = np.argsort(-sim[i], kind="stable")[:k]
    return near


#: The regularised scores are found by Jacobi iteration (each step a gather over the ``k``
#: neighbours), a contraction by at most ``w k / (1 + w k)``; it stops when no score moves by more
#: than ``TOLERANCE`` (the result is then within ``TOLERANCE * w k`` of the exact solution).
TOLERANCE = 1e-12
MAX_STEPS = 10_000


def smooth(scores: np.ndarray, sim: np.ndarray, k: int, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """``(order, new_scores)``: the hits' new order (positions into ``scores``) and each one's
    regularised score ``f`` (indexed like ``scores``; see the module doc). ``sim`` is
    :func:`cosine_matrix`'s."""
    n = len(scores)
    hood = _neighbourhood(scores, sim, k)
    if hood is None:
        return np.arange(n), np.asarray(scores, dtype=float)
    x, near, cos = hood
    c = weight * cos
    denom = 1.0 + c.sum(axis=1)
    f = x
    for _ in range(MAX_STEPS):
        new = (x + (c * f[near]).sum(axis=1)) / denom
        done = np.max(np.abs(new - f)) <= TOLERANCE
        f = new
        if done:
            break
    order = np.lexsort((np.arange(n), -f))
    return order, f


def smooth_averaged(scores: np.ndarray, sim: np.ndarray, k: int,
                    weight: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`smooth`'s ``(order, new_scores)`` by the rule mqt used before issue 17, the
    random-walk normalised form (see the module doc): ``f[i] = x[i] + w * sum_N(i) C[i,j] x[j] /
    sum_N(i) C[i,j]``, each hit's neighbours averaged whatever their cosines. Kept as
    ``NeighbourSettings.rule="averaged"`` so that the ablation against it can be re-run."""
    n = len(scores)
    hood = _neighbourhood(scores, sim, k)
    if hood is None:
        return np.arange(n), np.asarray(scores, dtype=float)
    x, near, c = hood
    total = c.sum(axis=1)
    mean = (c * x[near]).sum(axis=1) / np.where(total > 0, total, 1.0)
    f = x + weight * mean
    return np.lexsort((np.arange(n), -f)), f


def _neighbourhood(scores: np.ndarray, sim: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(x, near, cos)``: the scores over the best one, each hit's ``k`` nearest hits and their
    cosines (negative as 0); None when there is nothing to smooth (under 3 hits, ``k`` < 1, or
    no positive score)."""
    n = len(scores)
    top = float(scores.max()) if n else 0.0
    if n < 3 or k < 1 or top <= 0:
        return None
    near = nearest(sim, min(k, n - 1))
    return scores / top, near, np.maximum(np.take_along_axis(sim, near, axis=1), 0.0)
