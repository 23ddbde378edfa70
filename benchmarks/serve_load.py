"""Load test of ``mqt serve`` while ``mqt reindex`` keeps changing the index (loopback only, bounded).

N concurrent clients (asyncio + httpx, one keep-alive connection each) send a mix of API searches
(filters, sorts, later pages), results pages, question views (API and page) and similar-question
requests for ``--duration`` seconds, after a warm-up. Meanwhile, every ``--reindex-every`` seconds a
round adds 4 question files to the corpus, rewrites one added earlier and deletes another, and runs
``mqt reindex``. Checked on every response:

- the status is 200 (a failed request is any other status or a connection error);
- a search is consistent with one index state: its status facet adds up to its total, and a search
  for the word every added file carries finds exactly as many documents as some round left (never a
  state between two rounds);
- after each round, the time until every worker (``/healthz`` on fresh connections: its pid and
  document count) and a search both show it: the visibility delay.

    python benchmarks/serve_load.py --corpus /data/mqt-100k-copy --index /data/web-100k/index --workers 2

The corpus and index must be yours to change: the files it adds (``zz_load_*.txt``) are removed and
the index reindexed again at the end. Prints a report (``--json FILE`` also writes the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import free_port, make_queries, percentiles, serve_params  # noqa: E402

MARK = "zqxloadall"          # every added file carries this word
PREFIX = "zz_load_"


def question_text(title: str, words: str, day: int) -> str:
    nbsp = "\u00a0"
    date = f"2022-01-{1 + day % 28:02d}"
    return "\n".join([title, "", f"MQT on {date}", f"Question By:{nbsp}", "Load Tester", "Test Group",
                      f"Asked Of:{nbsp}", "The Mayor", "", "",
                      f"Will the Mayor look at {words} and {MARK} this week?"])


def mqt(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "searcher.cli", *map(str, args)],
                          capture_output=True, text=True)


class Reindexer(threading.Thread):
    """Rounds of corpus changes applied by ``mqt reindex``; records what each round left."""

    def __init__(self, corpus: Path, index: Path, every: float):
        super().__init__(daemon=True)
        self.corpus, self.index, self.every = corpus, index, every
        self.stop_event = threading.Event()
        self.live: list[str] = []                 # added files still in the corpus
        #: MARK counts that a committed round left, or the round being applied may leave
        #: (replaced, never changed in place: other threads read it)
        self.allowed: frozenset[int] = frozenset({0})
        self.rounds: list[dict] = []              # {round, start, end, seconds, total, marker}
        self.errors: list[str] = []

    def run(self):
        k = 0
        rng = random.Random(7)
        while not self.stop_event.wait(self.every if k else 0.5):
            k += 1
            marker = f"zqxround{k}"
            added = [f"{PREFIX}{k:04d}_{j}.txt" for j in range(4)]
            changed = gone = None
            if len(self.live) >= 8:
                changed, gone = rng.sample(self.live[:-4], 2)
            total = len(self.live) + len(added) - (gone is not None)
            self.allowed = self.allowed | {total}
            for j, name in enumerate(added):
                (self.corpus / name).write_text(
                    question_text(f"Load round {k} item {j}", marker, k), encoding="utf-8")
            if changed:
                (self.corpus / changed).write_text(
                    question_text(f"Load rewritten in round {k}", f"zqxrewritten{k}", k), encoding="utf-8")
                (self.corpus / gone).unlink()
                self.live.remove(gone)
            self.live += added
            start = time.monotonic()
            r = mqt("reindex", self.corpus, "--index", self.index, "--wait", "60")
            end = time.monotonic()
            if r.returncode != 0:
                self.errors.append(f"round {k}: reindex exit {r.returncode}: {r.stderr.strip()[-300:]}")
                continue
            self.rounds.append(dict(round=k, start=start, end=end, seconds=end - start,
                                    total=total, marker=marker))


async def worker_pids(base: str, workers: int, timeout: float = 60) -> tuple[set[int], int]:
    """The workers' pids (from /healthz on fresh connections) and the document count."""
    pids: set[int] = set()
    docs = 0
    deadline = time.monotonic() + timeout
    while len(pids) < workers and time.monotonic() < deadline:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            r = await c.get("/healthz")
            if r.status_code == 200:
                pids.add(r.json()["pid"])
                docs = r.json()["documents"]
    return pids, docs


