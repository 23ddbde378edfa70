"""Trends, alerts (watches and their Atom feeds) and exports (issue 16)."""

from __future__ import annotations

import csv
import io
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from conftest import ROOT, question_file
from index_data import build_index, reindex
from index_data.synthetic import generate
from searcher import Searcher
from searcher.cli import cli
from searcher.watch import WatchStore, db_path

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def corpus(tmp_path):
    return generate(tmp_path / "corpus", 300, seed=5)


@pytest.fixture
def ix(corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(corpus, index)
    return index


@pytest.fixture(scope="module")
def shared_ix(tmp_path_factory):
    """One index for the tests that only read it (building one takes about a second)."""
    root = tmp_path_factory.mktemp("watch-ro")
    index = root / "ix"
    build_index(generate(root / "corpus", 300, seed=5), index)
    return index


def _add(corpus: Path, name: str, **kw) -> None:
    (corpus / f"{name}.txt").write_text(question_file(**kw), encoding="utf-8")


# ---- trends -------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, kw", [("housing", {}), ("policing OR crime", {"party": "labour"}),
                                        ("", {"status": "unanswered"}),
                                        ("housing", {"date_from": "2010", "date_to": "2015-06"})])
def test_trend_counts_equal_the_year_facet(shared_ix, query, kw):
    with Searcher(shared_ix) as s:
        t = s.trend(query, **kw)
        facet = s.search(query, **kw).facets["year"]
    assert {b.period: b.count for b in t.buckets if b.count} == facet
    assert t.total == sum(facet.values()) == sum(b.count for b in t.buckets) > 0
    periods = [int(b.period) for b in t.buckets]
    assert periods == list(range(periods[0], periods[-1] + 1))  # every year, zeros included
    assert str(t.first.year) == t.buckets[0].period and str(t.last.year) == t.buckets[-1].period


def test_trend_by_party_and_month(shared_ix):
    with Searcher(shared_ix) as s:
        t = s.trend("housing", by="party", interval="month", date_from="2010", date_to="2012-06")
        page = s.search("housing", date_from="2010", date_to="2012-06", limit=1000)
    assert t.buckets[0].period == "2010-01" and t.buckets[-1].period == "2012-06"
    assert len(t.buckets) == 30
    for b in t.buckets:
        assert sum(b.groups.values()) == b.count
    by_party: dict[str, int] = {}
    for h in page.hits:
        by_party[h.party or "(none)"] = by_party.get(h.party or "(none)", 0) + 1
    assert t.groups == dict(sorted(by_party.items(), key=lambda kv: (-kv[1], kv[0])))
    with pytest.raises(Exception, match="interval"):
        s2 = Searcher(shared_ix)
        s2.trend("x", interval="week")


def test_trend_cli_json_csv_and_chart(shared_ix):
    r = CliRunner().invoke(cli, ["trend", "housing", "--by", "party", "--json", "--index", str(shared_ix)])
    d = json.loads(r.stdout)
    assert set(d) >= {"query", "interval", "by", "buckets", "first", "last"}
    assert d["by"] == "party" and d["buckets"][0]["groups"]
    r = CliRunner().invoke(cli, ["trend", "housing", "--csv", "--index", str(shared_ix)])
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["period", "count"] and len(rows) == len(d["buckets"]) + 1
    r = CliRunner().invoke(cli, ["trend", "housing", "--index", str(shared_ix)])
    top = max(b["count"] for b in d["buckets"])
    line = next(ln for ln in r.stdout.splitlines() if ln.endswith(f" {top}"))
    assert line.count("█") == 50  # the largest period has the full bar
    assert "\x1b[" not in r.stdout  # not a terminal: no colour


# ---- export -------------------------------------------------------------------------------------

def test_export_has_every_match_in_rank_order(shared_ix, tmp_path):
    with Searcher(shared_ix) as s:
        ranked = [r.question.id for r in s.iter_results("housing policing")]
        page = s.search("housing policing", limit=1000)
    assert ranked == [h.id for h in page.hits] and len(ranked) == page.total > 10
    out = tmp_path / "e.jsonl"
    r = CliRunner().invoke(cli, ["export", "housing", "policing", "--format", "jsonl",
                                 "--output", str(out), "--index", str(shared_ix)])
    assert r.exit_code == 0
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [row["id"] for row in rows] == ranked
    assert all(isinstance(row["answers"], list) for row in rows)


