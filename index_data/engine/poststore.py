"""A derived posting store beside each Whoosh segment: plain little-endian arrays, memory-mapped.

Whoosh's W3 codec pickles (and zlib-compresses) every block of 128 postings, so a query that
misses the decoded-list cache pays ``zlib`` + ``pickle`` per block, and a phrase unpickles the
position strings of every candidate. This store holds the same postings once more as arrays a
query reads in place (``numpy.frombuffer`` over ``mmap``): no decoding, no Python per posting,
and only the pages a query touches are read. The Whoosh segment stays the record; a store is
written beside it by the process writing the segment, from the writer's arrays
(:class:`WriterFeed`: the build), or derived from it (:func:`build_from_segment`: reindex, and
what the build could not write), and it is checked against its segment on open
(:func:`open_store`: segment id, document count, field lengths) and rebuilt when missing or
stale (:func:`ensure_stores`). Both ways give the same bytes; :class:`StoreWriter` streams
(its big sections go to temporary files as they come), so writing a store takes a batch's
memory, not the store's.

One file per segment, ``mqt-post/<segment id>.mqp`` in the index folder::

    b"MQTPOST1", uint32 version, uint32 directory length, uint32 CRC-32 of the directory,
    uint32 0, directory (JSON), then sections, each aligned to 64 bytes; the directory names
    every section: [offset, dtype, count], and its ``crc``: each section's CRC-32 (8 hex digits)

The CRCs are checked on the write side (:func:`ensure_stores`, which rewrites a store that
fails them: a zeroed page or a flipped bit may still look like a store): the directory's by
every build and reindex, every section's by ``mqt reindex --verify-stores`` (it reads every
store whole: ~4 GB at a million questions, too much for every cron run, as Lucene leaves full
checksums to merges and CheckIndex); never per query, which checks the structure only.

Sections (``P`` postings, ``T`` terms, ``Wn`` windows of all terms, ``n`` documents):

- ``len.<field>`` uint8[n]: each document's field length byte (Whoosh's length column), and
  ``lentable`` float64[256]: the length each byte stands for (Whoosh's ``byte_to_length``)
- ``date`` uint32[n]: the date column (YYYYMMDD); ``facet.<name>`` uint16[n] codes into the
  directory's labels (code 0: no value)
- ``dict.hash`` uint64[T], sorted: the first 8 bytes (little-endian) of
  ``blake2b(field id byte + term UTF-8, digest_size=8)``; ``dict.keyoff`` uint64[T+1] and
  ``dict.keys``: each entry's key, to confirm a hash hit; per entry ``dict.field`` uint8,
  ``dict.pstart`` uint64 and ``dict.df`` uint32 (its postings), ``dict.wstart`` uint64 and
  ``dict.nwin`` uint32 (its windows), ``dict.qstart`` uint64 (its first position)
- ``post.doc`` uint32[P]: document numbers, ascending within a term; ``post.tf`` uint8, uint16
  or float32[P]: Whoosh's weight (the term count for mqt's fields; the narrowest exact type)
- ``pos`` uint16 or uint32: positions of each posting in turn (fields with positions only)
- ``post.qoff`` uint32 or uint64[P'] (``P'``: the postings before the combined field's; uint64
  from 2**32 positions on, a few million questions in one segment): where each
  posting's positions start in ``pos`` (its run is ``post.tf`` long), so that a phrase reads a
  candidate's positions in place instead of summing the weights before it
- windows: documents ``w << window_bits`` to ``(w + 1) << window_bits``: per term and window
  it occurs in, ``win.id`` uint32, ``win.off`` uint32 (its first posting, from the term's
  ``pstart``), ``win.maxtf`` float32
  and ``win.minlen`` uint8 (largest weight, smallest length byte), and ``win.maxq`` float32:
  the largest ``tf / (1 - b + b * length / avg)`` there, with the field's ``b_ref`` and
  ``avg_ref`` (the segment's average length) in the directory: what bounds a score there

The combined field ``*`` holds, for each word of BM25F's weighted fields (title, question,
answer), the documents holding it in any of them, and per window the largest BM25F
pseudo-frequency ``sum(weight * tf / (1 - b + b * length / avg_ref))`` of a document there
(the directory's ``combined`` names the weights), and each posting's impact ``post.imp``
uint16: that pseudo-frequency rounded up to 1/1024: one list for a word's matches instead of
three, and a bound on each document's whole BM25F instead of a sum of per-field bounds.

The windows are what top-k skipping works with (``blockmax``): fixed document
ranges line up across terms and fields, so a query's upper bound per window is a few vector
operations.
"""

from __future__ import annotations

import json
import mmap
import os
import threading
import zlib
from array import array
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..keyhash import hash64
from . import format, internals
from .columns import coded_column, length_bytes, numeric_column
from .storage import fsync_path, open_for_reading, sweep_derived

if TYPE_CHECKING:
    from searcher.ranking import BM25Settings


MAGIC = b"MQTPOST1"
#: 2: the header and directory hold CRC-32s; 3: each posting's first position (``post.qoff``)
#: instead of each window's. A store of another version is rewritten by the next build or reindex
#: (until then the executor answers).
VERSION = 3
#: Magic, version, directory length, directory CRC, 0: where the directory starts.
_HEAD = len(MAGIC) + 16
#: Folder (inside the index folder) of the stores, one file per segment.
DIR = "mqt-post"
SUFFIX = ".mqp"
#: A store being written (renamed into place when whole); left behind only by a crash.
TMP_SUFFIX = ".tmp"
#: 128 documents a window.
WINDOW_BITS = 7
#: The combined field: see the module doc (its weights and the windows' length normalisation
#: are a ``StoreSettings``' ).
COMBINED = "*"
#: A combined posting's impact: its BM25F pseudo-frequency at the reference averages, rounded
#: up to a multiple of 1/IMPACT_SCALE (uint16; 65535: that or more).
IMPACT_SCALE = 1024
#: Indexed fields a store leaves out (none: the body's words for spelling are a column, read
#: through ``lexicon``).
SKIP_FIELDS: tuple[str, ...] = ()
_ALIGN = 64
#: Postings decoded from a segment's blocks (Python numbers) before they become arrays.
_DERIVE_BATCH = 1 << 16
#: Postings of the combined field gathered at a time (each needs ~100 bytes of work arrays).
_COMBINE_BATCH = 1 << 16
#: Terms buffered by :class:`StoreWriter` before their windows are computed (vectorised).
_BATCH_POSTINGS = 1 << 16


@dataclass(frozen=True)
class StoreSettings:
    """The ranking numbers a store's bounds are computed for (:meth:`of` a ranking's BM25
    settings; no defaults: they would drift from the ranking's): each field's ``b`` (else
    ``default_b``), the combined field's weights and BM25F's length groups (a field in none is
    its own). A store records them (its directory's ``ranking``); :func:`ensure_stores`
    rewrites a store made for other settings, and a query ranked otherwise still gets exact
    results, from looser bounds."""

    b: tuple[tuple[str, float], ...]
    default_b: float
    combine: tuple[tuple[str, float], ...]
    groups: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, bm25: BM25Settings) -> StoreSettings:
        """The settings of a ranking's BM25 (``searcher.ranking.BM25Settings``)."""
        return cls(b=tuple(bm25.b.items()), default_b=float(bm25.default_b),
                   combine=tuple(bm25.field_weights.items()),
                   groups=tuple(tuple(g) for g in getattr(bm25, "length_groups", ())))

    def as_json(self) -> dict:
        return {"b": {f: float(v) for f, v in self.b}, "default_b": float(self.default_b),
                "combine": {f: float(w) for f, w in self.combine}, "groups": [list(g) for g in self.groups]}



