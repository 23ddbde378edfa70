"""Hostile input: corpus files, queries, damaged indexes and unsafe output never crash or lose data."""

from __future__ import annotations

import errno
import json
import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SEED, question_file
from index_data import IndexCorruptError, IndexVersionError, IndexWriteError, build_index
from index_data import corpus as corpus_mod
from index_data.corpus import MAX_FILE_BYTES
from searcher import QueryError, Searcher
from searcher.cli import cli


def rejected_reasons(report) -> dict[str, str]:
    return {os.path.basename(r.path): r.reason for r in report.rejected}


def deny_read(monkeypatch, name: str) -> None:
    """Make opening corpus file ``name`` fail with EACCES, as it would for an unprivileged user
    (chmod cannot do it when the tests run as root)."""
    real_open = open

    def guarded_open(path, *a, **kw):
        if str(path).endswith(name):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(corpus_mod, "open", guarded_open, raising=False)


# ---- corpus input ------------------------------------------------------------------------------

def test_huge_files_are_rejected_unread(write_corpus, tmp_path):
    corpus = write_corpus({"good.txt": question_file()})
    with open(corpus / "huge.txt", "wb") as f:  # 50 MB, sparse: costs nothing to make
        f.truncate(50 * 1024 * 1024)
    (corpus / "longline.txt").write_text(question_file(question="x" * (10 * 1024 * 1024)))
    report = build_index(corpus, tmp_path / "ix")
    reasons = rejected_reasons(report)
    assert report.indexed == 1
    assert f"the limit is {MAX_FILE_BYTES:,}" in reasons["huge.txt"]
    assert f"the limit is {MAX_FILE_BYTES:,}" in reasons["longline.txt"]


def test_long_line_under_the_size_limit_is_rejected_by_line(write_corpus, tmp_path):
    corpus = write_corpus({"long.txt": question_file(question="word " * 30_000), "ok.txt": question_file()})
    report = build_index(corpus, tmp_path / "ix")
    assert report.indexed == 1 and "line longer than" in rejected_reasons(report)["long.txt"]
    assert report.rejected[0].line == 13


def test_invalid_utf8_in_the_middle_is_reported_with_its_line(write_corpus, tmp_path):
    data = question_file(question="Siân asked.\nSecond line.").encode().replace(b"Second", b"Sec\xc3\x28nd")
    corpus = write_corpus({"bad.txt": data, "ok.txt": question_file()})
    report = build_index(corpus, tmp_path / "ix")
    assert report.indexed == 1
    assert report.rejected[0].line == 14 and "invalid UTF-8" in report.rejected[0].reason


def test_file_vanishing_during_the_build(write_corpus, tmp_path):
    corpus = write_corpus({"a.txt": question_file(title="A"), "b.txt": question_file(title="B"),
                           "c.txt": question_file(title="C")})

    def progress(done, total):
        if done == 1:
            (corpus / "b.txt").unlink()

    report = build_index(corpus, tmp_path / "ix", progress=progress)
    assert report.indexed == 2
    assert "cannot read file" in rejected_reasons(report)["b.txt"]


def test_file_changing_while_read_is_taken_as_read(write_corpus, tmp_path, monkeypatch):
    corpus = write_corpus({"a.txt": question_file(title="Before")})
    real = corpus_mod.read_bytes

    def read_and_change(path):
        data = real(path)
        (corpus / "a.txt").write_text(question_file(title="After, and longer"))
        return data

    monkeypatch.setattr("index_data.sources.read_bytes", read_and_change)
    build_index(corpus, tmp_path / "ix")
    with Searcher(tmp_path / "ix") as s:
        assert s.get("a").title == "Before"  # one consistent snapshot, never a mix


def test_permission_denied(write_corpus, tmp_path, monkeypatch):
    corpus = write_corpus({"secret.txt": question_file(), "ok.txt": question_file()})
    if os.geteuid() != 0:
        os.chmod(corpus / "secret.txt", 0)
    else:  # root reads anything
        deny_read(monkeypatch, "secret.txt")
    report = build_index(corpus, tmp_path / "ix")
    assert report.indexed == 1
    assert "Permission denied" in rejected_reasons(report)["secret.txt"]


