"""The fast segment writer writes the index Whoosh's own writer writes for the same documents.

A generated corpus (a few hundred files, unanswered questions among them) plus the test fixtures
is indexed three ways and compared, field by field and term by term (see ``index_compare``),
with the index plain Whoosh writes (``ix.writer()``, the same schema, the same documents in the
same order):

- ``build_index(procs=1)``: one segment, block for block the same posting lists;
- ``build_index(procs=2)``: two segments (worker processes), the same documents with the same
  numbers, the same statistics and postings;
- the segment writer with a tiny memory budget, so its postings go through many sorted run files;
- ``reindex`` (Whoosh's own writer) on top of the two fast-written segments, before and after it
  merges them (live documents compared, matched by id).
"""

from __future__ import annotations

import io
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.analysis import StemmingAnalyzer
from whoosh.codec import default_codec
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.filedb.structfile import StructFile
from whoosh.index import TOC

from conftest import SEED, _library_docs
from index_compare import compare_indexes, compare_live, open_reader
from index_data import reindex
from index_data.analysis import index_counts, index_terms
from index_data.build import _Listing, build_index
from index_data.corpus import parse_file
from index_data.engine.columns import bytes_column
from index_data.engine.format import TermIndexWriter as _TermIndexWriter
from index_data.engine.lexicon import count_words, encode_words
from index_data.engine.schema import INDEX_NAME, document_fields, make_schema
from index_data.engine.segment_writer import FastSegmentWriter
from index_data.fields import SPELL_SOURCES
from index_data.fileinfo import FileInfo
from index_data.sources import load_question, relative_path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, generate):
    root = tmp_path_factory.mktemp("fastseg") / "corpus"
    generate.generate(root, 260, seed=7)
    shutil.copy(SEED, root / SEED.name)
    for name, text in _library_docs().items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "broken.txt").write_text("no meeting line\n\nat all\n", encoding="utf-8")
    return root


def _documents(corpus):
    """The fields of every good file, in build order, as build_index gives them to the writer."""
    docs = []
    listing = _Listing(corpus)
    for n, path in enumerate(listing.paths):
        try:
            q, data = load_question(path, listing.doc_id(n))
        except Exception:
            continue
        docs.append(document_fields(q, FileInfo.of(len(data), listing.mtimes[n], data,
                                                   relative_path(path, corpus)).format()))
    return docs


def _whoosh_index(corpus, d):
    """The reference: Whoosh's own writer, one segment."""
    d.mkdir(exist_ok=True)
    ix = whoosh_index.create_in(str(d), make_schema(), indexname=INDEX_NAME)
    with ix.writer() as w:
        for doc in _documents(corpus):
            w.add_document(**doc)
    return d


@pytest.fixture(scope="module")
def whoosh_index_dir(corpus, tmp_path_factory):
    return _whoosh_index(corpus, tmp_path_factory.mktemp("whoosh_ix"))


def test_length_bytes_survive_whoosh_round_trip():
    """The writer stores field-length bytes as they are: Whoosh turns a byte into a length and
    back into the same byte, for every byte."""
    from whoosh.util.numeric import byte_to_length, length_to_byte

    assert [length_to_byte(byte_to_length(b)) for b in range(256)] == list(range(256))


@pytest.mark.slow  # builds the reference index with Whoosh's own writer
def test_documents_cover_the_cases(corpus, whoosh_index_dir):
    with open_reader(whoosh_index_dir) as r:
        n = r.doc_count_all()
        statuses = Counter(r.stored_fields(d)["record"].split('"status":"')[1][:4] for d in range(n))
    assert n == 260 + 1 + 21 and statuses["unan"] > 5 and statuses["answ"] > 200


@pytest.mark.slow  # a full build compared term by term, block by block
def test_one_segment_build_equals_whoosh(corpus, whoosh_index_dir, tmp_path):
    report = build_index(corpus, tmp_path / "ix", procs=1)
    assert [r.path.rsplit("/", 1)[1] for r in report.rejected] == ["broken.txt"]
    counts = compare_indexes(whoosh_index_dir, tmp_path / "ix", blocks=True)
    assert counts["docs"] == 282 and counts["terms"] > 8_000 and counts["blocks"] >= counts["terms"]
    assert counts["postings"] > 40_000
    assert 0 < counts["raw blocks"] < counts["blocks"]  # both kinds of block compared


