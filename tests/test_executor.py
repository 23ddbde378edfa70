"""The numpy query executor gives exactly Whoosh's answers: match sets, scores, order, totals,
facets; and the stem table spares NLTK without changing results."""

from __future__ import annotations

import subprocess
import sys

import pytest
from whoosh import query as wq
from whoosh import index as whoosh_index

from index_data.build import build_index
from index_data.engine import top_by_date, top_k
from index_data.engine.evaluate import execute as engine_execute
from index_data.engine.format import bulk_position_deltas as _bulk_position_deltas
from index_data.engine.postings import SegmentArrays
from index_data.engine.schema import INDEX_NAME
from index_data.stemtable import FILE as STEM_TABLE_FILE
from reference_matchers import reference
from searcher import Ranking, Searcher

from conftest import ROOT

QUERIES = [
    "housing", "crime police", '"affordable homes"', "transport -bus", "knife OR gun crime",
    "tfl AND fares", "hous*", "polise~", "title:budget", "party:labour", "year:2005..2010 housing",
    'asker:"Tom Copley" OR party:green', "the of", "", "zzzzqqq", "-housing", "(a OR b) AND rent",
    "station stations", '"mayor" answer:transport', "status:unanswered",
    '"the mayor"~3', '"london assembly" -"the mayor"', "+housing +crime", "housing -crime",
    "title:housing OR question:rent", "housing AND NOT (bus OR tram)", '"mayor london"~2 police',
    "what is the mayor doing about knife crime and youth services in london boroughs",
]


def execute(ws, q, want_scores=True):
    """The executor over Whoosh searcher ``ws`` with the default ranking (segment arrays decoded
    afresh, not the engine's cached ones)."""
    return engine_execute(ws, q, SegmentArrays, Ranking().bm25, want_scores)


@pytest.fixture(scope="module", params=[1, 2], ids=["one-segment", "two-segments"])
def index_dir(request, tmp_path_factory, generate):
    tmp = tmp_path_factory.mktemp(f"ix{request.param}")
    corpus = generate.generate(tmp / "corpus", 240, seed=11)
    build_index(corpus, tmp / "ix", procs=request.param)
    return tmp / "ix"


def s_tree(text):
    from searcher.query import parse_query

    return parse_query(text)


def _whoosh_all(ws, q):
    """Whoosh's own search of compiled query ``q``, mqt's query types scored by the reference
    matchers (``reference_matchers``)."""
    r = ws.search(reference(q), limit=None, terms=False)
    return [(r.docnum(i), float(r.score(i))) for i in range(r.scored_length())]


def _docs(q, ws):
    """Whoosh's own match set of compiled query ``q``."""
    return reference(q).docs(ws)


def _engine(s):
    """The engine behind Searcher ``s``."""
    return s.engine


def _compiled(s, texts):
    """``(text, Whoosh searcher, compiled Whoosh query)`` for each query text."""
    engine = _engine(s)
    for text in texts:
        yield text, engine.whoosh_searcher(), engine.compile(s_tree(text)).query


def test_match_sets_equal_whoosh_docs(index_dir):
    with Searcher(index_dir) as s:
        nonempty = 0
        for text, ws, q in _compiled(s, QUERIES):
            want = sorted(_docs(q, ws))
            docs, _ = execute(ws, q)
            assert docs.tolist() == want, text
            assert execute(ws, q, want_scores=False)[0].tolist() == want, text
            nonempty += bool(want)
        assert nonempty > 20


def _has_filter_or_not(text):
    return any(x in text for x in ("party:", "year:", "asker:", "status:", "-", "NOT"))


