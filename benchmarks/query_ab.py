"""Query latency of two mqt checkouts and the peers, interleaved, on indexes already built in a
``bench.py --work`` folder: nothing is built or written there (``bench.py`` itself rebuilds
every index it is given).

Each round runs ``bench.py``'s own query child (``bench.py _child query ENGINE INDEX
queries.json jit-queries.json``: 300 queries, every mode, after a warm-up) once for each entry
of ``--order``, each in a fresh process; an ``mqt`` entry names the checkout whose Python and
code answer (``mqt@DIR``: ``DIR/.venv/bin/python DIR/benchmarks/bench.py``). The load average
is printed beside every figure: on a shared machine compare rounds, not single runs.

    python benchmarks/query_ab.py /work/data/bench-cur --order mqt@/work/main,mqt@.,fts5,lucene \\
        --rounds 3 --json /tmp/ab.json

A checkout whose posting stores are of another version than the others' (it would answer
``WORK/index-mqt`` without them) reads its own copy of the index, its stores rewritten by it:
``--mqt-index .=/tmp/ab/index-mqt``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import LUCENE_CP_ENV, lucene_jars  # noqa: E402


def run_one(entry: str, work: Path, lucene_cp: str | None, indexes: dict[Path, Path] | None = None) -> dict:
    """One query child's figures for ``entry`` (``ENGINE`` or ``mqt@CHECKOUT``); ``indexes``:
    the index a checkout reads instead of ``WORK/index-ENGINE``."""
    engine, _, checkout = entry.partition("@")
    root = Path(checkout).resolve() if checkout else HERE.parent
    index = (indexes or {}).get(root) if checkout else None
    python = root / ".venv" / "bin" / "python"
    env = dict(os.environ)
    if lucene_cp:
        env[LUCENE_CP_ENV] = lucene_cp
    out = subprocess.run([str(python if python.exists() else sys.executable),
                          str(root / "benchmarks" / "bench.py"), "_child", "query", engine,
                          str(index or work / f"index-{engine}"), str(work / "queries.json"),
                          str(work / "jit-queries.json")],
                         cwd=root, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", type=Path, help="a bench.py --work folder with the indexes built")
    ap.add_argument("--order", default="mqt,fts5,lucene",
                    help="comma-separated entries per round: ENGINE or mqt@CHECKOUT")
    ap.add_argument("--rounds", type=int, default=2, help="rounds; every other one runs backwards")
    ap.add_argument("--json", type=Path, default=None, help="write every run's figures here")
    ap.add_argument("--mqt-index", action="append", default=[], metavar="CHECKOUT=INDEX",
                    help="the index an mqt checkout reads instead of WORK/index-mqt (stores of "
                         "another version); repeatable")
    args = ap.parse_args(argv)
    indexes = {}
    for spec in args.mqt_index:
        checkout, sep, index = spec.partition("=")
        if not sep:
            raise SystemExit(f"--mqt-index {spec!r}: CHECKOUT=INDEX")
        indexes[Path(checkout).resolve()] = Path(index).resolve()
    order = [e for e in args.order.split(",") if e]
    lucene_cp = None
    if any(e.startswith("lucene") for e in order):
        jars = lucene_jars(Path(os.environ.get("LUCENE_JARS", "/usr/share/java")))
        if isinstance(jars, str):
            raise SystemExit(jars)
        if not (args.work / "lucene-classes" / "LuceneBench.class").exists():
            raise SystemExit(f"no compiled LuceneBench in {args.work / 'lucene-classes'} (run bench.py once)")
        lucene_cp = os.pathsep.join([str(args.work / "lucene-classes")] + [str(j) for j in jars])
    runs = []
    for r in range(args.rounds):
        for entry in (order if r % 2 == 0 else order[::-1]):
            load = os.getloadavg()
            res = run_one(entry, args.work, lucene_cp, indexes)
            runs.append(dict(round=r, entry=entry, load=load, query=res))
            cells = [f"{m} p50 {res[m]['p50']:.2f} p95 {res[m]['p95']:.2f}" for m in res]
            print(f"round {r} {entry:24} load {load[0]:.2f} | " + " | ".join(cells)
                  + f" | phrase p50 {res['plain']['by_kind_p50']['phrase']:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
