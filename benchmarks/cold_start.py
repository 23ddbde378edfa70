"""Where a cold ``mqt search`` process spends its time, beside SQLite FTS5's cold query.

Prints two tables for an index pair built by ``bench.py --work DIR``:

1. whole processes (median of ``--runs``, taken in turn so load hits all alike): bare Python,
   Python importing each library mqt needs, ``import searcher.cli``, ``mqt search`` and the
   FTS5 script ``bench.py`` times;
2. the phases of one ``mqt search`` inside a process: imports, opening the index, the query
   (with snippets), formatting;
3. with ``--kinds``, a cold ``mqt search`` per kind of query (a word the index knows, one it
   does not, a prefix, ``OR``, a fuzzy word), each against the known-word query: none may pay
   for importing NLTK (issue 12: at most 1.2x the known-word process).

Usage::

    python benchmarks/cold_start.py --work /tmp/bench-100k "housing policing"

Bytecode is allowed (``PYTHONDONTWRITEBYTECODE`` dropped) and one unmeasured round runs first, as
in ``bench.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import cold_command, cold_env  # noqa: E402

IMPORTS = [
    ("python -c pass", "pass"),
    ("+ import sqlite3", "import sqlite3"),
    ("+ import click", "import click"),
    ("+ import numpy", "import numpy"),
    ("+ import whoosh (index, fields, W3 codec: what opening an index needs)",
     "import whoosh.index, whoosh.fields, whoosh.codec.whoosh3"),
    ("+ numpy, click and whoosh", "import numpy, click, whoosh.index, whoosh.fields, whoosh.codec.whoosh3"),
    ("+ import searcher.cli, searcher.search, searcher.display (what `mqt search` imports)",
     "import searcher.cli, searcher.search, searcher.display"),
]

PHASES = """
import sys, time, json
t0 = time.perf_counter()
import searcher.cli, searcher.search, searcher.display
t1 = time.perf_counter()
s = searcher.search.Searcher(sys.argv[1])
t2 = time.perf_counter()
page = s.search(sys.argv[2], limit=10, facets=False)  # as `mqt search` without --facets
t3 = time.perf_counter()
text = searcher.display.format_page(page, searcher.display.Style(False))
t4 = time.perf_counter()
print(json.dumps(dict(imports=t1 - t0, open=t2 - t1, search=t3 - t2, format=t4 - t3)))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("query", nargs="?", default="housing policing")
    ap.add_argument("--work", type=Path, required=True,
                    help="a bench.py work folder holding index-mqt and index-fts5")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--kinds", action="store_true",
                    help="only time a cold `mqt search` per kind of query (table 3)")
    args = ap.parse_args()
    if args.kinds:
        return query_kinds(args.work / "index-mqt", args.runs)
    py = sys.executable
    env = cold_env()
    cmds = {label: [py, "-c", code] for label, code in IMPORTS}
    cmds["mqt search (whole process)"] = cold_command("mqt", args.work / "index-mqt", args.query)
    cmds["SQLite FTS5 cold query (bench.py's script)"] = cold_command("fts5", args.work / "index-fts5",
                                                                      args.query)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    phases: list[dict] = []
    for k in range(args.runs + 1):
        for label, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                           env=env, cwd=HERE.parent)
            if k:
                times[label].append(time.perf_counter() - t)
        out = subprocess.run([py, "-c", PHASES, str(args.work / "index-mqt"), args.query], env=env,
                             capture_output=True, text=True, check=True, cwd=HERE.parent)
        if k:
            phases.append(json.loads(out.stdout))
    print(f"Cold processes, query {args.query!r}, median of {args.runs} runs "
          f"(load average {os.getloadavg()[0]:.2f} at the end):\n")
    print("| process | median ms | min ms |\n|---|---:|---:|")
    for label, ts in times.items():
        print(f"| {label} | {statistics.median(ts) * 1000:.1f} | {min(ts) * 1000:.1f} |")
    print("\nInside one `mqt search` process (median ms):\n")
    print("| imports | open the index | search, top 10 with snippets | format |\n|---:|---:|---:|---:|")
    med = {k: statistics.median(p[k] for p in phases) * 1000 for k in phases[0]}
    print(f"| {med['imports']:.1f} | {med['open']:.1f} | {med['search']:.1f} | {med['format']:.1f} |")


#: Table 3: a query of each kind; the first is the reference (words the index knows).
KINDS = [
    ("known words", "housing policing"),
    ("a word the index does not know", "housing zeppelinz"),
    ("a prefix", "hous*"),
    ("OR", "housing OR policing"),
    ("a fuzzy word", "polise~"),
    ("a misspelt word (did you mean)", "afordable housing"),
]


def query_kinds(index_dir: Path, runs: int) -> None:
    """Cold `mqt search` per kind of query, taken in turn (median of ``runs``)."""
    env = cold_env()
    times: dict[str, list[float]] = {label: [] for label, _ in KINDS}
    for k in range(runs + 1):
        for label, text in KINDS:
            t = time.perf_counter()
            subprocess.run(cold_command("mqt", index_dir, text), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True, env=env, cwd=HERE.parent)
            if k:
                times[label].append(time.perf_counter() - t)
    base = statistics.median(times[KINDS[0][0]])
    print(f"Cold `mqt search` by kind of query, {index_dir}, median of {runs} runs "
          f"(load average {os.getloadavg()[0]:.2f} at the end):\n")
    print("| query | median ms | min ms | vs known words |\n|---|---:|---:|---:|")
    for label, text in KINDS:
        ts = times[label]
        print(f"| {label}: `{text}` | {statistics.median(ts) * 1000:.1f} | {min(ts) * 1000:.1f} "
              f"| {statistics.median(ts) / base:.2f}x |")


if __name__ == "__main__":
    main()
