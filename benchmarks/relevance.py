"""Relevance benchmark: mqt's default ranking on the Cranfield collection.

Converts each Cranfield record into a question file in the corpus format (title from ``.T``, asker
from the first author, the abstract as question text, no answer section), indexes the folder with
the normal ``index_data`` pipeline, runs all 225 queries through the normal ``Searcher.search``
(default settings, query text as pasted) and prints MAP (top 1000), nDCG@10 (graded gain
``5 - code``), P@10 and R@100, computed by ``ir-measures``.

Run from the repository root (``pip install -e '.[bench]'`` first)::

    python benchmarks/relevance.py                   # figures for the default settings
    python benchmarks/relevance.py --option feedback=true    # a Searcher.search keyword
    python benchmarks/relevance.py --set bm25.k1=1.5         # a ranking setting (ablation)
    python benchmarks/relevance.py --set bm25.field_weights.title=1 --set neighbours.depth=200
    python benchmarks/relevance.py --halves          # also odd- and even-numbered queries apart
    python benchmarks/relevance.py --option neighbours=false  # without neighbour smoothing

``--option`` passes a keyword argument to ``Searcher.search``; ``--set`` changes one setting of
the ``searcher.ranking.Ranking`` the run's Searcher is given, named by its dotted path
(``Ranking.with_settings``). ``--halves`` adds the figures over odd- and even-numbered queries,
to tell a general gain (both halves move) from a fit to a few queries.
The query numbering pitfall: ``.I`` labels in ``cran.qry`` are not the judgment numbers; a query's
number is its position in the file, 1..225.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "cranfield"
WORK = ROOT / "benchmarks" / "work" / "cranfield"
NBSP = "\u00a0"

#: Every converted record gets the same plausible meeting and dates (the corpus format needs them).
MEETING, MEETING_DATE, SESSION_DATE = "MQT", "2019-01-17", "January 17, 2019"
ASKED_OF = "The Mayor"


@dataclass(frozen=True)
class Record:
    number: int
    title: str
    authors: str
    abstract: str


def _tagged(text: str) -> list[dict[str, str]]:
    """Split a Cranfield file into records: ``{"I": "12", "T": "...", "W": "..."}``."""
    records: list[dict[str, str]] = []
    tag = None
    for line in text.splitlines():
        m = re.match(r"^\.([ITABW])\b\s*(.*)$", line)
        if m:
            tag = m[1]
            if tag == "I":
                records.append({"I": m[2].strip()})
            else:
                records[-1].setdefault(tag, "")
                if m[2].strip():
                    records[-1][tag] += m[2] + "\n"
        elif tag and records:
            records[-1][tag] = records[-1].get(tag, "") + line + "\n"
    return records


def read_documents(path: Path = DATA / "cran.all.1400") -> list[Record]:
    out = []
    for r in _tagged(path.read_text("utf-8")):
        out.append(Record(int(r["I"]), " ".join(r.get("T", "").split()),
                          r.get("A", "").strip(), r.get("W", "").strip()))
    return out


def read_queries(path: Path = DATA / "cran.qry") -> list[tuple[str, str]]:
    """``(query_number, text)``: the number is the position in the file, not the ``.I`` label."""
    return [(str(n), " ".join(r.get("W", "").split()))
            for n, r in enumerate(_tagged(path.read_text("utf-8")), 1)]


def read_qrels(path: Path = DATA / "cranqrel"):
    """Judgments as ir-measures qrels: codes 1..4 are relevant with gain ``5 - code``; -1 is 0."""
    import ir_measures

    out = []
    for line in path.read_text("utf-8").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        q, d, code = parts[0], parts[1], int(parts[2])
        out.append(ir_measures.Qrel(q, doc_name(int(d)), 5 - code if 1 <= code <= 4 else 0))
    return out


def doc_name(number: int) -> str:
    return f"cran_{number:04d}"


def _first_author(authors: str) -> str:
    first = authors.split(" and ")[0].split(";")[0].strip().rstrip(",")
    if not first:
        return "Unknown author"
    # "brenckman,m." -> "M. Brenckman"
    surname, _, initials = first.partition(",")
    name = f"{initials.strip()} {surname.strip()}".strip()
    return " ".join(w.capitalize() if w.isalpha() else w.upper() for w in name.split())


def question_file_text(rec: Record) -> str:
    """One record in the exact corpus format (labels end in a no-break space; no answer section)."""
    title = rec.title or f"Cranfield document {rec.number}"
    body = rec.abstract or title
    lines = [title, "", f"{MEETING} on {MEETING_DATE}", f"Session date:{NBSP}", SESSION_DATE,
             f"Question By:{NBSP}", _first_author(rec.authors), f"Asked Of:{NBSP}", ASKED_OF, "", "",
             body]
    return "\n".join(lines) + "\n"


def write_corpus(records: list[Record], corpus_dir: Path) -> None:
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for rec in records:
        (corpus_dir / f"{doc_name(rec.number)}.txt").write_text(question_file_text(rec), "utf-8")


def build(work: Path = WORK, rebuild: bool = False) -> Path:
    """Convert and index the collection under ``work``; reuse an index of the current schema."""
    from index_data import build_index
    from index_data.errors import MqtError
    from index_data.meta import check_index

    index_dir = work / "index"
    if not rebuild:
        try:
            check_index(index_dir)
            return index_dir
        except MqtError:
            pass
    corpus = work / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    write_corpus(read_documents(), corpus)
    report = build_index(corpus, index_dir)
    if report.rejected or report.indexed != 1400:
        raise SystemExit(f"conversion problem: indexed {report.indexed}, rejected {report.rejected[:3]}")
    return index_dir


def run_queries(index_dir: Path, queries, ranking=None, **options) -> tuple[list, list[float]]:
    """Run every query through ``Searcher.search`` (top 1000) with ``ranking`` (a
    ``searcher.ranking.Ranking``, default the product's); returns ir-measures run and latencies."""
    import ir_measures

    from searcher import Searcher

    run, took = [], []
    with Searcher(index_dir, ranking=ranking) as s:
        for qid, text in queries:
            t0 = time.perf_counter()
            page = s.search(text, limit=1000, facets=False, snippets=False, suggest=False, **options)
            ranked = [(h.id, h.score) for h in page.hits]
            took.append((time.perf_counter() - t0) * 1000)
            run += [ir_measures.ScoredDoc(qid, doc, float(-i)) for i, (doc, _) in enumerate(ranked)]
    return run, took


MEASURES = ("AP@1000", "nDCG@10", "P@10", "R@100")


def evaluate(run, qrels=None, select=None) -> dict[str, float]:
    """MAP (top 1000), nDCG@10, P@10, R@100 averaged over all 225 queries (no hit counts as 0);
    ``select(query_number)`` limits the average to some of them (``--halves``)."""
    import ir_measures

    qrels = read_qrels() if qrels is None else qrels
    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    per_query = {str(m): {} for m in measures}
    for r in ir_measures.iter_calc(measures, qrels, run):
        per_query[str(r.measure)][r.query_id] = r.value
    qids = [q for q in {q.query_id for q in qrels} if select is None or select(int(q))]
    return {name: sum(v.get(q, 0.0) for q in qids) / len(qids) for name, v in per_query.items()}


def measure(work: Path = WORK, rebuild: bool = False, ranking=None, **options) -> dict:
    index_dir = build(work, rebuild)
    run, took = run_queries(index_dir, read_queries(), ranking, **options)
    qrels = read_qrels()
    return dict(figures=evaluate(run, qrels),
                odd=evaluate(run, qrels, select=lambda n: n % 2 == 1),
                even=evaluate(run, qrels, select=lambda n: n % 2 == 0),
                median_ms=statistics.median(took),
                p95_ms=sorted(took)[int(len(took) * 0.95) - 1], total_s=sum(took) / 1000)


def _value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=WORK, help="where the converted corpus and index go")
    ap.add_argument("--rebuild", action="store_true", help="convert and index again")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="keyword argument for Searcher.search (repeatable)")
    ap.add_argument("--set", dest="settings", action="append", default=[], metavar="PATH=VALUE",
                    help="change a setting of searcher.ranking.Ranking for this run, by its dotted "
                         "path, e.g. bm25.k1=1.5 (repeatable)")
    ap.add_argument("--halves", action="store_true",
                    help="also print the figures over odd- and even-numbered queries")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from searcher.ranking import Ranking

    changes = {}
    for s in args.settings:
        name, _, value = s.partition("=")
        changes[name] = _value(value)
    try:
        ranking = Ranking().with_settings(changes)
    except ValueError as e:
        ap.error(str(e))
    options = {}
    for o in args.option:
        name, _, value = o.partition("=")
        options[name] = _value(value)
    result = measure(args.work, args.rebuild, ranking, **options)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    rows = [("mqt", result["figures"])]
    if args.halves:
        rows += [("odd-numbered queries", result["odd"]), ("even-numbered queries", result["even"])]
    print("| engine | MAP | nDCG@10 | P@10 | R@100 |")
    print("|---|---:|---:|---:|---:|")
    for name, f in rows:
        print(f"| {name} | {f['AP@1000']:.3f} | {f['nDCG@10']:.3f} | {f['P@10']:.3f} | {f['R@100']:.3f} |")
    print(f"latency per query (top 1000, no snippets): median {result['median_ms']:.1f} ms, "
          f"p95 {result['p95_ms']:.1f} ms; all 225 in {result['total_s']:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
