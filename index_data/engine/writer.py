"""Writing a brand-new index: create it, write its segments (possibly in worker processes), commit,
save its side tables, and swap it into place.

The build (``index_data.build``) hands parsed questions to :class:`SegmentBuilder` and never
touches Whoosh; incremental updates are ``update``'s.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec import default_codec
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, clean_files
from whoosh.reading import SegmentReader

from .. import stemtable, termvectors
from ..analysis import stem
from ..fields import SPELL_FIELD, SPELL_SOURCES
from ..meta import write_meta
from ..model import Question
from . import lexicon
from .columns import bytes_column
from .schema import INDEX_NAME, document_fields, make_schema
from .segment_writer import FastSegmentWriter

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentSpec:
    """What a process needs to write one segment of a new index (picklable: it is handed to
    worker processes)."""

    index_dir: str
    segment: object  # a Whoosh W3Segment, named by the parent so names never collide
    budget_mb: float
    #: Write the segment's posting store too (``poststore``), from the writer's arrays.
    store: bool = True


class NewIndexWriter:
    """Writes a brand-new index into an empty folder: one segment per part of the corpus, each
    written by a :class:`SegmentBuilder` (possibly in another process), then one commit.

    >>> with NewIndexWriter(tmp_dir, parts=1) as w:          # doctest: +SKIP
    ...     b = SegmentBuilder(w.parts[0])
    ...     b.add_prepared(b.fields(question, fileinfo="2118:1700000000:abc:q.txt"))
    ...     w.commit([b.finish()], b.stems())
    """

    #: Posting-buffer memory budget (MB, by the fast writer's estimate) shared by all parts;
    #: past it a part writes its buffered postings to a sorted run file. See benchmarks/RESULTS.md.
    POOL_MB = 120

    def __init__(self, index_dir: str | os.PathLike, *, parts: int = 1):
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._ix = whoosh_index.create_in(str(self.index_dir), make_schema(), indexname=INDEX_NAME)
        storage = self._ix.storage
        storage.temp_storage(f"{INDEX_NAME}.tmp")  # shared by the parts' writers
        codec = default_codec()
        segments: dict[str, object] = {}
        while len(segments) < parts:
            seg = codec.new_segment(storage, INDEX_NAME)
            segments.setdefault(seg.segment_id(), seg)
        budget = self.POOL_MB / max(1, parts)
        self.parts = [SegmentSpec(str(self.index_dir), seg, budget) for seg in segments.values()]

    def commit(self, segments, stems: dict[str, str]) -> None:
        """Make the finished segments (in document order) the index, and save its stem table
        (``stems``: the stem of every word of the ``spell`` field, from the builders) and its
        segments' term-vector document frequencies (``write_side_tables``)."""
        segments = [s for s in segments if s.doc_count_all()]
        lock = self._ix.lock("WRITELOCK")
        if not lock.acquire():
            raise OSError(f"cannot take Whoosh's write lock in {self.index_dir}")
        try:
            generation = self._ix.latest_generation() + 1
            TOC(self._ix.schema, segments, generation).write(self._ix.storage, INDEX_NAME)
            clean_files(self._ix.storage, INDEX_NAME, generation, segments)
        finally:
            lock.release()
        stemtable.StemTable.from_items(stems.items()).save(self.index_dir / stemtable.FILE)
        write_side_tables(self.index_dir, add_stems=False)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        shutil.rmtree(self.index_dir / f"{INDEX_NAME}.tmp", ignore_errors=True)
        self._ix.close()
        return False


class SegmentBuilder:
    """Writes one segment of a new index from parsed questions (see :class:`NewIndexWriter`) and,
    with ``spec.store``, its posting store from the writer's own arrays as it writes the segment
    (``poststore.WriterFeed``): in the worker process, never read back from the segment."""

    def __init__(self, spec: SegmentSpec):
        self._storage = FileStorage(spec.index_dir)
        self._spec = spec
        self._feed: Any = None
        self._w = FastSegmentWriter(self._storage, make_schema(), spec.segment, budget_mb=spec.budget_mb,
                                    derived=(SPELL_FIELD, SPELL_SOURCES, lexicon.encode_words),
                                    vector=(termvectors.FIELD, termvectors.encode),
                                    feed=self._store_feed if spec.store else None)

    def _store_feed(self, w: FastSegmentWriter):
        """The segment's posting store, fed by the writer as it writes the postings (the
        product's ranking, as :func:`write_stores`); None (the commit derives it) if it
        cannot be started."""
        from searcher.ranking import Ranking

        from . import poststore

        try:
            self._feed = poststore.WriterFeed(
                self._spec.index_dir, segment_id=w.segment.segment_id(), schema=w.schema,
                doc_count=w.doc_count(), lengths=w.lengths(),
                settings=poststore.StoreSettings.of(Ranking().bm25))
        except Exception as e:
            _log.warning("%s: no posting store written with segment %s (%s: %s); the commit "
                         "derives it", self._spec.index_dir, w.segment.segment_id(), type(e).__name__, e)
        return self._feed

    @property
    def count(self) -> int:
        return self._w.doc_count()

    def fields(self, q: Question, fileinfo: str = ""):
        """The analysed document (raises, changing nothing, if it cannot be indexed)."""
        return self._w.prepare(document_fields(q, fileinfo, derived=False))  # counted by the writer

    def add_prepared(self, prepared) -> None:
        self._w.add_prepared(prepared)

    def finish(self):
        """Write the segment's files (and its posting store); returns the segment for
        :meth:`NewIndexWriter.commit`. A store that cannot be written is left to the commit
        (``write_stores`` derives what is missing)."""
        segment = self._w.finish()
        if self._w.doc_count():
            # the segment's word list from the writer's counts (else the commit derives it)
            try:
                lexicon.save_lexicon(self._spec.index_dir, segment.segment_id(), self._w.doc_count(),
                                     self._w.word_counts)
            except OSError as e:
                _log.warning("%s: the lexicon of segment %s was not written (%s); the commit "
                             "derives it", self._spec.index_dir, segment.segment_id(), e)
        feed, self._feed = self._feed, None
        if feed is not None:
            try:
                # not memory-mapped: Whoosh would copy each sub-file of the compound segment
                # into memory (the whole segment) to open it; the store reads only its columns
                reader = SegmentReader(FileStorage(self._spec.index_dir, supports_mmap=False),
                                       self._w.schema, segment)
                try:
                    feed.finish(reader)
                finally:
                    reader.close()
            except Exception as e:
                feed.discard()
                _log.warning("%s: the posting store of segment %s was not written (%s: %s); the "
                             "commit derives it", self._spec.index_dir, segment.segment_id(),
                             type(e).__name__, e)
        return segment

    def stems(self) -> dict[str, str]:
        """The stem of each word of this segment's ``spell`` column (its lexicon), for the
        index's stem table."""
        return {w: stem(w) for w in self._w.word_counts}

    def cancel(self) -> None:
        self._w.cancel()
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.discard()


