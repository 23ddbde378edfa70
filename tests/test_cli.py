"""The mqt command line through click's test runner: output, JSON, and error exits."""

import json

import pytest
from click.testing import CliRunner

from conftest import SEED, question_file
from searcher.cli import cli
from searcher.display import Style, clean, render_snippet

SEED_ID = "000_f69fb07d1f8a9a60"


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(cli, [str(a) for a in args], env=env or {}, catch_exceptions=False)

    return invoke


def test_index_then_search_json_on_the_bundled_corpus(run, tmp_path):
    ix = tmp_path / "ix"
    r = run("index", SEED.parent, "--index", ix)
    assert r.exit_code == 0
    assert "Indexed 1 question(s)" in r.stderr and r.stdout == ""
    r = run("search", "hate crime", "--json", "--index", ix)
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["hits"][0]["id"] == SEED_ID
    assert "<mark>" in d["hits"][0]["snippets"]["question"][0]
    assert "Labour Group" in d["facets"]["party"]


def test_human_search_output(run, library_index):
    r = run("search", "hate", "crime", "--index", library_index, "--limit", "3")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].strip().startswith("1. Hate Crime (1)")
    assert "Navin Shah (Labour Group) → The Mayor" in lines[1]
    assert "Q: " in r.stdout and "<mark>" not in r.stdout and "\x1b[" not in r.stdout
    assert "1–3 of" in r.stderr and "page 1 of" in r.stderr  # the footer is a summary: stderr
    assert "1–3 of" not in r.stdout


def test_search_options_and_facets(run, library_index):
    r = run("search", "crime", "--index", library_index, "--party", "labour", "--from", "2018",
            "--sort", "newest", "--facets")
    assert r.exit_code == 0
    assert "Crime Statistics in Harrow" in r.stdout and "Hate Crime (1)" not in r.stdout
    assert "party: Labour Group (1)" in r.stdout


def test_search_json_is_the_library_shape(run, library_index):
    d = json.loads(run("search", "transport", "--limit", "2", "--page", "2", "--json",
                       "--index", library_index).stdout)
    assert d["page"] == 2 and d["limit"] == 2 and d["total"] == 12 and len(d["hits"]) == 2
    assert d["hits"][0]["rank"] == 3


def test_did_you_mean(run, library_index):
    r = run("search", "graffitti", "--index", library_index)
    assert "Did you mean: graffiti?" in r.stdout and "No results" in r.stdout


def test_show(run, library_index):
    r = run("show", SEED_ID, "--index", library_index)
    assert r.exit_code == 0
    assert r.stdout.startswith("Hate Crime (1)\n")
    assert "Answered by The Mayor:" in r.stdout and "Diamond Group" in r.stdout
    d = json.loads(run("show", SEED_ID, "--json", "--index", library_index).stdout)
    assert d["asker"] == "Navin Shah" and d["answers"][0]["answered_by"] == "The Mayor"
    r = run("show", "nope", "--index", library_index)
    assert r.exit_code == 1 and "no question with id 'nope'" in r.stderr


def test_stats(run, library_index):
    d = json.loads(run("stats", "--json", "--index", library_index).stdout)
    assert d["documents"] == 22
    assert d["first_date"] == "2010-04-01" and d["last_date"] == "2021-07-08"
    assert d["top_parties"]["Labour Group"] == 7
    assert d["size_bytes"] > 0 and d["built_at"]
    r = run("stats", "--index", library_index)
    assert "documents: 22" in r.stdout


def test_index_env_variable(run, library_index):
    r = run("search", "ulez", "--json", env={"MQT_INDEX": str(library_index)})
    assert json.loads(r.stdout)["hits"][0]["id"] == "air"


@pytest.mark.parametrize("args, message", [
    (["search", '"hate crime'], "unclosed quote (at position 1)"),
    (["search", "zzz:x"], "unknown field 'zzz'"),
])
def test_user_errors_are_one_line_exit_1(run, library_index, args, message):
    r = run(*args, "--index", library_index)
    assert r.exit_code == 1
    assert r.stderr.strip().startswith("Error: ") and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_no_index_is_a_clear_error(run, tmp_path):
    r = run("search", "x", "--index", tmp_path / "none")
    assert r.exit_code == 1 and "no index at" in r.stderr and "mqt index CORPUS_DIR" in r.stderr


def test_bad_usage_exits_2(run):
    assert run("search", "--sort", "best", "x").exit_code == 2


def test_index_with_rejected_files_exits_3_and_lists_them(run, write_corpus, tmp_path):
    corpus = write_corpus({"good.txt": question_file(), "bad.txt": "Title only\n"})
    r = run("index", corpus, "--index", tmp_path / "ix", "--json")
    assert r.exit_code == 3
    d = json.loads(r.stdout)
    assert d["indexed"] == 1 and d["rejected"][0]["path"].endswith("bad.txt")
    assert "rejected 1" in r.stderr and "bad.txt" in r.stderr


def test_version_and_help(run):
    assert "mqt, version" in run("--version").stdout
    for cmd in ("index", "search", "show", "stats"):
        out = run(cmd, "-h").stdout
        assert "Example:" in out and "--index" in out


def test_terminal_styles_only_when_asked():
    snip = "a <mark>hate</mark> &amp; b"
    assert render_snippet(snip, Style(False)) == "a hate & b"
    assert "\x1b[1m" in render_snippet(snip, Style(True))


def test_document_text_cannot_drive_the_terminal():
    assert clean("red\x1b[31m text\x1b]0;title\x07 \r\x08ok") == "red text ok"
