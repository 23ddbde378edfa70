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
by date), drawn from the corpus. The 8 clients are asyncio tasks in this process, so on a small
machine they take CPU from the server: the figures are an upper bound. Targets 2 and 3 are measured
twice, with httpx clients (``…_2_workers``) and with a lean HTTP/1.1 client written on asyncio
streams (``…_2_workers_lean``: a request line, then the status and the body by Content-Length),
and each run reports the CPU the clients took per request (``client_cpu_ms``) beside the server's
(``server_cpu_ms``), so that what the server achieves can be told from what the clients cost.

``--compare NAME=PYTHON`` (twice or more) measures several checkouts in one run instead: each
round starts each one's server with its own interpreter (e.g. ``/work/main/.venv/bin/python``:
its code and its installed packages), in turn, the client and queries the same for all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import free_port, make_queries, percentiles, serve_params  # noqa: E402


def query_params(corpus: Path, n: int) -> list[dict]:
    return [serve_params(q) for q in make_queries(corpus, n)]


class Server:
    def __init__(self, index: Path, workers: int, log: Path, threads: int | None = None,
                 python: str = sys.executable):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            [python, "-m", "searcher.cli", "serve", "--index", os.path.abspath(index), "--port", str(self.port),
             "--workers", str(workers), *(["--threads", str(threads)] if threads else [])],
            stdout=self._log, stderr=self._log, start_new_session=True, cwd="/")
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                with contextlib.suppress(ProcessLookupError):  # its workers too, which may be running
                    os.killpg(self.proc.pid, signal.SIGKILL)
                raise SystemExit("mqt serve did not start")
            time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def library_vs_api(index: Path, params: list[dict], rounds: int, log: Path, threads: int | None,
                   python: str = sys.executable) -> dict:
    """Alternating rounds: every query through the library here, then through the server."""
    from searcher import Searcher
    from searcher.params import SearchRequest

    server = Server(index, 1, log, threads, python)
    lib, api, api_lean = [], [], []
    lib_cpu = api_cpu = 0.0
    loop = asyncio.new_event_loop()
    lean = LeanClient(server.url)
    try:
        loop.run_until_complete(lean.__aenter__())

        def lean_get(p: dict) -> None:
            status, _body = loop.run_until_complete(lean.get("/api/search", p))
            if status != 200:
                raise RuntimeError(f"/api/search answered {status}")

        with Searcher(index) as s, httpx.Client(base_url=server.url, timeout=60) as c:
            requests = [SearchRequest.from_params(p) for p in params]
            for p, req in list(zip(params, requests))[:30]:  # warm both
                req.run(s)
                c.get("/api/search", params=p).raise_for_status()
                lean_get(p)
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
                for p in params:  # the same requests from the lean client (its CPU is ~0.2 ms, httpx's ~1)
                    t = time.perf_counter()
                    lean_get(p)
                    api_lean.append((time.perf_counter() - t) * 1000)
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(lean.__aexit__(None, None, None))
        loop.close()
        server.stop()
    lp, ap, lq = percentiles(lib), percentiles(api), percentiles(api_lean)
    return dict(library_ms={k: round(v, 2) for k, v in lp.items()},
                api_ms={k: round(v, 2) for k, v in ap.items()},
                api_lean_ms={k: round(v, 2) for k, v in lq.items()},
                p50_ratio=round(ap["p50"] / lp["p50"], 2),
                p50_ratio_lean=round(lq["p50"] / lp["p50"], 2), requests=len(api),
                # CPU per search, which the machine's other load hardly changes: the library in
                # this process, against the server process (HTTP, JSON and access log included)
                library_cpu_ms=round(lib_cpu * 1000 / len(lib), 2),
                server_cpu_ms=round(api_cpu * 1000 / len(api), 2))


def server_cpu(pid: int) -> float:
    """CPU seconds of mqt serve and its workers so far (user + system)."""
    import psutil

    p = psutil.Process(pid)
    return sum(sum(q.cpu_times()[:2]) for q in [p, *p.children(recursive=True)])


