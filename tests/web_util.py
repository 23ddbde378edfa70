"""Helpers for the web tests: the app served by a real uvicorn, in a thread of the test process or
as an ``mqt serve`` process, and an HTTP client for it (loopback only)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(app):
    """Serve an ASGI app with uvicorn in a thread; yields an httpx.Client bound to it."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(20)


class ServerProcess:
    """``mqt serve`` as a child process on a free loopback port; ``stop()`` sends SIGTERM."""

    def __init__(self, index_dir: Path, *args: str, port: int | None = None, log: Path | None = None,
                 env: dict | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = open(log, "wb") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "searcher.cli", "serve", "--index", str(index_dir),
             "--port", str(self.port), *args],
            stdout=self._log, stderr=self._log, env={**os.environ, **(env or {})},
            start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /healthz answers (200, or 503 while there is no index)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mqt serve exited with {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"mqt serve did not answer in {timeout} s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        self.wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- a corpus with hostile documents -----------------------------------------------------------

XSS_GLOBAL = "__mqt_xss"
HOSTILE_ID = "hostile"
ODD_ID = "odd & 'quoted' <id>"


def hostile_docs() -> dict[str, str]:
    """Documents whose every field tries to run script (each would set ``window.__mqt_xss``)."""
    from conftest import question_file

    return {
        f"{HOSTILE_ID}.txt": question_file(
            title=f'<img src=x onerror="window.{XSS_GLOBAL}=\'title\'"> Hostile "quotes" & <b>bold</b>',
            date="2020-02-20", session_date="February 20, 2020",
            asker=f"Eve <img src=y onerror=window.{XSS_GLOBAL}='asker'>",
            party=f"Chaos <script>window.{XSS_GLOBAL}='party'</script> Party",
            asked_of="The Mayor",
            question=(f"Does hostile <script>window.{XSS_GLOBAL}='question'</script> markup run? "
                      f"And \"><svg onload=window.{XSS_GLOBAL}='attr'> here?"),
            answers=(("The Mayor", f"No hostile <iframe src=\"javascript:window.{XSS_GLOBAL}='answer'\">"
                                   f"</iframe> markup: <b onmouseover=window.{XSS_GLOBAL}='b'>none</b>."),)),
        f"{ODD_ID}.txt": question_file(
            title="Odd identifiers", date="2020-02-21", session_date="February 21, 2020",
            asker="Andrew Boff", party="Conservative Group",
            question="Does a hostile file name break the links?",
            answers=(("The Mayor", "It must not."),)),
    }


def make_web_corpus(base: Path, library_corpus: Path) -> Path:
    """The library corpus plus the hostile documents, in ``base/corpus``."""
    import shutil

    corpus = base / "corpus"
    shutil.copytree(library_corpus, corpus)
    for name, text in hostile_docs().items():
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


def build_web_index(tmp_path_factory, library_corpus) -> Path:
    from index_data import build_index

    base = tmp_path_factory.mktemp("web")
    corpus = make_web_corpus(base, library_corpus)
    report = build_index(corpus, base / "ix")
    assert report.rejected == [] and report.indexed == 24
    return base / "ix"


def cli_json(*args):
    """What an ``mqt`` command prints with ``--json``, parsed (it must succeed)."""
    import json

    from click.testing import CliRunner

    from searcher.cli import cli

    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)
