"""The posting stores in the product (issue 15): ``mqt index`` and ``mqt reindex`` write them, the
Searcher answers through them, and whatever happens to a store (missing, another segment's,
cut short, damaged inside) every answer stays the executor's: a store that cannot be trusted is
not used, and one that fails while answering hands the query back to the executor."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from index_data import build_index, reindex
from index_data.engine import poststore, write_stores
from reindex_util import Corpus
from searcher import Searcher
from test_blockmax import _pages

# Reindex rounds and damaged stores build several indexes each (~15 s): slow, run by CI;
# test_blockmax.py keeps the stores' equality with the executor in the fast suite.
pytestmark = pytest.mark.slow


def _reference(index_dir):
    """The executor's answers (the path before issue 15)."""
    with Searcher(index_dir) as s:
        s.engine.use_stores = False
        return _pages(s)


def _through_stores(index_dir) -> tuple[list, bool]:
    """The answers of a default Searcher, and whether its view used the stores."""
    with Searcher(index_dir) as s:
        got = _pages(s)
        return got, s.engine.snapshot().fast() is not None


def _segments(index_dir) -> set[str]:
    with Searcher(index_dir) as s:
        ws = s.engine.snapshot().whoosh_searcher
        return {sub.reader().segment().segment_id() for sub, _ in ws.leaf_searchers()}


def _stores(index_dir) -> set[str]:
    folder = index_dir / poststore.DIR
    return {p.stem for p in folder.glob(f"*{poststore.SUFFIX}")} if folder.is_dir() else set()


@pytest.fixture(scope="module")
def built(tmp_path_factory, generate):
    tmp = tmp_path_factory.mktemp("wiring")
    corpus = generate.generate(tmp / "corpus", 300, seed=41)
    build_index(corpus, tmp / "ix", procs=2)
    return tmp / "ix"


def test_the_build_writes_a_store_per_segment_and_searches_use_them(built):
    assert _stores(built) == _segments(built) and len(_stores(built)) == 2
    want = _reference(built)
    got, used = _through_stores(built)
    assert used
    assert got == want
    assert sum(p["total"] for p in want[::4]) > 100


