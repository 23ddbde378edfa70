"""Guards the ranking: MAP on the Cranfield collection must not drop more than 0.01 below the
figure reached (benchmarks/relevance.py prints the full table)."""

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
relevance = pytest.importorskip("benchmarks.relevance")

#: Reached with default settings (README "Relevance benchmark"): MAP 0.361, nDCG@10 0.414.
MAP_REACHED = 0.361
NDCG10_REACHED = 0.414


@pytest.fixture(scope="module")
def cranfield_index(tmp_path_factory):
    return relevance.build(tmp_path_factory.mktemp("cranfield"), rebuild=True)


def test_cranfield_map_does_not_regress(cranfield_index):
    run, _ = relevance.run_queries(cranfield_index, relevance.read_queries())
    figures = relevance.evaluate(run)
    assert figures["AP@1000"] >= MAP_REACHED - 0.01, figures
    assert figures["nDCG@10"] >= NDCG10_REACHED - 0.015, figures


def test_query_numbers_are_positions_not_labels():
    queries = relevance.read_queries()
    assert len(queries) == 225 and queries[2][0] == "3"  # its .I label is 004
    assert queries[2][1].startswith("what problems of heat conduction")


def test_neighbour_smoothing_moves_up_a_document_whose_neighbours_score_well():
    vectors = {"a": {"wing": 1.0}, "b": {"shell": 1.0}, "c": {"heat": 1.0},
               "d": {"wing": 0.6, "flutter": 0.8}}
    ranked = [("a", 10.0), ("b", 9.0), ("c", 8.5), ("d", 8.0)]
    out = relevance.neighbour_smoothing(ranked, vectors, k=1, gamma=1.0)
    # d's one neighbour is a (cosine 0.6, weights normalised): 0.8 + 1.0; a gets 1.0 + 0.8
    assert [doc for doc, _ in out] == ["a", "d", "b", "c"]
    assert dict(out)["d"] == pytest.approx(1.8) and dict(out)["b"] == pytest.approx(0.9)
    assert relevance.neighbour_smoothing(ranked, vectors, k=1, gamma=0.0) == \
        [(doc, s / 10.0) for doc, s in ranked]


def test_neighbour_reranker_leaves_short_queries_alone():
    records = [relevance.Record(1, "wing flutter", "", "wing flutter at transonic speed"),
               relevance.Record(2, "shell buckling", "", "buckling of thin shells"),
               relevance.Record(3, "wing flutter tests", "", "flutter of a swept wing")]
    rerank = relevance.neighbour_reranker(depth=3, k=1, gamma=1.0, records=records)
    ranked = [("cran_0001", 5.0), ("cran_0002", 4.0), ("cran_0003", 3.0)]
    assert rerank("wing flutter", ranked) == ranked  # two words: strict order kept
    long = rerank("what is known about flutter of wings at transonic speeds", ranked)
    assert [d for d, _ in long] == ["cran_0001", "cran_0003", "cran_0002"]
