"""Short-query benchmark: known-item search over real Mayor's Questions, mqt against plain BM25.

The real-dev set (``../shared/real-dev``: 189 real questions and 56 queries of 2-6 words, typed
as a person half-remembering a question) is indexed alone and mixed with 10,000 questions from
``index_data.synthetic`` (``benchmarks/generate.py``, seed 1) as distractors. Each query runs
through ``Searcher.search`` as typed (default ranking options, top 100) and through two
baselines over the same documents:

- **bm25s**: BM25 (Lucene's variant) over one bag of title, question and answer text, k1 1.5,
  b 0.75, English stopwords and the Snowball stemmer (PyStemmer);
- **SQLite FTS5**: one column of the same text, ``porter`` tokenizer, the query's words OR-ed,
  ranked by ``bm25()``.

Scored with ``ir-measures``: MRR (``RR@100``), Success@1, Success@10 and nDCG@10, the query's
``target`` and ``also`` questions both relevant. The real-dev files are read where they lie and
copied only into the (git-ignored) work folder's mixed corpus, never into the repository.

Run from the repository root (``pip install -e '.[bench]'`` first)::

    python benchmarks/short_queries.py               # both corpora, mqt and both baselines
    python benchmarks/short_queries.py --halves      # also odd- and even-numbered queries apart
    python benchmarks/short_queries.py --set coordination.bonus=0 --engines mqt
    python benchmarks/short_queries.py --option neighbours=false --corpus alone
    python benchmarks/short_queries.py --real-dev /path/to/real-dev --work /tmp/sq

The indexes are built once under ``--work`` (``benchmarks/work/short_queries``) and reused while
the schema, the distractor count and the real-dev files stay the same: an ablation run is only
queries. ``--set`` changes one setting of the ``searcher.ranking.Ranking`` the run's Searcher is
given, by its dotted path (``--set neighbours.min_words=7``), and ``--option`` passes a keyword
argument to ``Searcher.search``, as in ``benchmarks/relevance.py``. A query's number for
``--halves`` is its position in ``queries.json`` (1..56).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: ``../shared/real-dev`` beside the repository (as CI lays it out); ``$MQT_REAL_DEV`` overrides.
REAL_DEV = Path(os.environ.get("MQT_REAL_DEV") or ROOT.parent / "shared" / "real-dev")
WORK = ROOT / "benchmarks" / "work" / "short_queries"
DISTRACTORS = 10_000
SEED = 1
TOP = 100
MEASURES = ("RR@100", "Success@1", "Success@10", "nDCG@10")
ENGINES = ("mqt", "bm25s", "fts5")
CORPORA = ("alone", "mixed")


@dataclass(frozen=True)
class Query:
    number: int  # position in queries.json, from 1
    id: str
    text: str
    relevant: tuple[str, ...]  # target first, then the equally good ones


def read_queries(real_dev: Path = REAL_DEV) -> list[Query]:
    raw = json.loads((real_dev / "queries.json").read_text("utf-8"))
    return [Query(n, q["id"], q["text"], (q["target"], *q.get("also", ())))
            for n, q in enumerate(raw, 1)]


def qrels(queries: list[Query]):
    import ir_measures

    return [ir_measures.Qrel(q.id, doc, 1) for q in queries for doc in q.relevant]


# ---- corpora and indexes ---------------------------------------------------------------------

def _stamp(real_dev: Path, distractors: int) -> dict:
    from index_data.meta import SCHEMA_VERSION

    files = sorted([p.name, p.stat().st_size] for p in (real_dev / "corpus").glob("*.txt"))
    return dict(schema=SCHEMA_VERSION, distractors=distractors, seed=SEED, real_dev=files)


def corpus_dir(work: Path, real_dev: Path, name: str) -> Path:
    """The folder a corpus is read from: real-dev's own for ``alone``, the work copy for ``mixed``."""
    return real_dev / "corpus" if name == "alone" else work / name / "corpus"


