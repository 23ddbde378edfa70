"""Guards the ranking of short, typed queries: MRR on the real-dev known-item set (../shared/
real-dev, 189 real questions and 56 queries) must not drop more than 0.01 below the figures
reached, alone and among 10,000 generated distractors (benchmarks/short_queries.py prints the
full table, with the bm25s and FTS5 baselines)."""

import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
short_queries = pytest.importorskip("benchmarks.short_queries")
pytest.importorskip("ir_measures")

if not (short_queries.REAL_DEV / "queries.json").is_file():
    pytest.skip(f"no real-dev set at {short_queries.REAL_DEV}", allow_module_level=True)

#: Reached with default settings (benchmarks/RELEVANCE.md, "Third round: the halves check over
#: every combination"): MRR 0.928 alone and 0.880 with 10,000 distractors.
MRR_REACHED = {"alone": 0.928, "mixed": 0.880}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("short_queries")


@pytest.fixture(scope="module")
def queries():
    return short_queries.read_queries()


def test_the_set_is_what_the_benchmark_expects(queries):
    assert len(queries) == 56
    assert all(2 <= len(q.text.split()) <= 6 and q.relevant for q in queries)
    assert [q.number for q in queries] == list(range(1, 57))


@pytest.mark.parametrize("corpus", ["alone", "mixed"])
def test_short_query_mrr_does_not_regress(work, queries, corpus):
    index_dir = short_queries.build(corpus, work)
    ranked, _ = short_queries.run_mqt(index_dir, queries)
    figures = short_queries.evaluate(ranked, queries)
    assert figures["RR@100"] >= MRR_REACHED[corpus] - 0.01, figures
    assert figures["Success@10"] >= 0.96, figures
    if corpus == "mixed":
        # among distractors mqt stays ahead of SQLite FTS5's bm25() over the same documents
        fts5 = short_queries.run_fts5(*short_queries.documents(short_queries.corpus_dir(
            work, short_queries.REAL_DEV, corpus)), queries)
        assert figures["RR@100"] > short_queries.evaluate(fts5, queries)["RR@100"], figures
