"""The fast path (posting stores + window-max top-k: the product's default) against the executor
alone (mqt before issue 15), in one process, on bench.py's query set: library-level latency,
same results checked query by query.

    python benchmarks/blockmax_bench.py /tmp/mqt-100k --index /tmp/bench/index-mqt
    python benchmarks/blockmax_bench.py /tmp/mqt-100k --index DIR --profile snippets

Each query runs both ways in turn (alternating which goes first), after a warm-up of 20, so
load on a shared machine hits both alike. The stores are built first where missing or of
another window size (``poststore.ensure_stores``; the time is printed: ``mqt index`` and
``mqt reindex`` write them).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import MODES, fmt_ms, make_queries, mqt_text, percentiles  # noqa: E402


def run(s, q, mode):
    return s.search(mqt_text(q), limit=10, party=q["party"], date_from=q["date_from"],
                    date_to=q["date_to"], sort=q["sort"] or "relevance",
                    snippets=mode != "plain", facets=mode == "facets")


def same(a, b) -> bool:
    return (a.total == b.total and [(h.id, h.score) for h in a.hits] == [(h.id, h.score) for h in b.hits]
            and a.facets == b.facets and [h.snippets for h in a.hits] == [h.snippets for h in b.hits])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus_dir", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--bits", type=int, default=None, help="window size 2**bits (default: the store's)")
    ap.add_argument("--profile", choices=MODES, help="cProfile the fast path in this mode instead")
    args = ap.parse_args()

    from index_data.engine import poststore
    from searcher import Searcher

    bits = args.bits or poststore.WINDOW_BITS
    queries = make_queries(args.corpus_dir, args.queries)
    old = Searcher(args.index)
    old.engine.use_stores = False
    ws = old.engine.snapshot().whoosh_searcher
    t = time.perf_counter()
    stores = poststore.ensure_stores(args.index, ws, window_bits=bits,
                                     settings=poststore.StoreSettings.of(old.ranking.bm25))
    size = sum(p.stat().st_size for p in (args.index / poststore.DIR).iterdir())
    print(f"stores: {len(stores)} segments, {size / 2**20:,.0f} MB, ready in "
          f"{time.perf_counter() - t:.1f} s (load {os.getloadavg()[0]:.2f})")
    new = Searcher(args.index)
    if new.engine.snapshot().fast() is None:
        raise SystemExit("the stores cannot be used")
    if args.profile:
        for q in queries:  # one-time costs (NLTK for a synonym the index lacks...) out
            run(new, q, args.profile)
        prof = cProfile.Profile()
        prof.enable()
        for q in queries:
            run(new, q, args.profile)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(60)
        return
    print("| mode | executor p50 | executor p95 | stores p50 | stores p95 | executor phrase p50 "
          "| stores phrase p50 |\n|---|---:|---:|---:|---:|---:|---:|")
    by_kind: dict = {}
    for mode in MODES:
        for q in queries[:20]:
            run(old, q, mode)
            run(new, q, mode)
        times = {"old": [], "new": []}
        kinds: dict = {"old": {}, "new": {}}
        bad = []
        for i, q in enumerate(queries):
            order = (("old", old), ("new", new)) if i % 2 else (("new", new), ("old", old))
            pages = {}
            for name, s in order:
                t = time.perf_counter()
                pages[name] = run(s, q, mode)
                ms = (time.perf_counter() - t) * 1000
                times[name].append(ms)
                kinds[name].setdefault(q["kind"], []).append(ms)
            if not same(pages["old"], pages["new"]):
                bad.append(mqt_text(q))
        po, pn = percentiles(times["old"]), percentiles(times["new"])
        ph_o = percentiles(kinds["old"]["phrase"])["p50"]
        ph_n = percentiles(kinds["new"]["phrase"])["p50"]
        print(f"| {mode} | {fmt_ms(po['p50'])} | {fmt_ms(po['p95'])} | {fmt_ms(pn['p50'])} | "
              f"{fmt_ms(pn['p95'])} | {fmt_ms(ph_o)} | {fmt_ms(ph_n)} |")
        by_kind[mode] = {k: (percentiles(kinds["old"][k])["p50"], percentiles(kinds["new"][k])["p50"])
                         for k in kinds["old"]}
        if bad:
            print(f"  DIFFERENT RESULTS in {len(bad)} queries: {bad[:5]}")
    for mode, kinds in by_kind.items():
        print(f"p50 ms by kind, {mode} (executor / stores): " +
              "; ".join(f"{k} {fmt_ms(a)} / {fmt_ms(b)}" for k, (a, b) in kinds.items()))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