def test_scores_and_order_equal_whoosh(index_dir):
    """Every match's score (BM25F, phrases, coordination, boosts) and the ranking, top to bottom."""
    with Searcher(index_dir) as s:
        compared = 0
        for text, ws, q in _compiled(s, [t for t in QUERIES if not _has_filter_or_not(t)]):
            # filters: see test_filters_leave_scores_alone; NOT: see below
            want = _whoosh_all(ws, q)
            docs, scores = execute(ws, q)
            got = dict(zip(docs.tolist(), scores.tolist()))
            assert set(got) == {d for d, _ in want}, text
            for d, score in want:
                assert got[d] == pytest.approx(score, rel=1e-12, abs=1e-12), (text, d)
            assert top_k(docs, scores, len(docs)) == [(d, got[d]) for d, _ in want], text
            compared += len(want)
        assert compared > 500


def _text_phrases(s, n: int = 24) -> list[str]:
    """Quoted runs of 2-5 words taken from the index's own question texts (stopwords and
    sentence ends inside many of them), some with a slop."""
    import random

    rng = random.Random(3)
    hits = s.search("", limit=200, snippets=False, facets=False).hits
    out = []
    while len(out) < n:
        words = s.get(rng.choice(hits).id).question.split()
        k = rng.randint(2, 5)
        if len(words) <= k:
            continue
        i = rng.randrange(len(words) - k)
        phrase = " ".join(words[i:i + k]).replace('"', "")
        out.append(f'"{phrase}"' + ("~1" if len(out) % 3 == 0 else ""))
    return out


def test_gapped_phrases_equal_the_reference(index_dir):
    """Phrases whose words keep gaps (removed stopwords, sentence ends): the executor's matches
    and scores equal the reference, which reads positions one posting at a time."""
    from index_data.engine.queries import GappedPhrase

    with Searcher(index_dir) as s:
        phrases = _text_phrases(s)
        gapped = matched = 0
        for text, ws, q in _compiled(s, phrases):
            parts = q.subqueries if isinstance(q, wq.Or) else [q]
            gapped += any(isinstance(p, GappedPhrase) and list(p.offsets) != list(range(len(p.words)))
                          for p in parts)
            want = _whoosh_all(ws, q)
            docs, scores = execute(ws, q)
            got = dict(zip(docs.tolist(), scores.tolist()))
            assert set(got) == {d for d, _ in want}, text
            for d, score in want:
                assert got[d] == pytest.approx(score, rel=1e-12, abs=1e-12), (text, d)
            matched += len(want)
        assert gapped >= 8 and matched >= len(phrases)  # each phrase finds its own document


def test_not_excludes_every_document_with_the_word(index_dir):
    """Whoosh's own collector can let a NOT-ed word's document through once the top-k threshold
    prunes the NOT side; the executor subtracts the whole set."""
    with Searcher(index_dir) as s:
        engine = _engine(s)
        ws = engine.whoosh_searcher()
        base = execute(ws, engine.compile(s_tree("housing")).query)[0]
        bad = execute(ws, engine.compile(s_tree("crime")).query)[0]
        got = execute(ws, engine.compile(s_tree("housing -crime")).query)[0]
        assert len(base) > len(got) > 0
        assert set(got.tolist()) == set(base.tolist()) - set(bad.tolist())
        everything = execute(ws, engine.compile(s_tree("-housing")).query)
        assert set(everything[0].tolist()) == set(range(ws.doc_count_all())) - set(base.tolist())
        assert set(everything[1].tolist()) == {1.0}  # Whoosh's Every scores its boost, 1.0
        page = s.search("housing -crime", limit=1000)
        assert page.total == len(got)
        assert all("crime" not in (h.title + " ".join(h.snippets.question + h.snippets.answer)).lower()
                   for h in page.hits)


FILTERED = [
    dict(query="housing", party="Labour Group"), dict(query="crime police", date_from="2005", date_to="2012"),
    dict(query="transport", party="green", sort="newest"), dict(query='"the mayor" OR housing', date_from="2010"),
    dict(query="rent OR fares", asked_of="The Mayor"), dict(query="station", status="answered", sort="oldest"),
    dict(query="party:labour housing year:2003..2015"), dict(query="", party="labour"),
]