# ---- watches ------------------------------------------------------------------------------------

def test_a_watch_reports_new_and_changed_questions_once(corpus, ix):
    with Searcher(ix) as s, WatchStore(ix) as w:
        w.add(s, "zep", "zeppelin")
        w.add(s, "zep-lab", "zeppelin", {"party": "labour"})
        assert w.run(s).new == {"zep": [], "zep-lab": []}  # nothing new yet
    _add(corpus, "z1", title="Zeppelins", question="Will zeppelins fly over Hammersmith?",
         party="Labour Group")
    _add(corpus, "z2", title="More zeppelins", question="A zeppelin mooring mast?",
         party="Green Party")
    _add(corpus, "other", title="Buses", question="What about buses?")
    reindex(corpus, ix)
    with Searcher(ix) as s, WatchStore(ix) as w:
        run = w.run(s)
        assert [e.id for e in run.new["zep"]] == ["z1", "z2"] or \
            sorted(e.id for e in run.new["zep"]) == ["z1", "z2"]
        assert [e.id for e in run.new["zep-lab"]] == ["z1"]
        assert w.run(s).new == {"zep": [], "zep-lab": []}  # never twice
    # a touched file (same content) is not news; a changed one is a new version
    (corpus / "z2.txt").touch()
    (corpus / "z1.txt").write_text(question_file(title="Zeppelins", party="Labour Group",
                                                 question="Will zeppelins fly over Hammersmith? "
                                                          "And Fulham?"), encoding="utf-8")
    reindex(corpus, ix)
    with Searcher(ix) as s, WatchStore(ix) as w:
        run = w.run(s)
        assert [e.id for e in run.new["zep"]] == ["z1"]
        assert len(w.entries("zep")) == 3 and len({(e.id, e.version) for e in w.entries("zep")}) == 3


def test_a_new_watch_does_not_report_what_was_there(ix):
    with Searcher(ix) as s, WatchStore(ix) as w:
        w.add(s, "housing", "housing")
        assert s.search("housing").total > 0
        assert w.run(s).new == {"housing": []}


@pytest.mark.slow  # a rebuild / a reindex process: run by CI
def test_watches_survive_a_rebuild_and_need_good_queries(corpus, ix):
    with Searcher(ix) as s, WatchStore(ix) as w:
        w.add(s, "zep", "zeppelin")
        with pytest.raises(Exception, match="unclosed quote"):
            w.add(s, "bad", '"zeppelin')
        with pytest.raises(Exception, match="already a watch"):
            w.add(s, "zep", "anything")
        with pytest.raises(Exception, match="watch name"):
            w.add(s, "no/slash", "x")
    build_index(corpus, ix)  # a rebuild swaps the index folder; the watches are beside it
    assert db_path(ix).parent == ix.parent
    _add(corpus, "z1", title="Zeppelins", question="Zeppelins again?")
    reindex(corpus, ix)
    with Searcher(ix) as s, WatchStore(ix) as w:
        assert [w.name for w in w.list()] == ["zep"]
        assert [e.id for e in w.run(s).new["zep"]] == ["z1"]


@pytest.mark.slow  # a rebuild / a reindex process: run by CI
def test_reindex_cli_runs_the_watches(corpus, ix):
    runner = CliRunner()
    assert runner.invoke(cli, ["watch", "add", "zep", "zeppelin", "--index", str(ix)]).exit_code == 0
    _add(corpus, "z1", title="Zeppelins", question="Zeppelins?")
    r = runner.invoke(cli, ["reindex", str(corpus), "--index", str(ix)])
    assert r.exit_code == 0 and "watch zep: 1 new" in r.stderr
    d = json.loads(runner.invoke(cli, ["watch", "list", "--json", "--index", str(ix)]).stdout)
    assert d[0]["name"] == "zep" and d[0]["entries"] == 1
    r = runner.invoke(cli, ["watch", "remove", "zep", "--index", str(ix)])
    assert r.exit_code == 0
    r = runner.invoke(cli, ["watch", "remove", "zep", "--index", str(ix)])
    assert r.exit_code == 1 and "no watch named 'zep'" in r.stderr