_ABSENT = object()


#: The windows' sections and their types on disk.
_WIN_TYPES = (("id", "<u4"), ("off", "<u4"), ("maxtf", "<f4"), ("minlen", "u1"), ("maxq", "<f4"))
#: Items read back from a temporary file at a time.
_PIECE = 1 << 22


class _Spill:
    """One section of a store being written, appended to a temporary file as it comes (in one
    type, ``dtype``) and read back a piece at a time (:func:`_pieces`) or mapped (:meth:`mapped`):
    the writer's memory stays that of a batch whatever the segment's size."""

    def __init__(self, path: Path, dtype):
        self.path = path
        self.dtype = np.dtype(dtype)
        self.count = 0
        self._f = open(path, "w+b")

    def append(self, arr) -> None:
        a = np.ascontiguousarray(np.asarray(arr).astype(self.dtype, copy=False))
        if a.size:
            self._f.write(a.data)
            self.count += int(a.size)

    def read(self, items: int | None = None):
        """The items written so far, in order, ``items`` (default ``_PIECE``) at a time."""
        items = items or _PIECE
        self._f.flush()
        at = 0
        while at < self.count:
            k = min(items, self.count - at)
            out = np.empty(k, dtype=self.dtype)
            self._f.seek(at * self.dtype.itemsize)
            if self._f.readinto(out.data.cast("B")) != out.nbytes:
                raise OSError(f"{self.path}: cut short")
            at += k
            yield out
        self._f.seek(0, os.SEEK_END)

    def mapped(self) -> _Mapped:
        """The items written so far as an array over a read-only map of the file."""
        self._f.flush()
        return _Mapped(self._f, self.dtype, self.count)

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class _Mapped:
    """A temporary file's items as a read-only array (``array``); :meth:`release` lets go of
    the pages read so far (they stay in the page cache, not in the process)."""

    def __init__(self, f, dtype: np.dtype, count: int):
        self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if count else None
        self.array = (np.frombuffer(self._map, dtype=dtype, count=count) if self._map is not None
                      else np.zeros(0, dtype=dtype))

    def release(self) -> None:
        if self._map is not None and hasattr(self._map, "madvise"):
            self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        self.array = None  # type: ignore[assignment]
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # an array still views it: the map goes with it
                pass


def _pieces(chunks: list[np.ndarray] | _Spill):
    """A section's arrays in order, each dropped once given (a list is emptied as it goes)."""
    if isinstance(chunks, _Spill):
        yield from chunks.read()
        return
    while chunks:
        yield chunks.pop(0)


def key_hash(keys: list[bytes]) -> np.ndarray:
    """The uint64 hash of each ``field id byte + term`` key (see the module doc)."""
    out = np.empty(len(keys), dtype=np.uint64)
    for i, k in enumerate(keys):
        out[i] = hash64(k)
    return out


def store_path(index_dir, segment_id: str) -> Path:
    return Path(index_dir) / DIR / f"{segment_id}{SUFFIX}"


# ---- writing --------------------------------------------------------------------------------------

