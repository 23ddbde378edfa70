"""Building with worker processes (``procs`` > 1): corpus order, reports, progress and failures.

The equivalence of what the workers write with Whoosh's own writer is in test_fast_segment.py.
"""

from __future__ import annotations

import errno
import os
import time

import pytest

from conftest import question_file
from index_data import IndexWriteError, MqtError, build_index
from index_data import stemtable
from index_data.analysis import stem
from index_data import build as build_module
from searcher import Searcher


def _corpus(write_corpus, n=40):
    files = {f"q{i:03d}.txt": question_file(title=f"Question {i} about housing and crimes",
                                            answers=() if i % 5 == 0 else
                                            (("The Mayor", f"Answer {i}: rents rose."),))
             for i in range(n)}
    files["q007.txt"] = "not a question file\n"
    files["q031.txt"] = b"\x00binary"
    files["sub/q002.txt"] = question_file(title="Duplicate id")
    return write_corpus(files)


def test_parts_keep_corpus_order_and_report_like_one_process(write_corpus, tmp_path):
    corpus = _corpus(write_corpus)
    one = build_index(corpus, tmp_path / "one", procs=1)
    three = build_index(corpus, tmp_path / "three", procs=3)
    assert one.indexed == three.indexed == 38
    assert [(r.path, r.line, r.reason) for r in three.rejected] == \
        [(r.path, r.line, r.reason) for r in one.rejected]
    assert [r.path.rsplit("/", 2)[-1] for r in three.rejected] == ["q007.txt", "q031.txt", "q002.txt"]
    with Searcher(tmp_path / "one") as a, Searcher(tmp_path / "three") as b:
        assert b.stats().segments == 3
        for text in ("housing", "question 12", "rents", "", "status:unanswered"):
            pa, pb = a.search(text, limit=50), b.search(text, limit=50)
            assert pb.total == pa.total and [h.id for h in pb.hits] == [h.id for h in pa.hits]
    # the stem table covers the whole vocabulary, whichever process indexed a word
    table_one = (tmp_path / "one" / stemtable.FILE).read_bytes()
    table_three = (tmp_path / "three" / stemtable.FILE).read_bytes()
    assert table_one == table_three
    table = stemtable.StemTable.load(tmp_path / "three" / stemtable.FILE)
    assert len(table) > 20 and table.get("rents") == stem("rents") == "rent"


def test_progress_counts_every_file_once(write_corpus, tmp_path):
    corpus = _corpus(write_corpus)
    seen = []
    build_index(corpus, tmp_path / "ix", procs=2, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (41, 41)
    assert all(b[0] >= a[0] for a, b in zip(seen, seen[1:])) and {t for _, t in seen} == {41}


def test_a_failing_worker_keeps_the_old_index(write_corpus, tmp_path, monkeypatch):
    corpus = _corpus(write_corpus)
    build_index(corpus, tmp_path / "ix")
    parent = os.getpid()

    def full(self):
        if os.getpid() != parent:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self)

    original = build_module.SegmentBuilder.finish
    monkeypatch.setattr(build_module.SegmentBuilder, "finish", full)
    monkeypatch.setattr(build_module, "_mp_context", _fork_context)
    with pytest.raises(IndexWriteError, match="No space left on device"):
        build_index(corpus, tmp_path / "ix", procs=2)
    with Searcher(tmp_path / "ix") as s:
        assert s.search("").total == 38
    assert not [p for p in tmp_path.iterdir() if "building" in p.name]


def test_a_worker_that_dies_is_reported(write_corpus, tmp_path, monkeypatch):
    corpus = _corpus(write_corpus)
    parent = os.getpid()

    def die(self, prepared):
        if os.getpid() != parent:
            os._exit(7)

    monkeypatch.setattr(build_module.SegmentBuilder, "add_prepared", die)
    monkeypatch.setattr(build_module, "_mp_context", _fork_context)
    with pytest.raises(MqtError, match="worker process died .exit status 7"):
        build_index(corpus, tmp_path / "ix", procs=2)
    assert not (tmp_path / "ix").exists()
    assert not [p for p in tmp_path.iterdir() if "building" in p.name]
    monkeypatch.undo()
    build_index(corpus, tmp_path / "ix")
    monkeypatch.setattr(build_module.SegmentBuilder, "add_prepared", die)
    monkeypatch.setattr(build_module, "_mp_context", _fork_context)
    with pytest.raises(MqtError, match="worker process died .exit status 7"):
        build_index(corpus, tmp_path / "ix", procs=2)
    with Searcher(tmp_path / "ix") as s:  # the old index, whole
        assert s.search("").total == 38
    assert not [p for p in tmp_path.iterdir() if "building" in p.name]


