"""Incremental reindex: what is detected as added/updated/deleted/unchanged/rejected, what is read,
and that the index always ends up equal to the corpus."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from whoosh import index as whoosh_index

from conftest import question_file
from index_data import ReindexReport, build_index, reindex
from index_data.corpus import parse_file
from index_data.engine import MAX_SEGMENTS, IndexUpdater
from index_data.engine.schema import document_fields
from index_data.errors import MqtError, NotFoundError
from index_data.meta import META_FILE
from reindex_util import Corpus, assert_index_matches, run_mqt
from searcher import Searcher


@pytest.fixture
def corpus(tmp_path):
    c = Corpus(tmp_path / "corpus", seed=7)
    c.add(30)
    return c


def counts(r: ReindexReport) -> tuple:
    return r.added, r.updated, r.deleted, r.unchanged, len(r.rejected)


def test_builds_when_missing_then_noop_reads_nothing(corpus, tmp_path):
    ix = tmp_path / "ix"
    r = reindex(corpus.path, ix)
    assert r.rebuilt == "no index yet" and counts(r) == (30, 0, 0, 0, 0)
    r = reindex(corpus.path, ix)
    assert counts(r) == (0, 0, 0, 30, 0) and r.files_read == 0 and not r.changed
    assert_index_matches(ix, corpus.path)


def test_noop_does_not_open_files(corpus, tmp_path, monkeypatch):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    import index_data.sources as sources
    opened = []
    real = sources.read_bytes
    monkeypatch.setattr(sources, "read_bytes", lambda p: opened.append(p) or real(p))
    (corpus.path / "q000003.txt").write_text(question_file(question="Brand new text about trams?"))
    r = reindex(corpus.path, ix)
    assert [os.path.basename(p) for p in opened] == ["q000003.txt"]
    assert counts(r) == (0, 1, 0, 29, 0)


def test_add_update_delete_and_search_sees_them(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_index(corpus.path, ix)
    (corpus.path / "q000001.txt").write_text(question_file(question="What about zeppelins?"))
    (corpus.path / "q000002.txt").unlink()
    (corpus.path / "new.txt").write_text(question_file(question="Any news on hovercraft?"))
    r = reindex(corpus.path, ix)
    assert counts(r) == (1, 1, 1, 28, 0) and r.files_read == 2
    with Searcher(ix) as s:
        assert [h.id for h in s.search("zeppelins").hits] == ["q000001"]
        assert [h.id for h in s.search("hovercraft").hits] == ["new"]
        with pytest.raises(NotFoundError):
            s.get("q000002")
        assert s.search("").total == 30
    assert_index_matches(ix, corpus.path)


def _generation(ix) -> int:
    with IndexUpdater(ix) as u:
        return u._generation


def test_touched_file_is_read_once_and_not_rewritten(corpus, tmp_path):
    """Same size and path, another mtime, the same SHA-1: unchanged, nothing committed (no slow
    rewrite: a corpus copied without its mtimes would rewrite every document), and the new
    mtime is kept in the facts files, so the next run does not read it again."""
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    before = _generation(ix)
    p = corpus.path / "q000005.txt"
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 5_000_000_000))
    r = reindex(corpus.path, ix)
    assert counts(r) == (0, 0, 0, 30, 0) and r.refreshed == 0 and r.files_read == 1
    assert _generation(ix) == before
    r = reindex(corpus.path, ix)
    assert r.files_read == 0
    # a byte changed, the size kept, another mtime: the hash differs, the document is rewritten
    st = p.stat()
    data = bytearray(p.read_bytes())
    data[-2:-1] = b"!" if data[-2:-1] != b"!" else b"?"
    p.write_bytes(bytes(data))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - 3_000_000_000))
    r = reindex(corpus.path, ix)
    assert counts(r) == (0, 1, 0, 29, 0) and r.files_read == 1
    assert _generation(ix) == before + 1
    assert_index_matches(ix, corpus.path)


def test_corpus_copied_without_mtimes_is_not_rewritten(corpus, tmp_path):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    before = _generation(ix)
    for p in corpus.path.glob("*.txt"):
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 7_000_000_000))
    r = reindex(corpus.path, ix)
    assert counts(r) == (0, 0, 0, 30, 0) and r.files_read == 30 and _generation(ix) == before
    assert reindex(corpus.path, ix).files_read == 0
    assert_index_matches(ix, corpus.path)


def test_same_size_and_mtime_but_new_content_is_not_read(corpus, tmp_path):
    """The documented cheap path: size+mtime+path equal means unchanged without reading."""
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    p = corpus.path / "q000004.txt"
    st = p.stat()
    data = bytearray(p.read_bytes())
    data[-2:-1] = b"!" if data[-2:-1] != b"!" else b"?"
    p.write_bytes(bytes(data))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert counts(reindex(corpus.path, ix)) == (0, 0, 0, 30, 0)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # any mtime change: read, hash, update
    assert counts(reindex(corpus.path, ix)) == (0, 1, 0, 29, 0)
    assert_index_matches(ix, corpus.path)


def test_file_that_stops_parsing_is_rejected_and_removed(corpus, tmp_path):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    (corpus.path / "q000007.txt").write_text("garbage\n")
    r = reindex(corpus.path, ix)
    assert counts(r) == (0, 0, 1, 29, 1)
    assert r.rejected[0].path.endswith("q000007.txt") and r.rejected[0].line == 2
    with Searcher(ix) as s:
        with pytest.raises(NotFoundError):
            s.get("q000007")
    assert_index_matches(ix, corpus.path)


def test_duplicate_ids_are_reported_never_overwritten(corpus, tmp_path):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    sub = corpus.path / "zz"
    sub.mkdir()
    (sub / "q000003.txt").write_text(question_file(question="A different question about llamas?"))
    (sub / "fresh.txt").write_text(question_file(question="Fresh question about alpacas?"))
    (corpus.path / "yy").mkdir()
    (corpus.path / "yy" / "fresh.txt").write_text(question_file(question="Same name, about goats?"))
    for _ in range(2):  # the same verdict every run, and nothing indexed twice
        r = reindex(corpus.path, ix)
        dupes = sorted(x.path for x in r.rejected)
        assert dupes == [str(sub / "fresh.txt"), str(sub / "q000003.txt")]
        assert all("duplicate document id" in x.reason for x in r.rejected)
        with Searcher(ix) as s:
            assert s.search("llamas").total == 0 and s.search("alpacas").total == 0
            assert s.search("goats").total == 1
        assert_index_matches(ix, corpus.path)
    # the owner disappears: the next file with that name takes the id over
    (corpus.path / "q000003.txt").unlink()
    r = reindex(corpus.path, ix)
    with Searcher(ix) as s:
        assert [h.id for h in s.search("llamas").hits] == ["q000003"]
    assert_index_matches(ix, corpus.path)
    # a full build takes the same decisions
    build_index(corpus.path, tmp_path / "ix2")
    assert_index_matches(tmp_path / "ix2", corpus.path)


def test_moved_file_keeps_id_and_updates_path(corpus, tmp_path):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    (corpus.path / "sub").mkdir()
    shutil.move(corpus.path / "q000009.txt", corpus.path / "sub" / "q000009.txt")  # keeps mtime
    r = reindex(corpus.path, ix)
    assert counts(r) == (0, 0, 0, 30, 0) and r.refreshed == 1
    with Searcher(ix) as s:
        assert s.get("q000009").source_path == str(corpus.path / "sub" / "q000009.txt")


def test_duplicates_left_by_whoosh_pitfall_are_repaired(corpus, tmp_path):
    """update_document twice in one writer leaves two documents; reindex must heal that."""
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    q = parse_file(corpus.path / "q000010.txt")
    wix = whoosh_index.open_dir(str(ix), indexname="MAIN")
    with wix.writer() as w:
        w.update_document(**document_fields(q, "1:2:x:q000010.txt"))
        w.update_document(**document_fields(q, "1:2:x:q000010.txt"))
    wix.close()
    with IndexUpdater(ix) as u:
        assert len(u.indexed_docs()["q000010"]) == 2
    r = reindex(corpus.path, ix)
    assert counts(r) == (0, 1, 0, 29, 0)
    assert_index_matches(ix, corpus.path)


def test_schema_change_rebuilds_and_swaps(corpus, tmp_path):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    meta = json.loads((ix / META_FILE).read_text())
    meta["schema_version"] = 0
    (ix / META_FILE).write_text(json.dumps(meta))
    ino = ix.stat().st_ino
    r = reindex(corpus.path, ix)
    assert "schema changed" in r.rebuilt and r.added == 30
    assert ix.stat().st_ino != ino  # a new directory was swapped in
    assert json.loads((ix / META_FILE).read_text())["schema_version"] != 0
    assert_index_matches(ix, corpus.path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ix.")
                and not p.name.endswith(".lock")]


def test_refuses_folder_that_is_not_an_index(corpus, tmp_path):
    other = tmp_path / "docs"
    other.mkdir()
    (other / "thesis.txt").write_text("precious")
    with pytest.raises(MqtError, match="not an mqt index"):
        reindex(corpus.path, other)
    assert (other / "thesis.txt").read_text() == "precious"


def test_many_small_runs_keep_segments_bounded(corpus, tmp_path):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    seen = []
    for _ in range(25):
        corpus.mutate(add=1, modify=1, delete=0, touch=0, broken=0)
        seen.append(reindex(corpus.path, ix).segments)
    assert max(seen) <= MAX_SEGMENTS
    with IndexUpdater(ix) as u:
        assert u.deleted_fraction() <= 0.25
    assert_index_matches(ix, corpus.path)
    r = reindex(corpus.path, ix, optimize=True)
    assert r.segments == 1
    assert_index_matches(ix, corpus.path)


def test_cli_json_and_exit_codes(corpus, tmp_path):
    ix = tmp_path / "ix"
    p = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {k: out[k] for k in ("added", "updated", "deleted", "unchanged", "rejected")} == \
        dict(added=30, updated=0, deleted=0, unchanged=0, rejected=0)
    assert "Built (no index yet)" in p.stderr and "30 added" in p.stderr
    (corpus.path / "bad.txt").write_bytes(b"\x00binary")
    p = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--json")
    assert p.returncode == 3
    out = json.loads(p.stdout)
    assert out["rejected"] == 1 and out["unchanged"] == 30
    assert "binary file" in out["rejected_files"][0]["reason"]
    assert "rejected" in p.stderr and "bad.txt" in p.stderr
    p = run_mqt("reindex", str(tmp_path / "nowhere"), "--index", str(ix))
    assert p.returncode == 1 and "does not exist" in p.stderr and "Traceback" not in p.stderr
