"""Crash safety: SIGKILL real `mqt reindex` processes at many different moments; every time the
index must open and answer queries holding exactly the state before or after that run (never a
mix), and the next run must complete the work (nothing lost, duplicated or stale)."""

from __future__ import annotations

import collections
import re
import signal
import time

import pytest

from reindex_util import Corpus, assert_index_matches, expected_state, index_state, mqt, run_mqt
from searcher import Searcher

KILL_POINTS = 30


def leftovers(ix) -> set[str]:
    """Files a killed writer left in the index folder (uncommitted segment, pool, temp TOC)."""
    from index_data.engine import live_segment_ids

    names = {p.name for p in ix.iterdir()}
    temp = {n for n in names if n.endswith(".tmp") or re.match(r"_MAIN_\d+\.toc\.", n)}
    live = live_segment_ids(ix)
    return temp | {n for n in names if (m := re.match(r"(MAIN_\w+)\.", n)) and m.group(1) not in live}


@pytest.mark.slow  # 30 killed processes and their recoveries
def test_kill_at_many_moments(tmp_path):
    corpus = Corpus(tmp_path / "corpus", seed=11)
    corpus.add(300)
    ix = tmp_path / "ix"
    args = ("reindex", str(corpus.path), "--index", str(ix), "--wait", "30")

    # A build from nothing killed half-way leaves no index (or a complete one), never a broken one.
    p = mqt(*args)
    time.sleep(0.25)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    if ix.exists():
        assert_index_matches(ix, corpus.path)
    assert run_mqt(*args).returncode == 0
    assert_index_matches(ix, corpus.path)

    # How long an uninterrupted run with this much work takes, to spread the kill points over it.
    corpus.mutate(add=40, modify=60, delete=20, touch=5, broken=1)
    start = time.perf_counter()
    assert run_mqt(*args).returncode == 3
    span = (time.perf_counter() - start) * 1.5  # the last points land after the run ends

    outcomes = collections.Counter()
    for k in range(KILL_POINTS):
        before = expected_state(corpus.path)
        corpus.mutate(add=40, modify=60, delete=20, touch=5, broken=1 + k % 2)
        after = expected_state(corpus.path)
        p = mqt(*args)
        time.sleep(span * (k + 0.5) / KILL_POINTS)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        # The killed run left a working index holding the old or the new state, nothing between.
        with Searcher(ix) as s:
            assert s.search("housing").total >= 0
            total = s.search("").total
        got, ndocs = index_state(ix)
        assert ndocs == len(got) == total
        if got == after:
            outcomes["after commit"] += 1
        else:
            assert got == before, f"kill point {k}: the index holds a mix of two states"
            outcomes["during write" if leftovers(ix) else "before writing"] += 1
        # The next run completes the work.
        r = run_mqt(*args)
        assert r.returncode in (0, 3), r.stderr
        assert_index_matches(ix, corpus.path)
        assert leftovers(ix) == set()
    print(f"\n{KILL_POINTS} kill points over {span:.2f} s: {dict(outcomes)}")
    assert outcomes["during write"] >= 1 and outcomes["after commit"] >= 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ix.") and not p.name.endswith(".lock")]