class LeanClient:
    """One keep-alive HTTP/1.1 connection on asyncio streams: sends a GET, reads the status line,
    the headers and a body of Content-Length bytes. Only what ``mqt serve`` answers here (no
    chunked bodies, no redirects): far less CPU per request than httpx."""

    def __init__(self, url: str):
        self.host, port = url.split("//", 1)[1].rsplit(":", 1)
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> LeanClient:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.writer is not None
        self.writer.close()
        await self.writer.wait_closed()

    async def get(self, path: str, params: dict | None = None) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        target = f"{path}?{urlencode(params)}" if params else path
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
        if length is None:
            raise RuntimeError(f"no Content-Length in {head[:200]!r}")
        return status, await self.reader.readexactly(int(length[1]))


async def concurrent(url: str, path: str, params: list[dict], clients: int, per_client: int,
                     pid: int | None = None, lean: bool = False) -> dict:
    """``clients`` keep-alive clients (httpx, or ``lean``: ``LeanClient``), ``per_client``
    requests each; the CPU this process spent per request (the clients), with ``pid`` also the
    server's (which the machine's other load changes less than latency), and how many clients
    each server process answered (asked on each client's connection at the end)."""
    times: list[float] = []
    failed = 0
    cpu0 = server_cpu(pid) if pid else 0.0
    pids: list[int] = []

    async def client(k: int):
        nonlocal failed
        if lean:
            async with LeanClient(url) as c:
                for i in range(per_client):
                    p = params[(k * 37 + i) % len(params)]
                    t = time.perf_counter()
                    status, _ = await c.get(path, p)
                    times.append((time.perf_counter() - t) * 1000)
                    failed += status != 200
                pids.append(json.loads((await c.get("/healthz"))[1])["pid"])
            return
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1)) as c:
            for i in range(per_client):
                p = params[(k * 37 + i) % len(params)]
                t = time.perf_counter()
                r = await c.get(path, params=p)
                await r.aread()
                times.append((time.perf_counter() - t) * 1000)
                failed += r.status_code != 200
            pids.append((await c.get("/healthz")).json()["pid"])

    t0 = time.perf_counter()
    c0 = time.process_time()
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - t0
    client_cpu = time.process_time() - c0
    out = dict(**{k: round(v, 1) for k, v in percentiles(times).items()}, requests=len(times),
               failed=failed, requests_per_second=round(len(times) / elapsed, 1))
    if pid:
        out["server_cpu_ms"] = round((server_cpu(pid) - cpu0) * 1000 / len(times), 2)
    out["client_cpu_ms"] = round(client_cpu * 1000 / len(times), 2)
    out["clients_per_worker"] = sorted((pids.count(p) for p in set(pids)), reverse=True)
    return out