@pytest.mark.parametrize("kw", FILTERED, ids=lambda kw: repr(kw))
def test_filters_leave_scores_alone(index_dir, kw):
    """A filter (party, dates, status...) only restricts: each hit keeps the score the query
    gives it unfiltered, and the hits are the unfiltered ranking's that pass the filter."""
    kw = dict(kw)
    text = kw.pop("query")
    sort = kw.pop("sort", "relevance")
    with Searcher(index_dir) as s:
        filtered = s.search(text, limit=1000, sort=sort, **kw)
        again = s.search(text, limit=1000, sort=sort, **kw)  # filter masks from the cache
        plain = s.search(text.replace("party:labour ", "").replace(" year:2003..2015", ""),
                         limit=1000, sort=sort)
    assert filtered.to_dict()["hits"] == again.to_dict()["hits"]
    assert 0 < filtered.total <= plain.total or (text == "" and filtered.total > 0)
    if text:
        scores = {h.id: h.score for h in plain.hits}
        assert all(h.score == pytest.approx(scores[h.id]) for h in filtered.hits)
        passing = {h.id for h in filtered.hits}
        assert [h.id for h in filtered.hits] == [h.id for h in plain.hits if h.id in passing]


def test_deleted_documents_are_skipped(index_dir, tmp_path):
    import shutil

    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    ix = whoosh_index.open_dir(str(copy), indexname=INDEX_NAME)
    with Searcher(copy) as s:
        ids = [h.id for h in s.search("housing", limit=5).hits]
        before = s.search("housing", limit=1000).total
    with ix.writer() as w:
        for doc_id in ids[:3]:
            w.delete_by_term("id", doc_id)
    with Searcher(copy) as s:
        ws = _engine(s).whoosh_searcher()
        assert ws.reader().has_deletions()
        for text in ("housing", "housing OR crime", "-housing", '"affordable homes"', "party:labour"):
            q = s.engine.compile(s_tree(text)).query
            assert execute(ws, q)[0].tolist() == sorted(_docs(q, ws)), text
        page = s.search("housing", limit=1000)
        assert page.total == before - 3
        assert not set(ids[:3]) & {h.id for h in page.hits}
        assert sum(page.facets["party"].values()) <= page.total


SORTED = ["housing", "crime police", "the mayor", "transport bus", '"the mayor"', "zzzzqqq", "hous*"]


@pytest.mark.parametrize("newest", [True, False], ids=["newest", "oldest"])
def test_top_by_date_equals_whoosh_sorting(index_dir, newest):
    from whoosh import sorting

    with Searcher(index_dir) as s:
        engine = _engine(s)
        ws = engine.whoosh_searcher()
        dates = engine.snapshot().dates()
        checked = 0
        for text in SORTED:
            q = engine.compile(s_tree(text)).query
            docs, scores = execute(ws, q)
            for k in (1, 3, 10, 25, 1000):
                r = ws.search(reference(q), limit=k, terms=False, sortedby=[
                    sorting.FieldFacet("date", reverse=newest), sorting.ScoreFacet()])
                want = [r.docnum(i) for i in range(r.scored_length())]
                got = top_by_date(docs, scores, dates, k, newest)
                assert [d for d, _ in got] == want, (text, k)
                checked += len(want)
        assert checked > 100
        # pages of a date-sorted search follow on from each other
        p1 = s.search("housing", sort="newest" if newest else "oldest", limit=5)
        p2 = s.search("housing", sort="newest" if newest else "oldest", limit=5, page=2)
        both = s.search("housing", sort="newest" if newest else "oldest", limit=10)
        assert [h.id for h in p1.hits + p2.hits] == [h.id for h in both.hits]
        key = [h.meeting_date for h in both.hits]
        assert key == sorted(key, reverse=newest)