class StoreWriter:
    """Writes one segment's store: lengths and columns per document, then every term's postings
    in any order (one field at a time or mixed), then :meth:`finish`.

    >>> w = StoreWriter(path, segment_id="abc", doc_count=3, settings=StoreSettings.of(bm25))  # doctest: +SKIP
    >>> w.add_lengths("title", np.array([2, 1, 3], np.uint8), total=6)
    >>> w.add_term("title", "crime", docs, tf, positions)
    >>> w.finish(fingerprint)
    """

    def __init__(self, path, *, segment_id: str, doc_count: int, settings: StoreSettings,
                 window_bits: int = WINDOW_BITS):
        """``settings``: the BM25 length normalisation (``b`` per field, else ``default_b``)
        the windows' ``maxq`` bounds are computed with, the field weights of the combined field
        (``combine``, see the module doc) and BM25F's length groups (a field's counts
        normalised by its group's joint length)."""
        self.path = Path(path)
        self._b = dict(settings.b)
        self._default_b = settings.default_b
        self._combine_weights = dict(settings.combine)
        self._groups = tuple(tuple(g) for g in settings.groups)
        #: what the directory records as the settings (``StoreSettings.as_json``)
        self.ranking = settings.as_json()
        self.segment_id = segment_id
        self.n = doc_count
        self.bits = window_bits
        self.fields: dict[str, dict] = {}
        self._lengths: dict[str, np.ndarray] = {}
        self._columns: dict[str, np.ndarray] = {}
        self._labels: dict[str, list[str]] = {}
        # per term, in the order added
        self._keys: list[bytes] = []
        #: per batch, a row per term: field id, pstart, df, wstart, nwin, qstart
        self._meta: list[np.ndarray] = []
        #: the combined field (set by finish): its description and first posting
        self.combined: dict | None = None
        self._imp_base: int | None = None
        # the postings, positions and windows go to temporary files as they come (a store is
        # never held in memory whole: ~2 GB at 500,000 documents); the batch being gathered
        folder = self.path.parent
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_path(str(folder.parent))  # the new folder's entry in the index folder
        stem = f".{self.path.name}.{os.getpid()}-{threading.get_ident()}"
        self._spills: list[_Spill] = []

        def spill(name: str, dt) -> _Spill:
            sp = _Spill(folder / f"{stem}.{name}{TMP_SUFFIX}", dt)
            self._spills.append(sp)
            return sp

        try:
            self._docs = spill("doc", np.uint32)
            self._tfs = spill("tf", np.float32)  # the file's type is chosen at the end
            self._pos = spill("pos", np.uint32)  # likewise
            self._qoff = spill("qoff", np.uint64)  # likewise (uint32 below 2**32 positions)
            self._win = {k: spill(f"win.{k}", dt) for k, dt in _WIN_TYPES}
            self._imp = spill("imp", "<u2")
        except BaseException:
            self.discard()
            raise
        self._batch: list[tuple] = []
        self._batch_postings = 0
        self._P = 0
        self._Q = 0
        self._Wn = 0
        self._maxtf = 0.0
        self._integral = True
        self._maxpos = 0

    def add_lengths(self, field: str, lengths: np.ndarray, total: int) -> None:
        """A field's length byte per document and its total length (Whoosh's field totals); after
        :meth:`add_length_table`, before the field's terms."""
        if "lentable" not in self._columns:
            raise ValueError("add_length_table first")
        spec = self._field(field)
        spec["total"] = int(total)
        arr = self._lengths[field] = np.ascontiguousarray(lengths, dtype=np.uint8)
        table = self._columns["lentable"]
        spec["b_ref"] = float(self._b.get(field, self._default_b))
        spec["avg_ref"] = float(total) / (self.n or 1) or 1.0
        spec["maxlen"] = float(table[arr].max()) if len(arr) else 0.0

    def add_length_table(self, table) -> None:
        """The length each length byte stands for (256 values)."""
        self._columns["lentable"] = np.ascontiguousarray(table, dtype="<f8")

    def add_column(self, name: str, values: np.ndarray, labels: list[str] | None = None) -> None:
        """A per-document column (``date`` uint32, or facet codes uint16 with their labels)."""
        self._columns[name] = np.ascontiguousarray(values)
        if labels is not None:
            self._labels[name] = list(labels)

    def _field(self, field: str) -> dict:
        f = self.fields.get(field)
        if f is None:
            if len(self.fields) >= 255:
                raise ValueError("a store holds at most 255 fields")
            f = self.fields[field] = dict(id=len(self.fields), total=0, positions=False)
        return f

    def add_term(self, field: str, term: str, docs, tf, positions=None) -> None:
        """One term's postings: ascending document numbers, weights, and (fields with positions)
        the positions of each posting in turn, ``tf[i]`` of them for posting ``i``."""
        f = self._field(field)
        docs = np.asarray(docs, dtype=np.uint32)
        if positions is not None:
            positions = np.asarray(positions, dtype=np.uint32)
            f["positions"] = True
        self._batch.append((f["id"], bytes([f["id"]]) + term.encode("utf-8"), docs,
                            np.asarray(tf, dtype=np.float32), positions))
        self._batch_postings += len(docs)
        if self._batch_postings >= _BATCH_POSTINGS:
            self._flush()

    def add_terms(self, field: str, terms: list[str], counts, docs, tf, positions=None) -> None:
        """Many terms of one field at once: ``counts[i]`` postings of ``terms[i]``, laid end to
        end in ``docs``/``tf`` (and ``positions``, as for :meth:`add_term`)."""
        self._flush()
        f = self._field(field)
        if positions is not None:
            f["positions"] = True
        fid = f["id"]
        prefix = bytes([fid])
        self._flush_flat(np.full(len(terms), fid, dtype=np.int64),
                         [prefix + t.encode("utf-8") for t in terms],
                         np.asarray(counts, dtype=np.int64), np.asarray(docs, dtype=np.uint32),
                         np.asarray(tf, dtype=np.float32),
                         np.full(len(terms), positions is not None),
                         None if positions is None else np.asarray(positions, dtype=np.uint32))

    def _flush(self) -> None:
        batch, self._batch, self._batch_postings = self._batch, [], 0
        if not batch:
            return
        pos = [b[4] for b in batch if b[4] is not None]
        self._flush_flat(np.array([b[0] for b in batch], dtype=np.int64), [b[1] for b in batch],
                         np.array([len(b[2]) for b in batch], dtype=np.int64),
                         np.concatenate([b[2] for b in batch]), np.concatenate([b[3] for b in batch]),
                         np.array([b[4] is not None for b in batch]),
                         np.concatenate(pos) if pos else None)

    def _combine(self) -> None:
        """Add the combined field: per word of the weighted fields, the documents holding it in
        any of them (ascending), each window's bound the largest BM25F pseudo-frequency
        ``sum(weight * tf / (1 - b + b * max(length, 1) / avg_ref))`` of its documents, where
        ``length`` and ``avg_ref`` are the field's length group's (the directory's ``groups``:
        the group's average length in the segment and its longest)."""
        weights = {f: float(w) for f, w in self._combine_weights.items()
                   if w > 0 and f in self.fields and "b_ref" in self.fields[f]}
        if not weights or not self._meta:
            return
        meta = np.concatenate(self._meta)
        by_fid = {self.fields[f]["id"]: f for f in weights}
        rows = np.flatnonzero(np.isin(meta[:, 0], list(by_fid)))
        if not len(rows):
            return
        texts = [self._keys[i][1:] for i in rows.tolist()]
        ids: dict[bytes, int] = {}
        tid = np.array([ids.setdefault(t, len(ids)) for t in texts], dtype=np.int64)
        names = [t.decode("utf-8") for t in ids]
        order = np.argsort(tid, kind="stable")
        rows, tid = rows[order], tid[order]
        docs_map, tf_map = self._docs.mapped(), self._tfs.mapped()
        try:
            self._combine_rows(weights, meta, rows, tid, names, docs_map, tf_map)
        finally:
            docs_map.close()
            tf_map.close()

    def _combine_rows(self, weights, meta, rows, tid, names, docs_map: _Mapped, tf_map: _Mapped) -> None:
        """:meth:`_combine`'s work over the postings written so far (``docs_map``, ``tf_map``),
        a batch of words at a time, each batch's pages of them let go once read."""
        docs_all, tf_all = docs_map.array, tf_map.array
        table = self._columns["lentable"]
        # per field: weight, b, and its length group's average length and lengths (BM25F)
        group_of = {f: self.group(f) for f in weights}
        group_info: dict[str, list[float]] = {}
        glens: dict[tuple[str, ...], np.ndarray] = {}
        for g in dict.fromkeys(group_of.values()):  # in the weights' order: the bytes never vary
            lens = np.zeros(self.n)
            total = 0.0
            for f in g:
                if f in self._lengths:
                    lens = lens + table[self._lengths[f]]
                    total += self.fields[f]["total"] / (self.n or 1)
            glens[g] = lens
            group_info["+".join(g)] = [total or 1.0, float(lens.max()) if len(lens) else 0.0]
        spec = {self.fields[f]["id"]: (w, self.fields[f]["b_ref"], group_info["+".join(group_of[f])][0],
                                       glens[group_of[f]]) for f, w in weights.items()}
        cf = self._field(COMBINED)
        start = 0
        df = meta[rows, 2]
        while start < len(rows):
            # whole words, about _BATCH_POSTINGS postings at a time
            end = start + 1
            total = df[start]
            while end < len(rows) and (tid[end] == tid[end - 1] or total < _COMBINE_BATCH):
                total += df[end]
                end += 1
            r = rows[start:end]
            lens = meta[r, 2]
            flat = np.repeat(meta[r, 1] - np.concatenate(([0], np.cumsum(lens)[:-1])), lens) \
                + np.arange(int(lens.sum()), dtype=np.int64)
            d = docs_all[flat].astype(np.int64)
            value = tf_all[flat].astype(np.float64)
            docs_map.release()
            tf_map.release()
            post_fid = np.repeat(meta[r, 0], lens)
            for fid, (w, b, avg, glen) in spec.items():
                sel = post_fid == fid
                if sel.any():
                    value[sel] = w * value[sel] / (1.0 - b + b * np.maximum(glen[d[sel]], 1.0) / avg)
            key = (np.repeat(tid[start:end] - tid[start], lens) << 32) | d
            o = np.argsort(key, kind="stable")
            key, value = key[o], value[o]
            first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
            tsum = np.add.reduceat(value, first)
            ukey = key[first]
            utid = (ukey >> 32) + tid[start]
            udoc = (ukey & 0xFFFFFFFF).astype(np.uint32)
            counts = np.bincount(utid - tid[start], minlength=int(tid[end - 1] - tid[start]) + 1)
            words = list(range(int(tid[start]), int(tid[end - 1]) + 1))
            if self._imp_base is None:
                self._imp_base = self._P
            self._imp.append(np.minimum(np.ceil(tsum * IMPACT_SCALE), 65535))
            self._flush_flat(np.full(len(words), cf["id"], dtype=np.int64),
                             [bytes([cf["id"]]) + names[i].encode("utf-8") for i in words],
                             counts.astype(np.int64), udoc, np.ones(len(udoc), np.uint8),
                             np.zeros(len(words), bool), None, q=tsum)
            start = end
        self.combined = dict(field=COMBINED, weights=weights, imp_base=int(self._imp_base or 0),
                             imp_scale=IMPACT_SCALE,
                             group_of={f: list(g) for f, g in group_of.items()}, groups=group_info)

    def group(self, field: str) -> tuple[str, ...]:
        """The fields whose joint length normalises ``field``'s counts (its length group)."""
        for g in self._groups:
            if field in g:
                return g
        return (field,)

    def _flush_flat(self, fids, keys, counts, docs, tf, has_pos, positions, q=None) -> None:
        """Window statistics of a batch of terms laid end to end, for all of them at once."""
        nterms = len(keys)
        if not nterms:
            return
        combined = q is not None  # the combined field's postings (see _combine_rows)
        term = np.repeat(np.arange(nterms, dtype=np.int64), counts)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        if len(docs) > 1:
            same = term[1:] == term[:-1]
            if np.any(docs[1:][same] <= docs[:-1][same]):
                raise ValueError("a term's document numbers must ascend")
        # lengths of each posting's document in its field
        lens = np.zeros(len(docs), dtype=np.uint8)
        post_fid = np.repeat(fids, counts)
        for name, spec in self.fields.items():
            arr = self._lengths.get(name)
            if arr is None:
                continue
            sel = post_fid == spec["id"]
            if sel.any():
                lens[sel] = arr[docs[sel]]
        win = docs.astype(np.int64) >> self.bits
        key = (term << 32) | win
        first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else key
        wterm = term[first]
        # positions: where each posting's positions start (from its term's first position)
        tfi = tf.astype(np.int64)
        ptf = np.where(np.repeat(has_pos, counts), tfi, 0)
        pcum = np.cumsum(ptf) - ptf  # exclusive, over the batch
        npos = int(ptf.sum())
        if (0 if positions is None else len(positions)) != npos:
            raise ValueError(f"{0 if positions is None else len(positions)} positions, the weights "
                             f"of the terms with positions say {npos}")
        per_term = np.bincount(term, weights=ptf, minlength=nterms).astype(np.int64)
        qstarts = np.concatenate(([0], np.cumsum(per_term)[:-1]))
        off = first - starts[wterm]
        maxtf = np.maximum.reduceat(tf, first) if len(first) else np.zeros(0, np.float32)
        # tf / norm at the segment's average length, per posting: the windows' maxq
        if q is None:
            q = tf.astype(np.float64)
            table = self._columns["lentable"]
            for spec in self.fields.values():
                if "b_ref" not in spec:
                    continue
                sel = post_fid == spec["id"]
                if sel.any():
                    b, avg = spec["b_ref"], spec["avg_ref"]
                    q[sel] = q[sel] / (1 - b + b * table[lens[sel]] / avg)
        maxq = np.maximum.reduceat(q, first) if len(first) else np.zeros(0)
        maxq = np.nextafter(maxq.astype(np.float32), np.float32(np.inf))  # rounded up, never down
        lmin = np.where(lens == 0, 255, lens).astype(np.uint8)  # 0 is no length: ignore it
        minlen = np.minimum.reduceat(lmin, first) if len(first) else np.zeros(0, np.uint8)
        minlen = np.where(minlen == 255, 0, minlen).astype(np.uint8)
        nwin = np.bincount(wterm, minlength=nterms)
        wstart = np.concatenate(([0], np.cumsum(nwin)[:-1])) + self._Wn
        self._keys.extend(keys)
        self._meta.append(np.stack([fids, starts + self._P, counts, wstart, nwin,
                                    qstarts + self._Q], axis=1).astype(np.int64))
        self._docs.append(docs)
        if len(tf):
            top = float(tf.max())
            integral = bool(np.all(tf == np.floor(tf)))
            self._maxtf = max(self._maxtf, top)
            self._integral = self._integral and integral
            self._tfs.append(tf)  # float32 (exact): the file's type is chosen at the end
        if not combined:  # each posting's first position (not kept for the combined field's)
            if self._imp_base is not None:
                raise ValueError("the combined field's postings come last")
            self._qoff.append(pcum + self._Q)
        if positions is not None and len(positions):
            top = int(positions.max())
            self._pos.append(positions)
            self._maxpos = max(self._maxpos, top)
            self._Q += len(positions)
        for k, v in (("id", win[first]), ("off", off), ("maxtf", maxtf),
                     ("minlen", minlen), ("maxq", maxq)):
            self._win[k].append(v)  # in the types they are written in (_WIN_TYPES)
        self._P += len(docs)
        self._Wn += len(first)

    def finish(self, fingerprint: dict | None = None) -> Path:
        """Write the file (atomically: a reader sees the whole store or none) and return its path;
        the writer's temporary files are deleted whatever happens (it is used up)."""
        try:
            return self._finish(fingerprint)
        finally:
            self.discard()

    def discard(self) -> None:
        """Delete the writer's temporary files (a store given up; :meth:`finish` does it too)."""
        for sp in self._spills:
            sp.close()

    def _finish(self, fingerprint: dict | None) -> Path:
        self._flush()
        self._combine()
        keys = self._keys
        hashes = key_hash(keys)
        order = np.argsort(hashes, kind="stable")
        hs = hashes[order]
        if len(hs) > 1 and np.any(hs[1:] == hs[:-1]):
            raise ValueError("two terms share a 64-bit hash")  # ~1e-9 at 500,000 terms
        meta = (np.concatenate(self._meta) if self._meta else np.zeros((0, 6), np.int64))[order]
        skeys = [keys[i] for i in order.tolist()]
        keyoff = np.zeros(len(skeys) + 1, dtype=np.uint64)
        np.cumsum([len(k) for k in skeys], out=keyoff[1:])
        if self._integral and self._maxtf <= 255:
            tfdt = np.uint8
        elif self._integral and self._maxtf <= 65535:
            tfdt = np.uint16
        else:
            tfdt = np.float32  # type: ignore[assignment]
        posdt = np.uint16 if self._maxpos < 65536 else np.uint32

        # each section: its chunks (an array, or a temporary file read back a piece at a time:
        # a store is never held in memory whole) and its type on disk
        sections: dict[str, tuple[list[np.ndarray] | _Spill, np.dtype]] = {}

        def add(name: str, chunks: list[np.ndarray] | _Spill, dt) -> None:
            sections[name] = (chunks, np.dtype(dt).newbyteorder("<"))

        for name, arr in self._lengths.items():
            add(f"len.{name}", [arr], arr.dtype)
        for name, arr in self._columns.items():
            add(name, [arr], arr.dtype)
        add("dict.hash", [hs], "<u8")
        add("dict.keyoff", [keyoff], "<u8")
        add("dict.keys", [np.frombuffer(b"".join(skeys), dtype=np.uint8)], np.uint8)
        for name, col, mdt in (("dict.field", 0, "u1"), ("dict.pstart", 1, "<u8"), ("dict.df", 2, "<u4"),
                               ("dict.wstart", 3, "<u8"), ("dict.nwin", 4, "<u4"), ("dict.qstart", 5, "<u8")):
            add(name, [meta[:, col]], mdt)
        add("post.doc", self._docs, "<u4")
        add("post.tf", self._tfs, tfdt)
        add("pos", self._pos, posdt)
        add("post.qoff", self._qoff, "<u4" if self._Q < 2**32 else "<u8")
        for k, wdt in _WIN_TYPES:
            add(f"win.{k}", self._win[k], wdt)
        add("post.imp", self._imp, "<u2")
        sections_dir: dict[str, list] = {}
        directory = dict(segment=self.segment_id, docs=self.n, window_bits=self.bits,
                         fields=self.fields, labels=self._labels, fingerprint=fingerprint or {},
                         combined=self.combined, ranking=self.ranking, sections=sections_dir)
        # the directory's length depends on the offsets it holds: lay out with room to spare
        offsets, pos = {}, 0
        for name, (chunks, sdt) in sections.items():
            count = chunks.count if isinstance(chunks, _Spill) else sum(int(c.size) for c in chunks)
            offsets[name] = pos
            sections_dir[name] = [pos, sdt.str, count]
            pos += (count * sdt.itemsize + _ALIGN - 1) // _ALIGN * _ALIGN
        # each section's CRC as 8 hex digits: the directory keeps its length when they are
        # filled in after the sections are written
        crcs = directory["crc"] = {name: "0" * 8 for name in sections}
        head = _dump(directory)
        base = (_HEAD + len(head) + _ALIGN - 1) // _ALIGN * _ALIGN
        folder = self.path.parent
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}-{threading.get_ident()}{TMP_SUFFIX}")
        with open(tmp, "wb") as f:
            f.write(b"\0" * base)
            for name, (chunks, sdt) in sections.items():
                assert f.tell() == base + offsets[name]
                written = 0
                crc = 0
                for c in _pieces(chunks):
                    c = np.ascontiguousarray(c).astype(sdt, copy=False)
                    data = c.tobytes() if c.nbytes < (1 << 20) else c.data
                    crc = zlib.crc32(data, crc)
                    f.write(data)
                    written += c.nbytes
                crcs[name] = f"{crc:08x}"
                f.write(b"\0" * ((-written) % _ALIGN))
            final = _dump(directory)
            assert len(final) == len(head)
            f.seek(0)
            f.write(MAGIC + np.array([VERSION, len(final), zlib.crc32(final), 0], dtype="<u4").tobytes()
                    + final)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_path(str(folder))  # the rename itself survives a power loss
        return self.path