def test_workers_started_afresh_give_the_same_index(write_corpus, tmp_path, monkeypatch):
    """Where forking is not used (other systems, or threads running), workers are spawned."""
    import multiprocessing

    corpus = _corpus(write_corpus, n=12)
    build_index(corpus, tmp_path / "fork", procs=2)
    monkeypatch.setattr(build_module, "_mp_context", lambda: multiprocessing.get_context("spawn"))
    report = build_index(corpus, tmp_path / "spawn", procs=2)
    assert report.indexed == 11 and len(report.rejected) == 3
    with Searcher(tmp_path / "fork") as a, Searcher(tmp_path / "spawn") as b:
        assert b.stats().segments == 2
        assert [h.id for h in a.search("housing", limit=20).hits] == \
            [h.id for h in b.search("housing", limit=20).hits]


def _fork_context():
    import multiprocessing

    return multiprocessing.get_context("fork")


def test_listing_ids_are_corpus_ids(write_corpus):
    from index_data.build import _Listing
    from index_data.corpus import iter_corpus

    corpus = write_corpus({"a.txt": question_file(), "sub/B.TXT": question_file(),
                           "sub/deeper/c.d.txt": question_file(), "x.txt.txt": question_file()})
    listing = _Listing(corpus)
    want = [(str(f.path), f.doc_id, f.size, f.mtime_ns) for f in iter_corpus(corpus)]
    assert [(p, listing.doc_id(n), listing.sizes[n], listing.mtimes[n])
            for n, p in enumerate(listing.paths)] == want and len(want) == 4


def test_auto_procs_uses_the_cores_for_large_corpora_only(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert [build_module.auto_procs(n) for n in (0, 1, 3_999, 4_000, 1_000_000)] == [1, 1, 1, 2, 2]
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert build_module.auto_procs(1_000_000) == build_module.AUTO_MAX_PROCS == 4
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert build_module.auto_procs(1_000_000) == 1


def test_cli_index_chooses_the_processes(write_corpus, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from searcher.cli import cli

    asked = []
    monkeypatch.setattr(build_module, "auto_procs", lambda n: asked.append(n) or 2)
    result = CliRunner().invoke(cli, ["index", str(_corpus(write_corpus)), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 3, result.output  # some files are rejected on purpose
    assert asked == [40]  # the files listed to be parsed (duplicate id screened out)
    with Searcher(tmp_path / "ix") as s:
        assert s.search("housing", limit=1).total == 38


def test_workers_write_out_their_segments_one_at_a_time(write_corpus, tmp_path, monkeypatch):
    """The parts finish at about the same moment; writing out a segment and its store is the
    build's memory peak, so the workers take turns (``finish_lock``): their finishes never
    overlap, even when each takes a while."""
    corpus = _corpus(write_corpus)
    log = tmp_path / "finishes.txt"
    finish = build_module.SegmentBuilder.finish

    def slow_finish(self):
        start = time.monotonic()
        time.sleep(0.4)
        out = finish(self)
        with open(log, "a") as f:
            f.write(f"{start} {time.monotonic()}\n")
        return out

    monkeypatch.setattr(build_module.SegmentBuilder, "finish", slow_finish)
    monkeypatch.setattr(build_module, "_mp_context", _fork_context)
    report = build_index(corpus, tmp_path / "ix", procs=2)
    assert report.indexed == 38
    spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert len(spans) == 2 and spans[0][1] <= spans[1][0], spans


def test_parts_grow_so_each_finishes_indexing_as_the_one_before_has_written_out():
    shares = build_module.part_shares(2, write_out=0.36)
    assert sum(shares) == pytest.approx(1.0)
    # part 2 indexes for as long as part 1 indexes and writes out
    assert shares[1] == pytest.approx(shares[0] * 1.36)
    assert [round(s, 3) for s in shares] == [0.424, 0.576]
    three = build_module.part_shares(3, write_out=0.5)
    assert three[2] / three[1] == pytest.approx(1.5) and three[1] / three[0] == pytest.approx(1.5)
    assert build_module.part_shares(1) == [1.0]
    assert build_module.part_shares(4, write_out=0.0) == [0.25] * 4


def test_split_cuts_at_the_shares_of_the_bytes_keeping_order():
    from array import array

    sizes = array("q", [100] * 100)
    todo = array("I", range(100))
    parts = build_module._split(todo, sizes, [0.3, 0.7])
    assert [len(p) for p in parts] == [30, 70]
    assert list(parts[0]) + list(parts[1]) == list(range(100))
    # bytes, not files: the first 10 files hold half the bytes
    sizes = array("q", [900] * 10 + [100] * 90)
    assert [len(p) for p in build_module._split(todo, sizes, [0.5, 0.5])] == [10, 90]
    # every part gets a file even when the shares would leave one empty
    assert [len(p) for p in build_module._split(array("I", range(3)), array("q", [1, 1, 1]),
                                                 [0.01, 0.01, 0.98])] == [1, 1, 1]