def _parse_feed(data: bytes):
    root = ET.fromstring(data)
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{tag}") is not None, tag
    entries = root.findall(f"{ATOM}entry")
    for e in entries:
        for tag in ("id", "title", "updated"):
            assert (e.find(f"{ATOM}{tag}").text or "").strip(), tag
        assert e.find(f"{ATOM}summary") is not None or e.find(f"{ATOM}link") is not None
    return root, entries


def test_watch_feed_is_atom(corpus, ix):
    runner = CliRunner()
    runner.invoke(cli, ["watch", "add", "zep", "zeppelin", "--index", str(ix)])
    _add(corpus, "z1", title="Zeppelins <b>&</b> airships", question="Zeppelins?")
    reindex(corpus, ix)
    runner.invoke(cli, ["watch", "run", "--index", str(ix)])
    r = runner.invoke(cli, ["watch", "feed", "zep", "--base-url", "https://mqt.example.org",
                            "--index", str(ix)])
    root, entries = _parse_feed(r.stdout_bytes)
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Zeppelins <b>&</b> airships"]
    assert entries[0].find(f"{ATOM}link").get("href") == "https://mqt.example.org/q/z1"
    assert entries[0].find(f"{ATOM}id").text.startswith("tag:")


def test_search_atom_feed_is_newest_first(shared_ix):
    r = CliRunner().invoke(cli, ["search", "housing", "--format", "atom", "--limit", "8",
                                 "--index", str(shared_ix)])
    _, entries = _parse_feed(r.stdout_bytes)
    published = [e.find(f"{ATOM}published").text for e in entries]
    assert len(published) == 8 and published == sorted(published, reverse=True)


WATCH_RUN = [sys.executable, "-m", "searcher.cli", "watch", "run", "--json", "--index"]


@pytest.mark.slow
def test_killed_watch_runs_miss_nothing_and_repeat_nothing(corpus, ix):
    """Runs killed (SIGKILL) at random moments, then complete ones: every new question version
    is recorded once, and no completed run prints one twice."""
    subprocess.run([sys.executable, "-m", "searcher.cli", "watch", "add", "zep", "zeppelin",
                    "--index", str(ix)], check=True, cwd=ROOT, capture_output=True)
    rng = random.Random(7)
    expected = set()
    printed: list[tuple[str, str]] = []
    for round_ in range(6):
        for k in range(3):
            name = f"z{round_}_{k}"
            _add(corpus, name, title=f"Zeppelin {name}", question=f"Zeppelin number {name}?")
            expected.add(name)
        reindex(corpus, ix)
        for _ in range(2):  # killed runs
            p = subprocess.Popen(WATCH_RUN + [str(ix)], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, 0.8))
            p.send_signal(signal.SIGKILL)
            out, _ = p.communicate()
            if p.returncode == 0:  # it finished before the kill
                printed += [(e["id"], e["version"]) for w in json.loads(out)["watches"]
                            for e in w["new"]]
        if rng.random() < 0.5:
            out = subprocess.run(WATCH_RUN + [str(ix)], cwd=ROOT, capture_output=True, check=True)
            printed += [(e["id"], e["version"]) for w in json.loads(out.stdout)["watches"]
                        for e in w["new"]]
    out = subprocess.run(WATCH_RUN + [str(ix)], cwd=ROOT, capture_output=True, check=True)
    printed += [(e["id"], e["version"]) for w in json.loads(out.stdout)["watches"] for e in w["new"]]
    with WatchStore(ix) as w:
        entries = w.entries("zep", limit=None)
    assert sorted(e.id for e in entries) == sorted(expected)  # each once, none missed
    assert len(printed) == len(set(printed))  # no completed run repeated one
    assert set(printed) <= {(e.id, e.version) for e in entries}
