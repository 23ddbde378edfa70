"""Speed benchmark: mqt against a naive Whoosh setup, SQLite FTS5, tantivy and Lucene, on one
corpus, in one run.

For each engine it measures, each step in a fresh child process so one engine's caches and memory
never flatter another's:

- a full index build: seconds, documents/s, peak memory (the whole process tree's PSS, sampled
  every 0.1 s: RSS with shared pages split between the processes sharing them), index size
- query latency p50/p95/p99 over a fixed mixed set of queries (single words, several words,
  phrases, a party filter, a date filter, sorted by date): top 10 without snippets, with snippets,
  and (mqt) with snippets and facets
- a cold process answering one query with snippets (median of several runs): ``mqt search "…"``
  for mqt
- mqt's ``reindex`` with nothing changed and with 1% of files changed, when ``index_data.reindex``
  exists

The baselines: naive Whoosh (``StemmingAnalyzer``, one ``writer()``, default ``BM25F``,
``hit.highlights()``) and SQLite FTS5 (``porter`` tokenizer, ``bm25()``, ``snippet()``, stdlib
``sqlite3``). The optional peers, each with its stock English analysis and BM25, over title
(weight 2), question and answer (0.7) as mqt, words OR'ed: tantivy (``pip install tantivy``, in
the ``bench`` extra: ``en_stem``, ``SnippetGenerator``, terms aggregations as facets) and Lucene
(Debian's ``liblucene8-java`` and a JDK: ``LuceneBench.java`` beside this file, compiled at run
time and driven over a pipe: ``EnglishAnalyzer``, ``UnifiedHighlighter``, sorted-set facets).
A peer that is not installed is skipped with a note. Every engine reads the files with mqt's
parser, so the index engines are what differs; every engine counts its totals exactly.

    python benchmarks/generate.py /tmp/mqt-10k --count 10000
    python benchmarks/bench.py /tmp/mqt-10k                  # writes benchmarks/RESULTS.md
    python benchmarks/bench.py /tmp/mqt-10k --engines mqt,fts5,tantivy,lucene --results -

Figures are ratios on one machine; rerun all engines together rather than comparing runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENGINES = ("mqt", "mqt-exec", "whoosh", "fts5", "tantivy", "lucene")
DEFAULT_ENGINES = ("mqt", "whoosh", "fts5")
ENGINE_NAMES = {"mqt": "mqt", "mqt-exec": "mqt, executor only (no posting stores)", "whoosh": "naive Whoosh 2.7.4",
                "fts5": "SQLite FTS5", "tantivy": "tantivy", "lucene": "Lucene"}
MODES = ("plain", "snippets", "facets")
PARTIES = ("Labour Group", "Conservative Group", "Liberal Democrat Group", "Green Group")


# ---- the query set --------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[a-z]{4,}")


def make_queries(corpus_dir: Path, n: int = 300, seed: int = 5) -> list[dict]:
    """A fixed mixed query set drawn from the corpus itself (deterministic for a corpus and seed).

    Each query is ``{"kind", "words": [..], "phrase": bool, "party", "date_from", "date_to", "sort"}``.
    Words come from the first few hundred files, weighted by how often they occur, so queries hit
    frequent and rare words as real users' do; phrases are word pairs that occur in the text.
    """
    from index_data.analysis import stopwords
    from index_data.corpus import iter_corpus, parse_file

    stops = stopwords()
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    bigrams: list[tuple[str, str]] = []
    for k, f in enumerate(iter_corpus(corpus_dir)):
        if k >= 300:
            break
        q = parse_file(f.path)
        words = [w for w in re.findall(r"[a-z][a-z'-]*[a-z]", f"{q.title} {q.question} {q.answer_text}".lower())]
        for a, b in zip(words, words[1:]):
            if a not in stops and b not in stops and len(a) > 3 and len(b) > 3 and "-" not in a + b:
                bigrams.append((a, b))
        for w in words:
            if w not in stops and _WORD_RE.fullmatch(w):
                counts[w] = counts.get(w, 0) + 1
    vocab = sorted(counts)
    weights = [counts[w] for w in vocab]
    bigrams = sorted(set(bigrams))

    def words(k):
        out: list[str] = []
        while len(out) < k:
            w = rng.choices(vocab, weights=weights)[0]
            if w not in out:
                out.append(w)
        return out

    kinds = ["single", "several", "phrase", "party", "date", "sorted"]
    queries = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        q = dict(kind=kind, words=[], phrase=False, party=None, date_from=None, date_to=None, sort=None)
        if kind == "single":
            q["words"] = words(1)
        elif kind == "several":
            q["words"] = words(rng.choice((2, 2, 3)))
        elif kind == "phrase":
            q["words"] = list(rng.choice(bigrams))
            q["phrase"] = True
        elif kind == "party":
            q["words"] = words(rng.choice((1, 2)))
            q["party"] = rng.choice(PARTIES)
        elif kind == "date":
            q["words"] = words(rng.choice((1, 2)))
            y = rng.randint(2001, 2021)
            q["date_from"], q["date_to"] = f"{y}-01-01", f"{y + rng.randint(0, 3)}-12-31"
        else:
            q["words"] = words(rng.choice((1, 2)))
            q["sort"] = "newest"
        queries.append(q)
    return queries


def mqt_text(q: dict) -> str:
    text = " ".join(q["words"])
    return f'"{text}"' if q["phrase"] else text


def serve_params(q: dict) -> dict:
    """A query as ``mqt serve``'s URL parameters (``/api/search`` and the results page)."""
    p = {"q": mqt_text(q)}
    if q["party"]:
        p["party"] = q["party"]
    if q["date_from"]:
        p["from"], p["to"] = q["date_from"], q["date_to"]
    if q["sort"]:
        p["sort"] = q["sort"]
    return p


