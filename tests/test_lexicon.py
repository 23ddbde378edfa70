"""The index's word list (``engine.lexicon``) answers as the Whoosh spelling field it replaced.

The reference is that field itself: for each segment of an mqt index, a Whoosh index of the
same documents (deleted ones too: Whoosh counts them until a merge) with the old field
definition (unstemmed words and their counts, ``MqtText(drop_stops=True, stem_words=False)``),
read through Whoosh's reader (one segment) or ``MultiReader`` (several), as ``Snapshot`` read
the index's own ``spell`` field before. Compared: document counts, membership, prefix
expansions, ``terms_within`` and whole search pages ("did you mean", prefixes, fuzzy words),
after a build in two segments, a reindex that deletes, rewrites and adds files, and a merge
into one segment; and a missing, stale or damaged lexicon file.
"""

from __future__ import annotations

import json
from contextlib import closing
import random
import shutil
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.fields import Schema
from whoosh.reading import MultiReader

from index_data import build_index, reindex
from index_data.engine import EngineReader, Snapshot
from index_data.engine.lexicon import (_HEADER, SegmentLexicon, count_words, decode_words,
                                       encode_words, lex_path, save_lexicon)
from index_data.engine.schema import MqtText
from index_data.model import Question
from searcher import Searcher

QUERIES = ["hous*", "polic*", "co*", "pr*", "zzq*", "polise~", "polise~2", "transprot~2", "housng",
           "crme policng", "hosuing targets", "Sadiq Kahn", "tfl fars", "hate crme", "ulze~"]


class WhooshWords:
    """The reference: Whoosh's reader over a spelling field, answering as ``lexicon.Lexicon``."""

    def __init__(self, reader):
        self.reader = reader

    def doc_frequency(self, word):
        return self.reader.doc_frequency("spell", word)

    def __contains__(self, word):
        return ("spell", word) in self.reader

    def expand_prefix(self, prefix):
        return (w.decode("utf-8") for w in self.reader.expand_prefix("spell", prefix))

    def terms_within(self, word, maxdist, prefix=0):
        return (w.decode("utf-8") if isinstance(w, bytes) else w
                for w in self.reader.terms_within("spell", word, maxdist, prefix=prefix))


def reference(index_dir: Path, work: Path) -> tuple[WhooshWords, list]:
    """A Whoosh spelling field per segment of the index at ``index_dir``, every document of
    the segment in order (see the module doc)."""
    engine = EngineReader(index_dir)
    readers = []
    try:
        for i, (sub, _offset) in enumerate(engine.whoosh_searcher().leaf_searchers()):
            seg = sub.reader()
            d = work / f"ref{i}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            ix = whoosh_index.create_in(str(d), Schema(spell=MqtText(drop_stops=True, stem_words=False,
                                                                     phrase=False)))
            with ix.writer() as w:
                for n in range(seg.doc_count_all()):
                    q = Question.from_dict(json.loads(seg.stored_fields(n)["record"]))
                    w.add_document(spell=f"{q.title}\n{q.question}\n{q.answer_text}")
            readers.append(ix.reader())
    finally:
        engine.close()
    return WhooshWords(readers[0] if len(readers) == 1 else MultiReader(readers)), readers


def assert_same_words(lex, ref, seed: int) -> int:
    """Every answer of the lexicon ``lex`` equals Whoosh's ``ref``; returns the word count."""
    words = list(ref.expand_prefix(""))
    assert list(lex.expand_prefix("")) == words
    for w in words:
        assert lex.doc_frequency(w) == ref.doc_frequency(w) > 0, w
        assert w in lex
    for w in ("zzqx", "", "housingz", "a" * 40, "ü"):
        assert lex.doc_frequency(w) == ref.doc_frequency(w) and (w in lex) == (w in ref), w
    prefixes = sorted({w[:k] for w in words for k in (1, 2, 3)}) + ["zzq", "ü", "housi", "x" * 9]
    for p in prefixes:
        assert list(lex.expand_prefix(p)) == list(ref.expand_prefix(p)), p
    rng = random.Random(seed)
    probes = rng.sample([w for w in words if len(w) > 3], 25)
    probes += [w[:2] + w[3:] for w in probes[:8]] + [w[:1] + w[2] + w[1] + w[3:] for w in probes[8:16]]
    probes += ["polise", "housng", "crme", "transprot", "hosuing"]
    found = 0
    for w in probes:
        for d in (1, 2):
            got = list(lex.terms_within(w, d, prefix=1))
            assert got == list(ref.terms_within(w, d, prefix=1)), (w, d)
            found += len(got)
    assert found > len(probes)
    return len(words)


def page(s: Searcher, query: str):
    p = s.search(query, limit=20, facets=False, snippets=False)
    return p.total, [(h.id, h.score) for h in p.hits], p.suggestion


def assert_same_pages(index_dir: Path, ref: WhooshWords, monkeypatch) -> int:
    """The same search pages (totals, hits and scores, suggestions) from the index's lexicon
    as from the reference; returns how many queries expanded or were corrected. (At most 5
    words a prefix or fuzzy word, the most frequent: their order comes from the lexicon.)"""
    from index_data.engine import compiler

    monkeypatch.setattr(compiler, "MAX_EXPANSIONS", 5)
    with Searcher(index_dir) as s:
        mine = [page(s, q) for q in QUERIES]
    with monkeypatch.context() as m:
        m.setattr(Snapshot, "lexicon", lambda self: ref)
        with Searcher(index_dir) as s:
            theirs = [page(s, q) for q in QUERIES]
    assert mine == theirs
    return sum(1 for total, _hits, suggestion in mine if total or suggestion)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, generate):
    root = tmp_path_factory.mktemp("lexicon") / "corpus"
    generate.generate(root, 240, seed=11)
    return root


