"""Fast paths on the query side give exactly Whoosh's answers: match sets, totals, stems."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from whoosh import index as whoosh_index

from index_data.analysis import STEM_TABLE_FILE
from index_data.build import build_index
from index_data.schema import INDEX_NAME
from searcher import Searcher
from searcher.whoosh_docsets import matched_docs

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("mqt_bench_generate2", ROOT / "benchmarks" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

QUERIES = [
    "housing", "crime police", '"affordable homes"', "transport -bus", "knife OR gun crime",
    "tfl AND fares", "hous*", "polise~", "title:budget", "party:labour", "year:2005..2010 housing",
    'asker:"Tom Copley" OR party:green', "the of", "", "zzzzqqq", "-housing", "(a OR b) AND rent",
    "station stations", '"mayor" answer:transport', "status:unanswered",
]


@pytest.fixture(scope="module", params=[1, 2], ids=["one-segment", "two-segments"])
def index_dir(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"ix{request.param}")
    corpus = generate.generate(tmp / "corpus", 240, seed=11)
    build_index(corpus, tmp / "ix", procs=request.param)
    return tmp / "ix"


def test_matched_docs_equal_whoosh_docs(index_dir):
    with Searcher(index_dir) as s:
        engine = s._engine
        for text in QUERIES:
            compiled = engine.compile(s_tree(text))
            ws = engine._current()
            want = sorted(compiled.query.docs(ws)) if compiled.query is not None else []
            got = matched_docs(ws, compiled.query)
            assert got == want, text
        assert any(s.search(t).total > 20 for t in QUERIES)


def s_tree(text):
    from searcher.query import parse_query

    return parse_query(text)


def test_matched_docs_skip_deleted_documents(index_dir, tmp_path):
    import shutil

    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    ix = whoosh_index.open_dir(str(copy), indexname=INDEX_NAME)
    with Searcher(copy) as s:
        ids = [h.id for h in s.search("housing", limit=5).hits]
    with ix.writer() as w:
        for doc_id in ids[:3]:
            w.delete_by_term("id", doc_id)
    with Searcher(copy) as s:
        ws = s._engine._current()
        assert ws.reader().has_deletions()
        for text in ("housing", "housing OR crime", "-housing", '"affordable homes"', "party:labour"):
            compiled = s._engine.compile(s_tree(text))
            assert matched_docs(ws, compiled.query) == sorted(compiled.query.docs(ws)), text
        page = s.search("housing", limit=5)
        assert not set(ids[:3]) & {h.id for h in page.hits}


def _page(index_dir, text="", **kw):
    kw.setdefault("query", text)
    with Searcher(index_dir) as s:
        p = s.search(kw.pop("query"), **kw).to_dict()
    p.pop("took_ms")
    return p


def test_stem_table_changes_nothing_and_spares_nltk(index_dir, tmp_path):
    import shutil

    assert (index_dir / STEM_TABLE_FILE).exists()
    without = tmp_path / "no-table"
    shutil.copytree(index_dir, without)
    (without / STEM_TABLE_FILE).unlink()
    for text in ("housing crimes", '"affordable homes"', "hous*", "polise~"):
        assert _page(index_dir, text) == _page(without, text), text
    code = ("import sys; from searcher import Searcher; s = Searcher(sys.argv[1]); "
            "p = s.search('Housing crimes stations', facets=True); assert p.total > 0; "
            "print('nltk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(index_dir)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
    out = subprocess.run([sys.executable, "-c", code, str(without)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "True"  # the fallback really is NLTK


FILTERED = [
    dict(query="housing", party="Labour Group"), dict(query="crime police", date_from="2005", date_to="2012"),
    dict(query="transport", party="green", sort="newest"), dict(query='"the mayor" OR housing', date_from="2010"),
    dict(query="rent OR fares", asked_of="The Mayor"), dict(query="station", status="answered", sort="oldest"),
    dict(query="party:labour housing year:2003..2015"), dict(query="", party="labour"),
]


@pytest.mark.parametrize("kw", FILTERED, ids=lambda kw: repr(kw))
def test_cached_filters_rank_exactly_as_whoosh_filters(index_dir, kw, monkeypatch):
    import searcher.whoosh_reader as wr

    fast = _page(index_dir, limit=20, **kw)
    fast_again = _page(index_dir, limit=20, **kw)  # from the filter cache
    monkeypatch.setattr(wr, "cache_filters", lambda q: q)
    slow = _page(index_dir, limit=20, **kw)
    assert fast == slow == fast_again
    assert slow["total"] > 0


SORTED = ["housing", "crime police", "the mayor", "party:labour", "transport -bus", '"the mayor"',
          "year:2004..2012 station", "zzzzqqq", "hous*"]


@pytest.mark.parametrize("newest", [True, False], ids=["newest", "oldest"])
def test_top_by_date_equals_whoosh_sorting(index_dir, newest):
    from whoosh import sorting

    from searcher.whoosh_docsets import cache_filters, top_by_date

    with Searcher(index_dir) as s:
        engine = s._engine
        ws = engine._current()
        dates = engine._date_column(ws)
        checked = 0
        for text in SORTED:
            q = engine.compile(s_tree(text)).query
            for k in (1, 3, 10, 25, 1000):
                r = ws.search(q, limit=k, terms=False, sortedby=[
                    sorting.FieldFacet("date", reverse=newest), sorting.ScoreFacet()])
                want = [(r.docnum(i), -r.score(i)[-1]) for i in range(r.scored_length())]
                fast = cache_filters(q)
                got = top_by_date(ws, fast, matched_docs(ws, fast), dates, k, newest)
                assert got == want, (text, k)
                checked += len(want)
        assert checked > 100
        # pages of a date-sorted search follow on from each other
        p1 = s.search("housing", sort="newest" if newest else "oldest", limit=5)
        p2 = s.search("housing", sort="newest" if newest else "oldest", limit=5, page=2)
        both = s.search("housing", sort="newest" if newest else "oldest", limit=10)
        assert [h.id for h in p1.hits + p2.hits] == [h.id for h in both.hits]
        key = [h.meeting_date for h in both.hits]
        assert key == sorted(key, reverse=newest)


def test_fast_bm25f_scores_equal_whoosh_bm25f(index_dir):
    from whoosh import scoring

    from searcher.ranking import BM25_B, BM25_K1
    from searcher.whoosh_docsets import FastBM25F

    args = dict(B=0.75, K1=BM25_K1, **{f"{f}_B": b for f, b in BM25_B.items()})
    ix = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    with Searcher(index_dir) as s:
        queries = [s._engine.compile(s_tree(t)).query for t in QUERIES]
    compared = 0
    with ix.searcher(weighting=scoring.BM25F(**args)) as slow, \
            ix.searcher(weighting=FastBM25F(**args)) as fast:
        for q in queries:
            a, b = slow.search(q, limit=None), fast.search(q, limit=None)
            got = [(h.docnum, h.score) for h in b]
            assert got == [(h.docnum, h.score) for h in a]
            compared += len(got)
    assert compared > 200