@pytest.mark.slow  # worker processes and a full comparison
def test_two_segment_build_equals_whoosh(corpus, whoosh_index_dir, tmp_path):
    build_index(corpus, tmp_path / "ix", procs=2)
    with open_reader(tmp_path / "ix") as r:
        assert len(list(r.leaf_readers())) == 2
    counts = compare_indexes(whoosh_index_dir, tmp_path / "ix", blocks=False)
    assert counts["docs"] == 282


@pytest.mark.slow  # builds, reindexes and compares three times
def test_reindex_on_fast_segments_equals_whoosh(corpus, tmp_path, generate):
    """Whoosh's own writer (the incremental reindex) on top of two fast-written segments:
    deletions, rewritten and new files, then a merge of everything into one segment, give the
    index Whoosh writes for the final corpus."""
    root = tmp_path / "corpus"
    shutil.copytree(corpus, root)
    ix_dir = tmp_path / "ix"
    build_index(root, ix_dir, procs=2)
    extra = generate.generate(tmp_path / "extra", 5030, seed=99, start=5000)
    files = sorted(p for p in root.iterdir() if p.name[0].isdigit())
    rng = random.Random(3)
    for p in rng.sample(files, 15):
        p.unlink()
    left = sorted(p for p in root.iterdir() if p.name[0].isdigit())
    new = sorted(Path(extra).iterdir())
    for p, src in zip(rng.sample(left, 12), new[:12]):
        p.write_bytes(src.read_bytes())  # same id, other text
    for src in new[12:]:
        shutil.copy(src, root / src.name)
    report = reindex(root, ix_dir)
    assert (report.added, report.updated, report.deleted) == (18, 12, 15)
    ref = _whoosh_index(root, tmp_path / "ref")
    with open_reader(ix_dir) as r:
        assert len(list(r.leaf_readers())) == 3 and r.has_deletions()
    counts = compare_live(ref, ix_dir)
    assert counts["docs"] == 282 - 15 + 18 and counts["terms"] > 8_000
    reindex(root, ix_dir, optimize=True)
    with open_reader(ix_dir) as r:
        assert len(list(r.leaf_readers())) == 1 and not r.has_deletions()
    counts = compare_indexes(ref, ix_dir, same_docnums=False, blocks=False, merged=True)
    assert counts["docs"] == 285 and counts["terms"] > 8_000


@pytest.mark.slow  # many run files, then a full comparison
@pytest.mark.parametrize("chunk", [None, (7, 50)])
def test_postings_spilled_to_runs_equal_whoosh(corpus, whoosh_index_dir, tmp_path, monkeypatch, chunk):
    """Postings spilled to run files and merged give Whoosh's index; ``chunk``: runs cut into
    chunks of at most that many terms and array items (most chunks cut by one or the other)."""
    if chunk is not None:
        from index_data.engine import segment_writer

        monkeypatch.setattr(segment_writer, "_CHUNK_TERMS", chunk[0])
        monkeypatch.setattr(segment_writer, "_CHUNK_ITEMS", chunk[1])
        monkeypatch.setattr(segment_writer, "_GATHER_POSTINGS", chunk[0])
    ix = whoosh_index.create_in(str(tmp_path), make_schema(), indexname=INDEX_NAME)
    segment = default_codec().new_segment(ix.storage, INDEX_NAME)
    w = FastSegmentWriter(ix.storage, ix.schema, segment, budget_mb=0.25,
                          derived=("spell", SPELL_SOURCES, encode_words))
    for doc in _documents(corpus):
        w.add_document(**doc)
    seg = w.finish()
    assert w.runs_written > 10
    TOC(ix.schema, [seg], 1).write(ix.storage, INDEX_NAME)
    compare_indexes(whoosh_index_dir, tmp_path, blocks=True)
    with open_reader(tmp_path) as r:
        counts = count_words(bytes_column(r, "spell"))
    assert len(counts) > 5000 and w.word_counts == {k.decode("utf-8"): n for k, n in counts.items()}


@pytest.mark.slow  # a second full build and comparison
def test_without_shared_tokenisation_the_same(corpus, whoosh_index_dir, tmp_path):
    """The spelling column given with each document (no ``derived``) gives the same index."""
    ix = whoosh_index.create_in(str(tmp_path), make_schema(), indexname=INDEX_NAME)
    segment = default_codec().new_segment(ix.storage, INDEX_NAME)
    w = FastSegmentWriter(ix.storage, ix.schema, segment)
    for doc in _documents(corpus):
        w.add_document(**doc)
    TOC(ix.schema, [w.finish()], 1).write(ix.storage, INDEX_NAME)
    compare_indexes(whoosh_index_dir, tmp_path, blocks=True)


