"""Reindex benchmark: prints the figures issue 3 asks for.

1. no-op `mqt reindex` on a corpus of N files (default 100,000): library call and whole CLI run;
2. applying 1% changes (half rewritten, a quarter added, a quarter deleted);
3. after 100 small reindexes: segment count, disk use and query latency, each beside the same
   index merged into one segment (`--optimize`); latencies are taken alternately on the two so
   the ratio means something on a shared machine.

Usage::

    python benchmarks/reindex_bench.py                       # 100,000 files under /tmp
    python benchmarks/reindex_bench.py --files 5000 --small-runs 20

The corpus is synthetic (seeded, realistic sizes and vocabulary) and written to a temporary folder
that is removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index_data import reindex  # noqa: E402
from searcher import Searcher  # noqa: E402

NBSP = "\u00a0"
VOCAB = ("housing homes affordable rents tenants landlords planning transport buses tube fares "
         "cycling congestion charge ulez air quality pollution police crime knife violence youth "
         "schools libraries parks fire brigade safety tower grenfell budget council tax mayor "
         "assembly strategy funding borough olympic stadium river thames bridge garden crossrail "
         "night economy culture licensing homelessness rough sleeping hospital health nhs carers "
         "business rates skills jobs apprenticeships london plan green belt development").split()
PARTIES = ("Labour Group", "Conservative Group", "Liberal Democrat Group", "Green Party", None)
ASKERS = ("Navin Shah", "Tom Copley", "Caroline Pidgeon", "Sian Berry", "Andrew Boff",
          "Len Duvall", "Susan Hall", "Unmesh Desai", "Caroline Russell", "Keith Prince")
QUERIES = ("housing", "knife crime", '"air quality"', "fares OR congestion", "budget police",
           "homelessness", "tower safety", "cycling -tube")


def question_text(rng: random.Random, n: int) -> str:
    def words(k):
        return " ".join(rng.choice(VOCAB) for _ in range(k))
    title = f"{words(2).title()} ({n})"
    year = rng.randint(2004, 2025)
    party = rng.choice(PARTIES)
    lines = [title, "", f"MQT on {year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
             f"Session date:{NBSP}", f"January {rng.randint(1, 28)}, {year}",
             f"Question By:{NBSP}", rng.choice(ASKERS)] + ([party] if party else []) + \
            [f"Asked Of:{NBSP}", "The Mayor", "", "", f"{words(rng.randint(20, 120))}?"]
    if rng.random() < 0.85:
        lines += ["", "", f"Answer for {title}", "", f"Answer for {title}", "",
                  f"Answered By:{NBSP}", "The Mayor", "", words(rng.randint(40, 400)) + "."]
    return "\n".join(lines)


def generate(corpus: Path, n: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    corpus.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sub = corpus / f"{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(exist_ok=True)
        (sub / f"q{i:07d}.txt").write_text(question_text(rng, i), "utf-8")


def change(corpus: Path, rng: random.Random, n: int, serial: list[int]) -> None:
    """Rewrite n/2 files, add n/4 and delete n/4 (at least one of each)."""
    files = sorted(corpus.rglob("*.txt"))
    half, quarter = max(1, n // 2), max(1, n // 4)
    picked = rng.sample(files, half + quarter)
    for p in picked[:half]:
        p.write_text(question_text(rng, rng.randint(0, 10**7)), "utf-8")
    for p in picked[half:]:
        p.unlink()
    for _ in range(quarter):
        serial[0] += 1
        (corpus / "new").mkdir(exist_ok=True)
        (corpus / "new" / f"n{serial[0]:07d}.txt").write_text(question_text(rng, serial[0]), "utf-8")


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def query_latency(a: Path, b: Path, rounds: int) -> tuple[float, float]:
    """Median milliseconds per query (default search: first page, facets, snippets) on two
    indexes, alternating query by query so that machine noise hits both alike."""
    ta, tb = [], []
    with Searcher(a) as sa, Searcher(b) as sb:
        for q in QUERIES:
            sa.search(q)
            sb.search(q)
        for _ in range(rounds):
            for q in QUERIES:
                for s, times in ((sa, ta), (sb, tb)):
                    t = time.perf_counter()
                    s.search(q)
                    times.append((time.perf_counter() - t) * 1000)
    return statistics.median(ta), statistics.median(tb)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--small-runs", type=int, default=100)
    ap.add_argument("--small-change", type=int, default=8, help="files changed per small run")
    ap.add_argument("--query-rounds", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--reuse", action="store_true",
                    help="use the corpus and index already in --workdir (skip generating/building)")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mqt-reindex-bench-"))
    corpus, index = work / "corpus", work / "index"
    rng = random.Random(7)
    serial = [10**6]
    try:
        if args.reuse:
            serial[0] = max([int(p.stem[1:]) for p in (corpus / "new").glob("n*.txt")] + serial)
            r = reindex(corpus, index)
            args.files = r.added + r.updated + r.unchanged
            print(f"reusing {work}: {args.files:,} documents ({r.summary()})")
        else:
            secs, _ = timed(lambda: generate(corpus, args.files))
            print(f"corpus: {args.files:,} files, {du(corpus) / 1e6:.0f} MB, generated in {secs:.1f} s")
            secs, r = timed(lambda: reindex(corpus, index))
            print(f"initial build (mqt reindex, no index yet): {secs:.1f} s, {r.added:,} documents, "
                  f"index {du(index) / 1e6:.0f} MB")

        noop = []
        for _ in range(3):
            secs, r = timed(lambda: reindex(corpus, index))
            assert not r.changed and r.files_read == 0, r.summary()
            noop.append(secs)
        cli = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "searcher.cli", "reindex", str(corpus),
                            "--index", str(index)], cwd=ROOT, check=True, capture_output=True)
            cli.append(time.perf_counter() - t)
        print(f"no-op reindex of {args.files:,} files: library {statistics.median(noop):.2f} s, "
              f"whole CLI run {statistics.median(cli):.2f} s (median of 3; 0 files read)")

        n = args.files // 100
        change(corpus, rng, n, serial)
        secs, r = timed(lambda: reindex(corpus, index))
        print(f"1% changes ({n:,} files): {secs:.2f} s -> {r.added:,} added, {r.updated:,} updated, "
              f"{r.deleted:,} deleted, {r.unchanged:,} unchanged, {r.files_read:,} read; "
              f"{r.segments} segments")

        if not args.small_runs:
            return
        segs, run_secs = [], []
        for _ in range(args.small_runs):
            change(corpus, rng, args.small_change, serial)
            secs, r = timed(lambda: reindex(corpus, index))
            segs.append(r.segments)
            run_secs.append(secs)
        size_after = du(index)
        opt = work / "optimized"
        shutil.rmtree(opt, ignore_errors=True)
        shutil.copytree(index, opt)
        reindex(corpus, opt, optimize=True)
        after_ms, opt_ms = query_latency(index, opt, args.query_rounds)
        print(f"{args.small_runs} small reindexes ({args.small_change} files changed each): "
              f"median {statistics.median(run_secs):.2f} s per run; segments after each run: "
              f"max {max(segs)}, last {segs[-1]}")
        print(f"  query latency (median of {len(QUERIES)} queries x {args.query_rounds}, alternating): "
              f"{after_ms:.1f} ms after the runs vs {opt_ms:.1f} ms for the same documents in one "
              f"segment ({after_ms / opt_ms:.2f}x)")
        print(f"  disk: {size_after / 1e6:.1f} MB after the runs vs {du(opt) / 1e6:.1f} MB optimized "
              f"({size_after / du(opt):.2f}x)")
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