def free_port() -> int:
    """A free TCP port on the loopback interface (for a server the benchmark starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- engines: build -------------------------------------------------------------------------------

def _parsed(corpus_dir):
    from index_data.corpus import iter_corpus, parse_file

    for f in iter_corpus(corpus_dir):
        yield parse_file(f.path)


def build_mqt(corpus_dir, index_dir, procs):
    from index_data.build import build_index

    report = build_index(corpus_dir, index_dir, procs=procs)
    return report.indexed


def build_mqt_exec(corpus_dir, index_dir, procs):
    """mqt's build (its posting stores included: the executor-only runner ignores them)."""
    return build_mqt(corpus_dir, index_dir, procs)


def _naive_schema():
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, NUMERIC, TEXT, Schema

    ana = StemmingAnalyzer()
    return Schema(id=ID(stored=True, unique=True), title=TEXT(analyzer=ana, stored=True),
                  question=TEXT(analyzer=ana, stored=True), answer=TEXT(analyzer=ana, stored=True),
                  party=ID(stored=True), date=NUMERIC(int, bits=32, signed=False, sortable=True))


def build_whoosh(corpus_dir, index_dir, procs):
    from whoosh import index

    os.makedirs(index_dir, exist_ok=True)
    ix = index.create_in(index_dir, _naive_schema())
    n = 0
    with ix.writer() as w:
        for q in _parsed(corpus_dir):
            d = q.meeting_date
            w.add_document(id=q.id, title=q.title, question=q.question, answer=q.answer_text,
                           party=q.party or "", date=d.year * 10000 + d.month * 100 + d.day)
            n += 1
    return n


def build_fts5(corpus_dir, index_dir, procs):
    os.makedirs(index_dir, exist_ok=True)
    db = sqlite3.connect(os.path.join(index_dir, "fts.db"))
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, question, answer, "
               "party UNINDEXED, date UNINDEXED, tokenize='porter unicode61')")
    n = 0
    batch = []
    with db:
        for q in _parsed(corpus_dir):
            d = q.meeting_date
            batch.append((q.id, q.title, q.question, q.answer_text, q.party or "",
                          d.year * 10000 + d.month * 100 + d.day))
            n += 1
            if len(batch) >= 1000:
                db.executemany("INSERT INTO docs VALUES (?,?,?,?,?,?)", batch)
                batch = []
        if batch:
            db.executemany("INSERT INTO docs VALUES (?,?,?,?,?,?)", batch)
    db.close()
    return n


# ---- optional peers: tantivy and Lucene -----------------------------------------------------------

#: mqt's field weights (``searcher.ranking.FIELD_WEIGHTS``), given to the peers' query parsers.
PEER_BOOSTS = {"title": 2.0, "question": 1.0, "answer": 0.7}
PEER_TEXT = ("title", "question", "answer")
PEER_FACETS = ("party", "asker", "asked_of", "year", "status", "meeting")
#: The order in which a document's fields are sent to LuceneBench.java (its ``FIELDS``).
LUCENE_FIELDS = ("id", "title", "question", "answer", "party", "asker", "asked_of", "status",
                 "meeting", "date")
#: Lucene's jars the driver needs (``lucene-NAME-VERSION.jar``), from ``--lucene-jars``.
LUCENE_MODULES = ("core", "analyzers-common", "queryparser", "highlighter", "facet", "queries",
                  "memory")
LUCENE_CP_ENV = "MQT_BENCH_LUCENE_CP"  # set by main() for the child processes


def peer_fields(q) -> dict:
    """A question as the peers index it: text fields, facet values, date as YYYYMMDD."""
    d = q.meeting_date
    date = d.year * 10000 + d.month * 100 + d.day
    return dict(id=q.id, title=q.title, question=q.question, answer=q.answer_text,
                party=q.party or "", asker=q.asker or "", asked_of=q.asked_of or "",
                status=q.status, meeting=q.meeting or "", year=str(d.year), date=date)


def _tantivy_schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    for f in PEER_TEXT:
        sb.add_text_field(f, stored=True, tokenizer_name="en_stem")
    for f in PEER_FACETS:  # filters (party) and facets (terms aggregations over fast fields)
        sb.add_text_field(f, fast=True, tokenizer_name="raw")
    sb.add_integer_field("date", indexed=True, fast=True)
    return sb.build()


