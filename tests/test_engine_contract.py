"""The contract between mqt's engine (``index_data/engine``) and Whoosh: every private name, class
and file-format detail the engine relies on, checked in one place against the installed Whoosh.

``pyproject.toml`` pins ``whoosh==2.7.4``; if an upgrade changes one of these, this module says
which, before the equivalence tests (``test_fast_segment``, ``test_executor``) fail in less
telling ways. The names are used in ``index_data/engine/internals.py`` and ``format.py`` only;
the last test checks that no other module of mqt touches one.
"""

from __future__ import annotations

import ast
import inspect
import pickle
import struct
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import whoosh
from whoosh import columns, formats
from whoosh.codec import default_codec, whoosh3
from whoosh.filedb import filetables
from whoosh.index import FileIndex
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from conftest import ROOT
from index_data.engine import format, internals
from index_data.engine.columns import bytes_column, coded_column, numeric_column


def test_the_engine_interface_is_whole():
    """Every name of ``index_data.engine``'s interface imports from its module."""
    import index_data.engine as engine

    assert sorted(engine.__all__) == sorted(engine._INTERFACE)
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name


_DEFERRED_CHECK = """
import sys, types
import index_data.engine  # imports Whoosh first (whoosh_import)
import whoosh.compat, whoosh.query.terms, whoosh.codec.whoosh3
import whoosh.codec.base, whoosh.filedb.compound, whoosh.filedb.filestore, whoosh.filedb.filetables
never = ("urllib.request", "http.client", "ssl", "email", "whoosh.lang.morph_en", "whoosh.automata.lev",
         "whoosh.automata.fsa", "hashlib", "_hashlib", "_md5", "shutil", "tempfile", "bz2", "lzma")
print(sorted(m for m in never if m in sys.modules))
# which modules hold a stand-in module itself (the others hold its forwarding functions)
print(sorted(f"{name}.{k}" for name, mod in list(sys.modules.items()) if mod is not None
             for k, v in list(vars(mod).items())
             if isinstance(v, types.ModuleType) and (v.__doc__ or "").startswith("stand-in")))
import urllib.request, whoosh.lang.morph_en, whoosh.automata.lev, hashlib, shutil, tempfile, io
print(type(urllib.request.urlretrieve).__name__, urllib.request.Request.__module__)
print(sorted(whoosh.lang.morph_en.variations("rendering"))
      == sorted(whoosh.query.terms.variations("rendering")), len(whoosh.lang.morph_en.variations("rendering")))
# Whoosh's own names reach the real functions (the first call imports the module)
from unittest import mock
with mock.patch("urllib.request.urlretrieve", return_value="fetched") as real:
    print(whoosh.compat.urlretrieve("http://example.invalid/x", "x"), real.call_args.args)
print(whoosh.filedb.filetables.md5(b"housing").hexdigest() == hashlib.md5(b"housing").hexdigest(),
      whoosh.filedb.filetables.md5_hash(b"housing") == int(hashlib.md5(b"housing").hexdigest(), 16) & 0xffffffff)
out = io.BytesIO()
whoosh.filedb.compound.copyfileobj(io.BytesIO(b"abc" * 1000), out)
print(out.getvalue() == b"abc" * 1000, whoosh.filedb.filestore.tempfile.gettempdir() == tempfile.gettempdir())
words = ["house", "horse", "mouse", "houses", "hose", "police"]
dfa = whoosh.codec.base.lev.levenshtein_automaton("house", 1, 1).to_dfa()
real_dfa = whoosh.automata.lev.levenshtein_automaton("house", 1, 1).to_dfa()
print([w for w in words if dfa.accept(w)] == [w for w in words if real_dfa.accept(w)],
      [w for w in words if dfa.accept(w)])
"""


