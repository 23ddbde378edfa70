"""What users reach for in a search CLI (issue 12): party names, name filters in any order,
"did you mean" in quotes and names, URLs, messages that name what caused them, --color, --count,
--format, --facets-limit, export, demo, stats times."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from conftest import question_file
from index_data import build_index
from searcher import Searcher
from searcher.cli import cli

PARTIES = {
    "c_old": ("Conservative Group", "Andrew Boff", 2012),
    "c_new": ("GLA Conservatives", "Susan Hall", 2019),
    "ld_old": ("Liberal Democrat Group", "Caroline Pidgeon", 2012),
    "ld_new": ("Liberal Democrats", "Caroline Pidgeon", 2018),
    "lab": ("Labour Group", "Marina Ahmad", 2020),
    "green": ("City Hall Greens", "Sian Berry", 2017),
}


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("features") / "corpus"
    corpus.mkdir()
    for name, (party, asker, year) in PARTIES.items():
        (corpus / f"{name}.txt").write_text(question_file(
            title=f"Cycle lanes {name}", party=party, asker=asker, date=f"{year}-05-10",
            session_date=None, question=f"Is the cladding on cycle superhighway {name} safe? "
                                        f"See the policing plan.",
            answers=(("The Mayor", "Cladding and policing are reviewed every year."),)),
            encoding="utf-8")
    for i in range(25):
        (corpus / f"bulk{i:02d}.txt").write_text(question_file(
            title=f"Bus routes {i}", date=f"{2001 + i % 20}-01-0{1 + i % 9}", session_date=None,
            question=f"What about bus route number {i}?", asker="Keith Prince",
            party="Conservative Group"), encoding="utf-8")
    index = corpus.parent / "ix"
    build_index(corpus, index)
    return index


@pytest.fixture
def run(ix):
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(cli, [str(a) for a in args] + ["--index", str(ix)],
                             env={"NO_COLOR": None, **(env or {})}, catch_exceptions=False)

    return invoke


def ids(page):
    return sorted(h.id for h in page.hits)


# ---- party names and name filters ---------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("conservatives", ["c_new", "c_old"]),
    ("conservative", ["c_new", "c_old"]),
    ("Tories", ["c_new", "c_old"]),
    ("Lib Dem", ["ld_new", "ld_old"]),
    ("dem lib", ["ld_new", "ld_old"]),
    ("liberal democrats", ["ld_new", "ld_old"]),
    ("greens", ["green"]),
    ("labour", ["lab"]),
])
def test_party_names_and_former_names_find_each_other(ix, value, expected):
    with Searcher(ix) as s:
        assert ids(s.search("cycle lanes", party=value)) == expected
        assert ids(s.search(f'cycle lanes party:"{value}"')) == expected


def test_a_party_alias_file_can_be_edited(ix, tmp_path, monkeypatch):
    from searcher.aliases import load_aliases

    own = tmp_path / "parties.txt"
    own.write_text("Labour | Reds\n", encoding="utf-8")
    monkeypatch.setenv("MQT_PARTIES", str(own))
    load_aliases.cache_clear()
    try:
        with Searcher(ix) as s:
            assert ids(s.search("cycle lanes", party="reds")) == ["lab"]
            assert ids(s.search("cycle lanes", party="tories")) == []  # not in that file
    finally:
        monkeypatch.delenv("MQT_PARTIES")
        load_aliases.cache_clear()


def test_name_filters_match_in_any_word_order(ix):
    with Searcher(ix) as s:
        assert ids(s.search("cycle", asker="pidgeon caroline")) == ["ld_new", "ld_old"]
        assert ids(s.search('cycle asker:"Berry Sian"')) == ["green"]
        assert s.search("cycle", asker="caroline berry").total == 0  # every word must be there


# ---- did you mean, URLs -------------------------------------------------------------------------

def test_did_you_mean_inside_quotes_and_in_names(ix):
    with Searcher(ix) as s:
        assert s.search('"cladding polcing"~3').suggestion == '"cladding policing"~3'
        assert s.search('asker:"Caroline Pidgon"').suggestion == 'asker:"Caroline Pidgeon"'
        assert s.search("cycle", asker="Caroline Pidgeon").suggestion is None
        assert s.search('party:"Liberal Democrts"').suggestion == 'party:"Liberal Democrats"'


def test_a_pasted_url_is_text_not_a_field(ix):
    with Searcher(ix) as s:
        page = s.search("see https://www.london.gov.uk/questions/2017/3660 cladding")
    assert page.total > 0  # no "unknown field 'https'"


# ---- messages -----------------------------------------------------------------------------------

def test_no_results_names_the_filters(run):
    r = run("search", "cladding", "--party", "labour", "--from", "2021", "--status", "holding")
    assert r.exit_code == 0
    assert r.stdout.strip() == ("No results for 'cladding' with party labour, status holding, "
                                "from 2021-01-01.")


def test_a_bad_date_option_is_named_as_typed(run):
    r = run("search", "cladding", "--from", "notadate")
    assert r.exit_code == 2
    assert "Invalid value for '--from': 'notadate' is not a date" in r.stderr
    assert "date_from" not in r.stderr


def test_hits_to_stdout_footer_to_stderr(run):
    r = run("search", "cycle", "--limit", "2")
    assert "1. Cycle lanes" in r.stdout and " of 6 · page 1 of 3" in r.stderr
    assert " of 6" not in r.stdout


def test_interrupt_exits_130_without_a_traceback(monkeypatch, ix):
    from searcher import search as search_module

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(search_module.Searcher, "search", interrupted)
    r = CliRunner().invoke(cli, ["search", "x", "--index", str(ix)])
    assert r.exit_code == 130 and "interrupted" in r.stderr and "Traceback" not in r.stderr


def test_show_unknown_id_is_one_line_exit_1(run):
    r = run("show", "nosuch")
    where = r.stderr.split(" in ")[-1].strip()
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: no question with id 'nosuch' in {where}"
    assert "Traceback" not in r.stderr


def test_stats_show_built_and_updated_times(run, ix):
    r = run("stats")
    assert re.search(r"built: \d{4}-\d\d-\d\d \d\d:\d\d", r.stdout)
    assert "last updated:" in r.stdout
    d = json.loads(run("stats", "--json").stdout)
    assert d["built_at"][:4].isdigit() and "T" in d["built_at"]
    with Searcher(ix) as s:
        st = s.stats()
    assert st.built_at.tzinfo is not None and st.built_at.year >= 2026


# ---- output choices -----------------------------------------------------------------------------

def test_color_always_never_and_no_color(run):
    assert "\x1b[" in run("search", "cladding", "--color", "always").stdout
    assert "\x1b[" not in run("search", "cladding", "--color", "never").stdout
    assert "\x1b[" not in run("search", "cladding").stdout  # not a terminal
    assert "\x1b[" in run("search", "cladding", "--color", "always", env={"NO_COLOR": "1"}).stdout


def test_count_prints_only_the_total(run):
    r = run("search", "bus", "--count")
    assert r.stdout == "25\n"
    assert run("search", "bus", "--count", "--party", "labour").stdout == "0\n"


def test_formats_stream_every_page(run, ix):
    with Searcher(ix) as s:
        expected = [h.id for h in s.search("bus route", limit=1000, sort="newest").hits]
    assert len(expected) == 25
    r = run("search", "bus", "route", "--format", "ids", "--sort", "newest", "--limit", "3")
    assert r.stdout.split() == expected  # every match, not one page
    assert "25 match(es)" in r.stderr
    rows = [json.loads(line) for line in run("search", "bus route", "--format", "jsonl",
                                             "--sort", "newest").stdout.splitlines()]
    assert [row["id"] for row in rows] == expected
    assert list(rows[0]) == ["id", "title", "meeting", "meeting_date", "asker", "party",
                             "asked_of", "status", "question", "answers"]
    out = run("search", "bus route", "--format", "csv", "--sort", "newest").stdout_bytes.decode()
    assert out.startswith("id,title,meeting,meeting_date,asker,party,asked_of,status,question,"
                          "answers\r\n")  # RFC 4180 line ends
    table = list(csv.DictReader(io.StringIO(out)))
    assert [row["id"] for row in table] == expected
    assert table[0]["answers"].startswith("The Mayor: ")


def test_facets_limit_and_years_in_year_order(run):
    r = run("search", "bus", "--facets", "--facets-limit", "3")
    year = next(line for line in r.stdout.splitlines() if line.startswith("year:"))
    years = re.findall(r"(\d{4}) \(", year)
    assert years == sorted(years, reverse=True) and len(years) == 3 and "more" in year
    party = next(line for line in r.stdout.splitlines() if line.startswith("party:"))
    assert party.startswith("party: Conservative Group (25)")


def test_export_writes_every_match(run, tmp_path):
    out = tmp_path / "x.csv"
    r = run("export", "cycle", "--output", out)
    assert r.exit_code == 0 and "Exported 6 question(s)" in r.stderr
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and {row["party"] for row in rows} >= {"GLA Conservatives"}


def test_demo_writes_a_marked_synthetic_corpus(tmp_path):
    r = CliRunner().invoke(cli, ["demo", str(tmp_path / "d"), "--count", "30"])
    assert r.exit_code == 0 and "SYNTHETIC" in r.stderr
    files = sorted((tmp_path / "d").glob("*.txt"))
    assert len(files) == 30
    assert all(f.read_text("utf-8").startswith("Synthetic: ") for f in files)
    assert "made up" in (tmp_path / "d" / "SYNTHETIC.md").read_text()
    report = build_index(tmp_path / "d", tmp_path / "dix")
    assert report.indexed == 30 and report.rejected == []
    r = CliRunner().invoke(cli, ["demo", str(tmp_path / "d")])
    assert r.exit_code == 1 and "not empty" in r.stderr