def _dump(directory: dict) -> bytes:
    return json.dumps(directory, separators=(",", ":")).encode("utf-8")


# ---- reading --------------------------------------------------------------------------------------

def one_each(counts: np.ndarray) -> bool:
    """Whether every run of positions holds exactly one (none: true), so that runs and their
    positions go one to one: what the phrase checks' shortcuts rely on."""
    return not len(counts) or (int(counts.min()) == 1 and int(counts.max()) == 1)


@dataclass(frozen=True)
class TermPostings:
    """One term's postings in one segment, as views into the store (nothing copied)."""

    field: str
    docs: np.ndarray       # uint32, ascending
    tf: np.ndarray         # the weights (uint8/uint16/float32)
    win_id: np.ndarray     # uint32: the windows it occurs in
    win_off: np.ndarray    # uint32: each window's first posting (index into docs)
    win_maxtf: np.ndarray  # float32
    win_minlen: np.ndarray  # uint8
    win_maxq: np.ndarray   # float32: largest tf / norm at the field's b_ref and avg_ref
    qstart: int            # where its positions start in the store's ``pos``
    imp: np.ndarray | None = None  # uint16 (combined field): each posting's impact
    #: uint32 (fields with positions): where each posting's positions start in ``pos``
    qoff: np.ndarray | None = None

    @property
    def df(self) -> int:
        return len(self.docs)