def test_facets_count_every_match(index_dir):
    with Searcher(index_dir) as s:
        page = s.search("housing OR crime", limit=1000)
        assert page.total > 20
        for name, counts in page.facets.items():
            assert all(c > 0 for c in counts.values()), name
            assert list(counts.values()) == sorted(counts.values(), reverse=True)
        # recount by hand from the hits' records
        from collections import Counter

        def by_hand(values):
            return dict(sorted(Counter(v for v in values if v).items(), key=lambda kv: (-kv[1], kv[0])))

        assert page.total == len(page.hits)
        assert page.facets["year"] == by_hand(str(h.meeting_date.year) for h in page.hits)
        for name in ("party", "asker", "asked_of", "status", "meeting"):
            assert page.facets[name] == by_hand(getattr(h, name) for h in page.hits), name
            assert len(page.facets[name]) > 1 or name == "status", name


def test_bulk_position_decoding_equals_whoosh():
    from whoosh.formats import Positions

    fmt = Positions()
    lists = [[0], [3, 9, 10], list(range(0, 4000, 7)), [70000, 70001], [1, 255, 256, 65535, 65536]]
    values = [fmt.encode(p) for p in lists]
    got = _bulk_position_deltas(values)
    assert [list(_cumsum(d)) for d in got] == [fmt.decode_positions(v) for v in values] == lists
    assert _bulk_position_deltas([b"\x00\x00\x00\x01junk"]) is None  # not a pickle: caller falls back


def _cumsum(xs):
    total = 0
    for x in xs:
        total += x
        yield total


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
    assert out.stdout.strip() == "False"  # nor without a table: snowball.stem is NLTK's rules




def test_phrase_positions_and_slop(write_corpus, tmp_path):
    """Phrases match only words in order at the right distance, as Whoosh's span check does."""
    from conftest import question_file

    texts = {
        "adjacent": "We need affordable housing now.",
        "one-between": "We need affordable council housing now.",
        "two-between": "We need affordable new council housing now.",
        "reversed": "Housing that is affordable is needed.",
        "repeated": "Affordable affordable homes and housing, affordable housing.",
        "apart-fields": "Affordable rents.",
    }
    files = {f"{k}.txt": question_file(title=k.replace("-", " ").title(), question=v,
                                       answers=(("The Mayor", "Housing answer."),))
             for k, v in texts.items()}
    corpus = write_corpus(files)
    build_index(corpus, tmp_path / "ix")
    expect = {
        '"affordable housing"': {"adjacent", "repeated"},
        '"affordable housing"~1': {"adjacent", "one-between", "repeated"},
        '"affordable housing"~2': {"adjacent", "one-between", "two-between", "repeated"},
        '"need affordable housing"~1': {"adjacent", "one-between"},
        '"housing affordable"~3': {"reversed", "repeated"},  # "housing, affordable housing"
    }
    with Searcher(tmp_path / "ix") as s:
        engine = _engine(s)
        ws = engine.whoosh_searcher()
        for text, want in expect.items():
            q = engine.compile(s_tree(text)).query
            docs, scores = execute(ws, q)
            assert docs.tolist() == sorted(_docs(q, ws)), text
            got = {ws.stored_fields(d)["id"] for d in docs.tolist()}
            assert got == want, text
            want_scores = dict(_whoosh_all(ws, q))
            assert dict(zip(docs.tolist(), scores.tolist())) == pytest.approx(want_scores), text


