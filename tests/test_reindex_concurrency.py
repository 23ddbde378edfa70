"""Concurrency: searches in other processes keep working during reindexes and see the old or the
new state, never an error or a mix; a second indexing job waits, then gives up with exit code 4;
a lock left by a killed job never blocks the next one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import ROOT, question_file
from reindex_util import Corpus, assert_index_matches, mqt, run_mqt

#: Processes racing and waiting on each other: seconds each.
pytestmark = pytest.mark.slow

#: (matches of "zebra OR yak", their status facet, documents in the index) in states A and B.
STATE_A = (40, {"answered": 40}, 160)
STATE_B = (60, {"unanswered": 60}, 170)

SEARCHER = textwrap.dedent("""
    import json, sys, time, os
    from searcher import Searcher
    index, stop = sys.argv[1], sys.argv[2]
    seen, errors = {}, []
    with Searcher(index) as s:
        while not os.path.exists(stop):
            try:
                page = s.search("zebra OR yak", facets=True, limit=100)
                total = s.search("").total
                key = json.dumps([page.total, page.facets["status"], len(page.hits)])
                seen[key] = seen.get(key, 0) + 1
                seen["total=%d" % total] = seen.get("total=%d" % total, 0) + 1
            except Exception as e:
                errors.append("%s: %s" % (type(e).__name__, e))
    print(json.dumps({"seen": seen, "errors": errors[:10]}))
