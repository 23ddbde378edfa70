"""bench.py's query set through one checkout's ``Searcher``, timed per query in CPU time
(``time.process_time``) beside wall time: on a machine whose load is far above its cores, wall
time mostly measures waiting for a core, CPU time much less so (caches and shared cores still
slow it). Prints one JSON line: per mode, CPU and wall p50/p95/p99/mean and the phrase
queries' CPU p50.

    python benchmarks/query_cpu.py /work/data/bench-cur            # this checkout's code
    (cd /work/main && .venv/bin/python /work/wt/query/benchmarks/query_cpu.py /work/data/bench-cur)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(Path.cwd()))  # the checkout run from answers (see the example above)

from benchmarks.bench import MODES, mqt_text, percentiles  # noqa: E402
from searcher import Searcher  # noqa: E402


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    work = Path(argv[0])
    queries = json.loads((work / "queries.json").read_text())
    out = {}
    with Searcher(work / "index-mqt") as s:
        def run(q, mode):
            s.search(mqt_text(q), limit=10, party=q["party"], date_from=q["date_from"],
                     date_to=q["date_to"], sort=q["sort"] or "relevance",
                     snippets=mode != "plain", facets=mode == "facets")

        for mode in MODES:
            for q in queries[:20]:
                run(q, mode)
            cpu, wall, phrase = [], [], []
            for q in queries:
                t, w = time.process_time(), time.perf_counter()
                run(q, mode)
                ms = (time.process_time() - t) * 1000
                cpu.append(ms)
                wall.append((time.perf_counter() - w) * 1000)
                if q["kind"] == "phrase":
                    phrase.append(ms)
            out[mode] = dict(cpu=percentiles(cpu), wall=percentiles(wall),
                             phrase_cpu_p50=percentiles(phrase)["p50"])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
