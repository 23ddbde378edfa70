"""The facts files (``engine.facts``): the ids and file facts a reindex reads in one go must be
what Whoosh's own term index and ``fileinfo`` column hold, and a missing, damaged or stale file
is derived again with the same results."""

from __future__ import annotations

import shutil

import pytest
from whoosh import index as whoosh_index

from index_data import ReindexReport, reindex
from index_data.corpus import parse_file
from index_data.engine import IndexUpdater, facts
from index_data.engine.schema import document_fields
from reindex_util import Corpus, assert_index_matches, index_state


@pytest.fixture
def corpus(tmp_path):
    c = Corpus(tmp_path / "corpus", seed=11)
    c.add(40)
    return c


def counts(r: ReindexReport) -> tuple:
    return r.added, r.updated, r.deleted, r.unchanged, len(r.rejected), r.files_read, r.refreshed


def facts_files(ix) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((ix / facts.DIR).glob(f"*{facts.SUFFIX}"))}


def whoosh_view(ix) -> dict[str, list[tuple[int, str]]]:
    with IndexUpdater(ix) as u:
        return {k: [(d.docnum, d.fileinfo) for d in v] for k, v in u.indexed_docs().items()}


def facts_view(ix) -> dict[str, list[tuple[int, str]]]:
    with IndexUpdater(ix) as u:
        return u.indexed_facts().as_dict()


def test_facts_equal_whoosh_through_segments_deletions_and_duplicates(corpus, tmp_path):
    """The speed path against Whoosh's own data: several segments, deleted documents, an id
    held twice (Whoosh's update_document pitfall), a fileinfo from an older mqt (no path)."""
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    assert facts_files(ix)  # written by the build
    for _ in range(3):
        corpus.mutate(add=3, modify=3, delete=2, touch=1, broken=1)
        reindex(corpus.path, ix)
    q = parse_file(corpus.files()[0])
    wix = whoosh_index.open_dir(str(ix), indexname="MAIN")
    with wix.writer() as w:
        w.update_document(**document_fields(q, "1:2:x"))  # no relpath: an older mqt's
        w.update_document(**document_fields(q, "1:2:x"))
    wix.close()
    want = whoosh_view(ix)
    assert len(want[q.id]) == 2 and sum(len(v) for v in want.values()) > len(want)
    assert facts_view(ix) == want  # derived for the new segment, read for the others
    assert facts_view(ix) == want  # all read from the files
    with IndexUpdater(ix) as u, u._ix.reader() as reader:
        for leaf, _base in reader.leaf_readers():
            seg = leaf.segment().segment_id()
            derived = facts.derive(leaf)
            stored = facts.read(facts.facts_path(ix, seg), segment_id=seg, docs=leaf.doc_count_all())
            assert stored is not None
            assert (stored.ids, stored.rel, stored.infos()) == (derived.ids, derived.rel, derived.infos())
            assert (stored.id_doc.tolist(), stored.size.tolist(), stored.mtime.tolist()) == \
                (derived.id_doc.tolist(), derived.size.tolist(), derived.mtime.tolist())
    r = reindex(corpus.path, ix)
    assert r.updated == 1  # the duplicate is healed
    assert_index_matches(ix, corpus.path)
    assert facts_view(ix) == whoosh_view(ix)


@pytest.mark.parametrize("damage", ["delete", "truncate", "flip", "zero", "stale"])
def test_missing_damaged_or_stale_facts_are_derived_again(corpus, tmp_path, damage):
    ix = tmp_path / "ix"
    reindex(corpus.path, ix)
    corpus.mutate(add=2, modify=0, delete=0, touch=0, broken=0)
    reindex(corpus.path, ix)  # two segments, two files
    good = facts_files(ix)
    assert len(good) >= 2
    corpus.mutate(add=2, modify=2, delete=1, touch=1, broken=0)
    twin = tmp_path / "twin"
    shutil.copytree(ix, twin)
    names = sorted(good)
    victim = ix / facts.DIR / names[0]
    data = bytearray(victim.read_bytes())
    if damage == "delete":
        shutil.rmtree(ix / facts.DIR)
    elif damage == "truncate":
        victim.write_bytes(bytes(data[:len(data) // 2]))
    elif damage == "flip":
        data[len(data) // 2] ^= 0x20
        victim.write_bytes(bytes(data))
    elif damage == "zero":
        victim.write_bytes(bytes(len(data)))
    else:  # another segment's file under this segment's name
        victim.write_bytes(good[names[1]])
    r_damaged, r_whole = reindex(corpus.path, ix), reindex(corpus.path, twin)
    assert counts(r_damaged) == counts(r_whole)
    assert index_state(ix)[0] == index_state(twin)[0]
    assert_index_matches(ix, corpus.path)
    assert facts_view(ix) == whoosh_view(ix)
    after, twin_after = facts_files(ix), facts_files(twin)
    assert names[0] in after and after[names[0]] == twin_after[names[0]]  # rewritten whole
    assert len(after) == len(twin_after)
    assert reindex(corpus.path, ix).files_read == 0


def test_rounds_match_the_whoosh_path(corpus, tmp_path):
    """Add, change, delete, touch, break: each reindex through the facts files gives the index
    and the report that deriving everything from Whoosh (the facts deleted before every run,
    as before the facts existed) gives."""
    ix, slow = tmp_path / "ix", tmp_path / "slow"
    reindex(corpus.path, ix)
    shutil.copytree(ix, slow)
    for _ in range(4):
        corpus.mutate(add=4, modify=3, delete=2, touch=2, broken=1)
        shutil.rmtree(slow / facts.DIR)
        a, b = reindex(corpus.path, ix), reindex(corpus.path, slow)
        # files only touched in an earlier round are read again without their facts files
        assert counts(a)[:5] == counts(b)[:5] and a.files_read <= b.files_read
        assert index_state(ix) == index_state(slow)
        assert_index_matches(ix, corpus.path)
        assert facts_view(ix) == whoosh_view(ix)