class PostStore:
    """One segment's store, memory-mapped read-only (see the module doc for the layout)."""

    def __init__(self, path, buf, directory: dict, base: int):
        self.path = Path(path)
        self._buf = buf
        self.dir = directory
        self.n: int = directory["docs"]
        self.window_bits: int = directory["window_bits"]
        self.segment_id: str = directory["segment"]
        self.fields: dict[str, dict] = directory["fields"]
        self._field_names = {spec["id"]: name for name, spec in self.fields.items()}
        self._arrays: dict[str, np.ndarray] = {}
        self._terms: dict[tuple[str, str], TermPostings | None] = {}
        self._base = base
        self.labels: dict[str, list[str]] = directory.get("labels", {})
        #: What queries compute once per segment, kept with the store: filter masks by the
        #: filter's repr (``blockmax``), the meeting years as codes and labels.
        self.filters: dict[str, np.ndarray] = {}
        self.year_codes: tuple[np.ndarray, list[str]] | None = None
        self.facets: Any = None  # fastpath.store_facets

    @property
    def length_table(self) -> np.ndarray:
        return self.array("lentable")

    @property
    def windows(self) -> int:
        return (self.n + (1 << self.window_bits) - 1) >> self.window_bits

    def damaged(self, *, sections: bool = True) -> list[str]:
        """The parts of the store whose bytes differ from the CRC-32s written with it
        (``directory`` and section names; empty: whole). With ``sections`` it reads the whole
        file (``mqt reindex --verify-stores``), without only the directory (every reindex);
        never for queries."""
        bad = []
        buf = memoryview(self._buf)
        try:
            dlen, dcrc = np.frombuffer(self._buf, dtype="<u4", count=3, offset=len(MAGIC))[1:].tolist()
            with buf[_HEAD:_HEAD + dlen] as head:
                if zlib.crc32(head) != dcrc:
                    bad.append("directory")
            crcs = self.dir.get("crc") or {}
            for name, (off, dt, count) in (self.dir["sections"].items() if sections else ()):
                start = self._base + off
                with buf[start:start + np.dtype(dt).itemsize * count] as part:
                    if f"{zlib.crc32(part):08x}" != crcs.get(name):
                        bad.append(name)
        finally:
            buf.release()
        return bad

    def maybe_array(self, name: str) -> np.ndarray | None:
        """A section as an array read in place, or None when the store has none of that name."""
        arr = self._arrays.get(name)
        if arr is None:
            spec = self.dir["sections"].get(name)
            if spec is None:
                return None
            off, dt, count = spec
            arr = np.frombuffer(self._buf, dtype=np.dtype(dt), count=count, offset=self._base + off)
            self._arrays[name] = arr
        return arr

    def array(self, name: str) -> np.ndarray:
        """A section every store has (:meth:`maybe_array` for the others)."""
        arr = self.maybe_array(name)
        if arr is None:
            raise ValueError(f"{self.path}: no {name} section")
        return arr

    def lengths(self, field: str) -> np.ndarray:
        """Every document's length byte in a scored field (0s for a field the store lacks)."""
        got = self.maybe_array(f"len.{field}")
        return got if got is not None else np.zeros(self.n, dtype=np.uint8)

    def total_length(self, field: str) -> int:
        spec = self.fields.get(field)
        return spec["total"] if spec else 0

    def has_positions(self, field: str) -> bool:
        spec = self.fields.get(field)
        return bool(spec and spec["positions"])

    def _entry(self, field: str, term: str) -> int | None:
        spec = self.fields.get(field)
        if spec is None:
            return None
        key = bytes([spec["id"]]) + term.encode("utf-8")
        h = np.uint64(hash64(key))
        hashes = self.array("dict.hash")
        i = int(np.searchsorted(hashes, h))
        if i >= len(hashes) or hashes[i] != h:
            return None
        off = self.array("dict.keyoff")
        if self.array("dict.keys")[int(off[i]):int(off[i + 1])].tobytes() != key:
            return None
        return i

    def postings(self, field: str, term: str) -> TermPostings | None:
        """A term's postings in this segment, or None when the segment lacks it (kept for the
        next queries: views, a few hundred bytes each). Safe from several threads: a store is
        shared by every thread's view (one lookup, no check-then-read)."""
        key = (field, term)
        tp = self._terms.get(key, _ABSENT)
        if tp is not _ABSENT:
            return tp  # type: ignore[return-value]
        tp = self._postings(field, term)
        if len(self._terms) >= 20_000:
            self._terms.clear()
        self._terms[key] = tp
        return tp

    def _postings(self, field: str, term: str) -> TermPostings | None:
        i = self._entry(field, term)
        if i is None:
            return None
        p0, df = int(self.array("dict.pstart")[i]), int(self.array("dict.df")[i])
        w0, nw = int(self.array("dict.wstart")[i]), int(self.array("dict.nwin")[i])
        imp = qoff = None
        comb = self.dir.get("combined")
        if comb and field == comb["field"]:
            a = p0 - comb["imp_base"]
            imp = self.array("post.imp")[a:a + df]
        elif self.fields[field]["positions"]:
            qoff = self.array("post.qoff")[p0:p0 + df]
        return TermPostings(field, self.array("post.doc")[p0:p0 + df], self.array("post.tf")[p0:p0 + df],
                            self.array("win.id")[w0:w0 + nw], self.array("win.off")[w0:w0 + nw],
                            self.array("win.maxtf")[w0:w0 + nw],
                            self.array("win.minlen")[w0:w0 + nw], self.array("win.maxq")[w0:w0 + nw],
                            int(self.array("dict.qstart")[i]), imp, qoff)

    def doc_frequency(self, field: str, term: str) -> int:
        tp = self.postings(field, term)
        return 0 if tp is None else tp.df

    def positions(self, tp: TermPostings, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of postings ``idx`` (ascending indexes into ``tp.docs``): ``(owner,
        position)`` int64 arrays, ``owner`` the place in ``idx``, positions in order within each."""
        idx = np.asarray(idx, dtype=np.int64)
        if not len(idx):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        start, counts = self.position_runs(tp, idx)
        return self.gather_positions(start, counts)

    def position_runs(self, tp: TermPostings, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the positions of postings ``idx`` (indexes into ``tp.docs``) lie in ``pos``:
        ``(start, count)`` int64 arrays, read in place (``post.qoff``), ``count`` the posting's
        weight (its term count)."""
        if tp.qoff is None:
            raise ValueError(f"no positions for {tp.field}")
        return tp.qoff[idx].astype(np.int64), tp.tf[idx].astype(np.int64)

    def holds_position(self, start: np.ndarray, count: np.ndarray, target: np.ndarray) -> np.ndarray:
        """For each ``i``, whether ``pos[start[i]:start[i] + count[i]]`` (one posting's positions,
        ascending) holds ``target[i]``: a binary search of every run at once (int64 arrays of one
        length), as many steps as the longest run's bit length (runs of one position: one look)."""
        pos = self.array("pos")
        if one_each(count):
            return np.take(pos, start) == target
        end = start + count
        at = start - 1  # the last place known to hold less than the target (or before the run)
        step = 1 << max(int(count.max()).bit_length() - 1, 0)
        while step:
            probe = at + step
            ok = np.take(pos, probe, mode="clip") < target
            ok &= probe < end
            np.add(at, step, out=at, where=ok)
            step >>= 1
        at += 1
        return (at < end) & (np.take(pos, at, mode="clip") == target)

    def gather_positions(self, start: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(owner, position)`` for runs of ``counts[i]`` positions from ``start[i]`` in ``pos``
        (``owner`` ascending; runs of one position each: ``owner`` is ``0, 1, 2...``)."""
        if one_each(counts):
            return np.arange(len(counts), dtype=np.int64), self.array("pos")[start].astype(np.int64)
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        offs = np.repeat(start - first, counts) + np.arange(total, dtype=np.int64)
        return owner, self.array("pos")[offs].astype(np.int64)

    def close(self) -> None:
        self._arrays.clear()
        self._terms.clear()
        if isinstance(self._buf, mmap.mmap):
            try:
                self._buf.close()
            except BufferError:  # arrays still viewing it: the map goes with them
                pass


def open_store(path, *, segment_id: str | None = None, doc_count: int | None = None,
               fingerprint: dict | None = None) -> PostStore | None:
    """Map a store read-only; None when it is missing, damaged, of another version, or does not
    match the segment (``segment_id``, ``doc_count``, ``fingerprint`` when given)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < _HEAD:
                return None
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        if buf[:len(MAGIC)] != MAGIC:
            return None
        version, dlen = np.frombuffer(buf, dtype="<u4", count=2, offset=len(MAGIC)).tolist()
        if version != VERSION:
            return None
        start = _HEAD
        directory = json.loads(bytes(buf[start:start + dlen]))
        base = (start + dlen + _ALIGN - 1) // _ALIGN * _ALIGN
        end = max((base + off + np.dtype(dt).itemsize * count
                   for off, dt, count in directory["sections"].values()), default=base)
        if end > size:
            return None
    except (ValueError, KeyError, TypeError):
        return None
    if segment_id is not None and directory.get("segment") != segment_id:
        return None
    if doc_count is not None and directory.get("docs") != doc_count:
        return None
    if fingerprint is not None and directory.get("fingerprint") != fingerprint:
        return None
    return PostStore(path, buf, directory, base)


# ---- from a Whoosh segment ------------------------------------------------------------------------

def segment_fingerprint(reader) -> dict:
    """What a store must agree with to be its segment's: document count and field totals."""
    seg = reader.segment()
    return dict(segment=seg.segment_id(), docs=reader.doc_count_all(),
                lengths={f: int(n) for f, n in sorted(internals.field_lengths(seg).items())})


def build_from_segment(reader, index_dir, *, settings: StoreSettings, skip=SKIP_FIELDS,
                       window_bits: int = WINDOW_BITS) -> Path:
    """Write the store of one Whoosh segment (a ``SegmentReader``): its term index read in one
    piece, its posting lists in 16 MB reads, each block unpickled once, and the numbers turned
    into arrays a batch of terms at a time. (A segment writer that has the arrays already
    feeds :class:`StoreWriter` directly: :class:`WriterFeed`.)"""
    from whoosh.formats import Positions

    seg = reader.segment()
    n = reader.doc_count_all()
    w = StoreWriter(store_path(index_dir, seg.segment_id()), segment_id=seg.segment_id(),
                    doc_count=n, window_bits=window_bits, settings=settings)
    try:
        schema = reader.schema
        w.add_length_table(length_table())
        for name in _length_fields(schema, skip):
            w.add_lengths(name, _length_bytes(reader, name), reader.field_length(name))
        _add_columns(w, reader)
        skip = _skipped(schema, skip)
        postings = _ChunkedFile(internals.postings_file(reader))
        batch = None
        for fieldname, tbytes, inlined, extent in format.term_entries(*internals.term_index(reader)):
            if fieldname in skip:
                continue
            if batch is None or batch.field != fieldname or batch.postings >= _DERIVE_BATCH:
                if batch is not None:
                    batch.write(w)
                batch = _Batch(fieldname, type(schema[fieldname].format) is Positions)
            if inlined is not None:
                ids, weights, values = inlined
                batch.add_block(tuple(b - a for a, b in zip((0,) + tuple(ids[:-1]), ids)),
                                tuple(weights) if weights is not None else None, values)
            else:
                for _count, _maxid, data in format.blocks(postings.get(*extent)):
                    batch.add_block(*data(values=batch.positions))
            batch.end_term(tbytes.decode("utf-8"))
        if batch is not None:
            batch.write(w)
    except BaseException:
        w.discard()
        raise
    return w.finish(segment_fingerprint(reader))


def _length_fields(schema, skip) -> list[str]:
    """The fields whose length bytes a store keeps (indexed, scored, not skipped), in order."""
    return [name for name in sorted(schema.names())
            if name not in skip and schema[name].indexed and schema[name].scorable]


def _skipped(schema, skip) -> set[str]:
    """The fields whose terms a store leaves out: ``skip``, and numbers (the date: answered
    from the date column; their terms are binary)."""
    from whoosh.fields import NUMERIC

    return set(skip) | {name for name in schema.names() if isinstance(schema[name], NUMERIC)}


def _add_columns(w: StoreWriter, reader) -> None:
    """A segment's date and facet columns, read from the segment."""
    schema = reader.schema
    if "date" in schema.names():
        w.add_column("date", numeric_column(reader, "date").astype("<u4"))
    for name in schema.names():
        if name.startswith("facet_"):
            codes, values = coded_column(reader, name)
            w.add_column(name, codes.astype("<u2"), [v.decode("utf-8") for v in values])


class WriterFeed:
    """A segment's store written from the segment writer's own arrays as it writes the segment
    (``FastSegmentWriter(feed=...)`` hands over each term's postings in the segment's order):
    nothing is decoded back from the written segment (:func:`build_from_segment`, ~260 µs a
    document), and the store is written by the process that wrote the segment. The bytes are
    :func:`build_from_segment`'s (``tests/test_store_writer.py``). :meth:`finish` once the
    segment is written (its columns and fingerprint are read from it), or :meth:`discard`.

    >>> feed = WriterFeed(index_dir, segment_id=seg, schema=schema, doc_count=n,   # doctest: +SKIP
    ...                   lengths=[("title", length_bytes, total)], settings=settings)
    >>> feed.add("title", format.POS, "crime", (docs_and_counts, positions)); feed.finish(reader)
    """

    def __init__(self, index_dir, *, segment_id: str, schema, doc_count: int, lengths,
                 settings: StoreSettings, skip=SKIP_FIELDS, window_bits: int = WINDOW_BITS):
        """``lengths``: (field, its length byte per document, its total length) of each field
        the segment keeps lengths of (the writer's)."""
        from whoosh.formats import Positions

        self._schema = schema
        self._skip = _skipped(schema, skip)
        self._positions = {name: type(schema[name].format) is Positions for name in schema.names()}
        self._w = StoreWriter(store_path(index_dir, segment_id), segment_id=segment_id,
                              doc_count=doc_count, window_bits=window_bits, settings=settings)
        try:
            self._w.add_length_table(length_table())
            keep = set(_length_fields(schema, skip))
            for name, lens, total in lengths:
                if name in keep:
                    self._w.add_lengths(name, np.frombuffer(lens, dtype=np.uint8), total)
        except BaseException:
            self._w.discard()
            raise
        self._field: str | None = None
        self._kind = 0
        self._failed: Exception | None = None
        self._start()

    def _start(self) -> None:
        self._terms: list[str] = []
        self._counts: list[int] = []
        self._ids = array("I")  # FREQ and POS: document numbers and counts interleaved
        self._pos = array("I")
        self._weights: list[float] = []
        self._postings = 0

    def add(self, field: str, kind: int, term, payload) -> None:
        """One term's postings as the fast segment writer holds them (``format``'s kinds:
        ``FREQ``/``POS`` document numbers and counts interleaved, ``POS`` with the positions;
        ``EXIST`` document numbers; ``GENERIC`` (document, weight, value) tuples)."""
        if field in self._skip or self._failed is not None:
            return
        try:
            self._add(field, kind, term, payload)
        except Exception as e:  # kept for finish: a store never fails the segment's writing
            self._failed = e
            self._w.discard()

    def _add(self, field: str, kind: int, term, payload) -> None:
        if field != self._field or self._postings >= _DERIVE_BATCH:
            self._write()
            self._field, self._kind = field, kind
        if kind == format.POS:
            a, positions = payload
            self._ids.extend(a)
            self._pos.extend(positions)
            n = len(a) >> 1
        elif kind == format.FREQ:
            self._ids.extend(payload)
            n = len(payload) >> 1
        elif kind == format.EXIST:
            self._ids.extend(payload)
            n = len(payload)
        else:
            decode = self._schema[field].format.decode_positions if self._positions[field] else None
            for docnum, weight, value in payload:
                self._ids.append(docnum)
                self._weights.append(weight)
                if decode is not None:
                    self._pos.extend(decode(value))
            n = len(payload)
        self._terms.append(term.decode("utf-8") if isinstance(term, bytes) else term)
        self._counts.append(n)
        self._postings += n

    def _write(self) -> None:
        if not self._terms or self._field is None:
            return
        ids = np.frombuffer(self._ids, dtype=np.uint32) if len(self._ids) else np.zeros(0, np.uint32)
        positions = None
        if self._kind in (format.POS, format.FREQ):
            docs, tf = ids[0::2], ids[1::2].astype(np.float32)
        elif self._kind == format.EXIST:
            docs, tf = ids, np.ones(len(ids), dtype=np.float32)
        else:
            docs, tf = ids, np.array(self._weights, dtype=np.float32)
        if self._positions[self._field] and self._kind in (format.POS, format.GENERIC):
            positions = np.frombuffer(self._pos, dtype=np.uint32) if len(self._pos) else np.zeros(0, np.uint32)
        self._w.add_terms(self._field, self._terms, self._counts, docs, tf, positions)
        self._start()

    def finish(self, reader) -> Path:
        """Write the store, with the columns and fingerprint of the segment just written
        (``reader``: a Whoosh reader of it)."""
        if self._failed is not None:
            raise self._failed
        try:
            self._write()
            _add_columns(self._w, reader)
        except BaseException:
            self._w.discard()
            raise
        return self._w.finish(segment_fingerprint(reader))

    def discard(self) -> None:
        self._w.discard()


def length_table() -> np.ndarray:
    """The field length each length byte stands for (Whoosh's ``byte_to_length``)."""
    from whoosh.util.numeric import byte_to_length

    return np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.float64)


class _ChunkedFile:
    """Reads of ascending extents of a Whoosh file, 16 MB at a time."""

    def __init__(self, f, chunk: int = 16 << 20):
        self.f = f
        self.chunk = chunk
        self.start = 0
        self.data = b""

    def get(self, offset: int, length: int) -> bytes:
        if offset < self.start or offset + length > self.start + len(self.data):
            self.start = offset
            self.data = self.f.get(offset, max(length, self.chunk))
        a = offset - self.start
        return self.data[a:a + length]


class _Batch:
    """Posting blocks of consecutive terms of one field, as Whoosh's W3 blocks hold them (ids:
    the first absolute, then deltas; weights: None for all 1.0, one float for all, or one each;
    values), turned into arrays for :meth:`StoreWriter.add_terms` in one go."""

    def __init__(self, field: str, positions: bool):
        self.field = field
        self.positions = positions
        self.terms: list[str] = []
        self.counts: list[int] = []
        self.ids: list[tuple] = []
        self.block_lens: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []
        self.postings = 0
        self._term = 0

    def add_block(self, ids, ws, vs) -> None:
        """One W3 block (``vs`` may be empty when the field has no positions)."""
        k = len(ids)
        self.ids.append(ids)
        self.block_lens.append(k)
        if ws is None:
            self.weights.extend([1.0] * k)
        elif isinstance(ws, float):
            self.weights.extend([ws] * k)
        else:
            self.weights.extend(ws)
        if self.positions:
            self.values.extend(vs)
        self._term += k
        self.postings += k

    def end_term(self, text: str) -> None:
        self.terms.append(text)
        self.counts.append(self._term)
        self._term = 0

    def write(self, w: StoreWriter) -> None:
        if not self.terms:
            return
        blens = np.array(self.block_lens, dtype=np.int64)
        flat = np.fromiter(chain.from_iterable(self.ids), dtype=np.int64, count=int(blens.sum()))
        docs = _restart_cumsum(flat, blens)
        tf = np.array(self.weights, dtype=np.float32)
        positions = None
        if self.positions:
            lists = format.bulk_position_deltas(self.values)
            if lists is None:
                raise ValueError(f"{self.field}: position values not in Whoosh's Positions encoding")
            plens = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
            if not np.array_equal(plens, tf.astype(np.int64)):
                raise ValueError(f"{self.field}: weights are not position counts")
            deltas = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(plens.sum()))
            positions = _restart_cumsum(deltas, plens)
        w.add_terms(self.field, self.terms, self.counts, docs, tf, positions)