def test_a_document_that_cannot_be_analysed_changes_nothing(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), make_schema(), indexname=INDEX_NAME)
    segment = default_codec().new_segment(ix.storage, INDEX_NAME)
    w = FastSegmentWriter(ix.storage, ix.schema, segment)
    with pytest.raises(ValueError, match="unknown field"):
        w.prepare({"id": "a", "nosuchfield": "x"})
    with pytest.raises(ValueError, match="not unicode"):
        w.prepare({"id": "a", "title": 12})
    with pytest.raises(ValueError, match="does not fit"):
        w.prepare({"id": "a", "title": ["a list", "of words"]})
    assert w.doc_count() == 0
    w.add_document(id="b", title="Fine")
    assert w.doc_count() == 1
    w.cancel()


def test_the_vector_column_is_counted_from_the_sources_words(tmp_path):
    """With ``derived`` and ``vector``, a document without the spelling words and the term
    vector gets those ``document_fields`` computes; without a source they cannot be counted."""
    from index_data import termvectors

    ix = whoosh_index.create_in(str(tmp_path), make_schema(), indexname=INDEX_NAME)
    segment = default_codec().new_segment(ix.storage, INDEX_NAME)
    w = FastSegmentWriter(ix.storage, ix.schema, segment, derived=("spell", SPELL_SOURCES, encode_words),
                          vector=(termvectors.FIELD, termvectors.encode))
    doc = document_fields(parse_file(SEED), "1:2:x")
    without = document_fields(parse_file(SEED), "1:2:x", derived=False)
    assert termvectors.FIELD not in without and len(doc[termvectors.FIELD]) > 20
    assert "spell" not in without and doc["spell"].count(b"\n") > 20
    perdoc = {name: cv for name, _f, _sv, _c, cv in w.prepare(without)[1]}
    assert perdoc[termvectors.FIELD] == doc[termvectors.FIELD]
    assert perdoc["spell"] == doc["spell"]
    with pytest.raises(ValueError, match="give spell explicitly"):
        w.prepare({k: v for k, v in without.items() if k != "title"})
    w.cancel()


@pytest.mark.parametrize("field", [TEXT(vector=True), TEXT(analyzer=StemmingAnalyzer(), spelling=True)])
def test_a_schema_with_what_the_writer_cannot_write_is_refused(tmp_path, field):
    """Term vectors and separate spelling words are written by Whoosh's add_document only."""
    schema = Schema(id=ID(stored=True), body=field)
    ix = whoosh_index.create_in(str(tmp_path), schema, indexname=INDEX_NAME)
    with pytest.raises(ValueError, match="field 'body'.*not supported by the fast writer"):
        FastSegmentWriter(ix.storage, schema, default_codec().new_segment(ix.storage, INDEX_NAME))


def test_term_index_writer_writes_whooshs_bytes():
    rng = random.Random(4)
    keys = sorted({bytes(rng.randrange(256) for _ in range(rng.randint(1, 12))) for _ in range(20000)})
    out = []
    for cls in (OrderedHashWriter, _TermIndexWriter):
        buf = io.BytesIO()
        f = StructFile(buf)
        f.close = lambda: None  # keep the bytes readable
        w = cls(f)
        w.extras["fieldmap"] = {"title": 0}
        for k in keys:
            w.add(k, k[::-1] * 3)
        w.close()
        out.append(buf.getvalue())
    assert len(out[0]) > 500_000 and out[0] == out[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["The", "crimes", "Mayor's", "1,000", "O’Neil", "é", "’", "'", ",",
                                 ".", "-", " ", "\n", "19", "x", "s", "£1.2bn"]),
                max_size=30).map("".join) | st.text(max_size=30),
       st.text(max_size=30), st.text(max_size=30))
def test_spelling_words_come_from_the_sources(a, b, c):
    """What the writer relies on to analyse ``spell`` from title, question and answer: the
    joined text has exactly the sources' words (a newline never joins or splits a token)."""
    assert index_counts("\n".join((a, b, c)), True, False) == Counter(
        index_terms(a, True, False) + index_terms(b, True, False) + index_terms(c, True, False))


