"""A wrong, empty or unmounted corpus folder never empties a good index (``index_data.safety``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import question_file
from index_data import build_index, reindex
from index_data.errors import TooManyDeletionsError
from index_data.safety import DeleteLimit
from searcher import Searcher

N = 40


def _corpus(root, n=N, start=0):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        (root / f"q{i:03d}.txt").write_text(
            question_file(title=f"Cycle lanes {i}", question=f"What about cycle lane number {i}?"),
            encoding="utf-8")
    return root


def _ids(index_dir) -> set[str]:
    with Searcher(index_dir) as s:
        page = s.search("cycle", limit=1000, facets=False, snippets=False)
    return {h.id for h in page.hits}


def _mqt(*args):
    return subprocess.run([sys.executable, "-m", "searcher.cli", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture
def built(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    index = tmp_path / "idx"
    build_index(corpus, index)
    return corpus, index


def test_cron_reindex_against_an_empty_mount_point_keeps_every_document(built, tmp_path):
    corpus, index = built
    mount = tmp_path / "mnt"  # an unmounted share: the mount point is an empty folder
    mount.mkdir()
    before = _ids(index)
    r = _mqt("reindex", mount, "--index", index, "--wait", "0")
    assert r.returncode == 5
    assert "refusing to remove 40 of 40 indexed documents (100%)" in r.stderr
    assert str(mount) in r.stderr and str(corpus.resolve()) in r.stderr  # read, and built from
    assert "holds no question files" in r.stderr and "--allow-deletes" in r.stderr
    assert r.stdout == ""
    assert _ids(index) == before and len(before) == N


def test_a_folder_without_question_files_is_refused(built, tmp_path):
    _, index = built
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "notes.md").write_text("not a question")
    with pytest.raises(TooManyDeletionsError) as e:
        reindex(wrong, index)
    assert e.value.would_delete == N and e.value.documents == N
    assert len(_ids(index)) == N


def test_reindex_deleting_more_than_the_limit_changes_nothing(built):
    corpus, index = built
    for p in sorted(corpus.iterdir())[:11]:  # 11 of 40 (27%): over 10%, over the floor of 10
        p.unlink()
    with pytest.raises(TooManyDeletionsError) as e:
        reindex(corpus, index)
    assert e.value.would_delete == 11
    assert "more than the limit of 10% of the documents" in str(e.value)
    assert len(_ids(index)) == N
    report = reindex(corpus, index, max_delete="30%")
    assert report.deleted == 11 and len(_ids(index)) == N - 11


def test_a_few_deletions_are_always_allowed(built):
    corpus, index = built
    for p in sorted(corpus.iterdir())[:10]:  # 25% of a small index, but only 10 documents
        p.unlink()
    assert reindex(corpus, index).deleted == 10


def test_allow_deletes_may_empty_the_index(built, tmp_path):
    _, index = built
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _mqt("reindex", empty, "--index", index, "--wait", "0", "--allow-deletes")
    assert r.returncode == 0, r.stderr
    assert "40 deleted" in r.stderr
    assert _ids(index) == set()


def test_files_that_stop_parsing_count_as_deletions_and_nothing_is_committed(built):
    corpus, index = built
    for p in sorted(corpus.iterdir())[:20]:
        p.write_text("not a question file\n", encoding="utf-8")
    with pytest.raises(TooManyDeletionsError) as e:
        reindex(corpus, index)
    assert e.value.would_delete == 20
    assert len(_ids(index)) == N
    with Searcher(index) as s:  # the old documents, not half of an update
        assert s.search("cycle lane number 3", limit=1).hits[0].id == "q003"
    files = {p.name for p in index.iterdir()}
    assert not any(n.endswith(".seg") and "tmp" in n for n in files)


def test_max_delete_count_and_bad_values(built, tmp_path):
    corpus, index = built
    for p in sorted(corpus.iterdir())[:12]:
        p.unlink()
    r = _mqt("reindex", corpus, "--index", index, "--wait", "0", "--max-delete", "11")
    assert r.returncode == 5 and "the limit of 11 document(s)" in r.stderr
    r = _mqt("reindex", corpus, "--index", index, "--wait", "0", "--max-delete", "lots")
    assert r.returncode == 2 and "not a deletion limit" in r.stderr
    r = _mqt("reindex", corpus, "--index", index, "--wait", "0", "--max-delete", "12")
    assert r.returncode == 0 and "12 deleted" in r.stderr
    assert DeleteLimit.parse("25%").allowed(1000) == 250
    assert DeleteLimit.parse(None).allowed(10) is None
    with pytest.raises(ValueError):
        DeleteLimit.parse("150%")


def test_index_refuses_to_replace_an_index_with_an_empty_one(built, tmp_path):
    _, index = built
    wrong = tmp_path / "wrongdir"
    wrong.mkdir()
    r = _mqt("index", wrong, "--index", index, "--wait", "0")
    assert r.returncode == 5
    assert "would be empty" in r.stderr and "--force" in r.stderr
    assert len(_ids(index)) == N
    r = _mqt("index", wrong, "--index", index, "--wait", "0", "--force")
    assert r.returncode == 0, r.stderr
    assert _ids(index) == set()


def test_index_from_another_folder_losing_many_documents_needs_force(built, tmp_path):
    corpus, index = built
    other = _corpus(tmp_path / "other", n=30, start=20)  # keeps q020..q039, loses 20 of 40
    with pytest.raises(TooManyDeletionsError) as e:
        build_index(other, index)
    assert e.value.would_delete == 20 and e.value.built_from == str(corpus.resolve())
    assert len(_ids(index)) == N
    build_index(other, index, force=True)
    assert len(_ids(index)) == 30


def test_index_from_the_same_folder_may_shrink_but_not_to_nothing(built):
    corpus, index = built
    for p in sorted(corpus.iterdir())[:30]:
        p.unlink()
    assert build_index(corpus, index).indexed == 10  # the user rebuilds their own folder
    for p in corpus.iterdir():
        p.unlink()
    with pytest.raises(TooManyDeletionsError):
        build_index(corpus, index)
    assert len(_ids(index)) == 10


def test_a_rebuild_for_a_schema_change_is_guarded_too(built, tmp_path):
    _, index = built
    meta = json.loads((index / "mqt-index.json").read_text())
    meta["schema_version"] = meta["schema_version"] - 1  # as if an older mqt had built it
    (index / "mqt-index.json").write_text(json.dumps(meta))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TooManyDeletionsError):
        reindex(empty, index)
    assert json.loads((index / "mqt-index.json").read_text())["schema_version"] == meta["schema_version"]


def test_reindex_records_where_and_when_it_updated(built, tmp_path):
    corpus, index = built
    moved = tmp_path / "moved"
    shutil.copytree(corpus, moved)
    reindex(moved, index)
    meta = json.loads((index / "mqt-index.json").read_text())
    assert meta["corpus_dir"] == str(moved.resolve())
    assert meta["documents"] == N and meta["updated_at"] >= meta["built_at"]