def build(name: str, work: Path = WORK, real_dev: Path = REAL_DEV, distractors: int = DISTRACTORS,
          rebuild: bool = False) -> Path:
    """The index of corpus ``name`` (``alone`` or ``mixed``) under ``work``, built if missing or
    stale (one process, so one segment: the same index on every machine)."""
    from index_data import build_index

    n = 0 if name == "alone" else distractors
    base = work / name
    index_dir, stamp_file = base / "index", base / "stamp.json"
    stamp = _stamp(real_dev, n)
    if not rebuild and stamp_file.exists() and index_dir.is_dir():
        if json.loads(stamp_file.read_text("utf-8")) == stamp:
            return index_dir
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    corpus = corpus_dir(work, real_dev, name)
    expected = len(stamp["real_dev"]) + n
    if name != "alone":
        from index_data.synthetic import generate

        generate(corpus, n, seed=SEED)
        for p in (real_dev / "corpus").glob("*.txt"):
            shutil.copyfile(p, corpus / p.name)
    t0 = time.perf_counter()
    report = build_index(corpus, index_dir, procs=1)
    if report.rejected or report.indexed != expected:
        raise SystemExit(f"{name}: indexed {report.indexed} of {expected}, rejected {report.rejected[:3]}")
    print(f"built {name} ({expected:,} questions) in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    stamp_file.write_text(json.dumps(stamp), "utf-8")
    return index_dir


def documents(corpus: Path) -> tuple[list[str], list[str]]:
    """``(ids, texts)``: each question's title, question and answer text, as the baselines see it."""
    from index_data.corpus import iter_corpus, parse_file

    ids, texts = [], []
    for f in iter_corpus(corpus):
        q = parse_file(f.path)
        ids.append(q.id)
        texts.append(f"{q.title}\n{q.question}\n{q.answer_text}")
    return ids, texts


# ---- engines ---------------------------------------------------------------------------------

def run_mqt(index_dir: Path, queries: list[Query], ranking=None, **options) -> tuple[dict, list[float]]:
    """``{query id: [doc ids, best first]}`` from ``Searcher.search`` (top 100) with ``ranking``
    (a ``searcher.ranking.Ranking``, default the product's), and latencies."""
    from searcher import Searcher

    ranked, took = {}, []
    with Searcher(index_dir, ranking=ranking) as s:
        for q in queries:
            t0 = time.perf_counter()
            page = s.search(q.text, limit=TOP, facets=False, snippets=False, suggest=False, **options)
            took.append((time.perf_counter() - t0) * 1000)
            ranked[q.id] = [h.id for h in page.hits]
    return ranked, took


def run_bm25s(ids: list[str], texts: list[str], queries: list[Query]) -> dict:
    """bm25s: one bag of words, k1 1.5, b 0.75, English stopwords, Snowball stems."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=1.5, b=0.75)
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)
    out = {}
    for q in queries:
        tokens = bm25s.tokenize([q.text], stopwords="en", stemmer=stemmer, show_progress=False)
        if not tokens.vocab:
            out[q.id] = []
            continue
        docs, scores = retriever.retrieve(tokens, k=min(TOP, len(ids)), show_progress=False)
        out[q.id] = [ids[d] for d, s in zip(docs[0].tolist(), scores[0].tolist()) if s > 0]
    return out


def run_fts5(ids: list[str], texts: list[str], queries: list[Query]) -> dict:
    """SQLite FTS5: ``porter`` over ``unicode61``, the query's words OR-ed, ordered by ``bm25()``."""
    import re

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')")
    db.executemany("INSERT INTO docs(rowid, body) VALUES (?, ?)", enumerate(texts))
    out = {}
    for q in queries:
        words = re.findall(r"\w+", q.text)
        if not words:
            out[q.id] = []
            continue
        match = " OR ".join(f'"{w}"' for w in words)
        rows = db.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
                          (match, TOP)).fetchall()
        out[q.id] = [ids[r] for (r,) in rows]
    db.close()
    return out


# ---- scoring ---------------------------------------------------------------------------------

def evaluate(ranked: dict, queries: list[Query], select=None) -> dict[str, float]:
    """The measures averaged over ``queries`` (those ``select(number)`` keeps); a query with no
    hits counts as 0."""
    import ir_measures

    chosen = [q for q in queries if select is None or select(q.number)]
    run = [ir_measures.ScoredDoc(q.id, doc, float(-i))
           for q in chosen for i, doc in enumerate(ranked.get(q.id, [])[:TOP])]
    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    per_query = {m: {} for m in MEASURES}
    for r in ir_measures.iter_calc(measures, qrels(chosen), run):
        per_query[str(r.measure)][r.query_id] = r.value
    return {m: sum(v.get(q.id, 0.0) for q in chosen) / len(chosen) for m, v in per_query.items()}


def ranks(ranked: dict, queries: list[Query]) -> dict[str, int | None]:
    """Each query's rank of its first relevant question (None if not in the top 100)."""
    out = {}
    for q in queries:
        hits = ranked.get(q.id, [])
        out[q.id] = next((i + 1 for i, d in enumerate(hits[:TOP]) if d in q.relevant), None)
    return out