def test_whoosh_loads_without_the_deferred_modules_yet_reaches_them():
    """``whoosh_import``: a fresh process importing the engine has not loaded ``urllib.request``
    (nor http, ssl, email), ``whoosh.lang.morph_en``, ``whoosh.automata.lev``, ``hashlib``,
    ``shutil`` or ``tempfile``; only the two Whoosh modules that import a deferred module by name
    hold a stand-in; importing them afterwards gives the real modules, and Whoosh's names call the
    real functions (md5 with the same digests, from ``_md5``)."""
    out = subprocess.run([sys.executable, "-c", _DEFERRED_CHECK], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "['whoosh.codec.base.lev', 'whoosh.filedb.filestore.tempfile']"
    assert lines[2] == "function urllib.request"
    variations_equal, n = lines[3].split()
    assert variations_equal == "True" and int(n) > 1
    assert lines[4] == "fetched ('http://example.invalid/x', 'x')"
    assert lines[5] == "True True"
    assert lines[6] == "True True"
    assert lines[7] == "True ['house', 'horse', 'houses', 'hose']"  # prefix 1: not mouse


def test_the_pinned_whoosh_is_installed():
    assert whoosh.__version__ == (2, 7, 4)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"whoosh==2.7.4"' in pyproject


# ---- format.py: the W3 codec's layout -------------------------------------------------------------

def test_posting_list_constants():
    assert format.MAGIC == whoosh3.WHOOSH3_HEADER_MAGIC == b"W3Bl"
    codec = default_codec()
    assert isinstance(codec, whoosh3.W3Codec)
    assert (codec._blocklimit, codec._compression) == (format.BLOCK_LIMIT, format.COMPRESSION) == (128, 3)
    assert codec._inlinelimit == 1  # with "len < 1" in W3PostingsWriter: never inlined


def test_term_info_and_term_index_structs():
    assert format.TERMINFO is whoosh3.W3TermInfo._struct
    assert format.TERMINFO.format == "!BfIBBfII"
    assert filetables._lengths.format == format._LENGTHS.format == "!ii"
    assert filetables._pointer.format == format._POINTER.format == "!Iq"
    key = b"\x00\x01crime"
    assert filetables.md5_hash(key) == int.from_bytes(__import__("hashlib").md5(key).digest()[12:], "big")


def test_the_term_index_writer_overrides_what_whoosh_calls():
    """TermIndexWriter replaces HashWriter._write_hashes and relies on these attributes."""
    assert inspect.getsource(filetables.HashWriter.close).count("self._write_hashes()") == 1
    for name in ("directory", "extras", "dbfile"):
        assert f"self.{name} =" in inspect.getsource(filetables.HashWriter.__init__), name
    for name in ("index", "lastkey"):
        assert f"self.{name} =" in inspect.getsource(filetables.OrderedHashWriter.__init__), name


def test_block_layout_matches_whooshs_writer():
    """W3PostingsWriter._write_block: a signed length (negative for the last block), the pickled
    info tuple, then the pickle of (ids, weights, values), zlib'd when the info's compression
    level is set (Whoosh's writer always sets it; ours not for small blocks)."""
    src = inspect.getsource(whoosh3.W3PostingsWriter._write_block)
    for needle in ("minlength", "maxlength", "zlib.compress", "write_int"):
        assert needle in src, needle
    out = bytearray()
    from array import array

    info = format.write_posting_list(out, format.FREQ, array("I", [0, 2, 5, 1]), None, None)
    (blk,) = format.read_blocks(bytes(out))
    assert blk[0] == (2, 5, 2.0, 0, 0, 0) and blk[1] == [0, 5] and blk[4] is True  # small: raw
    assert format.TERMINFO.unpack(info)[1:3] == (3.0, 2)
    ids, weights = format.decode_postings(bytes(out))
    assert ids.tolist() == [0, 5] and weights.tolist() == [2.0, 1.0]
    raw = bytes(out)
    (n,) = struct.unpack("!i", raw[4:8])
    assert n < 0  # the last (only) block
    body = raw[8:]
    info_tuple = pickle.loads(body)
    data = body[len(pickle.dumps(info_tuple, 2)):]
    assert len(data) < format.COMPRESS_FROM and pickle.loads(data)[0] == (0, 5)
    # a bigger block is compressed, with Whoosh's level
    out = bytearray()
    payload = array("I", [x for d in range(0, 300, 3) for x in (d, 1 + d % 4)])
    format.write_posting_list(out, format.FREQ, payload, None, None)
    (blk,) = format.read_blocks(bytes(out))
    assert blk[0][:4] == (100, 297, 4.0, format.COMPRESSION) and blk[1] == list(range(0, 300, 3))
    body = bytes(out)[8:]
    info_tuple = pickle.loads(body)
    data = zlib.decompress(body[len(pickle.dumps(info_tuple, 2)):])
    assert len(data) >= format.COMPRESS_FROM and pickle.loads(data)[0][:2] == (0, 3)


def test_whooshs_reader_decompresses_only_blocks_with_a_level():
    """Whoosh's matcher takes the compression level from each block's info tuple and
    decompresses only when it is set: blocks written raw (``format.COMPRESS_FROM``) read back.
    (``test_fast_segment`` compares every posting as Whoosh's reader decodes it.)"""
    header = inspect.getsource(whoosh3.W3LeafMatcher._goto)
    assert "self._compression," in header and "info = postfile.read_pickle()" in header
    src = inspect.getsource(whoosh3.W3LeafMatcher._read_data)
    assert "if self._compression:" in src and "zlib.decompress(b)" in src


def test_positions_values_are_whooshs():
    fmt = formats.Positions()
    for poslist in ([0], [3, 9, 10], list(range(0, 900, 7))):
        assert format.positions_value(poslist) == fmt.encode(poslist)
    assert format.bulk_position_deltas([fmt.encode([1, 4])]) == [[1, 3]]


def test_length_bytes_round_trip():
    assert [length_to_byte(byte_to_length(b)) for b in range(256)] == list(range(256))


def test_term_info_extent_length_comes_back_as_a_tuple():
    """W3TermInfo.from_bytes leaves the length as unpack_int's 1-tuple (postings._raw copes)."""
    assert "unpack_int" in inspect.getsource(whoosh3.W3TermInfo.from_bytes)


# ---- internals.py: private attributes of Whoosh's objects -----------------------------------------

@pytest.fixture(scope="module")
def index_with_deletions(library_index, tmp_path_factory):
    import shutil

    from whoosh import index as whoosh_index

    copy = tmp_path_factory.mktemp("contract") / "ix"
    shutil.copytree(library_index, copy)
    ix = whoosh_index.open_dir(str(copy), indexname="MAIN")
    with ix.writer() as w:
        w.delete_by_term("id", "knife")
    ix.close()
    return copy


def _leaf(index_dir):
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(index_dir), indexname="MAIN", readonly=True)
    reader = ix.reader()
    return ix, reader, reader.leaf_readers()[0][0]


