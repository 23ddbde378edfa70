"""Every private Whoosh attribute the engine relies on, each behind one small function.

mqt reads and writes some of Whoosh's files faster than Whoosh's public API allows (a column in
one read instead of a read per document, a posting list decoded in one go, a segment written in
bulk) and manages Whoosh's write lock itself. The private names that takes live here and in
``format.py`` (the on-disk codec layout) only; ``tests/test_engine_contract.py`` checks each of
them against the installed Whoosh (pinned to 2.7.4 in ``pyproject.toml``), so an upgrade that
changes one fails there, by name.

Every function returns None (or an empty answer) when an object is not of the kind it knows, so
callers can fall back to Whoosh's public, slower path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.columns import NumericColumn, RefBytesColumn, VarBytesColumn

if TYPE_CHECKING:
    from whoosh.writing import SegmentWriter


# ---- column readers ---------------------------------------------------------------------------

class FixedLayout(NamedTuple):
    """Where a fixed-width column's values lie: ``stored`` values of ``itemsize`` bytes from
    ``base`` in ``dbfile`` (big-endian ``typecode``); documents past them have ``default``."""

    dbfile: Any
    base: int
    stored: int
    itemsize: int
    typecode: str
    default: Any


def fixed_layout(cr) -> FixedLayout | None:
    """The layout of a ``NumericColumn`` reader (dates, field lengths), else None."""
    if not isinstance(cr, NumericColumn.Reader) or not hasattr(cr, "_dbfile"):
        return None
    return FixedLayout(cr._dbfile, cr._basepos, cr._count, cr._fixedlen, cr._typecode, cr._default)


class VarLayout(NamedTuple):
    """Where a variable-bytes column's values lie: value ``d`` is ``lengths[d]`` bytes at
    ``base + offsets[d]`` in ``dbfile``."""

    dbfile: Any
    base: int
    offsets: Any
    lengths: Any


def var_layout(cr) -> VarLayout | None:
    """The layout of a ``VarBytesColumn`` reader (term vectors, file facts), else None."""
    if not isinstance(cr, VarBytesColumn.Reader):
        return None
    return VarLayout(cr._dbfile, cr._basepos, cr._offsets, cr._lengths)


class RefLayout(NamedTuple):
    """A reference column: document ``d``'s value is ``uniques[ref]``, its reference an
    ``itemsize``-byte big-endian number at ``base + d * itemsize`` in ``dbfile``."""

    dbfile: Any
    base: int
    itemsize: int
    uniques: list


def ref_layout(cr) -> RefLayout | None:
    """The layout of a ``RefBytesColumn`` reader (facets), else None."""
    if not isinstance(cr, RefBytesColumn.Reader):
        return None
    return RefLayout(cr._dbfile, cr._basepos, cr._itemsize, cr._uniques)


# ---- segment readers ----------------------------------------------------------------------------

def postings_file(reader):
    """A segment reader's open posting file (``.pst``), or None for another kind of reader."""
    return getattr(getattr(reader, "_terms", None), "_postfile", None)


def deleted_docs(reader):
    """A segment reader's deleted document numbers, or None when it cannot say in one go."""
    perdoc: Any = getattr(reader, "_perdoc", None)
    return perdoc.deleted_docs() if hasattr(perdoc, "deleted_docs") else None


def term_index(reader) -> tuple[bytes, list]:
    """A segment's term index (``.trm``) entries in one piece (the key/value pairs, without the
    hash tables after them) and its field number -> field name list (``format.term_entries``)."""
    terms = reader._terms
    tindex = terms._tindex
    data = tindex.dbfile.get(tindex.startofdata, tindex.endofdata - tindex.startofdata)
    return data, terms._fieldunmap


def field_lengths(segment) -> dict:
    """A segment's total length per field (what ``avg_field_length`` divides)."""
    return segment._fieldlengths


def length_column(reader, fieldname: str):
    """The column reader of a segment's field lengths (a byte per document), or None."""
    perdoc = getattr(reader, "_perdoc", None)
    if perdoc is None or not hasattr(perdoc, "_cached_reader"):
        return None
    return perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)


# ---- writing ------------------------------------------------------------------------------------

def write_length_column(perdoc, fieldname: str, data: bytes) -> None:
    """Write a whole field-length column (a byte per document) with a per-document writer."""
    column = _lenfield(fieldname)
    perdoc._create_column(column, LENGTHS_COLUMN)
    perdoc._get_column(column)._dbfile.write(data)


def add_field_length(perdoc, fieldname: str, total: int) -> None:
    """Add to a field's total length, which the per-document writer saves with the segment."""
    perdoc._fieldlengths[fieldname] += total


def segments(ix) -> list:
    """The segments of an index's latest commit."""
    return ix._segments()


def locked_segment_writer(ix, lock) -> SegmentWriter:
    """A Whoosh ``SegmentWriter`` using a write ``lock`` the caller acquired: Whoosh's own
    acquisition never releases the lock if creating the writer's files fails (disk full). The
    writer's ``commit()`` or ``cancel()`` releases it."""
    from whoosh.writing import SegmentWriter  # here: the read side never loads Whoosh's writer

    w = SegmentWriter(ix, _lk=False)
    w.writelock = lock
    return w