async def probe_visibility(base: str, reindexer: Reindexer, pids: set[int], base_docs: int,
                           stop: asyncio.Event, delays: list[dict]):
    """After each round, poll on fresh connections (so that any worker may answer) until every
    worker's /healthz counts the round's documents and a search finds the round's 4 new ones.

    ``sent``: when the first request that saw the change was sent, after the reindex ended (an
    upper bound on how long the old index was still served: 0 if the first request saw it);
    ``answered``: when the last of those answers came back (adds the queueing under load)."""
    done = 0
    while not stop.is_set():
        await asyncio.sleep(0.02)
        if len(reindexer.rounds) <= done:
            continue
        rnd = reindexer.rounds[done]
        done += 1
        first: dict = {}   # pid or "search" -> (sent, answered)

        async def workers(rnd: dict, first: dict):
            while not stop.is_set() and not first.keys() >= pids:
                async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                    sent = time.monotonic()
                    h = (await c.get("/healthz")).json()
                    if h["documents"] >= base_docs + rnd["total"]:
                        first.setdefault(h["pid"], (sent, time.monotonic()))
                await asyncio.sleep(0.01)

        async def search(rnd: dict, first: dict):
            while not stop.is_set() and "search" not in first:
                async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                    sent = time.monotonic()
                    if (await c.get("/api/search", params={"q": rnd["marker"]})).json()["total"] == 4:
                        first["search"] = (sent, time.monotonic())

        await asyncio.gather(workers(rnd, first), search(rnd, first))
        if first.keys() >= pids | {"search"}:
            delays.append(dict(round=rnd["round"],
                               sent=max(0.0, max(s for s, _ in first.values()) - rnd["end"]),
                               answered=max(a for _, a in first.values()) - rnd["end"],
                               reindex_seconds=rnd["seconds"]))


def make_requests(corpus: Path, n: int, seed: int = 11) -> list[tuple[str, str, dict]]:
    """(kind, path, params) for the mix; queries from bench.make_queries, ids from the corpus."""
    rng = random.Random(seed)
    qs = make_queries(corpus, n)
    names = sorted(p for p in os.listdir(corpus) if p.endswith(".txt") and not p.startswith(PREFIX))
    ids = [rng.choice(names)[:-4] for _ in range(500)]
    out = []
    for q in qs:
        params = serve_params(q)
        kind = rng.choices(["api_search", "api_page", "page", "api_question", "question_page",
                            "similar", "marker"], weights=[35, 15, 15, 15, 8, 6, 6])[0]
        doc = rng.choice(ids)
        if kind == "api_search":
            out.append((kind, "/api/search", params))
        elif kind == "api_page":
            out.append((kind, "/api/search", {**params, "page": str(rng.randint(2, 5))}))
        elif kind == "page":
            out.append((kind, "/", params))
        elif kind == "api_question":
            out.append((kind, f"/api/questions/{doc}", {}))
        elif kind == "question_page":
            out.append((kind, f"/q/{doc}", {}))
        elif kind == "similar":
            out.append((kind, f"/api/questions/{doc}/similar", {"limit": "5"}))
        else:
            out.append((kind, "/api/search", {"q": MARK, "limit": "50"}))
    return out


def check(kind: str, path: str, r: httpx.Response, totals: frozenset[int]) -> str | None:
    """None if the response is right and consistent with one index state, else why not."""
    if r.status_code != 200:
        return f"status {r.status_code}: {r.text[:160]}"
    if kind in ("api_search", "api_page", "marker"):
        d = r.json()
        if sum(d["facets"].get("status", {}).values()) != d["total"]:
            return f"status facet {d['facets'].get('status')} does not add up to total {d['total']}"
        start = (d["page"] - 1) * d["limit"]
        if len(d["hits"]) != max(0, min(d["limit"], d["total"] - start)):
            return f"{len(d['hits'])} hits on page {d['page']} of {d['total']}"
        if kind == "marker" and d["total"] not in totals:
            return f"{MARK} total {d['total']} is no state a round left ({sorted(totals)})"
    elif kind == "api_question":
        if r.json()["id"] != path.rsplit("/", 1)[1]:
            return "wrong question"
    elif kind == "similar":
        if r.json()["query"] != "similar:" + path.split("/")[3]:
            return "wrong similar page"
    elif b"</html>" not in r.content:
        return "truncated page"
    return None