def test_the_lexicon_answers_as_whooshs_spelling_field(corpus, tmp_path, generate, monkeypatch):
    root = tmp_path / "corpus"
    shutil.copytree(corpus, root)
    ix = tmp_path / "ix"
    build_index(root, ix, procs=2)
    steps = []

    def check(segments: int, deletions: bool):
        ref, readers = reference(ix, tmp_path / "ref")
        try:
            with closing(EngineReader(ix)) as engine:
                snap = engine.snapshot()
                assert len(snap.whoosh_searcher.leaf_searchers()) == segments
                assert snap.whoosh_searcher.reader().has_deletions() == deletions
                n = assert_same_words(snap.lexicon(), ref, seed=len(steps))
                assert snap.word_frequency("housing") == ref.doc_frequency("housing") > 0
                assert snap.knows_word("housing") and not snap.knows_word("housingzz")
                similar = snap.similar_words("housng", 2)
                assert similar and similar == [(w, ref.doc_frequency(w))
                                               for w in ref.terms_within("housng", 2, prefix=1)]
            expanded = assert_same_pages(ix, ref, monkeypatch)
        finally:
            for r in readers:
                r.close()
        steps.append((n, expanded))

    check(segments=2, deletions=False)

    # delete, rewrite and add files: a new segment, deletions in the old ones (still counted)
    extra = generate.generate(tmp_path / "extra", 9040, seed=12, start=9000)
    files = sorted(p for p in root.iterdir() if p.suffix == ".txt")
    rng = random.Random(5)
    for p in rng.sample(files, 20):
        p.unlink()
    left = sorted(p for p in root.iterdir() if p.suffix == ".txt")
    new = sorted(Path(extra).iterdir())
    for p, src in zip(rng.sample(left, 15), new[:15]):
        p.write_bytes(src.read_bytes())
    for src in new[15:]:
        shutil.copy(src, root / src.name)
    report = reindex(root, ix)
    assert (report.added, report.updated, report.deleted) == (25, 15, 20)
    check(segments=3, deletions=True)

    reindex(root, ix, optimize=True)  # one segment: Whoosh's automaton path, deletions gone
    check(segments=1, deletions=False)
    assert len(list((ix / "mqt-lex").iterdir())) == 1  # merged-away segments' files deleted
    assert all(n > 1000 for n, _ in steps) and all(e >= 8 for _, e in steps), steps


def test_a_missing_stale_or_damaged_lexicon_is_derived_again(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_index(corpus, ix, procs=2)
    files = sorted((ix / "mqt-lex").iterdir())
    assert len(files) == 2
    with closing(EngineReader(ix)) as engine:
        want = list(engine.snapshot().lexicon().expand_prefix(""))
        counts = [engine.snapshot().lexicon().doc_frequency(w) for w in want]
    assert len(want) > 1000

    def answers():
        with closing(EngineReader(ix)) as engine:
            lex = engine.snapshot().lexicon()
            return list(lex.expand_prefix("")), [lex.doc_frequency(w) for w in want]

    missing, damaged = files
    saved = damaged.read_bytes()
    missing.unlink()
    with open(damaged, "r+b") as f:  # the first word's count changed: only the CRC sees it
        f.seek(_HEADER.size)
        f.write((999).to_bytes(4, "little"))
    segid = damaged.stem
    assert SegmentLexicon.load(damaged, segid, 0) is None  # stale: another document count
    got = answers()
    assert got[0] == want and got[1] != counts  # a search reads the file as it is (no CRC)
    reindex(corpus, ix)  # nothing to change: the lexicons are checked whole and mended
    assert missing.exists() and damaged.read_bytes() == saved
    assert answers() == (want, counts)

    missing.unlink()  # a search derives a missing one from the column, the same
    assert answers() == (want, counts)


def test_the_column_and_the_file_format():
    blob = encode_words(["hate", "crime", "hate", "siân", "æ", "crime"])
    assert blob == "hate\ncrime\nsiân\næ".encode() and encode_words([]) == b""
    assert decode_words(blob) == [b"hate", b"crime", "siân".encode(), "æ".encode()]
    assert decode_words(b"") == []
    counts = count_words([blob, b"", encode_words(["hate", "zoo"])])
    assert counts == {b"crime": 1, b"hate": 2, "siân".encode(): 1, "æ".encode(): 1,
                      b"zoo": 1}
    lex = SegmentLexicon.from_counts(counts)
    assert list(lex.counts()) == [("crime", 1), ("hate", 2), ("siân", 1), ("zoo", 1), ("æ", 1)]
    assert lex.doc_frequency(b"hate") == 2 and lex.doc_frequency(b"hat") == 0
    assert list(lex.prefixed(b"s")) == ["siân".encode()] and list(lex.prefixed(b"q")) == []
    empty = SegmentLexicon.from_counts({})
    assert len(empty) == 0 and empty.doc_frequency(b"x") == 0 and list(empty.prefixed(b"")) == []


def test_a_file_for_another_segment_or_count_is_not_read(tmp_path):
    save_lexicon(tmp_path, "seg1", 3, {"crime": 2, "hate": 1})
    path = lex_path(tmp_path, "seg1")
    assert list(SegmentLexicon.load(path, "seg1", 3, check_crc=True).counts()) == [("crime", 2), ("hate", 1)]
    assert SegmentLexicon.load(path, "seg2", 3) is None
    assert SegmentLexicon.load(path, "seg1", 4) is None
    path.write_bytes(path.read_bytes()[:-1])
    assert SegmentLexicon.load(path, "seg1", 3) is None
    assert SegmentLexicon.load(tmp_path / "nothing.mql", "seg1", 3) is None
