"""A cold process answering one query with snippets and facets: ``mqt search --facets`` (through
the posting stores), beside the same search without them (the executor alone: mqt before
issue 15), and where the product's process's time goes.

    python benchmarks/blockmax_cold.py --index /tmp/bench/index-mqt "housing policing"

Runs alternate between the two (median of ``--runs``, after one unmeasured round; bytecode
allowed, as in ``bench.py``). The stores must exist (``mqt index`` or ``mqt reindex`` writes
them). ``--against OTHER/bin/mqt`` times another install's ``mqt search --facets`` in the same
rounds (a before/after in one run: another branch's checkout installed in its own venv).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import cold_command, cold_env  # noqa: E402

PHASES = """
import sys, time, json
t0 = time.perf_counter()
import searcher.cli, searcher.display
from searcher import Searcher
t1 = time.perf_counter()
s = Searcher(sys.argv[1])
s.engine.use_stores = sys.argv[3] == "stores"
fast = s.engine.snapshot().fast()
assert (fast is not None) == s.engine.use_stores, "no usable stores"
t2 = time.perf_counter()
page = s.search(sys.argv[2], limit=10, facets=True)
t3 = time.perf_counter()
text = searcher.display.format_page(page, searcher.display.Style(False), show_facets=True)
t4 = time.perf_counter()
print(text)
if len(sys.argv) > 4:
    print(json.dumps(dict(imports=t1 - t0, open=t2 - t1, search=t3 - t2, format=t4 - t3)), file=sys.stderr)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("query", nargs="?", default="housing policing")
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--against", type=Path, metavar="MQT",
                    help="another install's mqt command, timed in the same rounds")
    args = ap.parse_args()
    env = cold_env()
    cmds = {"mqt search --facets": cold_command("mqt", args.index, args.query) + ["--facets"],
            "same search and output, executor alone (no stores)":
                [sys.executable, "-c", PHASES, str(args.index), args.query, "executor"]}
    if args.against:
        cmds[f"mqt search --facets, {args.against}"] = [str(args.against), "search", args.query, "--index",
                                                        str(args.index), "--facets"]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}  # user + system: steadier on a busy machine
    outputs = {}
    phases = []
    for k in range(args.runs + 1):
        for label, cmd in cmds.items():
            r = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=HERE.parent)
            if k:
                times[label].append(time.perf_counter() - t)
                r2 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[label].append(r2.ru_utime - r.ru_utime + r2.ru_stime - r.ru_stime)
            outputs[label] = out.stdout
        out = subprocess.run([sys.executable, "-c", PHASES, str(args.index), args.query, "stores", "phases"],
                             capture_output=True, text=True, check=True, env=env, cwd=HERE.parent)
        if k:
            phases.append(json.loads(out.stderr.strip().splitlines()[-1]))
    texts = [[line for line in o.splitlines() if not line.endswith(" ms")] for o in outputs.values()]
    same = all(t == texts[0] for t in texts)
    print(f"Cold processes, query {args.query!r}, median of {args.runs} runs (load average "
          f"{os.getloadavg()[0]:.2f} at the end); same output (but the time taken): {same}\n")
    print("| process | median ms | min ms | median CPU ms |\n|---|---:|---:|---:|")
    for label, ts in times.items():
        print(f"| {label} | {statistics.median(ts) * 1000:.1f} | {min(ts) * 1000:.1f} "
              f"| {statistics.median(cpu[label]) * 1000:.1f} |")
    med = {k: statistics.median(p[k] for p in phases) * 1000 for k in phases[0]}
    print("\nInside a process through the stores (median ms):\n")
    print("| imports | open index and stores | search, snippets, facets | format |\n|---:|---:|---:|---:|")
    print(f"| {med['imports']:.1f} | {med['open']:.1f} | {med['search']:.1f} | {med['format']:.1f} |")


if __name__ == "__main__":
    main()
