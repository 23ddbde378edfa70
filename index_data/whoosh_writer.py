"""The one module that writes a Whoosh index: create, add documents, commit, swap into place.

Everything Whoosh-specific about writing lives here, so another engine can be added beside it
without touching the corpus parser, the build orchestration or the query side.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from . import termvectors
from .analysis import STEM_TABLE_FILE, save_stem_table
from .model import Question
from .whoosh_columns import bytes_column
from .schema import INDEX_NAME, META_FILE, document_fields, make_schema, write_meta



class NewIndexWriter:
    """Writes a brand-new index into an empty folder; use as a context manager.

    >>> with NewIndexWriter(tmp_dir) as w:          # doctest: +SKIP
    ...     w.add(question, fileinfo="2118:1700000000:abc")
    """

    #: Posting-pool memory budget (Whoosh's estimate, MB) shared by all writer processes. 96 MB
    #: kept a 2-process build of 100k files at 494 MB peak PSS (192 MB: 618 MB); see
    #: benchmarks/RESULTS.md.
    POOL_MB = 96

    def __init__(self, index_dir: str | os.PathLike, *, procs: int = 1, limitmb: int | None = None):
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self._ix = whoosh_index.create_in(str(self.index_dir), make_schema(), indexname=INDEX_NAME)
        if limitmb is None:
            limitmb = max(32, self.POOL_MB // procs)
        if procs > 1:
            self._w = self._ix.writer(procs=procs, multisegment=True, limitmb=limitmb)
        else:
            self._w = self._ix.writer(limitmb=limitmb)
        self.count = 0

    def add(self, q: Question, fileinfo: str = "") -> None:
        self._w.add_document(**document_fields(q, fileinfo))
        self.count += 1

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._w.commit()
            write_stem_table(self._ix, self.index_dir)
            write_df_tables(self.index_dir)
        else:
            self._w.cancel()
        self._ix.close()
        return False


def write_stem_table(ix, index_dir: str | os.PathLike) -> int:
    """Save the stems of every indexed word beside the index (call after each commit), so that
    searching rarely needs NLTK; see ``analysis.save_stem_table``."""
    # Read through plain file reads, not Whoosh's default mmap: mapped segment pages would count
    # in this process's memory (~220 MB of PSS for a 20k-file index, measured).
    storage = FileStorage(str(index_dir), supports_mmap=False)
    with storage.open_index(INDEX_NAME).reader() as reader:
        words = [w.decode("utf-8") if isinstance(w, bytes) else w for w in reader.lexicon("spell")]
    return save_stem_table(Path(index_dir) / STEM_TABLE_FILE, words)


def write_df_tables(index_dir: str | os.PathLike) -> int:
    """Save the term-vector document frequencies of each segment that has none yet and delete
    those of merged-away segments (call after each commit; see ``termvectors``). Returns how many
    were written. A search that finds a table missing computes it, so failing here loses speed,
    never results."""
    storage = FileStorage(str(index_dir), supports_mmap=False)
    written = 0
    with storage.open_index(INDEX_NAME).reader() as reader:
        leaves = [r for r, _offset in reader.leaf_readers() if r.segment() is not None]  # empty: none
        ids = [r.segment().segment_id() for r in leaves]
        for r, segid in zip(leaves, ids):
            if not termvectors.df_path(index_dir, segid).exists():
                termvectors.save_df_table(index_dir, segid,
                                          termvectors.df_table(bytes_column(r, termvectors.FIELD)))
                written += 1
    termvectors.prune_df_tables(index_dir, ids)
    return written


def is_index_dir(path: Path) -> bool:
    """True when ``path`` holds an mqt index (so it may be replaced by a rebuild)."""
    return (path / META_FILE).exists()


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
