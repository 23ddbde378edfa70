"""``mqt serve`` as a real process: graceful SIGTERM, the access log, the default address, two
workers that both see a reindex and a rebuild without a restart, and the replica recipe
(``deploy/mqt-sync-replica``) run while two servers answer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
import pytest

from conftest import ROOT, question_file
from web_util import ServerProcess

SEED_ID = "000_f69fb07d1f8a9a60"
SYNC = ROOT / "deploy" / "mqt-sync-replica"


def mqt(*args, check=True):
    return subprocess.run([sys.executable, "-m", "searcher.cli", *map(str, args)],
                          capture_output=True, text=True, check=check)


@pytest.fixture
def site(tmp_path, library_corpus):
    """A corpus folder of our own (the tests add files to it) and its index."""
    corpus = tmp_path / "corpus"
    shutil.copytree(library_corpus, corpus)
    mqt("index", corpus, "--index", tmp_path / "index")
    return tmp_path


def fresh_get(url: str, **params) -> httpx.Response:
    """A request on a new connection (so that with several workers, any may answer)."""
    with httpx.Client(timeout=30) as c:
        return c.get(url, params=params or None)


def wait_for_workers(server: ServerProcess, predicate, workers: int, timeout: float = 30) -> float:
    """Seconds until ``workers`` distinct workers answered /healthz with ``predicate(json)`` true."""
    start = time.monotonic()
    ok: set[int] = set()
    while time.monotonic() - start < timeout:
        d = fresh_get(server.url + "/healthz").json()
        if predicate(d):
            ok.add(d["pid"])
            if len(ok) >= workers:
                return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"only workers {ok} saw the change in {timeout} s")


def test_serve_answers_logs_and_stops_on_sigterm(site):
    server = ServerProcess(site / "index", log=site / "serve.log")
    with server:
        r = fresh_get(server.url + "/api/search", q="hate crime")
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == SEED_ID
        assert fresh_get(server.url + "/?q=hate").status_code == 200
        assert "server" not in r.headers  # no version banner
    # uvicorn shuts down gracefully, then ends by the signal it caught (systemd counts it as clean)
    assert server.proc.returncode in (0, -15)
    log = server.log()
    assert log.index("Shutting down") < log.index("mqt: stopped") < log.index("Finished server process")
    assert f"Uvicorn running on http://127.0.0.1:{server.port}" in log  # loopback unless told
    assert re.search(r'mqt\.access 127\.0\.0\.1 "GET /api/search\?q=hate\+crime HTTP/1\.1" 200 \d+ [\d.]+ms', log)
    assert '"GET /?q=hate HTTP/1.1" 200' in log
    assert "mqt: stopped" in log and "Traceback" not in log


def test_serve_starts_without_an_index(tmp_path):
    with ServerProcess(tmp_path / "none", log=tmp_path / "serve.log") as server:
        r = fresh_get(server.url + "/healthz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        mqt("index", ROOT / "corpus", "--index", tmp_path / "none")
        assert fresh_get(server.url + "/api/search", q="hate").json()["total"] == 1


@pytest.mark.slow
def test_two_workers_both_see_a_reindex_and_a_rebuild(site):
    corpus, ix = site / "corpus", site / "index"
    server = ServerProcess(ix, "--workers", "2", log=site / "serve.log")
    with server:
        wait_for_workers(server, lambda d: d["documents"] == 22, workers=2)
        (corpus / "new.txt").write_text(question_file(title="Zeppelin Landing Fees"), encoding="utf-8")
        mqt("reindex", corpus, "--index", ix)
        delay = wait_for_workers(server, lambda d: d["documents"] == 23, workers=2)
        assert delay < 5
        for _ in range(10):  # whichever worker answers finds it
            assert fresh_get(server.url + "/api/search", q="zeppelin").json()["total"] == 1
        (corpus / "new2.txt").write_text(question_file(title="Airship Mooring"), encoding="utf-8")
        mqt("index", corpus, "--index", ix)  # a rebuild swapped into place: a new folder
        wait_for_workers(server, lambda d: d["documents"] == 24, workers=2)
        for _ in range(10):
            assert fresh_get(server.url + "/api/search", q="airship").json()["total"] == 1
    assert server.proc.returncode in (0, -15)
    log = server.log()
    assert log.count("mqt: stopped") == 2 and "Traceback" not in log


class Traffic(threading.Thread):
    """Keeps asking every server for a search, a question and /healthz until stopped."""

    def __init__(self, urls: list[str]):
        super().__init__(daemon=True)
        self.urls = urls
        self.stop_event = threading.Event()
        self.answers: Counter = Counter()
        self.failures: list[str] = []

    def run(self):
        clients = [httpx.Client(base_url=u, timeout=30) for u in self.urls]
        while not self.stop_event.is_set():
            for c in clients:
                for path, params in (("/api/search", {"q": "crime"}), (f"/api/questions/{SEED_ID}", {}),
                                     ("/healthz", {}), ("/", {"q": "transport"})):
                    try:
                        r = c.get(path, params=params)
                        if r.status_code != 200:
                            self.failures.append(f"{c.base_url}{path}: {r.status_code} {r.text[:200]}")
                        self.answers[str(c.base_url)] += 1
                    except httpx.HTTPError as e:
                        self.failures.append(f"{c.base_url}{path}: {e!r}")
        for c in clients:
            c.close()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed (.ci/run installs it)")
def test_replicas_synced_while_both_answer(site):
    """README "Replicas": two servers on two copies of the index; the copies are brought up to date
    (a reindex, then a rebuild) while both answer; no request fails and both show the changes."""
    corpus, primary = site / "corpus", site / "index"
    env = {**os.environ, "MQT_SYNC_KEEP_OLD": "2"}

    def sync(dest):
        r = subprocess.run(["flock", str(site / ".index.lock"), str(SYNC), str(primary), str(dest)],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout

    replicas = [site / "replica1" / "index", site / "replica2" / "index"]
    for r in replicas:
        r.parent.mkdir()
        assert "switched to a new copy" in sync(r)
        assert r.is_symlink()
    servers = [ServerProcess(r, log=r.parent / "serve.log") for r in replicas]
    for s in servers:
        s.wait_ready()
    traffic = Traffic([s.url for s in servers])
    traffic.start()
    try:
        # an ordinary reindex: new files first, the table of contents last
        (corpus / "new.txt").write_text(question_file(title="Zeppelin Landing Fees"), encoding="utf-8")
        mqt("reindex", corpus, "--index", primary)
        for r in replicas:
            assert "updated from" in sync(r)
        for s in servers:
            assert fresh_get(s.url + "/api/search", q="zeppelin").json()["total"] == 1
        (corpus / "knife.txt").unlink()
        mqt("reindex", corpus, "--index", primary)
        for r in replicas:
            assert "updated from" in sync(r)
        for s in servers:
            assert fresh_get(s.url + "/api/questions/knife").status_code == 404
        # a rebuild: a whole new copy, switched in one rename
        (corpus / "new2.txt").write_text(question_file(title="Airship Mooring"), encoding="utf-8")
        mqt("index", corpus, "--index", primary)
        for r in replicas:
            assert "switched to a new copy" in sync(r)
        for s in servers:
            d = fresh_get(s.url + "/api/search", q="airship").json()
            assert d.get("total") == 1, d
            assert fresh_get(s.url + "/healthz").json()["documents"] == 23
        time.sleep(3)  # the old copies are removed after MQT_SYNC_KEEP_OLD seconds
        for s in servers:
            assert fresh_get(s.url + "/api/search", q="zeppelin").json()["total"] == 1
    finally:
        traffic.stop_event.set()
        traffic.join(30)
        for s in servers:
            s.stop()
    assert traffic.failures == []
    assert all(traffic.answers[s.url] > 20 for s in servers), traffic.answers
    for r in replicas:  # one copy left per replica, the one in use
        assert [p for p in r.parent.iterdir() if p.name.startswith("index.")] == [r.resolve()]


def test_the_shipped_systemd_unit_runs(site):
    """deploy/mqt-serve.service's ExecStart, run as written (in a stand-in for /srv/mqt, this
    checkout's mqt for /opt/mqt/venv/bin/mqt, a free port for 8000), answers and stops on the
    unit's KillSignal; deploy/nginx-mqt.conf proxies to the port the unit listens on."""
    import shlex

    from test_deploy import unit

    service = unit("mqt-serve.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[:2] == ["/opt/mqt/venv/bin/mqt", "serve"] and service["KillSignal"] == "SIGTERM"
    args = argv[2:]
    assert args[args.index("--index") + 1] == "index" and args[args.index("--host") + 1] == "127.0.0.1"
    port = args[args.index("--port") + 1]
    nginx = (ROOT / "deploy" / "nginx-mqt.conf").read_text()
    assert f"server 127.0.0.1:{port};" in nginx and "proxy_pass http://mqt;" in nginx
    from web_util import free_port

    args[args.index("--port") + 1] = str(free_port())
    server = subprocess.Popen([sys.executable, "-m", "searcher.cli", "serve", *args],
                              cwd=site, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{args[args.index('--port') + 1]}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["documents"] == 22
    finally:
        server.send_signal(getattr(__import__("signal"), service["KillSignal"]))
        out = server.communicate(timeout=60)[0].decode()
    assert server.returncode in (0, -15) and out.count("mqt: stopped") == 2  # --workers 2
