"""Soak: searcher processes and threads query non-stop while a reindex loop adds, changes and
deletes documents. Every answer must be a state the corpus was in; no query may fail.

Runs for ``MQT_SOAK_SECONDS`` (default 20) in the full suite (a slow test: ``MQT_SLOW_TESTS=1``);
run it longer on demand: ``MQT_SOAK_SECONDS=600 python -m pytest tests/test_soak.py -s --runslow``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import question_file
from index_data import reindex

SECONDS = float(os.environ.get("MQT_SOAK_SECONDS", "20"))
SEARCHER_PROCESSES = 2
THREADS_PER_PROCESS = 2

# Each searcher process shares one Searcher between its threads (the library's thread-safety
# promise) and writes one JSON line per observation: the digest of the complete listing, or an error.
SEARCHER = r"""
import hashlib, json, sys, threading, time
from searcher import Searcher

index_dir, seconds, threads, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
lines = []

def work(n):
    deadline = time.time() + seconds
    with_words = n % 2 == 1
    while time.time() < deadline:
        try:
            page = s.search("", limit=1000, facets=False, suggest=False, snippets=False)
            titles = sorted(h.title for h in page.hits)
            if page.total != len(titles):
                raise AssertionError(f"total {page.total} but {len(titles)} hits")
            rec = {"digest": hashlib.sha1("\n".join(titles).encode()).hexdigest()}
            if with_words:  # a ranked query with snippets and facets must not fail either
                s.search("soak common words", limit=5)
        except Exception as e:
            import traceback; rec = {"error": f"{type(e).__name__}: {e}", "tb": traceback.format_exc()}
        with lock:
            lines.append(rec)

s = Searcher(index_dir)
ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
s.close()
with open(out, "w") as f:
    for rec in lines:
        f.write(json.dumps(rec) + "\n")
"""


def _title(doc: int, version: int) -> str:
    return f"Soak {doc} v{version}"


def _write(corpus: Path, doc: int, version: int) -> None:
    (corpus / f"soak_{doc:04d}.txt").write_text(question_file(
        title=_title(doc, version), date=f"20{10 + doc % 15}-0{1 + doc % 9}-1{doc % 10}",
        question=f"Soak common words, document {doc} version {version}: buses, housing and policing."))


def _digest(state: dict[int, int]) -> str:
    titles = sorted(_title(d, v) for d, v in state.items())
    return hashlib.sha1("\n".join(titles).encode()).hexdigest()


@pytest.mark.slow  # runs for MQT_SOAK_SECONDS
def test_soak_search_while_reindexing(tmp_path):
    corpus, index_dir = tmp_path / "corpus", tmp_path / "ix"
    corpus.mkdir()
    rng = random.Random(7)
    state = {d: 0 for d in range(40)}
    for d, v in state.items():
        _write(corpus, d, v)
    reindex(corpus, index_dir)
    committed = {_digest(state)}

    outs = [tmp_path / f"searcher{i}.jsonl" for i in range(SEARCHER_PROCESSES)]
    procs = [subprocess.Popen([sys.executable, "-c", SEARCHER, str(index_dir), str(SECONDS),
                               str(THREADS_PER_PROCESS), str(out)]) for out in outs]
    runs, next_doc = 0, 40
    deadline = time.time() + SECONDS
    while time.time() < deadline:
        for _ in range(rng.randint(1, 4)):
            action = rng.random()
            if action < 0.35 or len(state) < 10:
                state[next_doc] = 0
                _write(corpus, next_doc, 0)
                next_doc += 1
            elif action < 0.7:
                d = rng.choice(sorted(state))
                state[d] += 1
                _write(corpus, d, state[d])
            else:
                d = rng.choice(sorted(state))
                del state[d]
                (corpus / f"soak_{d:04d}.txt").unlink()
        report = reindex(corpus, index_dir, wait=30)
        assert report.rejected == []
        committed.add(_digest(state))
        runs += 1
    for p in procs:
        assert p.wait(timeout=SECONDS + 120) == 0

    observations = [json.loads(line) for out in outs for line in out.read_text().splitlines()]
    errors = [o["error"] for o in observations if "error" in o]
    unknown = [o["digest"] for o in observations if "digest" in o and o["digest"] not in committed]
    print(f"\nsoak: {SECONDS:.0f} s, {runs} reindex runs, {len(observations)} listings checked "
          f"from {SEARCHER_PROCESSES} processes x {THREADS_PER_PROCESS} threads, "
          f"{len(errors)} errors, {len(unknown)} inconsistent")
    assert errors == [], [o.get("tb") for o in observations if "error" in o][:1]
    assert unknown == []  # every listing is exactly one committed state: never a mix
    assert runs >= 3 and len(observations) >= 20
