"""Neighbour smoothing (searcher/neighbours.py) and the term vectors it reads (index_data/termvectors.py):
the arithmetic against a plain dense reference, and the searcher's re-ranking against one computed
from the stored documents themselves."""

from __future__ import annotations

import math
import shutil
from collections import Counter

import numpy as np
import pytest

from index_data import build_index, reindex, termvectors
from index_data.analysis import analyze
from searcher import Ranking, Searcher, neighbours

from conftest import question_file

LONG_QUERY = "what is the mayor doing about knife crime and violence among young people in london"


# ---- arithmetic ----------------------------------------------------------------------------

def _random_vectors(rng, n_rows=60, n_terms=400):
    """Sparse rows with Zipf-like term popularity: some terms in most rows, most in few."""
    rows, terms = [], []
    for r in range(n_rows):
        picked = np.unique(np.minimum(rng.zipf(1.3, size=rng.integers(1, 40)), n_terms) - 1)
        rows += [r] * len(picked)
        terms += picked.tolist()
    rows, terms = np.array(rows), np.array(terms)
    return rows, terms, rng.random(len(rows))


@pytest.mark.parametrize("dense_min", [0, 3, 32, 10_000])
def test_cosine_matrix_equals_the_dense_product(monkeypatch, dense_min):
    monkeypatch.setattr(neighbours, "DENSE_MIN_HITS", dense_min)
    rng = np.random.default_rng(7)
    rows, terms, w = _random_vectors(rng)
    # a repeated (row, term) entry (a hash collision inside a document) adds up
    rows, terms, w = np.r_[rows, rows[:1]], np.r_[terms, terms[:1]], np.r_[w, [0.25]]
    dense = np.zeros((60, terms.max() + 1))
    np.add.at(dense, (rows, terms), w)
    want = dense @ dense.T
    np.fill_diagonal(want, 0.0)
    got = neighbours.cosine_matrix(rows, terms, w, 60)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.shape == (60, 60) and not got.diagonal().any()


def test_nearest_is_the_stable_sort_with_ties_to_the_better_rank():
    rng = np.random.default_rng(3)
    for trial in range(200):
        n = int(rng.integers(3, 30))
        # few distinct values: many ties, zeros included
        sim = rng.integers(0, 4, size=(n, n)).astype(float) / 4
        np.fill_diagonal(sim, 0.0)
        k = int(rng.integers(1, n))
        got = neighbours.nearest(sim, k)
        want = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        assert [sorted(r) for r in got.tolist()] == [sorted(r) for r in want.tolist()], (trial, sim, k)


def _regularised(scores, sim, k, weight):
    """The dense reference: ``(I + weight L) f = x`` solved directly, ``L`` the Laplacian of the
    directed k-nearest-neighbour graph (a full stable sort picks the neighbours)."""
    n = len(scores)
    x = np.asarray(scores, dtype=float) / max(scores)
    near = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    w = np.zeros((n, n))
    np.put_along_axis(w, near, np.maximum(np.take_along_axis(sim, near, axis=1), 0.0), axis=1)
    return np.linalg.solve(np.eye(n) + weight * (np.diag(w.sum(1)) - w), x)


def test_smooth_moves_up_a_hit_whose_neighbour_scores_well():
    # a: wing; b: shell; c: heat; d: 0.6 wing + 0.8 flutter. a and d are each other's neighbour
    # (cosine 0.6); b and c resemble nothing and keep their scores.
    rows = np.array([0, 1, 2, 3, 3])
    terms = np.array([0, 1, 2, 0, 3])
    w = np.array([1.0, 1.0, 1.0, 0.6, 0.8])
    sim = neighbours.cosine_matrix(rows, terms, w, 4)
    scores = np.array([10.0, 9.0, 8.5, 8.0])
    order, new = neighbours.smooth(scores, sim, k=1, weight=3.0)
    assert order.tolist() == [0, 1, 3, 2]  # a, b, d, c
    # f_a = (1 + 1.8 f_d) / 2.8 and f_d = (0.8 + 1.8 f_a) / 2.8
    assert new.tolist() == pytest.approx([4.24 / 4.6, 0.9, 0.85, 4.04 / 4.6], abs=1e-11)
    order, new = neighbours.smooth(scores, sim, k=1, weight=0.0)
    assert order.tolist() == [0, 1, 2, 3] and new.tolist() == pytest.approx(scores / 10.0)


