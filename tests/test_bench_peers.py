"""bench.py's optional peers: skipped with a reason when not installed; when installed, they
index the corpus and answer the benchmark's queries (totals that agree with mqt's on plain
words, snippets and facets modes, a cold process)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
from benchmarks import bench  # noqa: E402

# The benchmark's peer engines (a JVM for Lucene): slow, run by CI.
pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("mqt_bench_generate4", ROOT / "benchmarks" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

HAVE_TANTIVY = importlib.util.find_spec("tantivy") is not None
LUCENE_JARS = bench.lucene_jars(bench.Path(os.environ.get("LUCENE_JARS", "/usr/share/java")))
HAVE_LUCENE = not isinstance(LUCENE_JARS, str)


def test_missing_peers_are_skipped_with_a_reason(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tantivy" else real(name, *a))
    args = argparse.Namespace(engines=["mqt", "tantivy", "lucene", "fts5"], lucene_jars=tmp_path)
    skipped = bench.setup_peers(args, tmp_path)
    assert args.engines == ["mqt", "fts5"]
    assert "pip install tantivy" in skipped["tantivy"]
    assert "lucene" in skipped["lucene"]
    table = bench.report(dict(machine="m", when="w", load="0", engines={}, skipped=skipped,
                              names=bench.ENGINE_NAMES),
                         argparse.Namespace(engines=[], command=["bench.py"]), 0, 0.0)
    assert "| tantivy | not installed: `pip install tantivy`" in table


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("peers")
    corpus = generate.generate(tmp / "corpus", 150, seed=3)
    queries = bench.make_queries(corpus, 30)
    return tmp, corpus, queries


def _mqt_totals(tmp, corpus, queries):
    ix = tmp / "ix-mqt"
    if not ix.exists():
        bench.build_mqt(corpus, ix, 1)
    runner = bench.MqtRunner(ix)
    try:
        return [runner.run(q, "plain")[0] for q in queries]
    finally:
        runner.close()


def _check_engine(engine, tmp, corpus, queries):
    ix = tmp / f"ix-{engine}"
    assert bench.BUILDERS[engine](corpus, ix, 1) == 150
    want = _mqt_totals(tmp, corpus, queries)
    runner = bench.RUNNERS[engine](ix)
    agree = 0
    try:
        for q, mqt_total in zip(queries, want):
            total, ids = runner.run(q, "plain")
            assert len(ids) == min(10, total)
            assert all(i.endswith(tuple("0123456789abcdef")) for i in ids)
            for mode in ("snippets", "facets"):
                t2, ids2 = runner.run(q, mode)
                assert (t2, ids2) == (total, ids), (engine, mode, q)
            if q["kind"] in ("single", "several", "party", "date", "sorted"):
                agree += total == mqt_total
    finally:
        if hasattr(runner, "close"):
            runner.close()
    # English stemmers differ on a few words (Porter vs Snowball): most totals agree with mqt's
    assert agree >= 0.7 * sum(q["kind"] != "phrase" for q in queries)
    out = subprocess.run(bench.cold_command(engine, ix, " ".join(queries[1]["words"])),
                         capture_output=True, text=True, check=True, env=bench.cold_env())
    assert "<b>" in out.stdout  # its own highlighter marked the words


@pytest.mark.skipif(not HAVE_TANTIVY, reason="tantivy is not installed (bench extra)")
def test_tantivy_peer(small):
    _check_engine("tantivy", *small)


@pytest.mark.skipif(not HAVE_LUCENE, reason=f"Lucene peer not available: {LUCENE_JARS}")
def test_lucene_peer(small, monkeypatch):
    tmp = small[0]
    monkeypatch.setenv(bench.LUCENE_CP_ENV, bench.compile_lucene(LUCENE_JARS, tmp / "classes"))
    _check_engine("lucene", *small)