def _damage_header(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _other_segments_store(path):
    """The store of another segment under this one's name (stale)."""
    others = [p for p in path.parent.glob(f"*{poststore.SUFFIX}") if p != path]
    shutil.copyfile(others[0], path)


def _damage_postings(path):
    """A store whose header and sizes are right but whose document numbers are garbage."""
    st = poststore.open_store(path)
    assert st is not None
    off, _dt, count = st.dir["sections"]["post.doc"]
    base = st._base
    st.close()
    with open(path, "r+b") as f:
        f.seek(base + off)
        f.write(b"\xff" * (4 * count))


@pytest.mark.parametrize("damage", [_damage_header, _other_segments_store, _damage_postings, None],
                         ids=["cut-short", "stale", "garbage-inside", "missing"])
def test_a_store_that_cannot_be_used_falls_back_to_the_executor(built, tmp_path, damage, caplog):
    copy = tmp_path / "ix"
    shutil.copytree(built, copy)
    want = _reference(copy)
    victim = sorted((copy / poststore.DIR).glob(f"*{poststore.SUFFIX}"))[0]
    if damage is None:
        victim.unlink()
    else:
        damage(victim)
    with caplog.at_level(logging.WARNING):
        got, used = _through_stores(copy)
    assert got == want
    assert not used
    if damage is _damage_postings:
        assert "posting store failed" in caplog.text  # told, then answered without the stores
    # the next reindex (nothing changed in the corpus) puts it right (garbage inside: by the
    # section's CRC, which a reindex reads with --verify-stores)
    write_stores(copy, verify=damage is _damage_postings)
    got, used = _through_stores(copy)
    assert used and got == want


def test_a_view_that_came_before_its_stores_picks_them_up(built, tmp_path):
    copy = tmp_path / "ix"
    shutil.copytree(built, copy)
    shutil.rmtree(copy / poststore.DIR)
    want = _reference(copy)
    with Searcher(copy) as s:
        s.engine.store_recheck = 0.0
        snap = s.engine.snapshot()
        assert snap.fast() is None
        write_stores(copy)  # as a build or reindex does just after its commit
        assert s.engine.snapshot() is snap and snap.fast() is not None
        assert _pages(s) == want


def test_reindex_writes_new_segments_stores_and_drops_merged_ones(tmp_path):
    corpus = Corpus(tmp_path / "corpus", seed=7)
    corpus.add(120)
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    seen: set[str] = set()
    for _round in range(4):
        seen |= _stores(ix)
        corpus.mutate(add=15, modify=8, delete=6, touch=2, broken=0)
        reindex(corpus.path, ix)
        assert _stores(ix) == _segments(ix)
        want = _reference(ix)
        got, used = _through_stores(ix)
        assert used
        assert got == want
    assert seen - _stores(ix)  # segments merged away took their stores with them
    # an index without stores (built before them, or interrupted) gets them from a no-op reindex
    shutil.rmtree(ix / poststore.DIR)
    r = reindex(corpus.path, ix)
    assert not r.changed
    assert _stores(ix) == _segments(ix)
    assert _through_stores(ix) == (want, True)


def test_a_failed_store_write_never_fails_the_build(tmp_path, generate, monkeypatch, caplog):
    """A store that cannot be written, neither with its segment (in the worker) nor by the
    commit (derived), is left out with warnings; the build succeeds."""
    def broken(*args, **kwargs):
        raise ValueError("disk says no")

    monkeypatch.setattr(poststore.StoreWriter, "_finish", broken)
    corpus = generate.generate(tmp_path / "corpus", 60, seed=3)
    with caplog.at_level(logging.WARNING):
        build_index(corpus, tmp_path / "ix")
    assert "was not written (ValueError: disk says no); the commit derives it" in caplog.text
    assert "no posting store" in caplog.text
    assert _stores(tmp_path / "ix") == set()
    assert not any((tmp_path / "ix" / poststore.DIR).iterdir())  # no temporary files left
    got, used = _through_stores(tmp_path / "ix")
    assert not used and got == _reference(tmp_path / "ix")
    assert np.sum([p["total"] for p in got[::4]]) > 0


def _other_rankings():
    """Rankings the stores were not written for: other b, other field weights, other k1, and
    (where the ranking has BM25F length groups) question and answer joint / all three together."""
    from searcher.ranking import BM25Settings, Ranking

    out = [Ranking().with_settings({"bm25.b.answer": 0.3, "bm25.b.title": 0.9}),
           Ranking().with_settings({"bm25.field_weights.answer": 1.6, "bm25.k1": 2.0})]
    if "length_groups" in {f.name for f in __import__("dataclasses").fields(BM25Settings)}:
        out.append(Ranking().with_settings({"bm25.length_groups": (("title",), ("question", "answer"))}))
        out.append(Ranking().with_settings({"bm25.length_groups": (("title", "question", "answer"),)}))
    return out


@pytest.mark.parametrize("ranking", _other_rankings(), ids=lambda r: "other")
def test_a_ranking_the_stores_were_not_written_for_gets_the_executors_answers(built, ranking):
    """The stores' impacts assume the product's ranking; under another one the bounds come from
    each window's largest count and smallest length, still upper bounds: the same answers."""
    with Searcher(built, ranking=ranking) as s:
        s.engine.use_stores = False
        want = _pages(s)
    with Searcher(built, ranking=ranking) as s:
        got = _pages(s)
        idx = s.engine.snapshot().fast()
        assert idx is not None
    assert got == want


def test_a_reindex_with_a_broken_file_still_writes_missing_stores(tmp_path, generate):
    """A file that never parses counts as work on every run, so the run never commits: it must
    still put back the stores an index lacks (it used to return before writing them)."""
    corpus = generate.generate(tmp_path / "corpus", 5, seed=5)
    (corpus / "999_broken.txt").write_text("not a question file\n", "utf-8")
    ix = tmp_path / "ix"
    built = build_index(corpus, ix)
    assert len(built.rejected) == 1
    shutil.rmtree(ix / poststore.DIR)
    r = reindex(corpus, ix)
    assert not r.changed and len(r.rejected) == 1
    assert _stores(ix) == _segments(ix) != set()
    got, used = _through_stores(ix)
    assert used and got == _reference(ix)


def _zero_a_page(path, section="post.tf"):
    """A zeroed page inside a section: still a well-formed store, every number in range."""
    st = poststore.open_store(path)
    assert st is not None
    off, dt, count = st.dir["sections"][section]
    size = min(4096, np.dtype(dt).itemsize * count)
    base = st._base
    st.close()
    with open(path, "r+b") as f:
        f.seek(base + off)
        f.write(b"\0" * size)


def test_a_store_damaged_inside_is_rewritten_by_a_reindex_that_verifies(tmp_path, generate, caplog):
    """Every reindex checks each store's structure and directory CRC; reading every section
    (seconds at a million questions) is ``mqt reindex --verify-stores``."""
    corpus = generate.generate(tmp_path / "corpus", 300, seed=41)
    ix = tmp_path / "ix"
    build_index(corpus, ix)
    want = _reference(ix)
    victim = sorted((ix / poststore.DIR).glob(f"*{poststore.SUFFIX}"))[0]
    whole = victim.read_bytes()
    _zero_a_page(victim, "len.answer")
    st = poststore.open_store(victim)
    assert st is not None and st.damaged() == ["len.answer"]  # opens: only the CRCs tell
    st.close()
    got, used = _through_stores(ix)
    assert used and got != want  # what the CRCs are for: wrong answers, no error
    reindex(corpus, ix)  # a plain run reads the directories only
    assert victim.read_bytes() != whole
    with caplog.at_level(logging.WARNING):
        r = reindex(corpus, ix, verify_stores=True)
    assert not r.changed
    assert "damaged (len.answer)" in caplog.text
    assert victim.read_bytes() == whole  # rewritten from its segment
    got, used = _through_stores(ix)
    assert used and got == want


def test_a_store_of_the_previous_format_is_rewritten(built, tmp_path):
    copy = tmp_path / "ix"
    shutil.copytree(built, copy)
    victim = sorted((copy / poststore.DIR).glob(f"*{poststore.SUFFIX}"))[0]
    data = bytearray(victim.read_bytes())
    data[len(poststore.MAGIC):len(poststore.MAGIC) + 4] = (poststore.VERSION - 1).to_bytes(4, "little")
    victim.write_bytes(bytes(data))
    assert poststore.open_store(victim) is None
    write_stores(copy)
    st = poststore.open_store(victim)
    assert st is not None and st.damaged() == []
    st.close()


def test_one_failed_query_falls_back_alone_repeated_failures_stop_the_stores(built, caplog):
    from searcher.query import parse_query

    with Searcher(built) as s:
        engine = s.engine
        snap = engine.snapshot()
        idx = snap.fast()
        assert idx is not None
        compiled = engine.compile(parse_query("housing"))
        engine.use_stores = False
        want = snap.ranked(compiled, 10).top
        engine.use_stores = True
        real, calls = idx.search, []

        def flaky(*args, **kwargs):
            calls.append(1)
            if len(calls) <= 1 or len(calls) >= 3:
                raise MemoryError("passing")
            return real(*args, **kwargs)

        idx.search = flaky
        with caplog.at_level(logging.WARNING):
            assert snap.ranked(compiled, 10).top == want  # failed: the executor answered it
            assert snap.fast() is idx  # one failure: the stores stay in use
            assert snap.ranked(compiled, 10).top == want and len(calls) == 2  # through them
            for _ in range(engine.store_failures - 1):
                assert snap.ranked(compiled, 10).top == want
            assert len(calls) == 1 + engine.store_failures
            assert snap.fast() is None  # failed again and again: not used in this view any more
            assert snap.ranked(compiled, 10).top == want and len(calls) == 1 + engine.store_failures
        assert caplog.text.count("posting store failed") == engine.store_failures
        assert "not using the posting stores" in caplog.text


def test_stores_reach_the_disk_before_they_count(built, tmp_path, monkeypatch):
    """A finished store's rename is flushed (its folder fsynced, and the index folder when
    mqt-post/ is new), and a finished build flushes mqt-post/ with the rest before its swap."""
    from index_data.engine import storage

    synced: list[str] = []
    real = storage.fsync_path

    def record(path):
        synced.append(str(path))
        real(path)

    monkeypatch.setattr(poststore, "fsync_path", record)
    monkeypatch.setattr(storage, "fsync_path", record)
    copy = tmp_path / "ix"
    shutil.copytree(built, copy)
    shutil.rmtree(copy / poststore.DIR)
    write_stores(copy)
    assert synced.count(str(copy / poststore.DIR)) == len(_stores(copy)) == 2  # after each rename
    assert str(copy) in synced  # mqt-post/ itself is new
    synced.clear()
    storage.flush_to_disk(copy)
    assert {str(p) for p in (copy / poststore.DIR).iterdir()} | {str(copy / poststore.DIR)} <= set(synced)
    assert synced[-1] == str(copy)


def test_a_missing_store_does_not_make_every_recheck_reopen_the_others(built, tmp_path, monkeypatch):
    from index_data.engine import fastpath
    from searcher.ranking import Ranking

    copy = tmp_path / "ix"
    shutil.copytree(built, copy)
    with Searcher(copy) as s:
        ws = s.engine.snapshot().whoosh_searcher
        order = [sub.reader().segment().segment_id() for sub, _ in ws.leaf_searchers()]
        poststore.store_path(copy, order[-1]).unlink()  # the last: the others are opened first
        opened: list[str] = []
        real = poststore.open_store

        def counting(path, **kw):
            opened.append(kw["segment_id"])
            return real(path, **kw)

        monkeypatch.setattr(poststore, "open_store", counting)
        keeper = fastpath.StoreKeeper(copy)
        bm25 = Ranking().bm25
        assert keeper.index(ws, bm25) is None
        assert opened == order
        opened.clear()
        assert keeper.index(ws, bm25) is None
        assert opened == order[-1:]  # only the one still missing
        write_stores(copy)
        opened.clear()
        idx = keeper.index(ws, bm25)
        assert idx is not None and len(idx.stores) == len(order) and opened == order[-1:]


def test_the_stores_are_written_for_the_products_ranking_and_only_on_the_write_side(built, tmp_path):
    """No default settings to drift from the ranking (issue 17 gave it length groups): the
    build records ``Ranking()``'s, and the read side's ``fastpath.open_index`` never writes."""
    from index_data.engine import fastpath
    from searcher.ranking import Ranking

    with pytest.raises(TypeError):
        poststore.StoreSettings()  # type: ignore[call-arg]
    want = poststore.StoreSettings.of(Ranking().bm25)
    assert want.groups == tuple(tuple(g) for g in Ranking().bm25.length_groups) != ()
    for path in (built / poststore.DIR).glob(f"*{poststore.SUFFIX}"):
        st = poststore.open_store(path)
        assert st is not None and st.dir["ranking"] == want.as_json()
        st.close()
    copy = tmp_path / "ix"
    shutil.copytree(built, copy)
    shutil.rmtree(copy / poststore.DIR)
    with Searcher(copy) as s:
        assert fastpath.open_index(copy, s.engine.snapshot().whoosh_searcher, s.ranking.bm25) is None
    assert _stores(copy) == set()


def test_a_damaged_store_directory_is_rewritten_by_every_reindex(tmp_path, generate):
    corpus = generate.generate(tmp_path / "corpus", 60, seed=43)
    ix = tmp_path / "ix"
    build_index(corpus, ix)
    victim = sorted((ix / poststore.DIR).glob(f"*{poststore.SUFFIX}"))[0]
    whole = victim.read_bytes()
    st = poststore.open_store(victim)
    assert st is not None
    st.close()
    data = bytearray(whole)
    at = whole.index(b'"sections"')  # inside the JSON directory: one letter changed
    data[at + 1] = ord("S")
    victim.write_bytes(bytes(data))
    reindex(corpus, ix)
    assert victim.read_bytes() == whole


def test_mqt_reindex_verify_stores_rewrites_a_store_damaged_inside(tmp_path, generate):
    from click.testing import CliRunner

    from searcher.cli import cli

    corpus = generate.generate(tmp_path / "corpus", 300, seed=41)
    ix = tmp_path / "ix"
    build_index(corpus, ix)
    victim = sorted((ix / poststore.DIR).glob(f"*{poststore.SUFFIX}"))[0]
    whole = victim.read_bytes()
    _zero_a_page(victim, "len.answer")
    r = CliRunner().invoke(cli, ["reindex", str(corpus), "--index", str(ix), "--verify-stores"])
    assert r.exit_code == 0, r.output
    assert victim.read_bytes() == whole