def test_a_search_process_loads_no_writing_code(index_dir):
    """``mqt search`` pays only for the query side: the index-writing modules stay unimported
    until used (``index_data.build_index`` still works through the lazy package attribute), and
    so do the modules Whoosh loads only for writing or for fuzzy words (``whoosh_import``):
    hashlib (OpenSSL), shutil, tempfile, its Levenshtein automata."""
    code = ("import sys; from searcher import Searcher; s = Searcher(sys.argv[1]); "
            "p = s.search('housing', facets=True); assert p.total > 0; "
            "print(sorted(m for m in ('index_data.build', 'index_data.reindexing', "
            "'index_data.engine.update', 'index_data.engine.writer', "
            "'index_data.engine.segment_writer', 'multiprocessing', 'hashlib', '_hashlib', "
            "'shutil', 'tempfile', 'whoosh.automata.lev') if m in sys.modules)); "
            "import index_data; print(index_data.build_index.__module__)")
    out = subprocess.run([sys.executable, "-c", code, str(index_dir)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.split("\n")[:2] == ["[]", "index_data.build"]


def test_reindex_is_the_function_after_its_module_is_imported():
    """``from index_data import reindex`` gives the function also once its module
    (``index_data.reindexing``, named apart so that nothing can hide the function) is imported."""
    code = ("import index_data.reindexing; from index_data import reindex; import index_data; "
            "print(reindex.__module__, type(reindex).__name__, type(index_data.reindex).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.split() == ["index_data.reindexing", "function", "function"]


def test_decoded_postings_equal_whoosh_postings(index_dir):
    """Posting lists decoded in one go (values skipped) hold Whoosh's ids and weights."""
    from index_data.engine.postings import iter_postings as _iter_postings

    with Searcher(index_dir) as s:
        ws = s.engine.whoosh_searcher()
        checked = 0
        for sub, _offset in ws.leaf_searchers():
            reader = sub.reader()
            seg = s.engine.arrays(reader)
            for field in ("title", "question", "answer"):
                terms = sorted(reader.most_frequent_terms(field, 40)) + [(1, t) for t in
                                                                         list(reader.lexicon(field))[:20]]
                for _n, term in terms:
                    term = term.decode() if isinstance(term, bytes) else term
                    ids, weights = seg.postings(field, term)
                    want = list(_iter_postings(reader.postings(field, term)))
                    assert ids.tolist() == [d for d, _ in want], (field, term)
                    assert weights.tolist() == [w for _, w in want], (field, term)
                    checked += len(want)
        assert checked > 5000


def test_columns_read_in_one_go_equal_whoosh_columns(index_dir):
    from index_data.engine.columns import bytes_column, coded_column, numeric_column

    with Searcher(index_dir) as s:
        ws = s.engine.whoosh_searcher()
        for sub, _offset in ws.leaf_searchers():
            reader = sub.reader()
            assert numeric_column(reader, "date").tolist() == list(reader.column_reader("date"))
            for name in ("party", "asker", "asked_of", "status", "meeting"):
                want = list(reader.column_reader(f"facet_{name}"))
                assert bytes_column(reader, f"facet_{name}") == want, name
                assert len(set(want)) > 1 or name == "status"
                codes, values = coded_column(reader, f"facet_{name}")
                assert [values[c] for c in codes.tolist()] == want, name
            termvecs = list(reader.column_reader("termvec"))
            codes, values = coded_column(reader, "termvec")  # not a reference column: coded here
            assert [values[c] for c in codes.tolist()] == termvecs


def test_posting_cache_stays_within_its_budget(index_dir, monkeypatch):
    """A tiny cache evicts old posting lists (keeping at least the last) and answers the same."""
    import index_data.engine.postings as ex

    with Searcher(index_dir) as s:
        want = [s.search(t, limit=50).to_dict()["hits"] for t in QUERIES]
    monkeypatch.setattr(ex, "MIN_POSTINGS_BUDGET", 50)
    monkeypatch.setattr(ex, "POSTINGS_BUDGET_PER_DOC", 0)
    with Searcher(index_dir) as s:
        got = [s.search(t, limit=50).to_dict()["hits"] for t in QUERIES]
        segs = [s.engine.arrays(sub.reader()) for sub, _ in s.engine.whoosh_searcher().leaf_searchers()]
    assert got == want
    for seg in segs:
        entries, held = seg.cache_contents()
        assert seg.budget == 50
        assert held <= 50 or len(entries) == 1
        assert held == sum(len(ids) for ids, _w in entries.values())
