"""What scoring needs from one open segment, decoded once and kept while the segment reader is
open: posting lists as arrays (an LRU bounded in postings), field lengths, BM25F length norms,
numeric columns, filter masks and the live-document mask.

One :class:`SegmentArrays` belongs to one open Whoosh segment reader, which belongs to one
thread's searcher; the engine reader (``reader.EngineReader``) owns the mapping and drops an
entry when its segment reader goes away.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from whoosh.util.numeric import byte_to_length

from . import format, internals
from .columns import bytes_values, length_bytes, numeric_column
from .facets import SegmentCache, SegmentKey
from .scoring import bm25f_norm

#: Decoded posting lists kept per open segment, counted in postings (8 bytes each): 40 per
#: document, at least 0.5M (4 MB) and at most 4M (32 MB).
POSTINGS_BUDGET_PER_DOC = 40
MIN_POSTINGS_BUDGET = 500_000
MAX_POSTINGS_BUDGET = 4_000_000
#: Filter masks (party, dates, ...) kept per open segment (a byte per document each).
MAX_CACHED_FILTERS = 32
_LENGTH_TABLE = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.float64)


class SegmentArrays:
    """The decoded arrays of one open segment (see the module doc). Numeric columns (dates) are
    shared with every other reader of the same segment through ``cache`` under ``key``."""

    def __init__(self, reader, cache: SegmentCache | None = None, key: SegmentKey | None = None):
        self.reader = reader
        self.key = key
        self._cache = cache
        self.n = reader.doc_count_all()
        self.budget = min(MAX_POSTINGS_BUDGET, max(MIN_POSTINGS_BUDGET, POSTINGS_BUDGET_PER_DOC * self.n))
        self._postings: OrderedDict = OrderedDict()
        self._held = 0
        self._lengths: dict[str, np.ndarray] = {}
        self._norms: dict = {}
        self._columns: dict[str, np.ndarray] = {}
        self._byte_readers: dict = {}
        self.filters: OrderedDict = OrderedDict()
        self.live = None
        if reader.has_deletions():
            live = np.ones(self.n, dtype=bool)
            gone = internals.deleted_docs(reader)
            if gone is None:
                gone = (d for d in range(self.n) if reader.is_deleted(d))
            deleted = np.fromiter(gone, dtype=np.int64)
            live[deleted] = False
            self.live = live

    # -- posting lists --

    def _raw(self, fieldname: str, text: str) -> tuple[str, Any] | None:
        reader = self.reader
        try:
            info = reader.term_info(fieldname, text)
        except Exception:  # TermNotFound and friends: the word is not in this segment
            return None
        if info.is_inlined():
            return ("inline", info.inlined_postings())
        postfile = internals.postings_file(reader)
        if postfile is None:
            return ("matcher", None)
        offset, length = info.extent()
        if isinstance(length, tuple):  # Whoosh 2.7.4 reads it back as unpack_int's 1-tuple
            length = length[0]
        return ("raw", postfile.get(offset, length))

    def postings(self, fieldname: str, text: str):
        """``(docnums int32, weights float32)`` of a term in this segment, or None when absent."""
        key = (fieldname, text)
        hit = self._postings.get(key)
        if hit is not None:
            self._postings.move_to_end(key)
            return hit
        found: tuple[str | None, Any] = self._raw(fieldname, text) or (None, None)
        kind, data = found
        if kind is None:
            return None
        if kind == "raw":
            ids, weights = format.decode_postings(data)
        elif kind == "inline":
            ids = np.array(data[0], dtype=np.int32)
            weights = np.array(data[1], dtype=np.float32)
        else:  # another codec: ask Whoosh's matcher
            m = unfiltered(self.reader.postings(fieldname, text))
            pairs = list(iter_postings(m))
            ids = np.array([p[0] for p in pairs], dtype=np.int32)
            weights = np.array([p[1] for p in pairs], dtype=np.float32)
        value = (ids, weights)
        self._postings[key] = value
        self._held += len(ids)
        while self._held > self.budget and len(self._postings) > 1:
            _, (old, _w) = self._postings.popitem(last=False)
            self._held -= len(old)
        return value

    def cache_contents(self) -> tuple[dict, int]:
        """Test seam: the cached posting lists (``(field, text) -> (ids, weights)``) and the
        number of postings they hold, for tests of the budget."""
        return dict(self._postings), self._held

    def values_for(self, fieldname: str, text: str, docs: np.ndarray) -> list:
        """The value strings (encoded positions) of a term's postings for ``docs`` (sorted local
        docnums, all in the term's posting list), decoding only the blocks that hold them."""
        found: tuple[str | None, Any] = self._raw(fieldname, text) or (None, None)
        kind, data = found
        if kind == "raw":
            return format.block_values(data, docs)
        if kind == "inline":
            ids, values = np.array(data[0], dtype=np.int64), data[2]
        else:
            m = unfiltered(self.reader.postings(fieldname, text))
            pairs = list(iter_postings(m, values=True))
            ids = np.array([p[0] for p in pairs], dtype=np.int64)
            values = [p[2] for p in pairs]
        return [values[i] for i in np.searchsorted(ids, docs).tolist()]

    # -- columns --

    def column_bytes(self, fieldname: str, docs: list[int]) -> list[bytes]:
        """Some documents' values in a bytes column (see ``columns.bytes_values``); the column
        reader is kept."""
        cr = self._byte_readers.get(fieldname)
        if cr is None:
            cr = self._byte_readers[fieldname] = self.reader.column_reader(fieldname, translate=False)
        return bytes_values(cr, self.n, docs)

    def column(self, fieldname: str) -> np.ndarray:
        """A numeric column's value for every document (0 where a document has none)."""
        values = self._columns.get(fieldname)
        if values is None:
            def read() -> np.ndarray:
                return numeric_column(self.reader, fieldname)

            cache = self._cache
            values = cache.get(self.key, f"column:{fieldname}", read) if cache is not None else read()
            self._columns[fieldname] = values
        return values

    # -- field lengths --

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in a field, decoded as ``doc_field_length`` decodes it."""
        lens = self._lengths.get(fieldname)
        if lens is None:
            lens = self._read_lengths(fieldname)
            self._lengths[fieldname] = lens
        return lens

    def _read_lengths(self, fieldname: str) -> np.ndarray:
        cr = internals.length_column(self.reader, fieldname)
        if cr is None:
            return np.zeros(self.n, dtype=np.float64)
        codes = length_bytes(cr, self.n)
        if codes is not None:
            return _LENGTH_TABLE[codes]
        get = self.reader.doc_field_length
        return np.array([get(d, fieldname, 0) or 0 for d in range(self.n)], dtype=np.float64)

    def norm(self, fields: tuple[str, ...], b: float, avg: float) -> np.ndarray:
        """BM25F's length normalisation of every document (``scoring.bm25f_norm``), its length
        the sum of its lengths in ``fields`` (a field's length group)."""
        key = (fields, b, avg)
        out = self._norms.get(key)
        if out is None:
            lens = self.lengths(fields[0])
            for f in fields[1:]:
                lens = lens + self.lengths(f)
            out = bm25f_norm(lens, b, avg)
            if len(self._norms) > 16:
                self._norms.clear()
            self._norms[key] = out
        return out


def unfiltered(m):
    """The posting-list matcher under Whoosh's deleted-documents filter (deletions are applied
    once, at the end, from the live mask)."""
    from whoosh.matching.wrappers import FilterMatcher

    while isinstance(m, FilterMatcher):
        m = m.child
    return m


def iter_postings(m, values: bool = False):
    """``(docnum, weight[, value])`` of every posting a Whoosh matcher yields."""
    while m.is_active():
        yield (m.id(), m.weight(), m.value()) if values else (m.id(), m.weight())
        m.next()