def test_column_reader_layouts(library_index):
    ix, reader, leaf = _leaf(library_index)
    try:
        n = leaf.doc_count_all()
        date = internals.fixed_layout(leaf.column_reader("date", translate=False))
        assert date is not None and date.itemsize == 4 and date.typecode == "I" and date.stored <= n
        assert numeric_column(leaf, "date").tolist() == list(leaf.column_reader("date"))
        var = internals.var_layout(leaf.column_reader("termvec", translate=False))
        assert var is not None and len(var.lengths) == len(var.offsets) == n
        assert bytes_column(leaf, "termvec") == list(leaf.column_reader("termvec"))
        ref = internals.ref_layout(leaf.column_reader("facet_party", translate=False))
        assert ref is not None and ref.itemsize == 1 and b"Labour Group" in ref.uniques
        codes, values = coded_column(leaf, "facet_party")
        assert [values[c] for c in codes.tolist()] == list(leaf.column_reader("facet_party"))
        for cls, attrs in ((columns.NumericColumn.Reader, ("_dbfile", "_basepos", "_count", "_fixedlen",
                                                           "_typecode", "_default")),
                           (columns.VarBytesColumn.Reader, ("_dbfile", "_basepos", "_offsets", "_lengths")),
                           (columns.RefBytesColumn.Reader, ("_dbfile", "_basepos", "_itemsize", "_uniques"))):
            src = inspect.getsource(cls)
            for a in attrs:
                assert f"self.{a}" in src, (cls, a)
    finally:
        reader.close()
        ix.close()