""")


def set_state(corpus: Corpus, state: str, base_text: dict) -> None:
    """State A: m* answered questions about zebras; B: about yaks, unanswered, plus n* files and
    ten base files deleted. Every flip also rewrites half the base files (more work to apply)."""
    for i in range(40):
        word = "zebra" if state == "A" else "yak"
        answers = (("The Mayor", "Yes."),) if state == "A" else ()
        (corpus.path / f"m{i:03d}.txt").write_text(
            question_file(question=f"What about the {word} number {i}?", answers=answers))
    for i in range(20):
        p = corpus.path / f"n{i:03d}.txt"
        if state == "B":
            p.write_text(question_file(question=f"And the yak {i}?", answers=()))
        else:
            p.unlink(missing_ok=True)
    for i, (name, text) in enumerate(sorted(base_text.items())):
        p = corpus.path / name
        if i < 10 and state == "B":
            p.unlink(missing_ok=True)
        else:
            p.write_text(text + ("\n\nRevised." if state == "B" and i % 2 else ""))


def test_searches_see_old_or_new_state_never_an_error_or_a_mix(tmp_path):
    corpus = Corpus(tmp_path / "corpus", seed=5)
    corpus.add(120)
    base = {p.name: p.read_text() for p in corpus.files()}
    ix = tmp_path / "ix"
    set_state(corpus, "A", base)
    assert run_mqt("reindex", str(corpus.path), "--index", str(ix)).returncode == 0
    stop = tmp_path / "stop"
    lib = subprocess.Popen([sys.executable, "-c", SEARCHER, str(ix), str(stop)], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cli_results = []
    try:
        time.sleep(0.5)
        for flip in range(8):
            set_state(corpus, "B" if flip % 2 == 0 else "A", base)
            job = mqt("reindex", str(corpus.path), "--index", str(ix), "--json", "--allow-deletes")
            while True:  # CLI searches (new processes) while the reindex runs
                s = run_mqt("search", "zebra OR yak", "--index", str(ix), "--json", "--limit", "100")
                cli_results.append((s.returncode, s.stderr,
                                    json.loads(s.stdout)["total"] if s.returncode == 0 else None))
                if job.poll() is not None:
                    break
            out, err = job.communicate()
            assert job.returncode == 0, err
            assert_index_matches(ix, corpus.path)
    finally:
        stop.touch()
        out, err = lib.communicate(timeout=60)
    assert lib.returncode == 0, err
    report = json.loads(out)
    assert report["errors"] == []
    a = json.dumps([STATE_A[0], STATE_A[1], STATE_A[0]])
    b = json.dumps([STATE_B[0], STATE_B[1], STATE_B[0]])
    seen = report["seen"]
    assert set(seen) <= {a, b, f"total={STATE_A[2]}", f"total={STATE_B[2]}"}, seen
    assert seen.get(a) and seen.get(b), seen  # the searcher really ran across the flips
    assert [r for r in cli_results if r[0] != 0] == []
    assert {r[2] for r in cli_results} <= {STATE_A[0], STATE_B[0]}


HOLDER = textwrap.dedent("""
    import sys, time
    from index_data.locking import index_lock
    with index_lock(sys.argv[1], wait=0):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def hold_lock(ix, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(ix), str(seconds)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_job_waits_then_exits_4_and_killed_holder_never_blocks(tmp_path):
    corpus = Corpus(tmp_path / "corpus", seed=2)
    corpus.add(20)
    ix = tmp_path / "ix"
    holder = hold_lock(ix, 120)
    try:
        start = time.perf_counter()
        r = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--wait", "1.5")
        waited = time.perf_counter() - start
        assert r.returncode == 4, r.stderr
        assert "another mqt job is writing the index" in r.stderr
        assert f"held by process {holder.pid}" in r.stderr and "Traceback" not in r.stderr
        assert waited >= 1.5
        r = run_mqt("index", str(corpus.path), "--index", str(ix), "--wait", "0")
        assert r.returncode == 4 and "another mqt job" in r.stderr  # a full build takes the lock too
        assert not ix.exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock
        holder.communicate()
    r = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--wait", "0")
    assert r.returncode == 0, r.stderr
    assert_index_matches(ix, corpus.path)


def test_second_job_waits_for_the_first_to_finish(tmp_path):
    corpus = Corpus(tmp_path / "corpus", seed=3)
    corpus.add(20)
    ix = tmp_path / "ix"
    holder = hold_lock(ix, 1.0)
    start = time.perf_counter()
    r = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--wait", "30")
    assert r.returncode == 0, r.stderr
    assert time.perf_counter() - start >= 0.9
    holder.communicate()
    # two real jobs started together: both succeed, one after the other, and the work is done once
    corpus.mutate(add=30, modify=30, delete=5, broken=0)
    jobs = [mqt("reindex", str(corpus.path), "--index", str(ix), "--json", "--wait", "60")
            for _ in range(2)]
    outs = [json.loads(j.communicate()[0]) for j in jobs]
    assert [j.returncode for j in jobs] == [0, 0]
    work = sorted(o["added"] + o["updated"] + o["deleted"] for o in outs)
    assert work[0] == 0 and work[1] >= 30
    assert_index_matches(ix, corpus.path)


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from whoosh import index
    ix = index.open_dir(sys.argv[1], indexname="MAIN")
    w = ix.writer()
    print("writing", flush=True)
    time.sleep(120)
""")


def test_whoosh_lock_of_a_killed_writer_is_released(tmp_path):
    corpus = Corpus(tmp_path / "corpus", seed=4)
    corpus.add(10)
    ix = tmp_path / "ix"
    assert run_mqt("reindex", str(corpus.path), "--index", str(ix)).returncode == 0
    p = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(ix)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "writing"
    r = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--wait", "0")
    assert r.returncode == 0, r.stderr  # nothing to change: Whoosh's write lock is not needed
    corpus.add(5)
    r = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--wait", "0")
    assert r.returncode == 4 and "Whoosh's write lock" in r.stderr  # a live foreign writer
    p.send_signal(signal.SIGKILL)
    p.communicate()
    r = run_mqt("reindex", str(corpus.path), "--index", str(ix), "--wait", "0")
    assert r.returncode == 0, r.stderr
    assert_index_matches(ix, corpus.path)


def test_open_retries_when_a_commit_removes_the_table_of_contents(tmp_path, monkeypatch):
    """Whoosh lists the folder, then opens the newest TOC file; a commit in between deletes it.
    Opening must retry rather than report a broken index (seen with plain Whoosh: ~1 in 1,000
    opens during back-to-back commits)."""
    from whoosh.index import TOC
    from index_data.engine import EngineReader

    corpus = Corpus(tmp_path / "corpus", seed=6)
    corpus.add(5)
    ix = tmp_path / "ix"
    assert run_mqt("reindex", str(corpus.path), "--index", str(ix)).returncode == 0
    real = TOC.read.__func__
    failures = [2]

    def flaky(cls, storage, indexname, gen=None, schema=None):
        if failures[0]:
            failures[0] -= 1
            raise FileNotFoundError(2, "No such file or directory", "_MAIN_1.toc")
        return real(cls, storage, indexname, gen=gen, schema=schema)

    monkeypatch.setattr(TOC, "read", classmethod(flaky))
    r = EngineReader(ix)
    assert r.doc_count() == 5 and failures == [0]
    r.close()
