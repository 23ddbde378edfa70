"""The file facts of each segment kept beside it as compact arrays, so that a reindex reads every
document's id and ``fileinfo`` in one go instead of a Python step per document (27 s of a no-op
reindex at a million questions, through Whoosh's term index and column reader).

Derived data, like the posting stores (``poststore``): the Whoosh segment stays the record (its
``id`` terms and ``fileinfo`` column); a facts file is derived from it (:func:`derive`) after every
commit (``writer.write_side_tables``), checked whole on every read (segment id, document count,
CRC-32 of every byte) and derived again when missing, stale or damaged (:func:`load`).

One file per segment, ``mqt-facts/<segment id>.mqf`` in the index folder::

    b"MQTFACT1", uint32 version, uint32 header length, uint32 CRC-32 of everything after these
    20 bytes, header (JSON: segment id, document count, entry count, sections: [offset, length]
    from the end of the header), then the sections:

- ``id_doc`` uint32[m]: the document number of each ``id`` posting (m: the postings of the
  field, deleted documents included; deletions are the segment's, applied when read)
- ``ids``: those postings' ids, UTF-8, NUL-separated
- ``size``, ``mtime`` int64[n]: each document's file size and mtime (ns) (n: the segment's
  documents); size -1 for a document whose ``fileinfo`` does not parse or lacks the path (an
  older mqt's): such a file is always read. ``mtime`` may be newer than the column's: a reindex
  that found a file only touched (same size, path and SHA-1) records its new mtime here
  (:func:`record_mtimes`) rather than rewriting the document; losing that only costs reading
  the file once more
- ``rel``: each document's path relative to the corpus folder, NUL-separated
- ``info``: each document's ``fileinfo`` value as stored (NUL-separated), for its SHA-1

No file name holds a NUL: a segment with one in an id gets no file (its facts are derived
again at each read); a ``fileinfo`` value with one is kept as none (its file is read).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import zlib
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..fileinfo import FileInfo
from .columns import bytes_column
from .storage import sweep_derived

_log = logging.getLogger(__name__)

MAGIC = b"MQTFACT1"
VERSION = 1
_HEAD = struct.Struct("<III")
#: Folder (inside the index folder) of the facts files, one per segment.
DIR = "mqt-facts"
SUFFIX = ".mqf"
TMP_SUFFIX = ".tmp"
_SECTIONS = ("id_doc", "ids", "size", "mtime", "rel", "info")


@dataclass(frozen=True)
class SegmentFacts:
    """One segment's ids and file facts (see the module doc): ``id_doc``/``ids`` per ``id``
    posting, the rest per document number."""

    segment_id: str
    docs: int
    id_doc: np.ndarray  # uint32[m]
    ids: list[str]
    size: np.ndarray  # int64[n]
    mtime: np.ndarray  # int64[n]
    rel: list[str]
    info_blob: bytes  # the documents' fileinfo values, NUL-separated: split only when asked

    @cached_property
    def _info_ends(self) -> np.ndarray:
        ends = np.flatnonzero(np.frombuffer(self.info_blob, dtype=np.uint8) == 0)
        return np.append(ends, len(self.info_blob)) if self.docs else ends

    def info(self, d: int) -> str:
        """Document ``d``'s ``fileinfo`` value as stored."""
        ends = self._info_ends
        start = int(ends[d - 1]) + 1 if d else 0
        return self.info_blob[start:int(ends[d])].decode("utf-8", "surrogateescape")

    def infos(self) -> list[str]:
        return _split(self.info_blob, self.docs)


def facts_path(index_dir, segment_id: str) -> Path:
    return Path(index_dir) / DIR / f"{segment_id}{SUFFIX}"


def derive(reader) -> SegmentFacts:
    """A segment's facts from Whoosh's own data: the ``id`` field's terms and postings and the
    ``fileinfo`` column (a Python step per document: what the facts file saves)."""
    n = reader.doc_count_all()
    ids: list[str] = []
    id_doc: list[int] = []
    for btext, ti in reader.iter_field("id"):
        doc_id = btext.decode("utf-8") if isinstance(btext, bytes) else btext
        if ti.doc_frequency() == 1:
            ids.append(doc_id)
            id_doc.append(ti.min_id())
        else:
            for d in reader.postings("id", btext).all_ids():
                ids.append(doc_id)
                id_doc.append(d)
    infos = [v.decode("utf-8") if isinstance(v, bytes) else v for v in bytes_column(reader, "fileinfo")]
    size = np.full(n, -1, dtype=np.int64)
    mtime = np.zeros(n, dtype=np.int64)
    rel = [""] * n
    for d, value in enumerate(infos):
        if "\0" in value:  # no file name holds one: kept as no facts (the file is read)
            infos[d] = ""
            continue
        fi = FileInfo.parse(value)
        if fi is not None and fi.relpath is not None:
            size[d], mtime[d], rel[d] = fi.size, fi.mtime_ns, fi.relpath
    return SegmentFacts(reader.segment().segment_id(), n, np.array(id_doc, dtype=np.uint32), ids,
                        size, mtime, rel, "\0".join(infos).encode("utf-8", "surrogateescape"))