async def client_loop(base: str, requests, offset: int, stop: asyncio.Event, measure: asyncio.Event,
                      reindexer: Reindexer, results: list, failures: Counter, examples: dict):
    i = offset
    async with httpx.AsyncClient(base_url=base, timeout=60,
                                 limits=httpx.Limits(max_connections=1)) as c:
        while not stop.is_set():
            kind, path, params = requests[i % len(requests)]
            i += 7
            t = time.perf_counter()
            try:
                r = await c.get(path, params=params)
                await r.aread()
                ms = (time.perf_counter() - t) * 1000
                problem = check(kind, path, r, reindexer.allowed)
            except httpx.HTTPError as e:
                ms = (time.perf_counter() - t) * 1000
                problem = f"{type(e).__name__}: {e}"
            if measure.is_set():
                results.append((kind, ms))
                if problem:
                    failures[kind] += 1
                    examples.setdefault(problem[:80], f"{kind} {path} {params}: {problem}")


async def run_load(args, base: str, reindexer: Reindexer, requests) -> dict:
    pids, base_docs = await worker_pids(base, args.workers)
    stop, measure, probe_stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
    results: list[tuple[str, float]] = []
    failures: Counter = Counter()
    examples: dict = {}
    delays: list[dict] = []
    tasks = [asyncio.create_task(client_loop(base, requests, k * 97, stop, measure, reindexer,
                                             results, failures, examples))
             for k in range(args.clients)]
    await asyncio.sleep(args.warmup)
    reindexer.start()
    prober = asyncio.create_task(probe_visibility(base, reindexer, pids, base_docs, probe_stop, delays))
    measure.set()
    t0 = time.monotonic()
    load0 = os.getloadavg()[0]
    await asyncio.sleep(args.duration)
    measure.clear()
    elapsed = time.monotonic() - t0
    stop.set()
    await asyncio.gather(*tasks)
    reindexer.stop_event.set()
    await asyncio.sleep(1.0)
    probe_stop.set()
    await prober
    by_kind = defaultdict(list)
    for kind, ms in results:
        by_kind[kind].append(ms)
    return dict(
        workers=args.workers, clients=args.clients, seconds=round(elapsed, 1), worker_pids=sorted(pids),
        requests=len(results), failed=sum(failures.values()), failures_by_kind=dict(failures),
        failure_examples=list(examples.values())[:10],
        requests_per_second=round(len(results) / elapsed, 1),
        latency_ms={k: round(v, 1) for k, v in percentiles([ms for _, ms in results]).items()},
        by_kind={k: dict(n=len(v), **{p: round(x, 1) for p, x in percentiles(v).items()})
                 for k, v in sorted(by_kind.items())},
        reindex_rounds=len(reindexer.rounds), reindex_errors=reindexer.errors,
        reindex_seconds_median=round(statistics.median([r["seconds"] for r in reindexer.rounds]), 2)
        if reindexer.rounds else None,
        visibility_seconds=dict(
            rounds=len(delays),
            sent_max=round(max((d["sent"] for d in delays), default=0), 3),
            sent_median=round(statistics.median([d["sent"] for d in delays]), 3) if delays else None,
            answered_max=round(max((d["answered"] for d in delays), default=0), 3),
            answered_median=round(statistics.median([d["answered"] for d in delays]), 3) if delays else None),
        load_average_start=round(load0, 2), load_average_end=round(os.getloadavg()[0], 2),
    )


def cleanup(corpus: Path, index: Path) -> None:
    stale = [p for p in corpus.iterdir() if p.name.startswith(PREFIX)]
    for p in stale:
        p.unlink()
    if stale:
        r = mqt("reindex", corpus, "--index", index, "--wait", "120")
        if r.returncode != 0:
            raise SystemExit(f"cleanup reindex failed: {r.stderr}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True,
                    help="corpus folder the index was built from (yours to change)")
    ap.add_argument("--index", type=Path, required=True, help="its index")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=60, help="measured seconds (at most 600)")
    ap.add_argument("--warmup", type=float, default=10, help="unmeasured seconds first")
    ap.add_argument("--reindex-every", type=float, default=3,
                    help="seconds between the end of a reindex and the next round")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    args.duration = min(args.duration, 600)

    cleanup(args.corpus, args.index)
    requests = make_requests(args.corpus, args.queries)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(args.index.parent / f"serve-load-{args.workers}w.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "searcher.cli", "serve", "--index", str(args.index),
                               "--port", str(port), "--workers", str(args.workers)],
                              stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("mqt serve did not start")
            time.sleep(0.1)
        reindexer = Reindexer(args.corpus, args.index, args.reindex_every)
        res = asyncio.run(run_load(args, base, reindexer, requests))
        reindexer.join(120)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
        cleanup(args.corpus, args.index)
    res["command"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0 if res["failed"] == 0 and not res["reindex_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