@pytest.mark.parametrize("k,weight", [(1, 1.0), (3, 3.0), (5, 10.0)])
def test_smooth_solves_the_regularisation(k, weight):
    """The iterated scores equal the dense solution of ``(I + w L) f = x``, and stay within the
    range of the scores they started from."""
    rng = np.random.default_rng(k)
    for _ in range(20):
        rows, terms, w = _random_vectors(rng, n_rows=int(rng.integers(3, 80)))
        n = int(rows.max()) + 1
        sim = neighbours.cosine_matrix(rows, terms, w, n)
        scores = rng.random(n) * 20
        order, new = neighbours.smooth(scores, sim, k=min(k, n - 1), weight=weight)
        want = _regularised(scores, sim, min(k, n - 1), weight)
        assert new == pytest.approx(want, rel=1e-9, abs=1e-9)
        assert order.tolist() == sorted(range(n), key=lambda i: (-new[i], i))
        x = scores / scores.max()
        assert x.min() - 1e-12 <= new.min() and new.max() <= 1.0 + 1e-12


def test_loose_neighbours_do_not_lift_a_hit_over_the_one_that_stands_out():
    """A known item (score 1) among unrelated hits: its runner-up (0.87) has it as its nearest
    neighbour at cosine 0.04. Averaging the neighbours' scores (the previous smoothing) put the
    runner-up first; regularised, a neighbour counts as far as it resembles, and the item stays
    first. A close neighbour (cosine 0.9) still lifts the runner-up to it."""
    def case(cos):
        sim = np.full((5, 5), 0.01)
        sim[0, 1] = sim[1, 0] = cos
        sim[0, 3:] = sim[3:, 0] = 0.05  # the item's other loose neighbours score low
        np.fill_diagonal(sim, 0.0)
        return sim
    scores = np.array([1.0, 0.87, 0.4, 0.3, 0.2])
    x = scores / scores.max()
    near = np.argsort(-case(0.04), axis=1, kind="stable")[:, :3]
    c = np.take_along_axis(case(0.04), near, axis=1)
    averaged = x + (c * x[near]).sum(1) / c.sum(1)
    assert averaged[1] > averaged[0]
    assert neighbours.smooth(scores, case(0.04), k=3, weight=3.0)[0][:2].tolist() == [0, 1]
    _, new = neighbours.smooth(scores, case(0.9), k=3, weight=3.0)
    assert new[0] - new[1] < 0.3 * (x[0] - x[1])


def test_the_averaged_rule_is_the_previous_formula_and_a_ranking_setting(generated_index):
    """``neighbours.rule="averaged"`` (kept for the halves check's ablation) scores
    ``x + w * sum(c * x_j) / sum(c)`` over each hit's ``k`` nearest; the case above shows it
    lifting the runner-up that the regularised rule keeps second. Through a Searcher the rule
    changes the smoothed order of a long query, and an unknown rule is refused."""
    sim = np.full((5, 5), 0.01)
    sim[0, 1] = sim[1, 0] = 0.04
    sim[0, 3:] = sim[3:, 0] = 0.05
    np.fill_diagonal(sim, 0.0)
    scores = np.array([1.0, 0.87, 0.4, 0.3, 0.2])
    order, new = neighbours.smooth_averaged(scores, sim, k=3, weight=1.0)
    near = np.argsort(-sim, axis=1, kind="stable")[:, :3]
    c = np.take_along_axis(sim, near, axis=1)
    assert new == pytest.approx(scores + (c * scores[near]).sum(1) / c.sum(1), rel=1e-12)
    assert order.tolist()[:2] == [1, 0]
    with pytest.raises(ValueError, match="neighbours.rule"):
        Ranking().with_settings({"neighbours.rule": "mean"})
    averaged = Ranking().with_settings({"neighbours.rule": "averaged", "neighbours.weight": 1.0})
    with Searcher(generated_index / "index") as s, \
            Searcher(generated_index / "index", ranking=averaged) as t:
        a, b = ([h.id for h in x.search(LONG_QUERY, limit=1000, facets=False, snippets=False,
                                        suggest=False).hits] for x in (s, t))
    assert sorted(a) == sorted(b) and a != b


def test_unit_vectors_weigh_rare_words_up_and_have_length_one():
    rows = np.array([0, 0, 1])
    counts = np.array([1.0, 3.0, 1.0])
    df = np.array([900.0, 2.0, 2.0])  # a common word and a rare one
    w = neighbours.unit_vectors(rows, counts, df, 1000, 2)
    assert w[1] > w[0]
    assert np.bincount(rows, weights=w * w).tolist() == pytest.approx([1.0, 1.0])


