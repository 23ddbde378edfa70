"""Index building: rejected files are reported and the rest indexed; schema versions; index errors."""

import json

import pytest

from conftest import SEED, question_file
from index_data import (IndexCorruptError, IndexMissingError, IndexVersionError, MqtError,
                        build_index)
from index_data.meta import META_FILE, SCHEMA_VERSION
from searcher import Searcher


def test_bad_files_are_listed_and_the_rest_indexed(write_corpus, tmp_path):
    corpus = write_corpus({
        "good.txt": question_file(),
        "empty.txt": "",
        "nometa.txt": "Just a title\n\nno meeting line here\n",
        "binary.txt": b"\x00\x01\x02binary",
        "sub/000_f69fb07d1f8a9a60.txt": question_file(title="Same file name as the seed"),
        "notes.md": "ignored",
    }, seed=True)
    report = build_index(corpus, tmp_path / "ix")
    assert report.indexed == 2
    rejected = {r.path.split("/")[-1]: r for r in report.rejected}
    assert set(rejected) == {"empty.txt", "nometa.txt", "binary.txt", "000_f69fb07d1f8a9a60.txt"}
    assert rejected["nometa.txt"].line == 3 and "MEETING on YYYY-MM-DD" in rejected["nometa.txt"].reason
    assert "duplicate document id" in rejected["000_f69fb07d1f8a9a60.txt"].reason
    assert "/sub/" in rejected["000_f69fb07d1f8a9a60.txt"].path  # the first one found is kept
    with Searcher(tmp_path / "ix") as s:
        assert s.get("000_f69fb07d1f8a9a60").title == "Hate Crime (1)"
        assert s.search("").total == 2
    d = report.to_dict()
    assert d["indexed"] == 2 and len(d["rejected"]) == 4 and json.dumps(d)


def test_rebuild_replaces_the_old_index(write_corpus, tmp_path):
    corpus = write_corpus({"a.txt": question_file(title="Alpha")})
    build_index(corpus, tmp_path / "ix")
    (corpus / "a.txt").unlink()
    (corpus / "b.txt").write_text(question_file(title="Beta"))
    build_index(corpus, tmp_path / "ix")
    with Searcher(tmp_path / "ix") as s:
        assert [h.id for h in s.search("").hits] == ["b"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dirs left


def test_refuses_to_replace_a_folder_that_is_not_an_index(write_corpus, tmp_path):
    corpus = write_corpus({"a.txt": question_file()})
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.docx").write_text("years of work")
    with pytest.raises(MqtError, match="not an mqt index"):
        build_index(corpus, precious)
    assert (precious / "thesis.docx").exists()


def test_index_of_another_schema_version_asks_for_a_rebuild(tmp_path):
    build_index(SEED.parent, tmp_path / "ix")
    meta = tmp_path / "ix" / META_FILE
    data = json.loads(meta.read_text())
    data["schema_version"] = SCHEMA_VERSION + 1
    meta.write_text(json.dumps(data))
    with pytest.raises(IndexVersionError, match="rebuild it with `mqt index CORPUS_DIR`"):
        Searcher(tmp_path / "ix")


def test_missing_and_foreign_index_directories(tmp_path):
    with pytest.raises(IndexMissingError, match="no index at"):
        Searcher(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    with pytest.raises(IndexMissingError, match="not an mqt index"):
        Searcher(tmp_path / "other")


def test_unreadable_metadata_is_reported(tmp_path):
    build_index(SEED.parent, tmp_path / "ix")
    (tmp_path / "ix" / META_FILE).write_text("{not json")
    with pytest.raises(IndexCorruptError):
        Searcher(tmp_path / "ix")
