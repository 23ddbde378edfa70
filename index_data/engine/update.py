"""Incremental updates of an existing index: read what the index holds, apply deletions and
additions in one commit, keep the segment count bounded (the merge policy), with durable commits
(``storage.DurableFileStorage``).

A Whoosh commit becomes visible in one step (a new table-of-contents file is renamed into place),
so a reindex applied as one commit is seen by searchers all at once, and a reindex killed before
that rename leaves the previous state intact. The decisions (what changed) are
``index_data.reindexing``'s.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from whoosh.filedb.filestore import FileStorage
from whoosh.index import EmptyIndexError, clean_files
from whoosh.reading import SegmentReader
from whoosh.util import fib
from whoosh.util.filelock import try_for

from .. import stemtable
from ..analysis import use_stem_table
from ..errors import IndexCorruptError, IndexLockedError
from ..model import Question
from . import internals
from .schema import INDEX_NAME, document_fields
from .storage import DurableFileStorage, open_error
from .writer import write_side_tables

if TYPE_CHECKING:
    from .facts import IndexFacts

#: After a commit the index keeps at most this many segments (small ones are merged first):
#: each extra segment costs every query (measured: 8 segments 1.36x slower than 1 on 100,000
#: documents), while merging the few small segments a commit leaves is cheap.
MAX_SEGMENTS = 4
#: A segment whose share of deleted documents passes this is rewritten without them.
MAX_DELETED_FRACTION = 0.25

_TOC_TEMP_RE = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\..+$")


@dataclass(frozen=True)
class IndexedDoc:
    """One live document of the index: its number (for deletion) and its ``fileinfo`` value
    (``sources.FileInfo.format()``)."""

    docnum: int
    fileinfo: str


def remove_write_leftovers(index_dir: str | os.PathLike) -> None:
    """Delete a killed writer's temporary files (half-written table of contents, pool folder).

    Whoosh itself deletes orphaned segment files at the next commit. Call only while holding the
    job lock (no other writer can be running).
    """
    d = Path(index_dir)
    for p in d.iterdir():
        if _TOC_TEMP_RE.match(p.name) and p.is_file():
            p.unlink(missing_ok=True)
        elif p.name.endswith(".tmp") and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def indexed_ids(index_dir: str | os.PathLike) -> set[str] | None:
    """The ids of the live documents of the index at ``index_dir``, or None when it cannot be read
    (damaged, or written by another version of mqt)."""
    try:
        storage = FileStorage(str(index_dir), readonly=True, supports_mmap=False)
        ix = storage.open_index(INDEX_NAME)
        try:
            with ix.reader() as reader:
                return {(b.decode("utf-8") if isinstance(b, bytes) else b)
                        for b in reader.lexicon("id")
                        if any(True for _ in reader.postings("id", b).all_ids())}
        finally:
            ix.close()
    except Exception:  # any failure to read means "unknown", and the caller is cautious
        return None


class IndexUpdater:
    """An existing index opened for an incremental update; use as a context manager.

    >>> with IndexUpdater(index_dir) as u:             # doctest: +SKIP
    ...     docs = u.indexed_docs()                     # {doc_id: [IndexedDoc, ...]}
    ...     u.apply(delete=[docs["a"][0].docnum], add=[(question, "12:34:sha1:a.txt")])
    """

    def __init__(self, index_dir: str | os.PathLike, *, durable: bool = True,
                 verify_stores: bool = False):
        self.index_dir = Path(index_dir)
        self.verify_stores = verify_stores  # check every posting store's CRCs after the run
        storage_cls = DurableFileStorage if durable else FileStorage
        # Not memory-mapped: Whoosh copies each mapped sub-file of a compound segment into memory
        # when it opens it (the whole index, for the columns a no-op run reads).
        self._storage = storage_cls(str(self.index_dir), supports_mmap=False)
        try:
            self._ix = self._storage.open_index(INDEX_NAME)
        except EmptyIndexError:
            raise IndexCorruptError(f"{self.index_dir} holds no finished index") from None
        except (AttributeError, ImportError, pickle.UnpicklingError) as e:
            raise open_error(self.index_dir, e) from None
        self._generation = self._ix.latest_generation()
        use_stem_table(self.index_dir / stemtable.FILE)  # known words are not stemmed again

    def remove_orphans(self) -> None:
        """Delete files no commit refers to (left by a killed writer). Only under the job lock."""
        clean_files(self._storage, INDEX_NAME, self._generation, internals.segments(self._ix))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._ix.close()
        return False

    def doc_count(self) -> int:
        """Live documents in the index."""
        return self._ix.doc_count()

    def segment_count(self) -> int:
        return len(internals.segments(self._ix))

    def deleted_fraction(self) -> float:
        segs = internals.segments(self._ix)
        total = sum(s.doc_count_all() for s in segs)
        return sum(s.deleted_count() for s in segs) / total if total else 0.0

    def indexed_docs(self) -> dict[str, list[IndexedDoc]]:
        """Every live document's id, number and ``fileinfo``, without reading stored records.

        An id is unique in the index, so its term usually has one posting whose document
        number is in the term's summary; other cases (duplicates left by an older writer)
        read the postings.
        """
        out: dict[str, list[IndexedDoc]] = {}
        with self._ix.reader() as reader:
            for leaf, base in list(reader.leaf_readers()):
                infos = leaf.column_reader("fileinfo")
                deleted = leaf.is_deleted if leaf.has_deletions() else None
                for btext, ti in leaf.iter_field("id"):
                    doc_id = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                    if ti.doc_frequency() == 1:
                        docnums: Iterable[int] = (ti.min_id(),)
                    else:
                        docnums = list(leaf.postings("id", btext).all_ids())
                    for d in docnums:
                        if deleted is not None and deleted(d):
                            continue
                        raw = infos[d]
                        out.setdefault(doc_id, []).append(
                            IndexedDoc(base + d, raw.decode("utf-8") if isinstance(raw, bytes) else raw))
        return out

    def indexed_facts(self) -> IndexFacts:
        """Every live document's id, number and file facts, read in one go from the segments'
        facts files (``facts``; derived from the segments and written where missing, stale or
        damaged): what :meth:`indexed_docs` reads from Whoosh, without a Python step per
        document. Only under the job lock (it may write the facts files)."""
        from . import facts

        with self._ix.reader() as reader:
            return facts.load(self.index_dir, reader)

    def apply(self, delete: Iterable[int], add: Iterable[tuple[Question, str]], *,
              timeout: float = 0.0, optimize: bool = False, housekeeping: bool = False,
              before_commit: Callable[[], None] | None = None) -> int:
        """Delete documents by number and add new ones, as one commit; returns documents added.

        Segments are merged by :func:`merge_policy` (or all into one with ``optimize``). With
        nothing to delete or add (and no ``housekeeping`` or ``optimize`` asked), nothing is
        committed. ``before_commit`` is called once everything is added: if it raises, nothing
        is committed.
        """
        # Take Whoosh's write lock ourselves: SegmentWriter acquires it before creating its
        # files and, if that fails (disk full, read-only), never releases it.
        lock = self._ix.lock("WRITELOCK")
        if not try_for(lock.acquire, timeout=timeout, delay=0.1):
            raise IndexLockedError(f"another process holds Whoosh's write lock on {self.index_dir}")
        try:
            w = internals.locked_segment_writer(self._ix, lock)  # released by commit() or cancel()
        except BaseException:
            lock.release()
            raise
        added = 0
        try:
            if w.generation != self._generation + 1:  # someone committed since indexed_docs()
                raise IndexLockedError(f"the index at {self.index_dir} changed during the reindex")
            deleted = 0
            for docnum in delete:
                w.delete_document(docnum)
                deleted += 1
            for q, info in add:
                w.add_document(**document_fields(q, info))
                added += 1
            if before_commit is not None:
                before_commit()
        except BaseException:
            w.cancel()
            try:
                self.remove_orphans()  # the cancelled writer's new segment files
            except OSError:
                pass  # the next run removes them
            raise
        if not (deleted or added or housekeeping or optimize):
            w.cancel()
            self.remove_orphans()  # a cancelled writer leaves its new segment's files behind
            # nothing committed, yet the side tables and posting stores of the last commit may be
            # missing or damaged (an older index, an interrupted run): put them right (cheap when
            # they are whole). A file that never parses makes every run get here.
            self._write_side_tables()
            return 0
        try:
            if optimize:
                w.commit(optimize=True)
            else:
                w.commit(mergetype=merge_policy)
        except BaseException:
            # A commit that fails half-way (disk full, read-only) must not keep Whoosh's write
            # lock, or every later run in this process would see "locked". The files it wrote
            # are orphans that the next run removes; the last commit stays the index.
            for release in (w.cancel, getattr(getattr(w, "writelock", None), "release", None)):
                try:
                    if release:
                        release()
                except Exception:
                    pass
            raise
        self._write_side_tables()
        return added

    def _write_side_tables(self) -> None:
        try:
            write_side_tables(self.index_dir, verify_stores=self.verify_stores)
        except OSError:
            pass  # committed all the same; searches compute a missing df table and stem (slower)


def merge_policy(writer, segments):
    """Whoosh merge policy: Whoosh's own rule for merging small segments, then merge the smallest
    until at most :data:`MAX_SEGMENTS` remain, and rewrite any segment holding more than
    :data:`MAX_DELETED_FRACTION` deleted documents (to reclaim their disk space)."""
    merging, kept = [], []
    for s in segments:
        total = s.doc_count_all()
        if not total or s.deleted_count() / total > MAX_DELETED_FRACTION:
            merging.append(s)
        else:
            kept.append(s)
    kept.sort(key=lambda s: s.doc_count_all())
    # Whoosh's MERGE_SMALL: merge the i+1 smallest once they hold fewer than fib(i+5) documents.
    total = 0
    for i, s in enumerate(kept):
        total += s.doc_count_all()
        if i > 3 and total < fib(i + 5):
            merging += kept[:i + 1]
            kept = kept[i + 1:]
            break
    # The writer's own new segment is appended after this: leave room for it.
    while kept and len(kept) + 1 > MAX_SEGMENTS:
        merging.append(kept.pop(0))
    for seg in merging:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return kept


def live_segment_ids(index_dir: str | os.PathLike) -> set[str]:
    """The ids of the segments of an index's latest commit (its files start with them)."""
    storage = FileStorage(str(index_dir), readonly=True, supports_mmap=False)
    ix = storage.open_index(INDEX_NAME)
    try:
        return {s.segment_id() for s in internals.segments(ix)}
    finally:
        ix.close()