def test_term_vectors_round_trip_and_count_documents():
    a = termvectors.encode({"hate": 2, "crime": 1, "hub": 300})
    b = termvectors.encode({"crime": 4})
    empty = termvectors.encode({})
    rows, hashes, counts = termvectors.decode([a, empty, b])
    h = termvectors.term_hash
    assert rows.tolist() == [0, 0, 0, 2]
    assert hashes.tolist() == [h("hate"), h("crime"), h("hub"), h("crime")]
    assert counts.tolist() == [2, 1, 255, 4]  # counts cap at 255
    table = termvectors.df_table([a, b, empty])
    assert dict(zip(table[0].tolist(), table[1].tolist())) == {h("hate"): 1, h("crime"): 2, h("hub"): 1}
    assert table[0].tolist() == sorted(table[0].tolist())


def test_term_vector_bytes():
    """The column bytes are the uint32 CRC-32s of the terms' UTF-8 (little-endian), then the
    counts capped at 255, term by term, whether a term's hash is computed or remembered."""
    import struct
    import zlib

    for counts in ({"hate": 2, "crime": 1, "siân": 255, "hub": 256}, {"crime": 4, "siân": 1}, {}):
        for _ in range(2):
            want = b"".join(struct.pack("<I", zlib.crc32(t.encode("utf-8"))) for t in counts)
            assert termvectors.encode(counts) == want + bytes(min(c, 255) for c in counts.values())


# ---- the searcher --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated_index(tmp_path_factory, generate):
    base = tmp_path_factory.mktemp("nb")
    corpus = generate.generate(base / "corpus", 400, seed=5)
    report = build_index(corpus, base / "index")
    assert report.indexed == 400
    return base


def _reference_order(index_dir, query: str, k=3, weight=3.0, depth=1000):
    """The smoothed ranking computed independently: vectors analysed from each hit's stored text
    with exact words (no hashing), df counted over every stored document, dense matrices and a
    full stable sort; hits as ranked without smoothing."""
    with Searcher(index_dir) as s:
        plain = s.search(query, limit=1000, facets=False, snippets=False, suggest=False,
                         neighbours=False)
        all_docs = s.search("", limit=1000, facets=False, snippets=False, suggest=False).hits
        texts = {}
        for h in all_docs:
            q = s.get(h.id)
            texts[h.id] = Counter(analyze(f"{q.title}\n{q.question}\n{q.answer_text}"))
    n = len(texts)
    df = Counter(t for c in texts.values() for t in c)
    top = [(h.id, h.score) for h in plain.hits][:depth]
    vocab = sorted({t for d, _ in top for t in texts[d]})
    col = {t: i for i, t in enumerate(vocab)}
    v = np.zeros((len(top), len(vocab)))
    for i, (d, _) in enumerate(top):
        for t, tf in texts[d].items():
            v[i, col[t]] = (1 + math.log(tf)) * math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
        v[i] /= np.linalg.norm(v[i]) or 1.0
    sim = v @ v.T
    np.fill_diagonal(sim, 0.0)
    y = _regularised(np.array([sc for _, sc in top]), sim, k, weight)
    order = sorted(range(len(top)), key=lambda i: (-y[i], i))
    return [top[i][0] for i in order] + [h.id for h in plain.hits][depth:], plain


@pytest.mark.parametrize("query", [
    LONG_QUERY,
    "how many affordable homes were completed in outer london boroughs last year",
    "air quality ulez expansion schools pollution children",
])
def test_search_order_equals_the_independent_reference(generated_index, query):
    want, plain = _reference_order(generated_index / "index", query)
    with Searcher(generated_index / "index") as s:
        page = s.search(query, limit=1000, facets=True, snippets=False, suggest=False)
        assert [h.id for h in page.hits] == want
        assert want != [h.id for h in plain.hits]  # smoothing changed this ranking
        # same matches, same total and facets: smoothing only reorders
        assert page.total == plain.total and sorted(want) == sorted(h.id for h in plain.hits)
        assert page.facets == s.search(query, limit=10, neighbours=False, snippets=False).facets
        # pages are slices of the one smoothed ranking
        paged = [h.id for p in (1, 2, 3) for h in
                 s.search(query, limit=7, page=p, snippets=False, facets=False).hits]
        assert paged == want[:21]
        scores = [h.score for h in page.hits]
        assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0


def test_short_queries_keep_their_order(generated_index):
    with Searcher(generated_index / "index") as s:
        for query in ("knife crime", "affordable homes", "police"):
            on = s.search(query, limit=200, snippets=False, facets=False)
            off = s.search(query, limit=200, snippets=False, facets=False, neighbours=False)
            assert [(h.id, h.score) for h in on.hits] == [(h.id, h.score) for h in off.hits]
            assert on.total > 10


