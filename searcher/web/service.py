"""The index behind a web server: one ``Searcher``, opened when first needed, and a small thread pool
that every search runs on.

Why a pool of its own: ``Searcher`` keeps one Whoosh searcher, with its decoded-posting caches, per
thread. Starlette's default pool would let up to 40 threads each build their own; a pool of about
one thread per core keeps a few warm searchers and queues the rest (the work is CPU-bound anyway).

The server may start before the index exists, and the index may vanish or be damaged: a missing
``Searcher`` is opened again on the next request, and a live one notices new commits and rebuilt
indexes by itself, so no request ever needs a restart.

Streams (exports of every match) read for as long as the client takes to download them, always
through the one Whoosh searcher they started with: each runs whole on a thread of a second small
pool (a few at once, more are refused), so a long or slow download never holds a search thread,
and no search on that thread replaces the searcher under it. What the stream writes is handed to
the response in chunks through a short queue: a slow client slows the writer down, memory stays
bounded, and a client that goes away stops it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO, TypeVar
from collections.abc import Callable

from index_data.errors import QueryError
from index_data.model import Question

from ..search import Searcher

T = TypeVar("T")
log = logging.getLogger("mqt.web")
#: Streams (exports) running at once per process; each holds a thread of its own.
STREAMS = 2
#: A stream hands text over in chunks of about this many characters, at most QUEUED at a time.
CHUNK_CHARS = 64 * 1024
QUEUED = 4
#: A stream whose client has read nothing for this long is stopped.
STALL_SECONDS = 300.0
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


class BusyError(Exception):
    """As many streams as allowed are running already (answered 503, try again later)."""


class _Stopped(Exception):
    """The stream's client went away (or the server is stopping): stop writing."""


class _ChunkWriter:
    """A text file for a stream's writer thread: what is written goes to ``queue`` (on the event
    loop) in chunks of about CHUNK_CHARS characters, UTF-8 encoded; ``put`` waits while the
    queue is full, and raises ``_Stopped`` once ``stopped()`` is true."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue,
                 stopped: Callable[[], bool]):
        self.loop, self.queue, self.stopped = loop, queue, stopped
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= CHUNK_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            data = "".join(self.parts).encode("utf-8")
            self.parts, self.size = [], 0
            self.put(data)

    def put(self, item) -> None:
        if self.stopped():
            raise _Stopped
        try:
            fut = asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop)
        except RuntimeError:  # the event loop is closed: the server has stopped
            raise _Stopped from None
        deadline = time.monotonic() + STALL_SECONDS
        while True:
            try:
                fut.result(timeout=0.5)
                return
            except concurrent.futures.TimeoutError:
                if self.stopped() or time.monotonic() > deadline:
                    fut.cancel()
                    raise _Stopped from None
            except concurrent.futures.CancelledError:
                raise _Stopped from None


class _Chunks:
    """The chunks a stream's writer puts on ``queue``, until its end (None), as an async
    iterator. An error the writer met is raised, which cuts the response short (the client sees
    an incomplete download). Once this is finished, closed or dropped (the client went away,
    even before the first chunk), ``stop`` tells the writer to stop. Taking the end (or the
    error) calls ``release`` first: the writer is done, so its slot is free before the client
    has the download's last bytes and may ask for the next."""

    def __init__(self, queue: asyncio.Queue, stop: threading.Event, release: Callable[[], None]):
        self.queue, self.stop, self.done, self.release = queue, stop, False, release

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        if self.done:
            raise StopAsyncIteration
        item = await self.queue.get()
        if item is None or isinstance(item, BaseException):
            self.release()
            self.close()
            if item is None:
                raise StopAsyncIteration
            raise item
        return item

    def close(self) -> None:
        self.done = True
        self.stop.set()

    async def aclose(self) -> None:
        self.close()

    def __del__(self) -> None:
        self.stop.set()


def _settle(fut: asyncio.Future, value=None, exc: BaseException | None = None) -> None:
    if not fut.done():
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(value)


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
        self._stream_pool = ThreadPoolExecutor(STREAMS, thread_name_prefix="mqt-stream")
        self._stream_slots = threading.BoundedSemaphore(STREAMS)
        self._closing = threading.Event()

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

    async def stream(self, start: Callable[[Searcher], T],
                     write: Callable[[T, TextIO], object]) -> tuple[T, AsyncIterator[bytes]]:
        """``start(searcher)``, then ``write(its result, out)``, both on a stream thread (see the
        module doc): returns ``start``'s result (or raises its error) and the UTF-8 chunks of what
        ``write`` writes to ``out``, to be sent as they come. Raises ``BusyError`` when STREAMS
        streams are running already."""
        if not self._stream_slots.acquire(blocking=False):
            raise BusyError(f"{STREAMS} downloads are running already; try again in a moment")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUED)
        stop = threading.Event()
        started: asyncio.Future = loop.create_future()

        held = [True]

        def release() -> None:
            """Free the slot, once (from the writer's thread or, taking its end, the loop's)."""
            try:
                held.pop()
            except IndexError:
                return
            self._stream_slots.release()

        def run() -> None:
            try:
                try:
                    value = start(self.searcher())
                except BaseException as exc:
                    release()
                    loop.call_soon_threadsafe(_settle, started, None, exc)
                    return
                loop.call_soon_threadsafe(_settle, started, value)
                out = _ChunkWriter(loop, queue, lambda: stop.is_set() or self._closing.is_set())
                try:
                    write(value, out)  # type: ignore[arg-type]
                    out.flush()
                    out.put(None)
                except _Stopped:
                    pass
                except Exception as exc:
                    log.error("a download failed half-way", exc_info=exc)
                    try:
                        out.put(exc)
                    except _Stopped:
                        pass
            finally:
                release()

        try:
            self._stream_pool.submit(run)
        except RuntimeError:  # the pool is shut down: the server is stopping
            release()
            raise BusyError("the server is stopping") from None
        try:
            value = await started
        except BaseException:
            stop.set()
            raise
        return value, _Chunks(queue, stop, release)

    def close(self) -> None:
        """Stop the streams, wait for running searches, then close the Searcher (on server
        shutdown)."""
        self._closing.set()
        self._stream_pool.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
