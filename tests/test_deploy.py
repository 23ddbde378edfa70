"""The shipped scheduling files (deploy/) run the command the README documents, and that command
works as written: parsed out of the files and run against a temporary corpus and index."""

from __future__ import annotations

import shlex
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import ROOT, question_file

DEPLOY = ROOT / "deploy"
COMMAND = "mqt reindex corpus --index index --wait 0"


def cron_entry() -> tuple[dict, str, str]:
    """(environment, user, command) of the single job in the cron.d file, unescaped as cron does."""
    env, jobs = {}, []
    for line in (DEPLOY / "mqt-reindex.cron").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, eq, value = line.partition("=")
        if eq and name.isidentifier():
            env[name] = value
            continue
        jobs.append(line.split(None, 6))
    assert len(jobs) == 1
    *when, user, command = jobs[0]
    assert len(when) == 5
    assert "%" not in command.replace("\\%", ""), "an unescaped % would cut the command in cron"
    return env, user, command.replace("\\%", "%")


def unit(name: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in (DEPLOY / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


@pytest.fixture
def site(tmp_path):
    """A stand-in for the server: /srv/mqt, /var/log/mqt and /opt/mqt/venv/bin under tmp_path,
    where bin/mqt runs this checkout's CLI."""
    srv, log, bin_ = tmp_path / "srv", tmp_path / "log", tmp_path / "bin"
    for d in (srv / "corpus", log, bin_):
        d.mkdir(parents=True)
    for i in range(3):
        (srv / "corpus" / f"q{i}.txt").write_text(question_file(question=f"Tram number {i}?"))
    shim = bin_ / "mqt"
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec "
                    f"{shlex.quote(sys.executable)} -m searcher.cli \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    places = {"/srv/mqt": str(srv), "/var/log/mqt": str(log), "/opt/mqt/venv/bin": str(bin_)}

    def relocate(text: str) -> str:
        for real, fake in places.items():
            text = text.replace(real, fake)
        return text

    return srv, log / "reindex.log", relocate


def test_files_and_readme_document_the_same_command():
    _, user, command = cron_entry()
    assert COMMAND in command and user == "mqt"
    service = unit("mqt-reindex.service")["Service"]
    assert service["ExecStart"].endswith(COMMAND.removeprefix("mqt"))
    assert shlex.split(service["ExecStart"])[0].endswith("/mqt")
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Keeping the index fresh", 1)[1].split("\n## ", 1)[0]
    assert COMMAND in section
    for name in ("mqt-reindex.cron", "mqt-reindex.service", "mqt-reindex.timer"):
        assert f"deploy/{name}" in section


def test_timer_starts_the_service_and_catches_up():
    timer = unit("mqt-reindex.timer")
    assert timer["Timer"]["Unit"] == "mqt-reindex.service" and timer["Timer"]["OnCalendar"]
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    service = unit("mqt-reindex.service")["Service"]
    assert service["Type"] == "oneshot"  # a running oneshot is never started twice


@pytest.mark.slow  # runs the scheduled command as separate processes
def test_cron_command_runs_as_written(site):
    srv, log, relocate = site
    env, _, command = cron_entry()
    run_env = {"PATH": relocate(env["PATH"]), "HOME": str(srv), "LANG": "C.UTF-8"}
    shell = env.get("SHELL", "/bin/sh")
    r = subprocess.run([shell, "-c", relocate(command)], env=run_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + log.read_text()
    text = log.read_text()
    assert "Built (no index yet)" in text and "3 added" in text
    assert text.splitlines()[0].startswith(time.strftime("%Y-", time.gmtime()))  # the timestamp
    (srv / "corpus" / "q9.txt").write_text(question_file(question="A new one about ferries?"))
    r = subprocess.run([shell, "-c", relocate(command)], env=run_env, capture_output=True, text=True)
    assert r.returncode == 0
    assert "1 added, 0 updated, 0 deleted, 3 unchanged" in log.read_text()

    # no overlap: while another job holds the index, the cron run gives up at once with status 4
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from index_data.locking import index_lock
        with index_lock(sys.argv[1], wait=0):
            print("held", flush=True); time.sleep(60)
        """), str(srv / "index")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        r = subprocess.run([shell, "-c", relocate(command)], env=run_env, capture_output=True,
                           text=True)
        assert r.returncode == 4 and time.monotonic() - start < 10
        assert "another mqt job is writing the index" in log.read_text()
    finally:
        holder.kill()
        holder.communicate()


@pytest.mark.slow  # runs the scheduled command as separate processes
def test_systemd_service_command_runs_as_written(site):
    srv, _, relocate = site
    service = unit("mqt-reindex.service")["Service"]
    argv = shlex.split(relocate(service["ExecStart"]))
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           **dict(kv.split("=", 1) for kv in shlex.split(service.get("Environment", "")))}
    ok = {0} | {int(c) for c in service.get("SuccessExitStatus", "").split()}
    cwd = relocate(service["WorkingDirectory"])
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode in ok and "3 added" in r.stderr, r.stderr
    (srv / "corpus" / "bad.txt").write_text("not a question\n")
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 3 and r.returncode in ok  # rejected files do not fail the unit
    assert "rejected" in r.stderr and "bad.txt" in r.stderr
    assert (srv / "index" / "mqt-index.json").exists()
