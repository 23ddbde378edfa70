"""Peak memory and time of ``mqt serve``'s exports (``/export.csv``, ``/export.jsonl``, issue 16),
against ``mqt export`` on the same index (loopback only).

For each run a fresh 1-worker server is started and warmed (a search, and a small export so the
export thread has its searcher open); its resident memory is read from ``/proc/PID/status``
(``VmRSS`` before, ``VmHWM``: the process's peak) around one export, downloaded here to a file and
checked (rows counted with the csv/json modules, equal to ``X-Result-Count``). The same export by
``mqt export --output FILE`` gives the command's peak (``wait4``'s ``ru_maxrss``) and time. A
smaller export on the same index (``--small``, default ``party=Green``) shows whether the peak
grows with the number of rows.

    python benchmarks/serve_export.py --index /work/data/web-100k/index --out /work/data/web16-export
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.serve_latency import Server  # noqa: E402


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def count_rows(path: Path, fmt: str) -> tuple[int, str | None]:
    """Rows in an export file, and the first row's id."""
    with open(path, encoding="utf-8", newline="") as f:
        if fmt == "csv":
            rows = csv.reader(f)
            next(rows)  # the header
            first, n = None, 0
            for row in rows:
                first = first or row[0]
                n += 1
            return n, first
        first, n = None, 0
        for line in f:
            d = json.loads(line)
            first = first or d["id"]
            n += 1
        return n, first


def digest(path: Path) -> str:
    """The file's SHA-256, read in pieces (this process must stay small: a command it starts
    counts the memory it had when it was forked in its own peak)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def via_server(index: Path, out: Path, fmt: str, params: dict, log: Path) -> dict:
    server = Server(index, 1, log)
    pid = server.proc.pid
    try:
        with httpx.Client(base_url=server.url, timeout=600) as c:
            c.get("/api/search", params={"q": "housing"}).raise_for_status()
            c.get(f"/export.{fmt}", params={"q": "housing", "party": "green", "from": "2024-12"}
                  ).raise_for_status()  # the export thread's searcher, opened and warm
            rss_before, hwm_before = status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM")
            t = time.perf_counter()
            with c.stream("GET", f"/export.{fmt}", params=params) as r, open(out, "wb") as f:
                r.raise_for_status()
                expected = int(r.headers["x-result-count"])
                size = 0
                for chunk in r.iter_bytes():
                    f.write(chunk)
                    size += len(chunk)
            seconds = time.perf_counter() - t
            hwm_after = status_kb(pid, "VmHWM")
    finally:
        server.stop()
    rows, first = count_rows(out, fmt)
    assert rows == expected, (rows, expected)
    return dict(rows=rows, first_id=first, bytes=size, seconds=round(seconds, 2),
                rows_per_s=round(rows / seconds), rss_before_mb=round(rss_before / 1024, 1),
                peak_before_mb=round(hwm_before / 1024, 1), peak_after_mb=round(hwm_after / 1024, 1),
                peak_growth_mb=round((hwm_after - max(rss_before, 0)) / 1024, 1))


def via_cli(index: Path, out: Path, fmt: str, params: dict) -> dict:
    args = [sys.executable, "-m", "searcher.cli", "export", "--index", str(index), "--format", fmt,
            "--output", str(out)]
    flags = {"party": "--party", "from": "--from", "to": "--to", "sort": "--sort"}
    for k, v in params.items():
        args += [v] if k == "q" else [flags[k], v]
    t = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    assert os.waitstatus_to_exitcode(status) == 0
    rows, first = count_rows(out, fmt)
    return dict(rows=rows, first_id=first, bytes=out.stat().st_size, seconds=round(seconds, 2),
                peak_mb=round(usage.ru_maxrss / 1024, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="folder for the exported files and logs")
    ap.add_argument("--formats", default="csv,jsonl")
    ap.add_argument("--small", default="party=green", help="the smaller export's parameters (a=b&c=d)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    small = dict(p.split("=", 1) for p in args.small.split("&") if p)
    results = []
    for fmt in args.formats.split(","):
        for label, params in (("all", {}), ("small", small)):
            server = via_server(args.index, args.out / f"server-{label}.{fmt}", fmt, params,
                                args.out / "serve.log")
            cli = via_cli(args.index, args.out / f"cli-{label}.{fmt}", fmt, params)
            same = digest(args.out / f"server-{label}.{fmt}") == digest(args.out / f"cli-{label}.{fmt}")
            row = dict(format=fmt, export=label, params=params, server=server, cli=cli,
                       identical_to_cli=same)
            results.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| format | export | rows | MB | server s | server RSS before → peak (MB) | mqt export s "
          "| mqt export peak MB | same bytes |")
    print("|---|---|---:|---:|---:|---|---:|---:|---|")
    for r in results:
        s, c = r["server"], r["cli"]
        print(f"| {r['format']} | {r['export']} | {s['rows']:,} | {s['bytes'] / 1e6:.0f} | {s['seconds']} | "
              f"{s['rss_before_mb']} → {s['peak_after_mb']} | {c['seconds']} | {c['peak_mb']} | "
              f"{'yes' if r['identical_to_cli'] else 'NO'} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