def _restart_cumsum(values: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` starting afresh at each of the runs of ``lens`` items."""
    total = np.cumsum(values)
    ends = np.cumsum(lens)
    nonempty = lens > 0
    before = np.zeros(len(lens), dtype=np.int64)
    prev = ends - lens - 1  # index of the item before each run
    has_prev = nonempty & (prev >= 0)
    before[has_prev] = total[prev[has_prev]]
    return total - np.repeat(before, lens)


def _length_bytes(reader, field: str) -> np.ndarray:
    """A segment's length byte of every document in ``field`` (Whoosh's length column)."""
    n = reader.doc_count_all()
    cr = internals.length_column(reader, field)
    out = length_bytes(cr, n) if cr is not None else np.zeros(n, dtype=np.uint8)
    if out is None:
        from whoosh.util.numeric import length_to_byte

        out = np.array([length_to_byte(reader.doc_field_length(d, field, 0) or 0) for d in range(n)],
                       dtype=np.uint8)
    return out


def open_stores(index_dir, searcher) -> list[PostStore] | None:
    """Every segment's store, in segment order, opened read-only and checked against its
    segment; None when any is missing or stale (the query side then answers the old way: it
    never writes the index; :func:`ensure_stores` is for the build and reindex)."""
    out: list[PostStore] = []
    for sub, _offset in searcher.leaf_searchers():
        reader = sub.reader()
        if reader.segment() is None:
            continue
        fp = segment_fingerprint(reader)
        st = open_store(store_path(index_dir, fp["segment"]), segment_id=fp["segment"],
                        doc_count=fp["docs"], fingerprint=fp)
        if st is None:
            for other in out:
                other.close()
            return None
        out.append(st)
    return out


def ensure_stores(index_dir, searcher=None, *, settings: StoreSettings, window_bits: int = WINDOW_BITS,
                  strict: bool = True, verify: bool = True) -> list[PostStore]:
    """Every segment's store, (re)built where missing, stale, damaged (its CRCs: see the module
    doc) or of another window size or made for other ranking ``settings``, and
    stores of segments that no longer exist deleted (with files a crashed writer left); in
    segment order. ``settings``: the ranking the bounds are for (``StoreSettings.of``; the
    build and reindex: the product's, ``Ranking()``). ``strict=False`` (the build and
    reindex): a store that cannot be written is left out with a warning, never failing the
    caller: searches answer without it. ``verify``: check every section's CRC (reads every
    store whole: ~400 MB at 100,000 questions, ~4 GB at a million); otherwise only the
    directory's, as every reindex does (``mqt reindex --verify-stores`` does it all)."""
    import logging  # here: a search never writes a store, and need not import logging

    _log = logging.getLogger(__name__)
    own = searcher is None
    if own:
        searcher = open_for_reading(Path(index_dir)).searcher()
    try:
        out = []
        keep = set()
        for sub, _offset in searcher.leaf_searchers():
            reader = sub.reader()
            if reader.segment() is None:
                continue
            fp = segment_fingerprint(reader)
            path = store_path(index_dir, fp["segment"])
            keep.add(path.name)
            st = open_store(path, segment_id=fp["segment"], doc_count=fp["docs"], fingerprint=fp)
            if st is not None and (st.window_bits != window_bits
                                   or st.dir.get("ranking") != settings.as_json()):
                st.close()
                st = None
            if st is not None:
                bad = st.damaged(sections=verify)
                if bad:
                    _log.warning("%s: the posting store of segment %s is damaged (%s); rewriting it",
                                 index_dir, fp["segment"], ", ".join(bad[:5]))
                    st.close()
                    st = None
            if st is None:
                try:
                    build_from_segment(reader, index_dir, window_bits=window_bits, settings=settings)
                    st = open_store(path, segment_id=fp["segment"], doc_count=fp["docs"], fingerprint=fp)
                    if st is None:
                        raise ValueError(f"{path}: the store just written does not open")
                except Exception as e:
                    if strict:
                        raise
                    _log.warning("%s: no posting store for segment %s (%s: %s); searches of it "
                                 "take the slower path", index_dir, fp["segment"], type(e).__name__, e)
                    continue
            out.append(st)
        sweep_derived(Path(index_dir) / DIR, keep, SUFFIX, TMP_SUFFIX)
        return out
    finally:
        if own:
            searcher.close()