def build_tantivy(corpus_dir, index_dir, procs):
    """tantivy's default writer (128 MB heap, threads of its choosing), one commit, merges
    waited for."""
    import tantivy

    os.makedirs(index_dir, exist_ok=True)
    ix = tantivy.Index(_tantivy_schema(), path=str(index_dir))
    w = ix.writer()
    n = 0
    for q in _parsed(corpus_dir):
        f = {k: v for k, v in peer_fields(q).items() if v != ""}
        w.add_document(tantivy.Document(**f))
        n += 1
    w.commit()
    w.wait_merging_threads()
    return n


def lucene_jars(folder: Path) -> list[Path] | str:
    """The Lucene jars the driver needs in ``folder``, or why they cannot be used."""
    if not shutil.which("java") or not shutil.which("javac"):
        return "no JDK (java and javac) on PATH"
    jars = []
    for mod in LUCENE_MODULES:
        found = sorted(folder.glob(f"lucene-{mod}-[0-9]*.jar")) or sorted(folder.glob(f"lucene-{mod}.jar"))
        if not found:
            return f"no lucene-{mod} jar in {folder} (apt-get install liblucene8-java)"
        jars.append(found[-1])
    return jars


def lucene_version(jars: list[Path]) -> str:
    m = re.search(r"lucene-core-([0-9.]+)\.jar$", jars[0].name)
    return m[1] if m else "?"


def compile_lucene(jars: list[Path], out: Path) -> str:
    """Compile LuceneBench.java into ``out``; returns the class path to run it with."""
    out.mkdir(parents=True, exist_ok=True)
    cp = os.pathsep.join(str(j) for j in jars)
    subprocess.run(["javac", "-nowarn", "-d", str(out), "-cp", cp, str(HERE / "LuceneBench.java")],
                   check=True, stderr=subprocess.DEVNULL)
    return os.pathsep.join([str(out), cp])


def lucene_command(*args) -> list[str]:
    cp = os.environ.get(LUCENE_CP_ENV)
    if not cp:
        raise SystemExit("the Lucene driver is not compiled (run bench.py, not its child)")
    return ["java", "-cp", cp, "LuceneBench", *map(str, args)]


