"""Latency of long, pasted questions (the "has this been asked before?" use), with and without
neighbour smoothing, alternating so both see the same machine load.

The queries are the first ``--words`` words of the question text of ``--count`` files drawn (seeded)
from the corpus the index was built from; each runs through ``Searcher.search`` with the CLI's
defaults (top 10, snippets and facets on), after one unmeasured run that decodes the words' posting
lists (so both runs find them in the cache, as in a running service), in alternating order.

    python benchmarks/long_queries.py /tmp/mqt-100k --index /tmp/bench/index-mqt
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pasted_questions(corpus_dir: Path, count: int, words: int, seed: int = 7) -> list[str]:
    from index_data.corpus import iter_corpus, parse_file

    files = sorted(f.path for f in iter_corpus(corpus_dir))
    picked = random.Random(seed).sample(files, min(count, len(files)))
    return [" ".join(parse_file(p).question.split()[:words]) for p in picked]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--words", type=int, default=30)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench import percentiles
    from searcher import Searcher

    queries = pasted_questions(args.corpus, args.count, args.words)
    times: dict[bool, list[float]] = {True: [], False: []}
    with Searcher(args.index) as s:
        for i, q in enumerate(queries):
            s.search(q)  # first run decodes the words' posting lists: measure both runs warm
            for smooth in ((True, False) if i % 2 else (False, True)):
                t = time.perf_counter()
                s.search(q, neighbours=smooth)
                times[smooth].append((time.perf_counter() - t) * 1000)
    print("| long queries | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for smooth, label in ((True, "neighbour smoothing (default)"), (False, "neighbours=False")):
        p = percentiles(times[smooth])
        print(f"| {label} | {p['p50']:.1f} | {p['p95']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