def test_symlinks_loop_outside_and_inside(write_corpus, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text(question_file(title="Outside"))
    corpus = write_corpus({"real.txt": question_file(title="Real")})
    os.symlink(corpus / "loop2.txt", corpus / "loop1.txt")
    os.symlink(corpus / "loop1.txt", corpus / "loop2.txt")
    os.symlink(outside, corpus / "escape.txt")
    os.symlink(corpus / "real.txt", corpus / "alias.txt")
    os.symlink(corpus, corpus / "subdir_loop")  # a linked folder is not entered
    report = build_index(corpus, tmp_path / "ix")
    reasons = rejected_reasons(report)
    assert "outside the corpus" in reasons["escape.txt"]
    assert "loop" in reasons["loop1.txt"] and "loop" in reasons["loop2.txt"]
    assert report.indexed == 2  # real.txt and the link to it inside the corpus


# ---- damaged indexes ---------------------------------------------------------------------------

def _segment_files(ix):
    return [p for p in ix.iterdir() if p.suffix == ".seg" or p.name.endswith(".toc")]


# Whoosh leaves the damaged file open when unpickling it fails: its leak, not ours.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("damage", ["truncate", "zero"])
def test_damaged_segment_gives_a_clear_error_and_exit_code(tmp_path, damage):
    build_index(SEED.parent, tmp_path / "ix")
    for p in _segment_files(tmp_path / "ix"):
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"\0" * len(data))
    with pytest.raises(IndexCorruptError, match="rebuild it"):
        with Searcher(tmp_path / "ix") as s:
            s.search("hate crime")
    r = CliRunner().invoke(cli, ["search", "hate", "--index", str(tmp_path / "ix")])
    assert r.exit_code == 1 and "damaged" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_index_pickled_by_another_version_asks_for_a_rebuild(tmp_path, monkeypatch):
    build_index(SEED.parent, tmp_path / "ix")
    import index_data.engine.analyzers as analyzers
    monkeypatch.delattr(analyzers, "MqtTokenizer")  # the class moved in some other version
    with pytest.raises(IndexVersionError, match="rebuild"):
        Searcher(tmp_path / "ix")


def test_disk_full_while_writing_keeps_the_old_index(write_corpus, tmp_path, monkeypatch):
    corpus = write_corpus({"a.txt": question_file(title="Alpha")})
    build_index(corpus, tmp_path / "ix")
    (corpus / "b.txt").write_text(question_file(title="Beta"))
    from whoosh.filedb.filestore import FileStorage

    def full(self, name, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileStorage, "create_file", full)
    with pytest.raises(IndexWriteError, match="No space left on device"):
        build_index(corpus, tmp_path / "ix")
    monkeypatch.undo()
    with Searcher(tmp_path / "ix") as s:
        assert [h.id for h in s.search("").hits] == ["a"]
    assert not [p for p in tmp_path.iterdir() if "building" in p.name]


# ---- hostile queries ---------------------------------------------------------------------------

