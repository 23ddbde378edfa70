"""Building an index from a corpus folder: list, screen, read, parse, write, report.

Engine-agnostic orchestration: it reads files and parses them (``sources``), and hands documents
to the engine's writer (``engine.writer``), in worker processes for large corpora. One bad file
never stops a build; it is listed in the report with the reason.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import pickle
import shutil
import sys
import threading
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

from .analysis import warm_up
from .corpus import doc_id_for, iter_corpus
from .engine import (NewIndexWriter, SegmentBuilder, SegmentSpec, finish_new_index, flush_to_disk,
                     indexed_ids, swap_into_place)
from .errors import IndexWriteError, MqtError
from .fileinfo import FileInfo
from .locking import DEFAULT_WAIT_SECONDS, index_lock
from .meta import is_index_dir, read_meta
from .reports import BuildReport, Progress, Rejected
from .safety import DEFAULT_LIMIT, DeleteLimit, check_deletions
from .sources import RelativePaths, load_question, rejection, screen


#: ``procs=None`` (the CLI's default): one process per CPU core, at most this many (each worker
#: holds its own analysis caches, ~40 MB at 50,000 files)...
AUTO_MAX_PROCS = 4
#: ...and one process for fewer files than this (starting workers would cost more than it saves).
AUTO_MIN_FILES_PER_PROC = 2_000


def auto_procs(files: int) -> int:
    """How many indexing processes ``procs=None`` means for a corpus of ``files`` files."""
    return max(1, min(os.cpu_count() or 1, AUTO_MAX_PROCS, files // AUTO_MIN_FILES_PER_PROC))


def build_index(corpus_dir: str | os.PathLike, index_dir: str | os.PathLike, *,
                procs: int | None = 1, progress: Progress | None = None,
                wait: float = DEFAULT_WAIT_SECONDS, force: bool = False) -> BuildReport:
    """Build a fresh index of ``corpus_dir`` at ``index_dir``, replacing any index there.

    The new index is written beside the old one and swapped in when complete, so searches keep
    working during the build and a failed build leaves the old index untouched.

    >>> report = build_index("corpus", ".mqt-index")     # doctest: +SKIP
    >>> report.indexed, report.rejected
    (1, [])

    Holds the index's job lock (see ``locking``) throughout, waiting up to ``wait`` seconds for
    another job; raises :class:`IndexLockedError` if it is still busy.

    Refuses (:class:`TooManyDeletionsError`, the old index untouched) to replace a non-empty
    index with an empty one, or an index built from another folder when the new one would lose
    more than ``safety.DEFAULT_MAX_DELETE`` of its documents; ``force`` replaces it anyway.
    """
    with index_lock(index_dir, wait=wait):
        return build_unlocked(corpus_dir, index_dir, procs=procs, progress=progress,
                              limit=None if force else DEFAULT_LIMIT)


def build_unlocked(corpus_dir: str | os.PathLike, index_dir: str | os.PathLike, *,
                   procs: int | None = 1, progress: Progress | None = None,
                   limit: DeleteLimit | None = DEFAULT_LIMIT, same_folder_may_shrink: bool = True,
                   how_to_allow: str = "run mqt index again with --force") -> BuildReport:
    """:func:`build_index` for a caller that already holds the job lock.

    ``limit`` (None: no check) bounds how many of the old index's documents the new one may
    lose (``safety``); with ``same_folder_may_shrink`` a rebuild from the folder the old index
    was built from is only refused when it would be empty (``mqt index``), else (a reindex
    that must rebuild) the limit applies whatever the folder.

    With ``procs`` > 1 the corpus is cut into that many consecutive parts, each a little larger
    than the one before (:func:`part_shares`), indexed by one worker process each, each part
    into its own segment (documents keep corpus order across the segments); ``procs=None``
    chooses (:func:`auto_procs`).
    """
    start = time.perf_counter()
    target = Path(index_dir)
    if target.exists() and not (target.is_dir() and (is_index_dir(target) or not any(target.iterdir()))):
        raise MqtError(f"refusing to replace {target}: it exists and is not an mqt index")
    listing = _Listing(corpus_dir)
    report = BuildReport(index_dir=str(target), corpus_dir=str(corpus_dir))
    todo, rejected = _screen(listing)
    total = len(listing)
    guard = None
    if limit is not None and is_index_dir(target):
        guard = _ReplacementGuard(target, corpus_dir, limit, same_folder_may_shrink, how_to_allow)
        guard.check(set(), indexed=0, files_found=len(todo), final=False)  # nothing to read
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if procs is None:
            procs = auto_procs(len(todo))
        parts = _split(todo, listing.sizes, part_shares(max(1, min(procs, len(todo)))))
        with NewIndexWriter(tmp, parts=len(parts)) as writer:
            results = _run_parts(writer.parts, listing, parts, str(corpus_dir),
                                 total - len(todo), progress)
            stems: dict[str, str] = {}
            for r in results:
                stems.update(r.stems)
            writer.commit([r.segment for r in results], stems)
        for r in results:
            rejected += r.rejected
        report.rejected = [r for _, r in sorted(rejected, key=lambda x: x[0])]
        report.indexed = sum(r.indexed for r in results)
        if guard is not None:
            failed = {n for r in results for n, _ in r.rejected}
            guard.check({listing.doc_id(n) for n in todo if n not in failed},
                        indexed=report.indexed, files_found=len(todo), final=True)
        report.seconds = time.perf_counter() - start
        finish_new_index(tmp, built_at=now_iso(), documents=report.indexed,
                         corpus_dir=str(Path(corpus_dir).resolve()))
        flush_to_disk(tmp)  # on disk before it becomes the index (power loss)
        swap_into_place(tmp, target)
    except OSError as e:
        raise IndexWriteError(f"cannot write the index at {target}: {e.strerror or e}; "
                              f"the previous index (if any) is unchanged") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    return report


def now_iso() -> str:
    """The current time as an ISO 8601 string with its UTC offset (what the index meta records)."""
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


class _ReplacementGuard:
    """Whether a new build may replace the index at ``target`` (see ``safety`` and
    :func:`build_unlocked`): what the old index holds, read once before the build."""

    def __init__(self, target: Path, corpus_dir, limit: DeleteLimit, same_folder_may_shrink: bool,
                 how_to_allow: str):
        self.corpus_dir = corpus_dir
        self.limit = limit
        self.how_to_allow = how_to_allow
        try:
            meta = read_meta(target)
        except MqtError:
            meta = {}
        self.built_from = meta.get("corpus_dir")
        self.same_folder = (same_folder_may_shrink and self.built_from is not None
                            and Path(self.built_from) == Path(corpus_dir).resolve())
        self.old_ids = indexed_ids(target)  # None when this mqt cannot read it
        self.documents = len(self.old_ids) if self.old_ids is not None else meta.get("documents")

    def check(self, new_ids: set[str], *, indexed: int, files_found: int, final: bool) -> None:
        """Raise TooManyDeletionsError if the new index may not replace the old one; before the
        build (``final`` False) only an empty corpus folder is known to be refused."""
        if not final and files_found:
            return
        if self.old_ids is not None:
            lost = len(self.old_ids - new_ids)
        else:  # an index this mqt cannot read: at least the difference in size is lost
            lost = max(0, (self.documents or 0) - indexed)
        limit = self.limit
        if self.same_folder and indexed:
            return  # rebuilding from its own folder: only an empty result is refused
        check_deletions(would_delete=lost, documents=self.documents, remaining=indexed,
                        files_found=files_found, corpus_dir=self.corpus_dir,
                        built_from=self.built_from, limit=limit, how_to_allow=self.how_to_allow)


class _Listing:
    """The corpus files (``iter_corpus``), compactly: a path string and two numbers a file
    (~100 bytes; a CorpusFile with its Path object is ~1 KB, ~100 MB for 100,000 files)."""

    def __init__(self, corpus_dir):
        # Collect into flat buffers while iter_corpus's objects come and go, and make the
        # path strings only at the end: small objects made in between would keep the
        # memory of the discarded ones fragmented (~70 MB more at 100,000 files, measured).
        paths, self.sizes, self.mtimes = bytearray(), array("q"), array("q")
        self.problems: dict[int, str] = {}
        for n, f in enumerate(iter_corpus(corpus_dir)):
            paths += os.fsencode(f.path) + b"\0"
            self.sizes.append(f.size)
            self.mtimes.append(f.mtime_ns)
            if f.problem:
                self.problems[n] = f.problem
        self.paths = [os.fsdecode(p) for p in bytes(paths[:-1]).split(b"\0")] if self.sizes else []

    def __len__(self) -> int:
        return len(self.paths)

    def doc_id(self, n: int) -> str:
        return doc_id_for(self.paths[n])


def _screen(listing: _Listing) -> tuple[array, list[tuple[int, Rejected]]]:
    """Positions (in the listing) of the files to read, and the files rejected without
    reading (``sources.screen``), with their positions."""
    owners, rejected = screen([listing.doc_id(n) for n in range(len(listing))], listing.problems,
                              listing.paths.__getitem__)
    return array("I", sorted(owners.values())), rejected


#: How long a part's write-out (its segment and store, one part at a time: ``index_part``) takes
#: against its indexing, on the same number of bytes: 16.5 s against 45.5 s for each half of the
#: 100,000 generated questions (``benchmarks/RESULTS.md``, "staggered parts").
WRITE_OUT_SHARE = 0.36


def part_shares(parts: int, write_out: float = WRITE_OUT_SHARE) -> list[float]:
    """The share of the corpus for each of ``parts`` workers indexing at once, so that each
    finishes indexing just as the part before it has written out (the write-outs take turns).

    Part k+1 indexes for as long as part k indexes and writes out: shares grow by
    ``1 + write_out``. Equal shares would all finish indexing together, and then all but one
    worker would wait in turn: 2 workers, 100,000 questions, 80 s against ~72 s.
    Example: ``part_shares(2)`` is ``[0.424, 0.576]`` (rounded).
    """
    weights = [(1.0 + write_out) ** k for k in range(parts)]
    total = sum(weights)
    return [w / total for w in weights]


def _split(todo: array, sizes: array, shares: list[float]) -> list[array]:
    """``todo`` cut into ``len(shares)`` consecutive runs holding about those shares of the
    bytes (at least one file each)."""
    parts = len(shares)
    total = sum(sizes[n] for n in todo) or 1
    cuts = [total * sum(shares[:k + 1]) for k in range(parts - 1)]
    out: list[array] = []
    start, acc = 0, 0
    for i, n in enumerate(todo):
        acc += sizes[n]
        left = parts - len(out) - 1  # cuts still to make
        if left and acc >= cuts[len(out)] and len(todo) - (i + 1) >= left:
            out.append(todo[start:i + 1])
            start = i + 1
    out.append(todo[start:])
    return out


@dataclass
class PartResult:
    """What indexing one part of the corpus gave: its segment, documents, rejected files, and
    the stem of each word of its vocabulary (for the index's stem table)."""

    segment: object
    indexed: int
    rejected: list[tuple[int, Rejected]]
    stems: dict[str, str]


def index_part(spec: SegmentSpec, listing: _Listing, files: array, corpus_dir: str,
               done: Callable[[int], None] | None = None, finish_lock=None) -> PartResult:
    """Read, parse and index the listed files at positions ``files`` into the segment ``spec``
    names (see ``engine.writer``); one bad file is rejected with its reason, never stopping
    the rest. ``finish_lock`` (shared by the workers) lets one part at a time write out its
    segment and store, so that no two hold their run merge and store batches at once (the
    build's peak memory); the parts' sizes are staggered so that they seldom wait for it."""
    warm_up()  # NLTK stems the index (a worker process has loaded it already, lightly)
    builder = SegmentBuilder(spec)
    rejected: list[tuple[int, Rejected]] = []
    relative = RelativePaths(corpus_dir)
    try:
        for k, n in enumerate(files, 1):
            path = listing.paths[n]
            try:
                q, data = load_question(path, listing.doc_id(n))
                info = FileInfo.of(len(data), listing.mtimes[n], data, relative(path))
                prepared = builder.fields(q, info.format())
            except Exception as e:  # a parser bug must not lose the rest of the corpus either
                rejected.append((n, rejection(path, e)))
            else:
                builder.add_prepared(prepared)
            if done:
                done(k)
        if finish_lock is None:
            segment = builder.finish()
        else:
            with finish_lock:
                segment = builder.finish()
    except BaseException:
        builder.cancel()
        raise
    return PartResult(segment, builder.count, rejected, builder.stems())


def _run_parts(specs, listing: _Listing, parts: list[array], corpus_dir: str, screened: int,
               progress: Progress | None) -> list[PartResult]:
    """Index the parts, results in part order: one part here, several in worker processes
    (this process then only waits and reports progress)."""
    total = len(listing)
    if progress and screened:
        progress(screened, total)
    if len(parts) == 1:
        def done(k: int) -> None:
            if progress:
                progress(screened + k, total)
        return [index_part(specs[0], listing, parts[0], corpus_dir, done)]
    workers: list[_Worker] = []
    gc.freeze()  # forked workers share this process's objects: keep the collector off them
    try:
        finish_lock = _mp_context().Lock()
        for spec, part in zip(specs, parts):
            workers.append(_Worker(spec, listing, part, corpus_dir, finish_lock))
        reported = -1
        while True:
            finished = all([w.finished() for w in workers])  # each raises if its worker failed
            count = sum(w.done() for w in workers)
            if progress and count != reported:
                progress(screened + count, total)
                reported = count
            if finished:
                return [w.result() for w in workers]
            time.sleep(0.1)
    finally:
        gc.unfreeze()
        for w in workers:
            w.stop()


class _Worker:
    """One worker process indexing one part (see :func:`index_part`)."""

    def __init__(self, spec, listing: _Listing, files: array, corpus_dir: str, finish_lock):
        ctx = _mp_context()
        self._counter = ctx.Value("q", 0, lock=False)
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_worker_main,
                                 args=(spec, listing, files, corpus_dir, self._counter, send,
                                       finish_lock),
                                 name="mqt-index-part", daemon=True)
        self._proc.start()
        send.close()
        self._answer: tuple[str, Any] | None = None  # ("ok", PartResult) or ("error", exception)

    def done(self) -> int:
        return self._counter.value

    def finished(self) -> bool:
        """True once the worker has answered; raises if it failed or died."""
        if self._answer is None and self._recv.poll():
            try:
                self._answer = self._recv.recv()
            except EOFError:  # died without answering
                pass
        if self._answer is None:
            if self._proc.is_alive():
                return False
            self._proc.join()
            raise MqtError(f"an indexing worker process died (exit status {self._proc.exitcode}); "
                           f"the previous index (if any) is unchanged")
        if self._answer[0] == "error":
            raise self._answer[1]
        return True

    def result(self) -> PartResult:
        self._proc.join()
        assert self._answer is not None  # finished() said so
        return self._answer[1]

    def stop(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._recv.close()


def _worker_main(spec, listing, files, corpus_dir, counter, send, finish_lock) -> None:
    """Entry point of a worker process: index one part and send back the result or the error."""
    def done(k: int) -> None:
        counter.value = k
    try:
        warm_up(light=True)
        answer: tuple[str, Any] = ("ok", index_part(spec, listing, files, corpus_dir, done,
                                                    finish_lock))
    except BaseException as e:  # the parent re-raises it
        try:
            pickle.loads(pickle.dumps(e))
        except Exception:
            e = MqtError(f"indexing worker failed: {type(e).__name__}: {e}")
        answer = ("error", e)
    send.send(answer)
    send.close()


def _mp_context():
    """``fork`` on Linux when this process runs a single thread, where forking is safe (fast:
    nothing to re-import, the listing shared); a fresh interpreter (``spawn``) otherwise."""
    import multiprocessing

    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
