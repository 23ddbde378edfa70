"""Latency targets of ``mqt serve`` (issue 14), measured in one run on one index (loopback only):

1. ``GET /api/search`` p50 with one client against the library's own ``Searcher.search`` p50 for the
   same queries (the same call: ``SearchRequest.run``, facets and snippets on), measured in
   alternating rounds in this process and through a 1-worker server; target: at most 1.5x.
2. ``GET /api/search`` p95 with 8 concurrent clients against 2 workers; target: under 50 ms.
3. The results page ``/?q=…`` p95 with 8 concurrent clients against 2 workers; target: under 100 ms.
4. The weight of a results page (HTML and every asset it loads); target: under 100 KB, and no
   request leaving the server (every URL in the page is on this server).

    python benchmarks/serve_latency.py --corpus /data/mqt-100k --index /data/web-100k/index

The queries are ``benchmarks/bench.py``'s mixed set (words, phrases, party and date filters, sorted
by date), drawn from the corpus. The 8 clients are asyncio + httpx tasks in this process, so on a
small machine they take CPU from the server: the figures are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import free_port, make_queries, percentiles, serve_params  # noqa: E402


def query_params(corpus: Path, n: int) -> list[dict]:
    return [serve_params(q) for q in make_queries(corpus, n)]


class Server:
    def __init__(self, index: Path, workers: int, log: Path, threads: int | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "searcher.cli", "serve", "--index", str(index), "--port", str(self.port),
             "--workers", str(workers), *(["--threads", str(threads)] if threads else [])],
            stdout=self._log, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("mqt serve did not start")
            time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def library_vs_api(index: Path, params: list[dict], rounds: int, log: Path, threads: int | None) -> dict:
    """Alternating rounds: every query through the library here, then through the server."""
    from searcher import Searcher
    from searcher.params import SearchRequest

    server = Server(index, 1, log, threads)
    lib, api = [], []
    lib_cpu = api_cpu = 0.0
    try:
        with Searcher(index) as s, httpx.Client(base_url=server.url, timeout=60) as c:
            requests = [SearchRequest.from_params(p) for p in params]
            for p, req in list(zip(params, requests))[:30]:  # warm both
                req.run(s)
                c.get("/api/search", params=p).raise_for_status()
            for _ in range(rounds):
                c0 = time.process_time()
                for req in requests:
                    t = time.perf_counter()
                    req.run(s)
                    lib.append((time.perf_counter() - t) * 1000)
                lib_cpu += time.process_time() - c0
                c0 = server_cpu(server.proc.pid)
                for p in params:
                    t = time.perf_counter()
                    r = c.get("/api/search", params=p)
                    r.raise_for_status()
                    api.append((time.perf_counter() - t) * 1000)
                api_cpu += server_cpu(server.proc.pid) - c0
    finally:
        server.stop()
    lp, ap = percentiles(lib), percentiles(api)
    return dict(library_ms={k: round(v, 2) for k, v in lp.items()},
                api_ms={k: round(v, 2) for k, v in ap.items()},
                p50_ratio=round(ap["p50"] / lp["p50"], 2), requests=len(api),
                # CPU per search, which the machine's other load hardly changes: the library in
                # this process, against the server process (HTTP, JSON and access log included)
                library_cpu_ms=round(lib_cpu * 1000 / len(lib), 2),
                server_cpu_ms=round(api_cpu * 1000 / len(api), 2))


def server_cpu(pid: int) -> float:
    """CPU seconds of mqt serve and its workers so far (user + system)."""
    import psutil

    p = psutil.Process(pid)
    return sum(sum(q.cpu_times()[:2]) for q in [p, *p.children(recursive=True)])


async def concurrent(url: str, path: str, params: list[dict], clients: int, per_client: int,
                     pid: int | None = None) -> dict:
    """``clients`` keep-alive clients, ``per_client`` requests each; with ``pid``, also the
    server's CPU per request (which the machine's other load changes less than latency)."""
    times: list[float] = []
    failed = 0
    cpu0 = server_cpu(pid) if pid else 0.0

    async def client(k: int):
        nonlocal failed
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1)) as c:
            for i in range(per_client):
                p = params[(k * 37 + i) % len(params)]
                t = time.perf_counter()
                r = await c.get(path, params=p)
                await r.aread()
                times.append((time.perf_counter() - t) * 1000)
                failed += r.status_code != 200

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - t0
    out = dict(**{k: round(v, 1) for k, v in percentiles(times).items()}, requests=len(times),
               failed=failed, requests_per_second=round(len(times) / elapsed, 1))
    if pid:
        out["server_cpu_ms"] = round((server_cpu(pid) - cpu0) * 1000 / len(times), 2)
    return out


def page_weight(url: str, params: list[dict]) -> dict:
    """Bytes of each results page and the assets it names; the heaviest page counts."""
    heaviest, outside = 0, set()
    with httpx.Client(base_url=url, timeout=60) as c:
        assets = {}
        for p in params:
            html = c.get("/", params=p).text
            refs = re.findall(r'(?:href|src)="([^"#]+)"', html)
            outside |= {r for r in refs if re.match(r"(?:[a-z]+:)?//", r)}
            names = {r.replace("&amp;", "&") for r in refs if r.startswith("/static/")}
            for a in names - set(assets):
                assets[a] = len(c.get(a).content)
            heaviest = max(heaviest, len(html.encode()) + sum(assets[a] for a in names))
    return dict(heaviest_bytes=heaviest, assets_bytes=sum(assets.values()), pages=len(params),
                urls_outside=sorted(outside))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="the corpus the index was built from (read only)")
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=2, help="alternating library/API rounds")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=60, help="requests per client in the concurrent runs")
    ap.add_argument("--threads", type=int, help="mqt serve --threads (default: its own)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--one-client", action="store_true",
                    help="only target 1 (the library against the API, one client): a quick check")
    args = ap.parse_args(argv)

    params = query_params(args.corpus, args.queries)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "mqt-serve-latency.log"
    res = {"load_average_start": round(os.getloadavg()[0], 2)}
    res["one_client"] = library_vs_api(args.index, params, args.rounds, log, args.threads)
    if args.one_client:
        res["load_average_end"] = round(os.getloadavg()[0], 2)
        res["command"] = " ".join([os.path.basename(sys.executable), *sys.argv])
        print(json.dumps(res, indent=2))
        if args.json:
            args.json.write_text(json.dumps(res, indent=2) + "\n")
        return 0
    server = Server(args.index, 2, log, args.threads)
    try:
        asyncio.run(concurrent(server.url, "/api/search", params, args.clients, 10))  # warm both workers
        res["api_8_clients_2_workers"] = asyncio.run(
            concurrent(server.url, "/api/search", params, args.clients, args.per_client, server.proc.pid))
        res["page_8_clients_2_workers"] = asyncio.run(
            concurrent(server.url, "/", params, args.clients, args.per_client, server.proc.pid))
        res["page_weight"] = page_weight(server.url, params[:40])
    finally:
        server.stop()
    res["load_average_end"] = round(os.getloadavg()[0], 2)
    one = res["one_client"]
    res["targets"] = {
        "api p50 <= 1.5x library p50 (one client)": f"{one['api_ms']['p50']} vs {one['library_ms']['p50']} ms "
                                                    f"({one['p50_ratio']}x); CPU per search "
                                                    f"{one['server_cpu_ms']} vs {one['library_cpu_ms']} ms",
        "api p95 < 50 ms (8 clients, 2 workers)": res["api_8_clients_2_workers"]["p95"],
        "page p95 < 100 ms (8 clients, 2 workers)": res["page_8_clients_2_workers"]["p95"],
        "page weight < 100 KB, nothing from elsewhere": f"{res['page_weight']['heaviest_bytes']:,} bytes; "
                                                        f"outside URLs: {res['page_weight']['urls_outside']}",
    }
    res["command"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