def test_generic_postings_equal_whoosh(tmp_path):
    """Fields outside mqt's fast paths (Whoosh's own TEXT and KEYWORD analysis, a field boost,
    numbers, a sortable column) go through the generic postings and give Whoosh's index too."""
    schema = Schema(id=ID(stored=True, unique=True), body=TEXT(stored=True),
                    title=TEXT(field_boost=2.0), tags=KEYWORD(scorable=True, commas=True, lowercase=True),
                    n=NUMERIC(int, stored=True, sortable=True), kind=ID)
    rng = random.Random(5)
    words = [f"w{i}" for i in range(60)] + ["café", "naïve", "zürich"]
    docs = []
    for i in range(700):
        docs.append(dict(id=f"d{i:04d}", body=" ".join(rng.choices(words, k=rng.randint(0, 40))
                                                       + [f"rare{i // 3}"] * (i % 3 + 1)),
                         title=" ".join(rng.choices(words[:10], k=rng.randint(1, 4))),
                         tags=",".join(rng.choices(["Red", "green", "blue sky", "x"], k=rng.randint(0, 5))),
                         n=rng.randint(-50, 10**6), kind=rng.choice(["a", "b"])))
        if i % 7 == 0:
            del docs[-1]["title"]
    dirs = []
    for fast in (False, True):
        d = tmp_path / ("fast" if fast else "whoosh")
        d.mkdir()
        ix = whoosh_index.create_in(str(d), schema, indexname=INDEX_NAME)
        if fast:
            w = FastSegmentWriter(ix.storage, schema, default_codec().new_segment(ix.storage, INDEX_NAME))
            for doc in docs:
                w.add_document(**doc)
            TOC(schema, [w.finish()], 1).write(ix.storage, INDEX_NAME)
        else:
            with ix.writer() as w:
                for doc in docs:
                    w.add_document(**doc)
        dirs.append(d)
    counts = compare_indexes(*dirs, blocks=True)
    assert counts["docs"] == 700 and counts["blocks"] > counts["terms"] > 100
    assert 0 < counts["raw blocks"] < counts["blocks"]


def test_term_vectors_are_the_body_counts(corpus):
    """``document_fields`` counts the body's stems from its unstemmed words (the spelling
    field's cached analysis): the same vector, term order included, as ``index_positions``."""
    from index_data.analysis import index_positions
    from index_data import termvectors

    docs = _documents(corpus)
    for doc in docs:
        body = "\n".join((doc["title"], doc["question"], doc["answer"]))
        want = termvectors.encode({t: len(p) for t, p in index_positions(body).items()})
        assert doc["termvec"] == want, doc["id"]
    assert len(docs) == 282


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["The", "crimes", "Mayor's", "1,000", "O’Neil", "é", "’", "'", ",",
                                 ".", "-", " ", "\n", "19", "x", "s", "£1.2bn", "is", "running"]),
                max_size=30).map("".join) | st.text(max_size=40))
def test_stems_of_unstemmed_terms_are_the_stemmed_terms(text):
    """What the writer and the term vectors rely on: stemming the unstemmed index terms gives
    the stemmed index terms, in order."""
    from index_data.analysis import stem_terms

    assert stem_terms(index_terms(text, True, False)) == index_terms(text, True, True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "dd", "é", "zz"]),
                                st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5),
                                min_size=1), max_size=12),
       st.sampled_from([1, 2, 5, 1 << 16]))
def test_flat_postings_group_as_per_term_lists(docs, gather):
    """A FREQ/POS buffer's grouped postings (positions gathered ``gather`` postings at a time)
    are the per-term lists built naively: documents in order, counts, the positions."""
    from index_data.engine import segment_writer

    old = segment_writer._GATHER_POSTINGS
    segment_writer._GATHER_POSTINGS = gather
    try:
        for positions in (True, False):
            buf = segment_writer._FlatPostings(positions)
            want: dict[str, tuple[list, list]] = {}
            for docnum, post in enumerate(docs):
                buf.add(docnum, post if positions else {t: len(p) for t, p in post.items()})
                for t, p in post.items():
                    want.setdefault(t, ([], []))
                    want[t][0].extend([docnum, len(p)])
                    want[t][1].extend(p)
            got = {t: (list(v[0]), list(v[1])) if positions else (list(v), None)
                   for t, v in buf.sorted_postings()}
            assert list(got) == sorted(want)
            assert got == {t: (d, p if positions else None) for t, (d, p) in want.items()}
            assert not buf
    finally:
        segment_writer._GATHER_POSTINGS = old