def measure(engines=ENGINES, corpora=CORPORA, work: Path = WORK, real_dev: Path = REAL_DEV,
            distractors: int = DISTRACTORS, rebuild: bool = False, ranking=None, **options) -> dict:
    """``{corpus: {engine: {"all"/"odd"/"even": figures, "ranks": ..., "median_ms": ...}}}``."""
    queries = read_queries(real_dev)
    result: dict = {}
    for name in corpora:
        index_dir = build(name, work, real_dev, distractors, rebuild)
        result[name] = {}
        docs = None
        for engine in engines:
            took = None
            if engine == "mqt":
                ranked, took = run_mqt(index_dir, queries, ranking, **options)
            else:
                docs = docs or documents(corpus_dir(work, real_dev, name))
                ranked = (run_bm25s if engine == "bm25s" else run_fts5)(*docs, queries)
            entry = dict(all=evaluate(ranked, queries),
                         odd=evaluate(ranked, queries, lambda n: n % 2 == 1),
                         even=evaluate(ranked, queries, lambda n: n % 2 == 0),
                         ranks=ranks(ranked, queries))
            if took:
                entry["median_ms"] = statistics.median(took)
            result[name][engine] = entry
    return result


def table(result: dict, halves: bool = False) -> str:
    lines = ["| engine | corpus | MRR | Success@1 | Success@10 | nDCG@10 |", "|---|---|---:|---:|---:|---:|"]
    for name, engines in result.items():
        label = "real-dev alone" if name == "alone" else "real-dev + distractors"
        for engine, entry in engines.items():
            parts = [("", entry["all"])]
            if halves:
                parts += [(" (odd)", entry["odd"]), (" (even)", entry["even"])]
            for suffix, f in parts:
                lines.append(f"| {engine}{suffix} | {label} | {f['RR@100']:.3f} | {f['Success@1']:.3f} | "
                             f"{f['Success@10']:.3f} | {f['nDCG@10']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real-dev", type=Path, default=REAL_DEV, help="the real-dev folder (default %(default)s)")
    ap.add_argument("--work", type=Path, default=WORK, help="where the corpora and indexes go")
    ap.add_argument("--distractors", type=int, default=DISTRACTORS, help="generated questions mixed in")
    ap.add_argument("--rebuild", action="store_true", help="build the indexes again")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: mqt,bm25s,fts5")
    ap.add_argument("--corpus", choices=("alone", "mixed", "both"), default="both")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="keyword argument for Searcher.search (repeatable)")
    ap.add_argument("--set", dest="settings", action="append", default=[], metavar="PATH=VALUE",
                    help="change a setting of searcher.ranking.Ranking for this run, by its dotted "
                         "path, e.g. neighbours.min_words=7 (repeatable)")
    ap.add_argument("--halves", action="store_true", help="also the figures over odd- and even-numbered queries")
    ap.add_argument("--ranks", action="store_true", help="also each query's rank of its question (stderr)")
    ap.add_argument("--json", action="store_true", help="print everything as JSON")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from benchmarks.relevance import _value

    engines = [e for e in args.engines.split(",") if e]
    if set(engines) - set(ENGINES):
        ap.error(f"engines are {', '.join(ENGINES)}")
    if not (args.real_dev / "queries.json").is_file():
        ap.error(f"{args.real_dev} holds no queries.json (use --real-dev or $MQT_REAL_DEV)")
    from searcher.ranking import Ranking

    try:
        ranking = Ranking().with_settings(
            {name: _value(value) for name, _, value in (s.partition("=") for s in args.settings)})
    except ValueError as e:
        ap.error(str(e))
    options = {name: _value(value) for name, _, value in (o.partition("=") for o in args.option)}
    corpora = CORPORA if args.corpus == "both" else (args.corpus,)
    result = measure(engines, corpora, args.work, args.real_dev, args.distractors, args.rebuild,
                     ranking, **options)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(table(result, args.halves))
    for name, by_engine in result.items():
        if "mqt" in by_engine:
            print(f"mqt latency ({name}, top {TOP}, no snippets): median "
                  f"{by_engine['mqt']['median_ms']:.1f} ms", file=sys.stderr)
        if args.ranks:
            for engine, entry in by_engine.items():
                print(f"{name} {engine} ranks: " + " ".join(
                    f"{q}:{r or '-'}" for q, r in entry["ranks"].items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