def build_lucene(corpus_dir, index_dir, procs):
    """Parse here and stream the documents to LuceneBench.java's IndexWriter (stock settings:
    16 MB RAM buffer, default merge policy), which runs in parallel in its own process."""
    os.makedirs(index_dir, exist_ok=True)
    proc = subprocess.Popen(lucene_command("index", index_dir), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    pack = struct.Struct(">i").pack
    n = 0
    try:
        for q in _parsed(corpus_dir):
            f = peer_fields(q)
            parts = [pack(len(LUCENE_FIELDS))]
            for name in LUCENE_FIELDS:
                b = str(f[name]).encode("utf-8")
                parts += (pack(len(b)), b)
            proc.stdin.write(b"".join(parts))
            n += 1
        proc.stdin.close()
        indexed = int(proc.stdout.read().decode().split()[-1])
    finally:
        if not proc.stdin.closed:
            proc.stdin.close()
        status = proc.wait()
        proc.stdout.close()
        if status:
            raise SystemExit(f"LuceneBench index failed with exit status {status}")
    if indexed != n:
        raise SystemExit(f"Lucene indexed {indexed} of {n} documents")
    return n


BUILDERS = {"mqt": build_mqt, "mqt-exec": build_mqt_exec, "whoosh": build_whoosh, "fts5": build_fts5,
            "tantivy": build_tantivy, "lucene": build_lucene}


# ---- engines: query -------------------------------------------------------------------------------

class MqtRunner:
    def __init__(self, index_dir):
        from searcher import Searcher

        self.s = Searcher(index_dir)

    def run(self, q, mode):
        page = self.s.search(mqt_text(q), limit=10, party=q["party"], date_from=q["date_from"],
                             date_to=q["date_to"], sort=q["sort"] or "relevance",
                             snippets=mode != "plain", facets=mode == "facets")
        return page.total, [h.id for h in page.hits]

    def close(self):
        self.s.close()


class MqtExecutorRunner(MqtRunner):
    """The same searches without the posting stores (the executor alone: mqt before issue 15)."""

    def __init__(self, index_dir):
        super().__init__(index_dir)
        self.s.engine.use_stores = False


class WhooshRunner:
    def __init__(self, index_dir):
        from whoosh import index
        from whoosh.qparser import MultifieldParser

        self.ix = index.open_dir(index_dir)
        self.s = self.ix.searcher()
        self.parser = MultifieldParser(["title", "question", "answer"], self.ix.schema)

    def run(self, q, mode):
        from whoosh import query as wq

        if mode == "facets":
            return None
        text = " ".join(q["words"])
        wquery = self.parser.parse(f'"{text}"' if q["phrase"] else text)
        filters = []
        if q["party"]:
            filters.append(wq.Term("party", q["party"]))
        if q["date_from"]:
            lo, hi = (int(x.replace("-", "")) for x in (q["date_from"], q["date_to"]))
            filters.append(wq.NumericRange("date", lo, hi))
        filt = (filters[0] if len(filters) == 1 else wq.And(filters)) if filters else None
        kw = dict(sortedby="date", reverse=True) if q["sort"] else {}
        results = self.s.search(wquery, limit=10, filter=filt, **kw)
        ids = []
        for hit in results:
            ids.append(hit["id"])
            if mode == "snippets":
                hit.highlights("question")
                hit.highlights("answer")
        return len(results), ids


class Fts5Runner:
    def __init__(self, index_dir):
        self.db = sqlite3.connect(os.path.join(index_dir, "fts.db"))

    def run(self, q, mode):
        if mode == "facets":
            return None
        match = '"' + " ".join(q["words"]) + '"' if q["phrase"] else " ".join(f'"{w}"' for w in q["words"])
        where, args = ["docs MATCH ?"], [match]
        if q["party"]:
            where.append("party = ?")
            args.append(q["party"])
        if q["date_from"]:
            where.append("date BETWEEN ? AND ?")
            args += [int(x.replace("-", "")) for x in (q["date_from"], q["date_to"])]
        cols = "id, title"
        if mode == "snippets":
            cols += (", snippet(docs, 2, '<mark>', '</mark>', '…', 24), "
                     "snippet(docs, 3, '<mark>', '</mark>', '…', 24)")
        order = "date DESC" if q["sort"] else "bm25(docs)"
        sql = f"SELECT {cols} FROM docs WHERE {' AND '.join(where)} ORDER BY {order} LIMIT 10"
        rows = self.db.execute(sql, args).fetchall()
        total = self.db.execute(f"SELECT count(*) FROM docs WHERE {' AND '.join(where)}", args).fetchone()[0]
        return total, [r[0] for r in rows]


class TantivyRunner:
    def __init__(self, index_dir):
        import tantivy

        self.t = tantivy
        self.ix = tantivy.Index.open(str(index_dir))
        self.schema = self.ix.schema
        self.s = self.ix.searcher()
        self.agg = {f: {"terms": {"field": f, "size": 65535}} for f in PEER_FACETS}

    def query(self, q):
        t = self.t
        text = " ".join(q["words"])
        tq = self.ix.parse_query(f'"{text}"' if q["phrase"] else text, list(PEER_TEXT),
                                 field_boosts=PEER_BOOSTS)
        clauses = [(t.Occur.Must, tq)]
        if q["party"]:
            clauses.append((t.Occur.Must, t.Query.const_score_query(
                t.Query.term_query(self.schema, "party", q["party"]), 0.0)))
        if q["date_from"]:
            lo, hi = (int(x.replace("-", "")) for x in (q["date_from"], q["date_to"]))
            clauses.append((t.Occur.Must, t.Query.const_score_query(
                t.Query.range_query(self.schema, "date", t.FieldType.Integer, lo, hi), 0.0)))
        return tq if len(clauses) == 1 else t.Query.boolean_query(clauses)

    def run(self, q, mode):
        t, s = self.t, self.s
        query = self.query(q)
        if q["sort"]:
            res = s.search(query, 10, count=True, order_by_field="date", order=t.Order.Desc)
        else:
            res = s.search(query, 10, count=True)
        docs = [s.doc(addr) for _, addr in res.hits]
        if mode != "plain":
            for field in ("question", "answer"):
                gen = t.SnippetGenerator.create(s, query, self.schema, field)
                for d in docs:
                    gen.snippet_from_doc(d).to_html()
        if mode == "facets":
            s.aggregate(query, self.agg)  # a second pass: tantivy-py collects one thing at a time
        return res.count, [d["id"][0] for d in docs]


class LuceneRunner:
    """LuceneBench.java's ``serve`` over a pipe: one request line, one answer line. Its JIT is
    warmed on another query set before the timed runs (see :func:`run_queries`). The time a
    query takes is the driver's own (``System.nanoTime`` around the search, highlighting and
    facet counting, ``own_ms``): in-process, as the Python engines are timed; the pipe's round
    trip, where a loaded machine may not run the other process at once, is kept apart."""

    jit = True
    own_ms: float | None = None

    def __init__(self, index_dir):
        self.proc = subprocess.Popen(lucene_command("serve", index_dir), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("LuceneBench serve did not start")

    def run(self, q, mode):
        dates = [x.replace("-", "") if x else "" for x in (q["date_from"], q["date_to"])]
        line = "\t".join([mode, "1" if q["phrase"] else "0", q["party"] or "", *dates,
                          q["sort"] or "", " ".join(q["words"])])
        self.proc.stdin.write(line + "\n")
        answer = self.proc.stdout.readline()
        if not answer:
            raise SystemExit(f"LuceneBench serve died on {line!r}")
        parts = answer.rstrip("\n").split("\t")
        self.own_ms = int(parts[-1]) / 1e6
        return int(parts[0]), parts[1].split()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        self.proc.stdout.close()


RUNNERS = {"mqt": MqtRunner, "mqt-exec": MqtExecutorRunner, "whoosh": WhooshRunner, "fts5": Fts5Runner,
           "tantivy": TantivyRunner, "lucene": LuceneRunner}


def percentiles(xs: list[float]) -> dict:
    xs = sorted(xs)
    def p(f):
        return xs[min(len(xs) - 1, int(round(f * (len(xs) - 1))))]
    return dict(p50=p(0.50), p95=p(0.95), p99=p(0.99), mean=statistics.fmean(xs))


def run_queries(engine, index_dir, queries, warmup: int = 20, jit_queries=()) -> dict:
    """p50/p95/p99/mean ms per mode (and p50 by query kind) of ``queries``, each mode after
    ``warmup`` of them; an engine with a JIT (Lucene's JVM) first runs ``jit_queries`` (another
    query set) in every mode, so that compiling its code is not timed."""
    runner = RUNNERS[engine](index_dir)
    if getattr(runner, "jit", False):
        for _ in range(3):  # a JIT compiles code that has run thousands of times
            for mode in MODES:
                for q in jit_queries:
                    runner.run(q, mode)
    out = {}
    for mode in MODES:
        if runner.run(queries[0], mode) is None:
            continue
        for q in queries[:warmup]:
            runner.run(q, mode)
        times, by_kind, round_trips = [], {}, []
        for q in queries:
            t = time.perf_counter()
            runner.run(q, mode)
            ms = (time.perf_counter() - t) * 1000
            own = getattr(runner, "own_ms", None)
            if own is not None:  # an engine in another process: its own time (LuceneRunner)
                round_trips.append(ms)
                ms = own
            times.append(ms)
            by_kind.setdefault(q["kind"], []).append(ms)
        out[mode] = percentiles(times)
        out[mode]["by_kind_p50"] = {k: percentiles(v)["p50"] for k, v in by_kind.items()}
        if round_trips:
            out[mode]["round_trip"] = percentiles(round_trips)
    if hasattr(runner, "close"):
        runner.close()
    return out


# ---- cold processes -------------------------------------------------------------------------------

COLD_SCRIPTS = {
    "whoosh": """
import sys
from whoosh import index
from whoosh.qparser import MultifieldParser
ix = index.open_dir(sys.argv[1])
with ix.searcher() as s:
    q = MultifieldParser(["title", "question", "answer"], ix.schema).parse(sys.argv[2])
    for hit in s.search(q, limit=10):
        print(hit["title"], hit.highlights("question"), hit.highlights("answer"))
""",
    "fts5": """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/fts.db")
words = " ".join('"%s"' % w for w in sys.argv[2].split())
for row in db.execute("SELECT title, snippet(docs, 2, '[', ']', '…', 24), snippet(docs, 3, '[', ']', '…', 24) "
                      "FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 10", (words,)):
    print(*row)
""",
    "tantivy": """
import sys, tantivy
ix = tantivy.Index.open(sys.argv[1])
s = ix.searcher()
q = ix.parse_query(sys.argv[2], ["title", "question", "answer"],
                   field_boosts={"title": 2.0, "question": 1.0, "answer": 0.7})
gens = [tantivy.SnippetGenerator.create(s, q, ix.schema, f) for f in ("question", "answer")]
for _score, addr in s.search(q, 10).hits:
    d = s.doc(addr)
    print(d["title"][0], *(g.snippet_from_doc(d).to_html() for g in gens))
""",
}


COLD_EXEC = """
import sys
import searcher.cli, searcher.display
from searcher import Searcher
s = Searcher(sys.argv[1])
s.engine.use_stores = False
page = s.search(sys.argv[2], limit=10, facets=False)
print(searcher.display.format_page(page, searcher.display.Style(False)))
"""


def cold_command(engine, index_dir, text):
    if engine == "mqt":
        mqt = Path(sys.executable).with_name("mqt")
        cmd = [str(mqt)] if mqt.exists() else [sys.executable, "-m", "searcher.cli"]
        return cmd + ["search", text, "--index", str(index_dir)]
    if engine == "lucene":
        return lucene_command("cold", index_dir, text)
    if engine == "mqt-exec":  # what `mqt search` prints, without the posting stores
        return [sys.executable, "-c", COLD_EXEC, str(index_dir), text]
    return [sys.executable, "-c", COLD_SCRIPTS[engine], str(index_dir), text]


def cold_env() -> dict:
    """The environment of a timed cold process: no colour, and Python may write bytecode
    (``PYTHONDONTWRITEBYTECODE`` dropped): an installed package has its ``.pyc`` files, and
    without them every run would compile mqt's modules from source instead of starting."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cold_runs(engine, index_dir, texts, runs: int) -> dict:
    """Seconds for a new process to open the index and answer one query (median of ``runs``,
    after one unmeasured run; see :func:`cold_env`)."""
    env = cold_env()
    times = []
    for k in range(runs + 1):
        text = texts[k % len(texts)]
        t = time.perf_counter()
        subprocess.run(cold_command(engine, index_dir, text), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True,
                       env=env)
        if k:
            times.append(time.perf_counter() - t)
    return dict(median=statistics.median(times), min=min(times), runs=runs)


# ---- measuring a child process --------------------------------------------------------------------

def _children(ps):
    import psutil

    try:
        return ps.children(recursive=True)
    except psutil.Error:
        return []


def _memory(p) -> int:
    """A process's proportional set size (PSS: shared pages split between the processes sharing
    them, so forked workers are not counted twice), or its RSS where PSS is unavailable."""
    try:
        return p.memory_full_info().pss
    except (AttributeError, OSError):
        return p.memory_info().rss


def run_child(args: list[str]) -> tuple[dict, float, int]:
    """Run ``bench.py _child ...``; return its JSON answer, wall seconds and peak tree RSS (bytes)."""
    import psutil

    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "_child", *args],
                            stdout=subprocess.PIPE, text=True)
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        rss = 0
        for p in [ps] + _children(ps):
            try:
                rss += _memory(p)
            except psutil.Error:
                pass
        peak = max(peak, rss)
        time.sleep(0.1)
    out = proc.stdout.read()
    if proc.returncode:
        raise SystemExit(f"child {args} failed with exit status {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), time.perf_counter() - t, peak


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished child processes."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child(argv: list[str]) -> None:
    what, engine = argv[0], argv[1]
    if what == "build":
        corpus_dir, index_dir, procs = argv[2], argv[3], int(argv[4])
        t, cpu = time.perf_counter(), cpu_seconds()
        n = BUILDERS[engine](corpus_dir, index_dir, procs)
        print(json.dumps(dict(docs=n, seconds=time.perf_counter() - t, cpu=cpu_seconds() - cpu)))
    elif what == "query":
        index_dir, qfile = argv[2], argv[3]
        queries = json.loads(Path(qfile).read_text())
        jit = json.loads(Path(argv[4]).read_text()) if len(argv) > 4 else []
        print(json.dumps(run_queries(engine, index_dir, queries, jit_queries=jit)))
    elif what == "reindex":
        from index_data import reindex  # (only run when it exists)

        corpus_dir, index_dir = argv[2], argv[3]
        t = time.perf_counter()
        reindex(corpus_dir, index_dir)
        print(json.dumps(dict(seconds=time.perf_counter() - t)))
    else:
        raise SystemExit(f"unknown child task {what}")


def dir_size(path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def reindex_times(corpus_dir: Path, index_dir: Path) -> dict | None:
    """No-op and 1%-changed reindex seconds, or None when ``index_data.reindex`` is not there."""
    import index_data

    if not hasattr(index_data, "reindex"):
        return None
    out = {}
    out["noop"], _, _ = run_child(["reindex", "mqt", str(corpus_dir), str(index_dir)])
    files = sorted(p for p in corpus_dir.iterdir() if p.suffix == ".txt")
    changed = files[:: 100]
    saved = {p: p.read_bytes() for p in changed}
    try:
        for p in changed:
            p.write_bytes(saved[p] + b"\n\nA further note was added to this answer.")
        out["changed_1pct"], _, _ = run_child(["reindex", "mqt", str(corpus_dir), str(index_dir)])
        out["changed_files"] = len(changed)
    finally:
        for p, data in saved.items():
            p.write_bytes(data)
    return {k: (v["seconds"] if isinstance(v, dict) else v) for k, v in out.items()}


# ---- the report -----------------------------------------------------------------------------------

def machine() -> str:
    """The machine line of a report: CPU, cores, memory, kernel, the Python and where it is
    installed (two builds of one version differ: Debian's 3.11.2 runs a pure-Python loop ~15%
    and a ``compile`` ~40% faster than pyenv's 3.11.7 here), Whoosh and SQLite."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM"
    except ImportError:
        mem = ""
    import whoosh

    return (f"{cpu or platform.processor()}, {os.cpu_count()} cores, {mem}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()} ({sys.base_prefix}); Whoosh "
            f"{'.'.join(map(str, whoosh.__version__))}; SQLite {sqlite3.sqlite_version}")


def fmt_ms(x):
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


def report(res: dict, args, corpus_files: int, corpus_mb: float) -> str:
    names = res.get("names", ENGINE_NAMES)
    lines = [f"Corpus: {corpus_files:,} generated files ({corpus_mb:,.0f} MB), `{' '.join(args.command)}`",
             f"Machine: {res['machine']}; run {res['when']} (load average before the run "
             f"{res['load']}).", "",
             "| engine | index s | docs/s | peak RSS | index size | p50 ms | p95 ms | p99 ms "
             "| p50 +snippets | p95 +snippets | p99 +snippets | p50 +snip+facets | p95 +snip+facets "
             "| phrase p50 | cold process s |",
             "|---|" + "---:|" * 14]
    for e in args.engines:
        r = res["engines"][e]
        b, qd = r["build"], r["query"]

        def cell(mode, p):
            return fmt_ms(qd[mode][p]) if mode in qd else "—"  # noqa: B023 (called in the loop)

        lines.append(
            f"| {names[e]} | {b['seconds']:.1f} | {b['docs'] / b['seconds']:,.0f} | "
            f"{b['peak_rss'] / 2**20:,.0f} MB | {b['size'] / 2**20:,.0f} MB | "
            f"{cell('plain', 'p50')} | {cell('plain', 'p95')} | {cell('plain', 'p99')} | "
            f"{cell('snippets', 'p50')} | {cell('snippets', 'p95')} | {cell('snippets', 'p99')} | "
            f"{cell('facets', 'p50')} | {cell('facets', 'p95')} | "
            f"{fmt_ms(qd['plain']['by_kind_p50']['phrase']) if 'phrase' in qd['plain']['by_kind_p50'] else '—'} | "
            f"{r['cold']['median']:.2f} |")
    for e, why in res.get("skipped", {}).items():
        lines.append(f"| {names.get(e, e)} | not installed: {why} |" + " |" * 13)
    for base in [b for b in ("mqt", "mqt-exec") if b in args.engines]:
        m = res["engines"][base]
        lines += ["", f"Ratios ({names[base]} against each other engine, same run; below 1 is it "
                      f"faster):", ""]
        for e in args.engines:
            if e in ("mqt", "mqt-exec"):
                continue
            o = res["engines"][e]
            mq, oq = m["query"], o["query"]
            speed = (m["build"]["docs"] / m["build"]["seconds"]) / (o["build"]["docs"] / o["build"]["seconds"])
            facets = (f"facets on: p95 {mq['facets']['p95'] / oq['facets']['p95']:.2f}×" if "facets" in oq
                      else f"facets on vs its snippets p95: {mq['facets']['p95'] / oq['snippets']['p95']:.2f}×")
            phrase = ""
            mk, ok = mq["plain"]["by_kind_p50"], oq["plain"]["by_kind_p50"]
            if "phrase" in mk and "phrase" in ok:
                phrase = f"; phrase p50 {mk['phrase'] / ok['phrase']:.2f}×"
            lines.append(
                f"- vs {names[e]}: indexing {speed:.2f}× the throughput; without snippets p50 "
                f"{mq['plain']['p50'] / oq['plain']['p50']:.2f}× and p95 "
                f"{mq['plain']['p95'] / oq['plain']['p95']:.2f}×; with snippets p50 "
                f"{mq['snippets']['p50'] / oq['snippets']['p50']:.2f}× and p95 "
                f"{mq['snippets']['p95'] / oq['snippets']['p95']:.2f}× the latency ({facets}){phrase}; "
                f"cold process {m['cold']['median'] / o['cold']['median']:.2f}× the time.")
    if "mqt" in args.engines:
        m = res["engines"]["mqt"]
        for mode, label in (("plain", "without snippets"), ("snippets", "with snippets")):
            kinds = m["query"][mode]["by_kind_p50"]
            lines += ["", f"p50 ms {label} by query kind: " + "; ".join(
                f"{k} " + " / ".join(f"{fmt_ms(res['engines'][e]['query'][mode]['by_kind_p50'][k])}"
                                      for e in args.engines) for k in kinds)
                      + f" ({' / '.join(names[e] for e in args.engines)})."]
        rx = res.get("reindex")
        if rx:
            lines += ["", f"mqt reindex: nothing changed {rx['noop']:.2f} s; "
                          f"{rx['changed_files']:,} files (1%) changed {rx['changed_1pct']:.2f} s."]
        elif rx is None:
            lines += ["", "mqt reindex: not measured (`index_data.reindex` is not in this build)."]
        elif rx == {}:
            lines += ["", "mqt reindex: not measured (`--no-reindex`)."]
    return "\n".join(lines) + "\n"


def index_report(res: dict, args, corpus_files: int, corpus_mb: float) -> str:
    """The ``--index-only`` table: build figures per engine and mqt's throughput ratio."""
    lines = [f"Corpus: {corpus_files:,} generated files ({corpus_mb:,.0f} MB), `{' '.join(args.command)}`",
             f"Machine: {res['machine']}; run {res['when']} (load average before the run "
             f"{res['load']}).", "",
             "| engine | index s | docs/s | CPU s | CPU ms/doc | peak RSS | index size | segments |",
             "|---|" + "---:|" * 7]
    for e in args.engines:
        b = res["engines"][e]["build"]
        segs = b.get("segments")
        lines.append(f"| {res.get('names', ENGINE_NAMES)[e]} | {b['seconds']:.1f} | {b['docs'] / b['seconds']:,.0f} | "
                     f"{b['cpu']:.1f} | {b['cpu'] / b['docs'] * 1000:.2f} | "
                     f"{b['peak_rss'] / 2**20:,.0f} MB | {b['size'] / 2**20:,.0f} MB | "
                     f"{segs if segs is not None else '—'} |")
    if "mqt" in args.engines:
        m = res["engines"]["mqt"]["build"]
        lines.append("")
        for e in args.engines:
            if e != "mqt":
                o = res["engines"][e]["build"]
                lines.append(f"- mqt vs {res.get('names', ENGINE_NAMES)[e]}: indexing "
                             f"{(m['docs'] / m['seconds']) / (o['docs'] / o['seconds']):.2f}× the "
                             f"throughput, {o['cpu'] / o['docs'] / (m['cpu'] / m['docs']):.2f}× less "
                             f"CPU time per document.")
    return "\n".join(lines) + "\n"


def segment_count(index_dir) -> int | None:
    """How many Whoosh segments an index holds (None when it is not a Whoosh index)."""
    from whoosh.filedb.filestore import FileStorage

    if not any(Path(index_dir).glob("_MAIN_*.toc")):
        return None
    return len(FileStorage(str(index_dir), supports_mmap=False).open_index("MAIN")._segments())


def write_results(path: Path, table: str) -> None:
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    text = path.read_text("utf-8") if path.exists() else f"# Benchmark results\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    a, b = text.index(start) + len(start), text.index(end)
    path.write_text(text[:a] + "\n" + table + text[b:], "utf-8")


def setup_peers(args, work: Path) -> dict[str, str]:
    """Check the optional peers of ``args.engines``: drop those not installed (returned as
    engine -> why), compile the Lucene driver, and name each with its version."""
    skipped = {}
    for e in list(args.engines):
        if e == "tantivy":
            import importlib.metadata
            import importlib.util

            if importlib.util.find_spec("tantivy") is None:
                skipped[e] = "`pip install tantivy` (in the bench extra)"
            else:
                ENGINE_NAMES[e] = f"tantivy {importlib.metadata.version('tantivy')}"
        elif e == "lucene":
            jars = lucene_jars(args.lucene_jars)
            if isinstance(jars, str):
                skipped[e] = jars
            else:
                os.environ[LUCENE_CP_ENV] = compile_lucene(jars, work / "lucene-classes")
                ENGINE_NAMES[e] = f"Lucene {lucene_version(jars)}"
    for e, why in skipped.items():
        print(f"[{e}] not installed ({why}): skipped", file=sys.stderr)
        args.engines.remove(e)
    return skipped


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        child(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus_dir", type=Path)
    ap.add_argument("--work", type=Path, default=None,
                    help="where indexes are built (default: a temporary folder, removed afterwards)")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                    help=f"comma-separated, of {','.join(ENGINES)} (default {','.join(DEFAULT_ENGINES)})")
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="mqt indexing processes")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--cold-runs", type=int, default=7)
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md",
                    help="markdown file whose table is replaced (- for stdout only)")
    ap.add_argument("--no-reindex", action="store_true",
                    help="skip mqt's reindex timing (it rewrites 1%% of the corpus files for a while)")
    ap.add_argument("--lucene-jars", type=Path, default=Path(os.environ.get("LUCENE_JARS", "/usr/share/java")),
                    help="folder of Lucene 8's jars (default $LUCENE_JARS or /usr/share/java)")
    ap.add_argument("--index-only", action="store_true",
                    help="only build the indexes (docs/s, peak memory, size): no queries, cold "
                         "processes or reindex; the table is printed, RESULTS.md is left alone")
    args = ap.parse_args(argv)
    args.engines = [e for e in args.engines.split(",") if e]
    args.command = ["python", "benchmarks/bench.py", *argv]
    bad = [e for e in args.engines if e not in ENGINES]
    if bad:
        ap.error(f"unknown engine(s): {', '.join(bad)}")

    work = args.work or Path(tempfile.mkdtemp(prefix="mqt-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    skipped = setup_peers(args, work)
    res = dict(machine=machine(), when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               load=" ".join(f"{x:.2f}" for x in os.getloadavg()), engines={},
               names=dict(ENGINE_NAMES), skipped=skipped)
    files = [p for p in args.corpus_dir.rglob("*.txt")]
    corpus_mb = sum(p.stat().st_size for p in files) / 1e6
    if args.index_only:
        queries, texts = [], []
        args.results = Path("-")
    else:
        queries = make_queries(args.corpus_dir, args.queries)
        qfile = work / "queries.json"
        qfile.write_text(json.dumps(queries))
        jit_file = work / "jit-queries.json"  # another set, to warm a JIT (see run_queries)
        jit_file.write_text(json.dumps(make_queries(args.corpus_dir, args.queries, seed=6)))
        texts = [" ".join(q["words"]) for q in queries if q["kind"] == "several"][:5]
    try:
        for e in args.engines:
            index_dir = work / f"index-{e}"
            shutil.rmtree(index_dir, ignore_errors=True)
            print(f"[{e}] indexing {len(files):,} files ...", file=sys.stderr, flush=True)
            b, _, peak = run_child(["build", e, str(args.corpus_dir), str(index_dir), str(args.procs)])
            b.update(peak_rss=peak, size=dir_size(index_dir), segments=segment_count(index_dir))
            print(f"[{e}] {b['docs']:,} docs in {b['seconds']:.1f} s ({b['docs'] / b['seconds']:,.0f}/s), "
                  f"peak RSS {peak / 2**20:,.0f} MB, {b['size'] / 2**20:,.0f} MB on disk", file=sys.stderr)
            if args.index_only:
                res["engines"][e] = dict(build=b)
                continue
            print(f"[{e}] {len(queries)} queries ...", file=sys.stderr, flush=True)
            qres, _, _ = run_child(["query", e, str(index_dir), str(qfile), str(jit_file)])
            for mode, r in qres.items():
                print(f"[{e}] {mode:9} p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms",
                      file=sys.stderr)
            cold = cold_runs(e, index_dir, texts, args.cold_runs)
            print(f"[{e}] cold process median {cold['median']:.2f} s", file=sys.stderr)
            res["engines"][e] = dict(build=b, query=qres, cold=cold)
        if "mqt" in args.engines and not args.index_only:
            res["reindex"] = {} if args.no_reindex else reindex_times(args.corpus_dir, work / "index-mqt")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    table = (index_report if args.index_only else report)(res, args, len(files), corpus_mb)
    print(table)
    (work if args.work else HERE).mkdir(exist_ok=True)
    if str(args.results) != "-":
        write_results(args.results, table)
        json_path = args.results.with_suffix(".json")
        json_path.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.results} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