def _join(values: list[str]) -> bytes | None:
    blob = "\0".join(values)
    if blob.count("\0") != max(0, len(values) - 1):
        return None  # a value holds a NUL: cannot be written so
    return blob.encode("utf-8", "surrogateescape")


def _split(blob: bytes, count: int) -> list[str]:
    return blob.decode("utf-8", "surrogateescape").split("\0") if count else []


def write(index_dir, facts: SegmentFacts) -> Path | None:
    """Write one segment's facts file (atomically: a temporary file renamed into place);
    None when its values cannot be written so (a NUL)."""
    ids, rel = _join(facts.ids), _join(facts.rel)
    if ids is None or rel is None:
        return None
    parts = {"id_doc": facts.id_doc.astype("<u4").tobytes(), "ids": ids,
             "size": facts.size.astype("<i8").tobytes(), "mtime": facts.mtime.astype("<i8").tobytes(),
             "rel": rel, "info": facts.info_blob}
    sections, offset = {}, 0
    for name in _SECTIONS:
        sections[name] = [offset, len(parts[name])]
        offset += len(parts[name])
    header = json.dumps({"segment": facts.segment_id, "docs": facts.docs, "entries": len(facts.ids),
                         "sections": sections}, separators=(",", ":")).encode("utf-8")
    crc = zlib.crc32(header)
    for name in _SECTIONS:
        crc = zlib.crc32(parts[name], crc)
    path = facts_path(index_dir, facts.segment_id)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + _HEAD.pack(VERSION, len(header), crc) + header)
            for name in _SECTIONS:
                f.write(parts[name])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read(path, *, segment_id: str, docs: int) -> SegmentFacts | None:
    """A segment's facts file, or None when it is missing, of another segment or version,
    truncated, or fails its CRC."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + _HEAD.size
    if len(data) < head or data[:len(MAGIC)] != MAGIC:
        return None
    version, hlen, crc = _HEAD.unpack_from(data, len(MAGIC))
    if version != VERSION or zlib.crc32(memoryview(data)[head:]) != crc:
        return None
    try:
        header = json.loads(data[head:head + hlen])
        if header["segment"] != segment_id or header["docs"] != docs:
            return None
        base, m = head + hlen, header["entries"]
        sec = {name: data[base + o:base + o + ln] for name, (o, ln) in header["sections"].items()}
        out = SegmentFacts(segment_id, docs, np.frombuffer(sec["id_doc"], dtype="<u4").astype(np.uint32),
                           _split(sec["ids"], m), np.frombuffer(sec["size"], dtype="<i8").astype(np.int64),
                           np.frombuffer(sec["mtime"], dtype="<i8").astype(np.int64),
                           _split(sec["rel"], docs), sec["info"])
    except (ValueError, KeyError, TypeError):
        return None
    if (len(out.id_doc) != m or len(out.ids) != m or len(out.size) != docs or len(out.mtime) != docs
            or len(out.rel) != docs or len(out._info_ends) != docs
            or (m and int(out.id_doc.max()) >= docs)):
        return None
    return out


def ensure(index_dir, reader, *, write_missing: bool = True) -> SegmentFacts:
    """One segment's facts: its file when whole and current, else derived from the segment (and
    written, unless ``write_missing`` is False; a file that cannot be written is left out)."""
    segid = reader.segment().segment_id()
    n = reader.doc_count_all()
    path = facts_path(index_dir, segid)
    facts = read(path, segment_id=segid, docs=n)
    if facts is None:
        if path.exists():
            _log.warning("%s: the facts file of segment %s is damaged or stale; rewriting it",
                         index_dir, segid)
        facts = derive(reader)
        if write_missing:
            try:
                write(index_dir, facts)
            except OSError as e:
                _log.warning("%s: cannot write the facts file of segment %s (%s)", index_dir, segid, e)
    return facts


def ensure_all(index_dir, reader) -> None:
    """After a commit: every segment's facts file, written where missing, stale or damaged, and
    those of segments that no longer exist deleted (with files a crashed writer left)."""
    keep = set()
    for leaf, _base in reader.leaf_readers():
        if leaf.segment() is None:
            continue
        ensure(index_dir, leaf)
        keep.add(facts_path(index_dir, leaf.segment().segment_id()).name)
    sweep_derived(Path(index_dir) / DIR, keep, SUFFIX, TMP_SUFFIX)


class IndexFacts:
    """Every live document of an index as entries (one per ``id`` posting: usually one per
    document), read from the segments' facts: ``ids``, ``docnums`` (the index's document
    numbers), ``size``, ``mtime`` and ``rel`` (lists, for a Python loop over the corpus),
    ``info(e)`` (the stored ``fileinfo``); ``first``: id -> its entry for ids with exactly one,
    ``multi``: id -> entries for the others (duplicates left by an older writer)."""

    def __init__(self, segments: list[tuple[SegmentFacts, int, set[int]]]):
        self._segments = [s for s, _, _ in segments]
        self._bases = [b for _, b, _ in segments]
        ids: list[str] = []
        docnums, size, mtime = [], [], []
        rel: list[str] = []
        for facts, base, deleted in segments:
            idd = facts.id_doc.astype(np.int64)
            seg_ids = facts.ids
            if deleted:
                keep = ~np.isin(idd, np.fromiter(deleted, dtype=np.int64, count=len(deleted)))
                seg_ids = [i for i, k in zip(seg_ids, keep.tolist()) if k]
                idd = idd[keep]
            ids.extend(seg_ids)
            docnums.append(idd + base)
            size.append(facts.size[idd])
            mtime.append(facts.mtime[idd])
            if len(idd) == facts.docs and np.array_equal(idd, np.arange(facts.docs)):
                rel.extend(facts.rel)
            else:
                rel.extend(facts.rel[d] for d in idd.tolist())
        self.ids = ids
        self.docnums: list[int] = np.concatenate(docnums).tolist() if docnums else []
        self.size: list[int] = np.concatenate(size).tolist() if size else []
        self.mtime: list[int] = np.concatenate(mtime).tolist() if mtime else []
        self.rel = rel
        self.first: dict[str, int] = dict(zip(ids, range(len(ids))))
        self.multi: dict[str, list[int]] = {}
        if len(self.first) != len(ids):
            for e, doc_id in enumerate(ids):
                self.multi.setdefault(doc_id, []).append(e)
            self.multi = {k: v for k, v in self.multi.items() if len(v) > 1}
            for k in self.multi:
                del self.first[k]

    def __len__(self) -> int:
        return len(self.ids)

    def entries(self, doc_id: str) -> list[int]:
        """The entries of one id (none, one, or several)."""
        e = self.first.get(doc_id)
        return [e] if e is not None else self.multi.get(doc_id, [])

    def _where(self, e: int) -> tuple[int, int]:
        d = self.docnums[e]
        s = bisect_right(self._bases, d) - 1
        return s, d - self._bases[s]

    def info(self, e: int) -> str:
        """Entry ``e``'s ``fileinfo`` value as stored."""
        s, d = self._where(e)
        return self._segments[s].info(d)

    def as_dict(self) -> dict[str, list[tuple[int, str]]]:
        """id -> [(document number, fileinfo)]: what ``IndexUpdater.indexed_docs`` reads from
        Whoosh (for tests)."""
        out: dict[str, list[tuple[int, str]]] = {}
        for e, doc_id in enumerate(self.ids):
            out.setdefault(doc_id, []).append((self.docnums[e], self.info(e)))
        return out

    def record_mtimes(self, index_dir, touched: list[tuple[int, int]]) -> None:
        """Record in the facts files the new mtime of entries whose file was found only touched
        (``(entry, mtime_ns)``), so the next run skips them unread. Failing to write costs only
        reading them again."""
        by_segment: dict[int, list[tuple[int, int]]] = {}
        for e, mtime_ns in touched:
            s, d = self._where(e)
            by_segment.setdefault(s, []).append((d, mtime_ns))
            self.mtime[e] = mtime_ns
        for s, changes in by_segment.items():
            facts = self._segments[s]
            mtime = facts.mtime.copy()
            for d, m in changes:
                mtime[d] = m
            facts = replace(facts, mtime=mtime)
            self._segments[s] = facts
            try:
                write(index_dir, facts)
            except OSError as e:
                _log.warning("%s: cannot record new mtimes in the facts of segment %s (%s)",
                             index_dir, facts.segment_id, e)


def load(index_dir, reader) -> IndexFacts:
    """Every live document's facts, from the facts files (derived and written where missing,
    stale or damaged); files of segments that no longer exist are deleted. Under the job lock."""
    segs = []
    keep = set()
    for leaf, base in reader.leaf_readers():
        if leaf.segment() is None:
            continue
        facts = ensure(index_dir, leaf)
        keep.add(facts_path(index_dir, facts.segment_id).name)
        deleted = set(leaf.segment().deleted_docs()) if leaf.has_deletions() else set()
        segs.append((facts, base, deleted))
    sweep_derived(Path(index_dir) / DIR, keep, SUFFIX, TMP_SUFFIX)
    return IndexFacts(segs)


def log_failure(index_dir, e: BaseException) -> None:
    _log.warning("%s: facts files not written (%s: %s); the next reindex derives them",
                 index_dir, type(e).__name__, e)