def write_side_tables(index_dir: str | os.PathLike, *, add_stems: bool = True,
                      verify_stores: bool = False) -> None:
    """After each commit: save the term-vector document frequencies of each new segment (one
    with no table yet; see ``termvectors``) and the lexicon of each segment lacking a whole one
    (``lexicon``), delete those of merged-away segments and, with ``add_stems``, add the words
    new segments brought to the stem table (``stemtable``), write
    the new segments' facts files (``facts``: ids and file facts, for the next reindex) and
    their posting stores (:func:`write_stores`). A search computes a missing
    df table, stems a word the table lacks and answers without a missing store, so failing here
    loses speed, never results."""
    from . import facts  # numpy: not at the top (importing this module stays light)

    storage = FileStorage(str(index_dir), supports_mmap=False)
    words: set[str] = set()
    with storage.open_index(INDEX_NAME).reader() as reader:
        leaves = _segment_readers(reader)
        ids = [r.segment().segment_id() for r in leaves]
        for r, segid, lex in zip(leaves, ids, lexicon.ensure_lexicons(index_dir, leaves)):
            if not termvectors.df_path(index_dir, segid).exists():  # a new segment
                termvectors.save_df_table(index_dir, segid,
                                          termvectors.df_table(bytes_column(r, termvectors.FIELD)))
                if add_stems:
                    words.update(w for w, _n in lex.counts())
        try:
            facts.ensure_all(index_dir, reader)
        except Exception as e:  # derived data: a reindex derives what is missing again
            facts.log_failure(index_dir, e)
    termvectors.prune_df_tables(index_dir, ids)
    if words:
        add_to_stem_table(index_dir, words)
    write_stores(index_dir, verify=verify_stores)


def write_lexicons(index_dir: str | os.PathLike) -> None:
    """Write the lexicon (``lexicon``) of each segment that lacks a whole one, and delete those
    of merged-away segments: what a reindex with nothing to commit still mends (a search
    derives a missing one in memory, each time a process opens the segment)."""
    storage = FileStorage(str(index_dir), supports_mmap=False)
    with storage.open_index(INDEX_NAME).reader() as reader:
        lexicon.ensure_lexicons(index_dir, _segment_readers(reader))


def _segment_readers(reader) -> list:
    """The readers of an open index's segments, in order (none for an empty index)."""
    return [r for r, _offset in reader.leaf_readers() if r.segment() is not None]


def write_stores(index_dir: str | os.PathLike, *, verify: bool = False) -> None:
    """Write the posting store (``poststore``) of each segment that lacks a usable one (a new
    index's segments come with theirs: :class:`SegmentBuilder`; reindexed and merged ones do
    not) and delete those of merged-away segments. Searches answer without a missing store (slower, same
    results), so a store that cannot be written is left out with a warning. The stores' bounds
    are computed for the product's ranking (``Ranking()``); a store made for another is
    rewritten (a search ranked otherwise gets the same results from looser bounds), and so is
    one whose directory fails its CRC, or with ``verify`` any part (reading every store whole).
    (numpy is imported here, not at the top: importing the engine stays light.)"""
    from searcher.ranking import Ranking

    from . import poststore

    for st in poststore.ensure_stores(index_dir, settings=poststore.StoreSettings.of(Ranking().bm25),
                                      strict=False, verify=verify):
        st.close()


def add_to_stem_table(index_dir: str | os.PathLike, words) -> None:
    """Add the stems of those of ``words`` the index's stem table lacks."""
    path = Path(index_dir) / stemtable.FILE
    table = stemtable.StemTable.load(path)
    missing = sorted(w for w in words if table is None or table.get(w) is None)
    if missing:
        stemtable.StemTable.from_items(((w, stem(w)) for w in missing), base=table).save(path)


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


def swap_into_place(new_dir: Path, target: Path) -> None:
    """Make ``new_dir`` the index at ``target``; the old index (if any) is removed afterwards.

    On Linux the swap is one atomic rename, so searchers see the old index or the new, never none.
    """
    if target.exists():
        if _rename_exchange(new_dir, target):
            shutil.rmtree(new_dir, ignore_errors=True)
            return
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
        os.rename(new_dir, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new_dir, target)


def finish_new_index(index_dir: Path, **meta) -> None:
    """Write the metadata that marks a finished index (schema version, build facts)."""
    write_meta(index_dir, **meta)