def test_smoothing_starts_at_min_words(generated_index):
    """A query of 5 ranked words is smoothed by default; with ``neighbours.min_words`` above its
    length it keeps BM25F's order, and a longer one is still smoothed."""
    five = "affordable homes croydon police transport"
    later = Ranking().with_settings({"neighbours.min_words": 6})
    with Searcher(generated_index / "index") as s, Searcher(generated_index / "index", ranking=later) as t:
        def order(searcher, query, **kw):
            return [(h.id, h.score) for h in searcher.search(query, limit=200, snippets=False,
                                                             facets=False, **kw).hits]

        plain = order(s, five, neighbours=False)
        assert order(s, five) != plain
        assert order(t, five) == plain
        assert order(t, LONG_QUERY) == order(s, LONG_QUERY) != order(s, LONG_QUERY, neighbours=False)


def test_a_missing_df_table_is_computed_with_the_same_result(generated_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(generated_index / "index", index)
    with Searcher(index) as s:
        before = [(h.id, h.score) for h in s.search(LONG_QUERY, limit=50, snippets=False).hits]
    shutil.rmtree(index / termvectors.DF_DIR)
    with Searcher(index) as s:
        after = [(h.id, h.score) for h in s.search(LONG_QUERY, limit=50, snippets=False).hits]
    assert after == before


def test_df_tables_follow_the_segments_through_reindex(write_corpus, tmp_path):
    docs = {f"q{i}.txt": question_file(title=f"Buses {i}", question=f"Bus route {i} in Croydon?")
            for i in range(6)}
    corpus = write_corpus(docs)
    index = tmp_path / "index"
    build_index(corpus, index)
    first = sorted(p.name for p in (index / termvectors.DF_DIR).iterdir())
    assert len(first) == 1
    table = termvectors.load_df_table(index, first[0][:-4])
    counts = dict(zip(table[0].tolist(), table[1].tolist()))
    assert counts[termvectors.term_hash("croydon")] == 6 and counts[termvectors.term_hash("buse")] == 6
    (corpus / "new.txt").write_text(question_file(title="Trams", question="Tram stops in Croydon?"),
                                    encoding="utf-8")
    reindex(corpus, index)
    second = sorted(p.name for p in (index / termvectors.DF_DIR).iterdir())
    assert len(second) == 2 and first[0] in second  # the new segment got its own table
    reindex(corpus, index, optimize=True)
    third = sorted(p.name for p in (index / termvectors.DF_DIR).iterdir())
    assert len(third) == 1 and third[0] not in second  # merged: old tables pruned
    table = termvectors.load_df_table(index, third[0][:-4])
    counts = dict(zip(table[0].tolist(), table[1].tolist()))
    assert counts[termvectors.term_hash("croydon")] == 7 and counts[termvectors.term_hash("tram")] == 1


def test_settings_are_the_documented_defaults():
    ranking = Ranking()
    assert ranking.neighbours.enabled is True and ranking.feedback.enabled is False
    assert (ranking.neighbours.depth, ranking.neighbours.k, ranking.neighbours.weight) == (1000, 3, 3.0)


def test_scores_keep_falling_past_the_smoothed_depth(generated_index):
    shallow = Ranking().with_settings({"neighbours.depth": 20})
    with Searcher(generated_index / "index", ranking=shallow) as s:
        page = s.search(LONG_QUERY, limit=60, snippets=False, facets=False)
        plain = s.search(LONG_QUERY, limit=60, snippets=False, facets=False, neighbours=False)
    scores = [h.score for h in page.hits]
    assert len(scores) == 60 and scores == sorted(scores, reverse=True)
    # below the depth: the original order, scores scaled by the best one
    best = plain.hits[0].score
    assert [(h.id, h.score) for h in page.hits[20:]] == [(h.id, pytest.approx(h.score / best))
                                                         for h in plain.hits[20:]]
    assert sorted(h.id for h in page.hits[:20]) == sorted(h.id for h in plain.hits[:20])


def test_df_table_counted_in_chunks_equals_one_count():
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(300)]
    blobs = [termvectors.encode({w: 1 for w in rng.choice(words, size=rng.integers(0, 40), replace=False)})
             for _ in range(500)]
    whole = termvectors.df_table(blobs, chunk=10_000)
    for chunk in (1, 7, 100):
        assert np.array_equal(termvectors.df_table(blobs, chunk=chunk), whole)
    _, hashes, _ = termvectors.decode(blobs)
    u, c = np.unique(hashes, return_counts=True)
    assert whole[0].tolist() == u.tolist() and whole[1].tolist() == c.tolist()
    assert termvectors.df_table([]).shape == (2, 0)