def concurrent_runs(index: Path, params: list[dict], log: Path, args, python: str = sys.executable) -> dict:
    """Targets 2 and 3 on one 2-worker server: API and page, with httpx and with the lean client."""
    res = {}
    server = Server(index, 2, log, args.threads, python)
    try:
        asyncio.run(concurrent(server.url, "/api/search", params, args.clients, 10))  # warm both workers
        for name, path in (("api", "/api/search"), ("page", "/")):
            for lean in ([False] if args.client == "httpx" else [True] if args.client == "lean" else [False, True]):
                key = f"{name}_{args.clients}_clients_2_workers" + ("_lean" if lean else "")
                res[key] = asyncio.run(concurrent(server.url, path, params, args.clients, args.per_client,
                                                  server.proc.pid, lean))
        res["page_weight"] = page_weight(server.url, params[:40])
    finally:
        server.stop()
    return res


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
    ap.add_argument("--client", choices=["both", "httpx", "lean"], default="both",
                    help="the 8 clients of targets 2 and 3: httpx, the lean client, or each in turn")
    ap.add_argument("--compare", action="append", metavar="NAME=PYTHON",
                    help="measure the server run by each interpreter (its checkout), in turn, each round")
    ap.add_argument("--ab-rounds", type=int, default=3, help="rounds of --compare")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--one-client", action="store_true",
                    help="only target 1 (the library against the API, one client): a quick check")
    args = ap.parse_args(argv)

    params = query_params(args.corpus, args.queries)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "mqt-serve-latency.log"
    if args.compare:
        return compare(args, params, log)
    res = {"load_average_start": round(os.getloadavg()[0], 2)}
    res["one_client"] = library_vs_api(args.index, params, args.rounds, log, args.threads)
    if not args.one_client:
        res.update(concurrent_runs(args.index, params, log, args))
    res["load_average_end"] = round(os.getloadavg()[0], 2)
    if not args.one_client:
        res["targets"] = targets(res, args.clients)
    res["command"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


def targets(res: dict, clients: int) -> dict:
    one = res["one_client"]
    lib = one["library_ms"]["p50"]
    out = {"api p50 <= 1.5x library p50 (one client; httpx)": (
               f"{one['api_ms']['p50']} vs {lib} ms ({one['p50_ratio']}x); CPU per search "
               f"{one['server_cpu_ms']} vs {one['library_cpu_ms']} ms"),
           "api p50 <= 1.5x library p50 (one client; lean client)": (
               f"{one['api_lean_ms']['p50']} vs {lib} ms ({one['p50_ratio_lean']}x)")}
    for name, label, limit in (("api", "api", 50), ("page", "page", 100)):
        for suffix, client in (("", "httpx"), ("_lean", "lean client")):
            r = res.get(f"{name}_{clients}_clients_2_workers{suffix}")
            if r:
                out[f"{label} p95 < {limit} ms ({clients} clients, 2 workers; {client})"] = (
                    f"{r['p95']} ms; CPU per request: server {r['server_cpu_ms']}, clients {r['client_cpu_ms']} ms")
    out["page weight < 100 KB, nothing from elsewhere"] = (f"{res['page_weight']['heaviest_bytes']:,} bytes; "
                                                          f"outside URLs: {res['page_weight']['urls_outside']}")
    return out


def compare(args, params: list[dict], log: Path) -> int:
    """``--compare``: each round, each checkout's one-client and concurrent runs, in turn."""
    codes = dict(c.split("=", 1) for c in args.compare)
    runs = []
    for k in range(args.ab_rounds):
        order = list(codes.items()) if k % 2 == 0 else list(codes.items())[::-1]
        for name, python in order:
            res = {"round": k + 1, "code": name, "python": python,
                   "load_average_start": round(os.getloadavg()[0], 2)}
            if not args.one_client:
                res.update(concurrent_runs(args.index, params, log, args, python))
            res["one_client"] = library_vs_api(args.index, params, args.rounds, log, args.threads, python)
            res["load_average_end"] = round(os.getloadavg()[0], 2)
            runs.append(res)
            print(json.dumps(summary(res)), flush=True)
    out = {"runs": runs, "summary": [summary(r) for r in runs],
           "command": " ".join([os.path.basename(sys.executable), *sys.argv])}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


def summary(res: dict) -> dict:
    """One line per run: p50/p95 ms, server and client CPU ms per request, of each measurement."""
    out = {"round": res["round"], "code": res["code"],
           "load": f"{res['load_average_start']}-{res['load_average_end']}",
           "one_client_ratio": res["one_client"]["p50_ratio"],
           "one_client_ratio_lean": res["one_client"]["p50_ratio_lean"],
           "one_client_cpu_server_library": [res["one_client"]["server_cpu_ms"], res["one_client"]["library_cpu_ms"]]}
    for key, r in res.items():
        if key.startswith(("api_", "page_")) and "p95" in r:
            out[key] = [r["p50"], r["p95"], r["server_cpu_ms"], r["client_cpu_ms"], r["clients_per_worker"]]
    return out


if __name__ == "__main__":
    sys.exit(main())
