"""The fast path (``index_data.engine.poststore`` + ``blockmax`` + ``fastpath``) gives
exactly the executor's answers: match sets, totals, every score bit for bit, the top k in order
(by score and by date), facets; the store is checked against its segment and rebuilt when
stale; the query side never writes it."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
from whoosh import index as whoosh_index

from index_data.build import build_index
from index_data.engine import blockmax as bm
from index_data.engine import fastpath, poststore, top_by_date, top_k
from index_data.engine.schema import INDEX_NAME
from index_data.fields import FACETS
from searcher import Searcher
from searcher.query import parse_query
from searcher.ranking import Ranking
from searcher.synonyms import expand as expand_synonyms

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("mqt_bench_generate3", ROOT / "benchmarks" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

QUERIES = [
    "housing", "crime police", '"affordable homes"', "transport -bus", "knife OR gun crime",
    "tfl AND fares", "hous*", "polise~", "title:budget", "party:labour", "year:2005..2010 housing",
    'asker:"Tom Copley" OR party:green', "the of", "", "zzzzqqq", "-housing", "(a OR b) AND rent",
    "station stations", '"mayor" answer:transport', "status:unanswered",
    '"the mayor"~3', '"london assembly" -"the mayor"', "+housing +crime", "housing -crime",
    "title:housing OR question:rent", "housing AND NOT (bus OR tram)", '"mayor london"~2 police',
    "policing southwark", "islington regional southwark kensington", '"temporary service"',
    "what is the mayor doing about knife crime and youth services in london boroughs",
    "housing policing transport budget schools", '"knife crime" police', "crime -police -knife",
]
#: 16 documents a window, so that a few hundred documents have windows to skip.
BITS = 4
#: The product's ranking, which the build writes the stores for.
SETTINGS = poststore.StoreSettings.of(Ranking().bm25)


@pytest.fixture(scope="module", params=[1, 2], ids=["one-segment", "two-segments"])
def index_dir(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"bm{request.param}")
    corpus = generate.generate(tmp / "corpus", 400, seed=23)
    build_index(corpus, tmp / "ix", procs=request.param)
    return tmp / "ix"


def _open_index(index_dir, searcher, bm25):
    """The stores of ``BITS``-document windows as a ``blockmax.Index``, written first where
    missing or of another window size (a build's job: the test writes them itself)."""
    for st in poststore.ensure_stores(index_dir, searcher, window_bits=BITS,
                                      settings=poststore.StoreSettings.of(bm25)):
        st.close()
    return fastpath.open_index(index_dir, searcher, bm25)


def _compare(index_dir, queries, ks=(1, 3, 10, 40), synonyms=False) -> int:
    """Check every query both ways (``synonyms``: with the synonym groups added, whose names
    score as one word); returns how many matches were compared."""
    compared = 0
    with Searcher(index_dir) as s:
        engine = s.engine
        snap = engine.snapshot()
        idx = _open_index(index_dir, snap.whoosh_searcher, s.ranking.bm25)
        dates = snap.dates()
        for text in queries:
            tree = parse_query(text)
            compiled = engine.compile(expand_synonyms(tree) if synonyms else tree)
            docs, scores = snap.run(compiled)
            p = fastpath.plan(compiled.query)
            for k in ks:
                r = idx.search(p, k)
                assert r.total == len(docs), text
                assert r.docs.tolist() == docs.tolist(), text
                assert r.top == top_k(docs, scores, k), (text, k)
                for newest in (True, False):
                    rd = idx.search(p, k, sort="newest" if newest else "oldest")
                    assert rd.top == top_by_date(docs, scores, dates, k, newest), (text, k, newest)
            got = idx.scores(p, docs)
            assert got.tolist() == scores.tolist(), text  # bit for bit
            assert idx.facet_counts(docs, FACETS) == snap.facet_counts(docs), text
            compared += len(docs)
    return compared


def test_equals_executor(index_dir):
    assert _compare(index_dir, QUERIES) > 3000


def test_synonym_names_equal_executor(index_dir):
    # each name of a group scores as one word: phrases with fractional boosts (TfL's
    # "Transport for London" at a third of each field's weight)
    queries = ["lfb funding", "tfl fares", "met police knife crime", "transport for london budget",
               "london fire brigade", "what is the tfl budget for the lfb and the met police"]
    assert _compare(index_dir, queries, synonyms=True) > 100


def test_top_k_skips_windows(index_dir):
    """The bounds prune: a word's top 10 scores a fraction of its matches, and so does a short
    query, whose strict coordination puts the documents with every word first."""
    with Searcher(index_dir) as s:
        snap = s.engine.snapshot()
        idx = _open_index(index_dir, snap.whoosh_searcher, s.ranking.bm25)
        scored = total = 0
        for text in ("housing", "police", "transport", "crime police", "mayor"):
            r = idx.search(fastpath.plan(s.engine.compile(parse_query(text)).query), 10)
            scored += r.scored
            total += r.total
        assert total > 500
        assert scored < total / 4
        # the product's ranking (its BM25F length groups included) is the one the stores were
        # written for: its words are bounded by their per-document impacts
        word = fastpath.plan(s.engine.compile(parse_query("housing")).query)
        assert isinstance(word, bm.FieldsWord)
        assert all(sq.uses_combined(word) for sq in idx.prepare(word))


def test_deleted_documents_and_new_segments(index_dir, tmp_path):
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    with Searcher(copy) as s:
        ids = [h.id for h in s.search("housing", limit=6).hits]
    ix = whoosh_index.open_dir(str(copy), indexname=INDEX_NAME)
    with ix.writer() as w:
        for doc_id in ids[:3]:
            w.delete_by_term("id", doc_id)
    with Searcher(copy) as s:
        assert s.engine.snapshot().whoosh_searcher.reader().has_deletions()
    assert _compare(copy, ["housing", "housing OR crime", "-housing", '"affordable homes"',
                           "party:labour", "crime police"], ks=(1, 10)) > 100


def _store_files(index_dir):
    return sorted((index_dir / poststore.DIR).glob(f"*{poststore.SUFFIX}"))


def test_stale_or_damaged_stores_are_rebuilt(index_dir, tmp_path):
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    shutil.rmtree(copy / poststore.DIR, ignore_errors=True)
    with Searcher(copy) as s:
        ws = s.engine.snapshot().whoosh_searcher
        first = poststore.ensure_stores(copy, ws, window_bits=BITS, settings=SETTINGS)
        assert len(_store_files(copy)) == len(first) == len(ws.leaf_searchers())
        seg = first[0].segment_id
        files = [poststore.store_path(copy, seg)]
        size = files[0].stat().st_size
        for st in first:
            st.close()
        # damaged: cut short; stale: another segment's store under this name; a vanished segment's
        data = files[0].read_bytes()
        files[0].write_bytes(data[: size // 2])
        assert poststore.open_store(files[0]) is None
        (copy / poststore.DIR / f"gone{poststore.SUFFIX}").write_bytes(data)
        assert poststore.open_store(files[0].with_name(f"gone{poststore.SUFFIX}"), segment_id=seg) is not None
        assert poststore.open_store(files[0].with_name(f"gone{poststore.SUFFIX}"), segment_id="x") is None
        again = poststore.ensure_stores(copy, ws, window_bits=BITS, settings=SETTINGS)
        assert [st.segment_id for st in again] == [st.segment_id for st in first]
        assert files[0].stat().st_size == size
        assert not (copy / poststore.DIR / f"gone{poststore.SUFFIX}").exists()
        st = poststore.open_store(files[0], segment_id=seg)
        assert st is not None and st.n == again[0].n
        assert poststore.open_store(files[0], segment_id=seg, doc_count=st.n + 1) is None


def test_store_round_trip(tmp_path):
    """Postings and positions written by StoreWriter read back the same, in any batch shape."""
    rng = np.random.default_rng(5)
    n = 1000
    w = poststore.StoreWriter(tmp_path / "s.mqp", segment_id="seg", doc_count=n, window_bits=5,
                              settings=SETTINGS)
    lens = rng.integers(1, 200, n).astype(np.uint8)
    w.add_length_table(np.arange(256, dtype=np.float64))
    w.add_lengths("body", lens, int(lens.sum()))
    want = {}
    for t in range(300):
        df = int(rng.integers(1, 120))
        docs = np.sort(rng.choice(n, df, replace=False)).astype(np.uint32)
        tf = rng.integers(1, 5, df).astype(np.float32)
        positions = [np.sort(rng.choice(400, int(c), replace=False)) for c in tf]
        flat = np.concatenate(positions)
        want[f"w{t}"] = (docs, tf, positions)
        if t < 150:
            w.add_term("body", f"w{t}", docs, tf, flat)
        else:
            w.add_terms("body", [f"w{t}"], [df], docs, tf, flat)
    w.add_term("tag", "x", [3, 9], [1.0, 1.0])
    w.finish({"k": 1})
    st = poststore.open_store(tmp_path / "s.mqp", segment_id="seg", doc_count=n, fingerprint={"k": 1})
    assert st is not None
    assert st.postings("body", "nope") is None and st.postings("tag", "w1") is None
    assert st.postings("tag", "x").docs.tolist() == [3, 9]
    for term, (docs, tf, positions) in want.items():
        p = st.postings("body", term)
        assert p.docs.tolist() == docs.tolist() and p.tf.tolist() == tf.tolist()
        assert st.doc_frequency("body", term) == len(docs)
        # windows: every window with a posting, its first posting, largest weight, smallest length
        wins = docs >> 5
        assert p.win_id.tolist() == sorted(set(wins.tolist()))
        for j, win in enumerate(p.win_id.tolist()):
            sel = wins == win
            assert p.win_off[j] == np.flatnonzero(sel)[0]
            assert p.win_maxtf[j] == tf[sel].max()
            assert p.win_minlen[j] == lens[docs[sel]].min()
        pick = np.sort(rng.choice(len(docs), min(len(docs), 7), replace=False))
        owner, pos = st.positions(p, pick)
        for k, i in enumerate(pick.tolist()):
            assert pos[owner == k].tolist() == positions[i].tolist()
    st.close()


def test_plans_for_unknown_queries_are_refused():
    from whoosh import query as wq

    with pytest.raises(bm.Unsupported):
        fastpath.plan(wq.Wildcard("title", "ho*g"))


#: (query, search arguments) for :func:`_pages`: every query kind (words, phrases with stopword
#: gaps, prefixes, fuzzy, fields, boolean operators, filters alone) under every sort order and
#: ranking step (neighbour smoothing, recency, feedback) and every filter.
PAGES = [("housing", {}), ("crime police", {"party": "labour"}), ('"the mayor"', {}),
         ("transport", {"sort": "newest"}), ("hous*", {"date_from": "2005"}),
         ('"stop and search"', {}), ("police", {"sort": "oldest", "page": 2}),
         ("housing budget", {"sort": "relevance_recent"}), ("-housing", {"limit": 3}),
         ("what is the mayor doing about knife crime and youth services in london", {}),
         ("what is the mayor doing about knife crime and youth services", {"neighbours": False}),
         ("housing transport", {"feedback": True}), ("polise~", {"status": "answered"}),
         ('"secretary of state" OR tfl', {"date_to": "2012-06"}), ("", {"party": "green"}),
         ("title:budget OR asker:copley", {"sort": "newest", "page": 3}),
         ('"right to buy"~2 -police', {"asked_of": "mayor"}), ("year:2005..2010 housing", {}),
         ("(bus OR tram) AND NOT fares", {"sort": "relevance_recent", "page": 2}),
         ("status:unanswered", {"sort": "oldest"}), ("zzzzqqq", {})]


def _pages(s):
    """What a Searcher answers to a mix of searches, exports, trends, counts, watches and
    similar questions (:data:`PAGES`)."""
    out = []
    for text, kw in PAGES:
        kw = dict(kw)
        page = s.search(text, limit=kw.pop("limit", 5), facets=True, **kw).to_dict()
        page.pop("took_ms", None)
        out.append(page)
        kw.pop("page", None)
        res = s.iter_results(text, **kw)
        out.append([res.total] + [(r.rank, r.score, r.question.id) for r in res])
        filters = {k: v for k, v in kw.items() if k not in ("sort", "feedback", "neighbours")}
        t = s.trend(text, by="party", **filters)
        out.append([(b.period, b.count) for b in t.buckets])
        ids = [r[2] for r in out[-2][1:8]] + ["nope"]
        out.append(sorted(q.id for q in s.matching(text, ids, **filters)))
    first = next(p for p in out[::4] if p["hits"])["hits"][0]["id"]
    out.append(s.similar(first, limit=7).to_dict())
    out[-1].pop("took_ms", None)
    stats = s.stats().to_dict()
    stats.pop("size_bytes")  # the stores are on disk too: a missing one is a smaller folder
    out.append(stats)
    return out


def test_searcher_through_the_stores_equals_the_executor_and_never_writes(index_dir, tmp_path):
    """Through the stores a Searcher gives the executor's pages (hits, scores, snippets,
    facets, totals), exports, trends and watches; without stores it answers with the executor
    and writes nothing (the query side never writes the index)."""
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    with Searcher(copy) as s:
        s.engine.use_stores = False
        want = _pages(s)
    with Searcher(copy) as s:
        got = _pages(s)
        assert s.engine.snapshot().fast() is not None  # answered from the stores
    # small windows: the bounds skip most of a list here too
    for st in poststore.ensure_stores(copy, window_bits=BITS, settings=SETTINGS):
        assert st.window_bits == BITS
        st.close()
    with Searcher(copy) as s:
        assert _pages(s) == want
        assert s.engine.snapshot().fast().stores[0].window_bits == BITS
    shutil.rmtree(copy / poststore.DIR)
    with Searcher(copy) as s:
        without = _pages(s)
        assert s.engine.snapshot().fast() is None
    assert not (copy / poststore.DIR).exists()
    assert got == want and without == want
    assert sum(p["total"] for p in want[:-2:4]) > 100
    assert sum(1 for p in want[:-2:4] if p["total"]) >= len(PAGES) - 2


def _corpus_phrases(index_dir, docs: int = 40) -> list[str]:
    """Phrases taken from the corpus (two and three words in a row, stopwords inside kept, so
    most match and some have gaps), a few reversed (few match) and a repeated word."""
    import re

    with Searcher(index_dir) as s:
        snap = s.engine.snapshot()
        texts = [h.record["question"] + "\n" + " ".join(a["text"] for a in h.record.get("answers", ()))
                 for h in snap.records([(d, 0.0) for d in range(docs)])]
    out = []
    for k, text in enumerate(texts):
        words = re.findall(r"[A-Za-z]+", text)
        for i in range(3, len(words) - 3, 37):
            out.append(" ".join(words[i:i + 2 + (i + k) % 2]))
    out += [" ".join(reversed(p.split())) for p in out[:10]] + ["housing housing", "the mayor of"]
    return [f'"{p}"' for p in out]


def _phrase_nodes(node):
    """Every ``blockmax.Phrase`` in a plan."""
    if isinstance(node, bm.Phrase):
        yield node
    elif isinstance(node, tuple):
        for c in node:
            yield from _phrase_nodes(c)
    elif hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            yield from _phrase_nodes(getattr(node, name))


def test_phrase_checks_agree(index_dir):
    """A phrase without slack is checked by looking the other words up where they must stand
    (``_check_rigid``); word by word (``_check_following``, as with slack) finds the same
    documents, for phrases of the corpus, with gaps, repeated words and none; and whole
    phrase searches equal the executor's."""
    phrases = _corpus_phrases(index_dir)
    checked = matched = 0
    with Searcher(index_dir) as s:
        snap = s.engine.snapshot()
        idx = _open_index(index_dir, snap.whoosh_searcher, s.ranking.bm25)
        for text in phrases:
            plan = fastpath.plan(s.engine.compile(parse_query(text)).query)
            for node in _phrase_nodes(plan):
                for sq in idx.prepare(node):
                    posts = [sq.postings(node.field, w) for w in node.words]
                    if len(posts) < 2 or None in posts:
                        continue
                    cands, idxs = sq._intersect(posts)
                    for p, ix in zip(posts, idxs):
                        assert p.docs[ix].tolist() == cands.tolist()
                    if not len(cands):
                        continue
                    rigid = sq._check_rigid(posts, node.gaps(), cands, idxs)
                    following = sq._check_following(posts, node.gaps(), cands, idxs, 0)
                    assert rigid.tolist() == following.tolist(), (text, node.field)
                    checked += 1
                    matched += len(rigid)
    assert checked > 100 and matched > 100
    assert _compare(index_dir, phrases, ks=(10,)) > 100


def test_phrases_checked_together_agree(index_dir):
    """``_check_rigid_many`` (the phrases of an OR checked in one pass: a phrase's title,
    question and answer nodes) finds, for each phrase, the documents ``_check_rigid`` finds
    alone: the same phrase in every field, different phrases of as many words together, and
    phrases of different lengths (checked one by one); and an OR of phrases gets the masks
    each phrase gets alone."""
    phrases = _corpus_phrases(index_dir) + _edge_phrases(index_dir)
    batches = together = matched = 0
    with Searcher(index_dir) as s:
        snap = s.engine.snapshot()
        idx = _open_index(index_dir, snap.whoosh_searcher, s.ranking.bm25)
        nodes = [n for text in phrases
                 for n in _phrase_nodes(fastpath.plan(s.engine.compile(parse_query(text)).query))
                 if n.extra == 0]
        groups = [nodes[i:i + 3] for i in range(0, len(nodes), 3)]  # mostly one phrase's fields
        groups += [nodes[i::7][:4] for i in range(7)]  # phrases of any words, lengths mixed
        for group in groups:
            for sq in idx.prepare(group[0]):
                checks = []
                for node in group:
                    posts = [sq.postings(node.field, w) for w in node.words]
                    if len(posts) < 2 or None in posts:
                        continue
                    cands, idxs = sq._intersect(posts)
                    if len(cands):
                        checks.append((posts, node.gaps(), cands, idxs))
                alone = [sq._check_rigid(*c).tolist() for c in checks]
                assert [r.tolist() for r in sq._check_rigid_many(checks)] == alone
                batches += 1
                together += len(checks) > 1 and len({len(c[0]) for c in checks}) == 1
                matched += sum(map(len, alone))
            any_of = bm.AnyOf(tuple(group))
            for sq, sq_alone in zip(idx.prepare(any_of), idx.prepare(any_of)):
                got = sq.mask(any_of)
                masks = [m for m in (sq_alone.mask(n) for n in group) if m is not None]
                want = np.logical_or.reduce(masks) if masks else None
                assert (got is None) == (want is None)
                if got is not None:
                    assert np.array_equal(got, want)
                for n in group:
                    m, w = sq.mask(n), sq_alone.mask(n)
                    assert (m is None and w is None) or np.array_equal(m, w)
    assert batches > 50 and together > 20 and matched > 100


def test_holds_position_is_a_search_in_each_run(index_dir):
    """``PostStore.holds_position``: whether each posting's run of positions holds its target,
    for every posting of many words (runs of every length the corpus has), targets at, between,
    before and after the run's positions."""
    from index_data.analysis import index_terms

    rng = np.random.default_rng(3)
    with Searcher(index_dir) as s:
        snap = s.engine.snapshot()
        words = sorted(set(index_terms(" ".join(h.record["question"] for h in snap.records(
            [(d, 0.0) for d in range(60)])))))
        idx = _open_index(index_dir, snap.whoosh_searcher, s.ranking.bm25)
        st = idx.stores[0]
        pos = st.array("pos").astype(np.int64)
        runs = [st.position_runs(p, np.arange(p.df)) for p in
                (st.postings(f, w) for f in ("question", "answer") for w in words) if p is not None]
        start = np.concatenate([r[0] for r in runs])
        count = np.concatenate([r[1] for r in runs])
        assert count.max() >= 8
        target = pos[start + rng.integers(0, count)] + rng.integers(-2, 3, len(start))
        want = [t in pos[a:a + c] for a, c, t in zip(start.tolist(), count.tolist(), target.tolist())]
        assert 0.1 * len(want) < sum(want) < 0.9 * len(want)
        assert st.holds_position(start, count, target).tolist() == want
        # runs of one position each (one look, no search; their positions read in place)
        one = count == 1
        assert 100 < one.sum() < len(one)
        assert st.holds_position(start[one], count[one], target[one]).tolist() == \
            [w for w, o in zip(want, one.tolist()) if o]
        owner, got = st.gather_positions(start[one], count[one])
        assert owner.tolist() == list(range(int(one.sum()))) and got.tolist() == pos[start[one]].tolist()
        owner, got = st.gather_positions(start[:300], count[:300])
        assert got.tolist() == [x for a, c in zip(start[:300].tolist(), count[:300].tolist())
                                for x in pos[a:a + c].tolist()]
        assert owner.tolist() == [i for i, c in enumerate(count[:300].tolist()) for _ in range(c)]
        for a, c in zip(start.tolist()[:500], count.tolist()[:500]):
            assert pos[a:a + c].tolist() == sorted(set(pos[a:a + c].tolist()))  # runs ascend


def _edge_phrases(index_dir, docs: int = 12) -> list[str]:
    """Phrases at the edges of the phrase rule: a title's last word then its question's first
    (two fields: never one phrase), repeated words ("housing housing", a word twice with
    another between), stopwords inside (positions kept, so they are gaps) and at the ends,
    and a word of one field followed by a word only another field holds."""
    import re

    with Searcher(index_dir) as s:
        recs = [h.record for h in s.engine.snapshot().records([(d, 0.0) for d in range(docs)])]
    out = []
    for rec in recs:
        title = re.findall(r"[A-Za-z]+", rec["title"])
        question = re.findall(r"[A-Za-z]+", rec["question"])
        if title and question:
            out.append(f"{title[-1]} {question[0]}")  # across the title/question boundary
            out.append(f"{question[0]} {question[0]}")
        if len(question) > 6:
            out.append(f"{question[2]} {question[3]} {question[2]}")
            out.append(f"the {question[4]} of the {question[5]}")
    out += ["housing housing", "crime crime crime", "the mayor of london", "of the", "mayor the",
            "police and crime", "transport for london", "london transport london"]
    return [f'"{p}"' for p in out] + [f'"{p}"~2' for p in out[:6]]


def test_edge_phrases_equal_executor(index_dir):
    """Phrases across field boundaries, with repeated words and with stopwords inside: the
    stores' matches, totals, scores and order are the executor's."""
    assert _compare(index_dir, _edge_phrases(index_dir), ks=(1, 10)) > 50


def test_phrases_with_deleted_documents(index_dir, tmp_path):
    """Deleted documents that held a phrase leave its total and hits as the executor's."""
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    phrases = _corpus_phrases(index_dir)[:40] + _edge_phrases(index_dir)
    gone = set()
    with Searcher(copy) as s:
        for text in phrases[:10]:
            gone.update(h.id for h in s.search(text, limit=3, facets=False, snippets=False).hits[::2])
    assert gone
    ix = whoosh_index.open_dir(str(copy), indexname=INDEX_NAME)
    with ix.writer() as w:
        for doc_id in sorted(gone):
            w.delete_by_term("id", doc_id)
    with Searcher(copy) as s:
        assert s.engine.snapshot().whoosh_searcher.reader().has_deletions()
    assert _compare(copy, phrases, ks=(1, 10)) > 50


def test_best_bounds_and_kth_date_are_exact():
    """``blockmax._best`` (the first bounds scored) gives the indexes of the ``m`` largest
    values, ascending, and ``_kth_smallest`` the k-th smallest key, as a full partition does:
    on long arrays (a sampled cut-off first), with ties, constant, tiny and skewed arrays."""
    rng = np.random.default_rng(5)
    cases = [rng.random(50_000), np.round(rng.random(50_000), 1), np.ones(20_000),
             np.repeat(rng.random(400), 128), rng.random(40),
             np.concatenate((np.zeros(9000), [5.0] * 3)), np.sort(rng.random(30_000)),
             -rng.integers(20010101, 20211231, 40_000)]
    for ub in cases:
        for m in (1, 10, 32, 80):
            if m > len(ub):
                continue
            pick = bm._best(ub, m)
            assert len(pick) == m and (np.diff(pick) > 0).all()
            assert np.sort(ub[pick]).tolist() == np.sort(ub)[-m:].tolist()
            assert bm._kth_smallest(ub, m) == np.partition(ub, m - 1)[m - 1]