HOSTILE = ['"', '"hate', "(", ")", "((hate)", "-", "*", "~", ":", "+", "a:", ":b", "party:", 'party:"',
           "nosuchfield:x", "date:yesterday", "year:20x7", "date:2017-02-30", "\x00\x1b[31m\x07",
           "🙂 hate 🙂", "جريمة الكراهية", "שלום hate",
           pytest.param("hate" * 2500, marks=pytest.mark.slow),  # a 10,000-letter word to correct
           "OR", "AND", "NOT", "NOT NOT",
           "a OR OR b", "((((((((((x))))))))))", "~~~~", "**", "hate~~", "h*", "\u202ehate", "date:..",
           "year:2018..2016", "-(-(-x))", "\\", "'", "''", "“hate crime”"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_query_gives_results_or_a_query_error(searcher, text):
    try:
        page = searcher.search(text)
    except QueryError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert page.total >= 0 and isinstance(page.hits, list)


def test_overlong_query_is_refused(searcher):
    with pytest.raises(QueryError, match="limit is 10,000"):
        searcher.search("x" * 10_001)


def test_ten_thousand_character_pasted_query_is_answered(searcher):
    text = ("What is the Mayor doing about knife crime in Croydon and hate crime? " * 200)[:10_000]
    page = searcher.search(text)
    assert page.hits[0].id in {"knife", "000_f69fb07d1f8a9a60"}


def test_prefix_expansion_is_bounded(searcher, monkeypatch):
    monkeypatch.setattr("index_data.engine.compiler.MAX_PREFIX_SCAN", 1)
    with pytest.raises(QueryError, match="too many words"):
        searcher.search("tr*")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
       | st.lists(st.sampled_from(['"', "(", ")", "-", "+", "*", "~", ":", "OR", "AND", "NOT", "hate",
                                   "crime", "party:", "labour", "year:", "2017", "..", "date:", "~2",
                                   " ", "title:", "asker:"]), max_size=12).map("".join))
def test_any_query_string_gives_results_or_query_error(searcher, text):
    try:
        page = searcher.search(text, limit=3)
    except QueryError:
        return
    assert page.total >= len(page.hits)
    for hit in page.hits:
        for snip in hit.snippets.question + hit.snippets.answer:
            assert "<" not in snip.replace("<mark>", "").replace("</mark>", "")


_words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(st.tuples(_words, _words, st.text(max_size=300)), min_size=1, max_size=5))
def test_random_documents_index_and_search_without_crashing(tmp_path_factory, docs):
    base = tmp_path_factory.mktemp("rand")
    corpus = base / "c"
    corpus.mkdir()
    for i, (title, asker, body) in enumerate(docs):
        (corpus / f"d{i}.txt").write_text(question_file(title=title, asker=asker, question=body),
                                          encoding="utf-8")
    report = build_index(corpus, base / "ix")
    assert report.indexed + len(report.rejected) == len(docs)
    with Searcher(base / "ix") as s:
        assert s.search("").total == report.indexed
        for title, _asker, body in docs:
            for text in (title, body[:50]):
                try:
                    s.search(text)
                except QueryError:
                    pass


# ---- unsafe output -----------------------------------------------------------------------------

def test_json_output_never_carries_live_markup(tmp_path):
    from index_data.build import build_index as build

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "x.txt").write_text(question_file(
        title="<img src=x onerror=alert(1)>", asker="<b>Bold</b>",
        question="Is <script>alert(1)</script> safe?", answers=(("The Mayor", "<i>No</i> & never."),)))
    build(corpus, tmp_path / "ix")
    runner = CliRunner()
    for args in (["search", "safe", "--json"], ["show", "x", "--json"], ["stats", "--json"]):
        r = runner.invoke(cli, args + ["--index", str(tmp_path / "ix")])
        assert r.exit_code == 0
        assert "<" not in r.stdout and ">" not in r.stdout
        json.loads(r.stdout)
    d = json.loads(runner.invoke(cli, ["search", "safe", "--json", "--index", str(tmp_path / "ix")]).stdout)
    assert d["hits"][0]["title"] == "<img src=x onerror=alert(1)>"  # data intact once parsed
    assert "&lt;script&gt;" in d["hits"][0]["snippets"]["question"][0]


def test_terminal_output_strips_escape_sequences_from_documents(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "x.txt").write_text(question_file(
        title="Evil \x1b[2J\x1b[31mTitle", asker="Bob\x1b]0;pwned\x07",
        question="Text with \x1b[1A cursor moves and \x08 backspace about buses.",
        answers=(("The Mayor", "Answer \x1b[0m about buses."),)))
    build_index(corpus, tmp_path / "ix")
    runner = CliRunner()
    for args in (["search", "buses"], ["show", "x"], ["stats"]):
        r = runner.invoke(cli, args + ["--index", str(tmp_path / "ix")])
        assert r.exit_code == 0
        assert "\x1b" not in r.stdout and "\x08" not in r.stdout and "\x07" not in r.stdout
    assert "Evil Title" in runner.invoke(cli, ["search", "buses", "--index", str(tmp_path / "ix")]).stdout


