"""The index behind a web server: one ``Searcher``, opened when first needed, and a small thread pool
that every search runs on.

Why a pool of its own: ``Searcher`` keeps one Whoosh searcher, with its decoded-posting caches, per
thread. Starlette's default pool would let up to 40 threads each build their own; a pool of about
one thread per core keeps a few warm searchers and queues the rest (the work is CPU-bound anyway).

The server may start before the index exists, and the index may vanish or be damaged: a missing
``Searcher`` is opened again on the next request, and a live one notices new commits and rebuilt
indexes by itself, so no request ever needs a restart.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar

from index_data.model import Question

from ..query import QueryError
from ..search import Searcher

T = TypeVar("T")
#: A question id is a file name without ``.txt``: no slashes, no control characters.
_ID_RE = re.compile(r"[^\x00-\x1f\x7f/\\]{1,255}")


def check_id(doc_id: str) -> str:
    """``doc_id`` if it can be a question id, else a QueryError (ids are looked up in the index,
    never used as paths, but a malformed one is refused before that)."""
    if not _ID_RE.fullmatch(doc_id) or doc_id in (".", ".."):
        raise QueryError(f"{doc_id[:80]!r} is not a question id")
    return doc_id


def question(searcher: Searcher, doc_id: str) -> Question:
    """The record of ``doc_id`` (a checked id), or NotFoundError."""
    return searcher.get(check_id(doc_id))


def default_threads() -> int:
    """One search thread per core this process may use (at least 1, at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


class IndexService:
    """Runs ``fn(searcher)`` on the search pool: ``await service.run(lambda s: s.search("tfl"))``.

    Raises what the Searcher raises (``IndexMissingError`` while there is no index, ``QueryError``
    for bad arguments...); the caller turns errors into responses.
    """

    def __init__(self, index_dir: str | os.PathLike, threads: int | None = None):
        self.index_dir = Path(index_dir)
        self.threads = threads or default_threads()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="mqt-search")
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None

    def searcher(self) -> Searcher:
        """The open Searcher, opening it first if needed (raises while the index cannot be opened)."""
        s = self._searcher
        if s is None:
            with self._lock:
                s = self._searcher
                if s is None:
                    s = self._searcher = Searcher(self.index_dir)
        return s

    def call(self, fn: Callable[[Searcher], T]) -> T:
        """``fn(searcher)`` in the calling thread."""
        return fn(self.searcher())

    async def run(self, fn: Callable[[Searcher], T]) -> T:
        """``fn(searcher)`` on the search pool, awaited."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.call, fn)

    def close(self) -> None:
        """Wait for running searches, then close the Searcher (on server shutdown)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