def test_segment_reader_internals(library_index, index_with_deletions):
    assert whoosh3.LENGTHS_COLUMN.__class__ is columns.NumericColumn
    assert whoosh3._lenfield("title") == "_title_len"
    ix, reader, leaf = _leaf(library_index)
    try:
        assert internals.postings_file(leaf) is not None
        lengths = internals.length_column(leaf, "title")
        layout = internals.fixed_layout(lengths)
        assert layout is not None and layout.itemsize == 1
        assert internals.length_column(leaf, "nosuchfield") is None
        assert internals.deleted_docs(leaf) is not None and not leaf.has_deletions()
    finally:
        reader.close()
        ix.close()
    ix, reader, leaf = _leaf(index_with_deletions)
    try:
        gone = list(internals.deleted_docs(leaf))
        assert len(gone) == 1 and leaf.is_deleted(gone[0])
        assert len(internals.segments(ix)) == 1
    finally:
        reader.close()
        ix.close()


def test_writer_internals():
    assert "_lk" in inspect.signature(SegmentWriter.__init__).parameters
    assert "self.writelock" in inspect.getsource(SegmentWriter)
    assert callable(FileIndex._segments)
    perdoc = inspect.getsource(whoosh3.W3PerDocWriter)
    assert "self._fieldlengths" in perdoc
    base = inspect.getsource(__import__("whoosh.codec.base", fromlist=["x"]).PerDocWriterWithColumns)
    for name in ("def _create_column", "def _get_column"):
        assert name in base, name
    assert "self._dbfile" in inspect.getsource(columns.NumericColumn.Writer)


# ---- no other module touches a private Whoosh name ------------------------------------------------

PRIVATE_NAMES = {
    "_dbfile", "_perdoc", "_postfile", "_struct", "_segments", "_lk", "_offsets", "_lengths",
    "_uniques", "_itemsize", "_basepos", "_fixedlen", "_typecode", "_default", "_field_B",
    "_lenfield", "_terms", "_cached_reader", "_create_column", "_get_column", "_fieldlengths",
    "_write_hashes", "_count",
}
ALLOWED = {"index_data/engine/internals.py", "index_data/engine/format.py"}


def test_private_whoosh_names_only_in_the_engines_two_modules():
    """Attribute access (``x._name``) or import of one of Whoosh's private names, in any module
    of mqt other than ``internals.py`` and ``format.py``."""
    offenders = []
    for path in sorted((ROOT / "index_data").rglob("*.py")) + sorted((ROOT / "searcher").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in PRIVATE_NAMES \
                    and not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                offenders.append(f"{rel}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whoosh"):
                offenders += [f"{rel}:{node.lineno}: import {a.name}" for a in node.names
                              if a.name.startswith("_")]
    assert offenders == []


def test_only_the_engine_imports_whoosh():
    """Every module that imports Whoosh is in ``index_data/engine``."""
    outside = []
    for path in sorted((ROOT / "index_data").rglob("*.py")) + sorted((ROOT / "searcher").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("index_data/engine/"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            outside += [f"{rel}: {n}" for n in names if n == "whoosh" or n.startswith("whoosh.")]
    assert outside == []
    assert Path(ROOT / "index_data" / "engine" / "internals.py").exists()


@pytest.mark.parametrize("protocol", [2, format.BLOCK_PROTOCOL])
def test_blocks_unpickled_without_values_equal_whole(protocol):
    """``format._without_values`` on Whoosh's protocol-2 blocks and on ours gives what unpickling
    the whole block gives, less the values, or None (then the caller unpickles it whole); it must
    find the values on the usual blocks (ids and deltas of every size, weights of every form,
    value strings short and over 255 bytes)."""
    rng = random.Random(protocol)
    found = 0
    for _ in range(3000):
        k = rng.randint(1, 128)
        ids = tuple(rng.choice([rng.randint(0, 300), rng.randint(0, 70000), rng.randint(0, 10**7)])
                    for _ in range(k))
        ws = rng.choice([None, float(rng.randint(1, 50)), tuple(float(rng.randint(1, 50)) for _ in range(k))])
        vs = tuple(format.positions_value(sorted(rng.sample(range(100000), rng.randint(1, 80))))
                   for _ in range(k))
        chunk = pickle.dumps((ids, ws, vs), protocol)
        got = format._without_values(chunk, k)
        if got is not None:
            assert got == (ids, ws, ()) == pickle.loads(chunk)[:2] + ((),)
            found += 1
        else:
            assert k <= 3  # tuples of up to 3 values are pickled without a MARK
    assert found > 2500