# ---- the same through reindex ------------------------------------------------------------------

def test_reindex_reports_hostile_files_like_index(write_corpus, tmp_path):
    from index_data import reindex

    corpus = write_corpus({"good.txt": question_file(), "empty.txt": "", "binary.txt": b"\x00\x01bin",
                           "bad_utf8.txt": question_file(question="Siân £5").encode().replace(b"\xc2\xa3", b"\xff"),
                           "notes.md": "ignored", ".hidden.txt": "ignored"})
    with open(corpus / "huge.txt", "wb") as f:
        f.truncate(50 * 1024 * 1024)
    outside = tmp_path / "outside.txt"
    outside.write_text(question_file(title="Outside"))
    os.symlink(outside, corpus / "escape.txt")
    os.symlink(corpus / "loop2.txt", corpus / "loop1.txt")
    os.symlink(corpus / "loop1.txt", corpus / "loop2.txt")
    built = build_index(corpus, tmp_path / "ix_build")
    report = reindex(corpus, tmp_path / "ix_reindex")
    assert report.added == built.indexed == 1
    assert rejected_reasons(report) == rejected_reasons(built)
    assert set(rejected_reasons(report)) == {"empty.txt", "binary.txt", "bad_utf8.txt", "huge.txt",
                                             "escape.txt", "loop1.txt", "loop2.txt"}
    (corpus / "late.txt").write_text(question_file(title="Late"))  # and again, incrementally
    again = reindex(corpus, tmp_path / "ix_reindex")
    assert again.added == 1 and set(rejected_reasons(again)) == set(rejected_reasons(report))


@pytest.mark.parametrize("err, text", [(errno.ENOSPC, "No space left on device"),
                                       (errno.EROFS, "Read-only file system")])
def test_failed_reindex_write_keeps_the_index_usable(write_corpus, tmp_path, monkeypatch, err, text):
    from whoosh.filedb.filestore import FileStorage

    from index_data import reindex

    corpus = write_corpus({"a.txt": question_file(title="Alpha")})
    reindex(corpus, tmp_path / "ix")
    (corpus / "b.txt").write_text(question_file(title="Beta"))

    def fail(self, name, *a, **kw):
        raise OSError(err, text)

    monkeypatch.setattr(FileStorage, "create_file", fail)
    with pytest.raises(IndexWriteError, match=text):
        reindex(corpus, tmp_path / "ix")
    r = CliRunner().invoke(cli, ["reindex", str(corpus), "--index", str(tmp_path / "ix")])
    assert r.exit_code == 1 and text in r.stderr and "Traceback" not in r.stderr
    monkeypatch.undo()
    with Searcher(tmp_path / "ix") as s:
        assert [h.id for h in s.search("").hits] == ["a"]  # the previous state, still answering
    assert reindex(corpus, tmp_path / "ix").added == 1  # and the next run completes the work


def test_reindex_reports_unreadable_and_vanishing_files(write_corpus, tmp_path, monkeypatch):
    from index_data import reindex

    corpus = write_corpus({"a.txt": question_file(title="A"), "b.txt": question_file(title="B"),
                           "c.txt": question_file(title="C"), "secret.txt": question_file(title="S")})
    deny_read(monkeypatch, "secret.txt")

    def progress(done, total):
        if (corpus / "b.txt").exists() and done >= 1:
            (corpus / "b.txt").unlink()

    report = reindex(corpus, tmp_path / "ix", progress=progress)
    reasons = rejected_reasons(report)
    assert "Permission denied" in reasons["secret.txt"]
    assert "cannot read file" in reasons["b.txt"]
    assert report.added == 2 and len(report.rejected) == 2
    with Searcher(tmp_path / "ix") as s:
        assert {"a", "c"} <= {h.id for h in s.search("").hits}
        assert "secret" not in {h.id for h in s.search("").hits}
