"""The index's job lock: one writing job (``mqt index`` or ``mqt reindex``) per index at a time.

The lock is an ``flock`` on a small file *beside* the index folder (``.<name>.lock``), not inside
it, so it stays the same file when a rebuilt index is swapped into place. The kernel releases an
``flock`` when its holder dies, so a job killed with SIGKILL never leaves the index locked (its
file stays behind, holding the dead job's pid, and is simply locked by the next job). A job that
finishes removes the file while still holding the lock; a waiter that then gets the lock on the
removed file notices (the path no longer names its file) and locks the current one instead.
Searches never take this lock.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

from .errors import IndexLockedError

#: Default for ``--wait``: how long a job waits for another job to finish before giving up.
DEFAULT_WAIT_SECONDS = 60.0
_POLL_SECONDS = 0.1


def lock_path(index_dir: str | os.PathLike) -> Path:
    """The lock file of the index at ``index_dir``: ``<parent>/.<name>.lock``."""
    target = Path(os.path.abspath(index_dir))
    return target.parent / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text("ascii").strip()
    except OSError:
        return ""
    return f" (held by process {pid})" if pid.isdigit() else ""


@contextmanager
def index_lock(index_dir: str | os.PathLike, wait: float = DEFAULT_WAIT_SECONDS) -> Iterator[Path]:
    """Hold the job lock of ``index_dir`` for the ``with`` block, waiting up to ``wait`` seconds.

    Raises :class:`IndexLockedError` when another job still holds it after ``wait`` seconds.
    """
    path = lock_path(index_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if time.monotonic() >= deadline:
                raise IndexLockedError(
                    f"another mqt job is writing the index at {index_dir}{_holder(path)}; "
                    f"gave up after waiting {wait:g} s (try a longer --wait)") from None
            time.sleep(_POLL_SECONDS)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder we waited for removed this file: lock the current one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        remove_stale_leftovers(index_dir)
        yield path
    finally:
        try:
            os.unlink(path)  # while still locked, so no one can lock this file and miss ours
        except FileNotFoundError:
            pass
        os.close(fd)  # releases the flock


def remove_stale_leftovers(index_dir: str | os.PathLike) -> list[Path]:
    """Delete what killed jobs left beside the index (half-built copies, swapped-out old copies).

    Only safe while holding the job lock: then no other job can be using them.
    """
    import shutil  # here: ``mqt search`` imports this module for its option defaults only

    target = Path(os.path.abspath(index_dir))
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for p in target.parent.iterdir():
        if p.name.startswith((f".{target.name}.building-", f".{target.name}.old-")) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
