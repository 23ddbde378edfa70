"""Opening an index's files: read-only for searching, durable for writing, and what a failure to
open them means for the user.

A Whoosh index is a folder of segment files and a table of contents (``_MAIN_<gen>.toc``) that a
commit renames into place; opening reads the newest table of contents and unpickles the schema.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import time
import zlib
from pathlib import Path

from whoosh.filedb.filestore import FileStorage

from ..errors import IndexCorruptError, IndexVersionError
from .schema import INDEX_NAME

#: What damaged index files raise from deep inside Whoosh (struct, pickle, zlib, short reads...).
LOW_LEVEL_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, struct.error,
                    zlib.error, pickle.UnpicklingError, AttributeError)

_TOC_RE = re.compile(rf"^_{INDEX_NAME}_\d+\.toc$")


def open_for_reading(index_dir: Path, attempts: int = 20):
    """Open the index read-only, retrying when a concurrent commit deletes the table of contents
    between Whoosh listing the folder and opening the file (Whoosh retries this for readers, not
    here)."""
    for attempt in range(attempts):
        try:
            # Not memory-mapped: Whoosh copies each mapped sub-file of a compound segment into a
            # BytesIO when it opens it (0.4 s and ~500 MB for a 100k index); plain reads fetch
            # only what a query touches.
            storage = FileStorage(str(index_dir), readonly=True, supports_mmap=False)
            return storage.open_index(INDEX_NAME)
        except FileNotFoundError:
            if attempt == attempts - 1 or not index_dir.is_dir():
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")  # pragma: no cover


class DurableFileStorage(FileStorage):
    """A Whoosh file storage that flushes every index file to disk before a commit's
    table of contents is renamed into place (and the folder after it), so a power loss
    cannot leave a table of contents that names files which never reached the disk."""

    def rename_file(self, oldname, newname, safe=False):
        if _TOC_RE.match(newname):
            flush_to_disk(self.folder)
        super().rename_file(oldname, newname, safe=safe)
        fsync_path(self.folder)


def flush_to_disk(folder: str | os.PathLike) -> None:
    """fsync every file in ``folder`` and its subfolders (the posting stores' ``mqt-post/``) and
    the folders themselves (before a finished build is swapped in)."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            flush_to_disk(path)
        elif os.path.isfile(path):
            fsync_path(path)
    fsync_path(str(folder))


def fsync_path(path: str) -> None:
    """Flush a file's or a folder's (its entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def damaged_index_error(index_dir, e: BaseException) -> IndexCorruptError:
    """The error for index files Whoosh cannot read (truncated, overwritten...)."""
    detail = repr(str(e))[1:-1][:200]
    return IndexCorruptError(f"cannot read the index at {index_dir} ({type(e).__name__}: {detail}): "
                             f"it is damaged; rebuild it with `mqt index CORPUS_DIR`")


def open_error(index_dir, e: BaseException) -> IndexVersionError | IndexCorruptError:
    """Classify a failure to unpickle an index's schema: a class that moved or vanished (a clean
    name in the message) means another version of mqt wrote it; anything else means damage."""
    if isinstance(e, (AttributeError, ImportError)):
        name = re.search(r"attribute '([^']*)'|module named '([^']*)'", str(e))
        if name and (name[1] or name[2] or "").replace(".", "_").isidentifier():
            return IndexVersionError(f"the index at {index_dir} was written by another version of "
                                     f"mqt ({e}): rebuild it with `mqt index CORPUS_DIR`")
    return damaged_index_error(index_dir, e)


def sweep_derived(folder: Path, keep: set[str], suffix: str, tmp_suffix: str,
                  tmp_age: float = 3600.0) -> None:
    """Delete the derived files (posting stores, facts files) in ``folder`` ending in ``suffix``
    and not named in ``keep``, and writers' temporary ``tmp_suffix`` files older than ``tmp_age``
    seconds (a crash's; a live writer's are younger)."""
    if not folder.is_dir():
        return
    now = time.time()
    for p in folder.iterdir():
        try:
            if p.suffix == suffix and p.name not in keep:
                p.unlink()
            elif p.suffix == tmp_suffix and now - p.stat().st_mtime > tmp_age:
                p.unlink()
        except OSError:
            pass
