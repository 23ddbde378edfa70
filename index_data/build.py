"""Building an index from a corpus folder: list, read, parse, write, report.

Engine-agnostic orchestration: it reads files and parses them, and hands documents to the writer
module. One bad file never stops a build; it is listed in the report with the reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .corpus import decode, iter_corpus, parse_text, read_bytes
from .errors import CorpusError, IndexWriteError, MqtError
from .locking import DEFAULT_WAIT_SECONDS, index_lock
from .model import Question
from .whoosh_update import flush_to_disk
from .whoosh_writer import NewIndexWriter, finish_new_index, is_index_dir, swap_into_place

#: Called as ``progress(done, total)`` while files are processed.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Rejected:
    """A corpus file that was not indexed, and why."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"


@dataclass
class BuildReport:
    """What a build did: counts, rejected files with reasons, and how long it took."""

    index_dir: str
    corpus_dir: str
    indexed: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rejected"] = [asdict(r) for r in self.rejected]
        return d


def fileinfo(size: int, mtime_ns: int, data: bytes, relpath: str = "") -> str:
    """What the index remembers of a source file, to tell later whether it changed:
    ``size:mtime_ns:sha1:relpath`` (path relative to the corpus folder; see ``reindex``)."""
    return f"{size}:{mtime_ns}:{hashlib.sha1(data).hexdigest()}:{relpath}"


def relative_path(path: str | os.PathLike, corpus_dir: str | os.PathLike) -> str:
    """A corpus file's path relative to the corpus folder, with ``/`` separators."""
    return Path(os.path.relpath(path, corpus_dir)).as_posix()


def load_question(path: Path, doc_id: str) -> tuple[Question, bytes]:
    """Read and parse one file (raises :class:`CorpusError`); also returns its bytes."""
    data = read_bytes(path)
    return parse_text(decode(data, path), path, doc_id), data


def build_index(corpus_dir: str | os.PathLike, index_dir: str | os.PathLike, *,
                procs: int = 1, progress: Progress | None = None,
                wait: float = DEFAULT_WAIT_SECONDS) -> BuildReport:
    """Build a fresh index of ``corpus_dir`` at ``index_dir``, replacing any index there.

    The new index is written beside the old one and swapped in when complete, so searches keep
    working during the build and a failed build leaves the old index untouched.

    >>> report = build_index("corpus", ".mqt-index")     # doctest: +SKIP
    >>> report.indexed, report.rejected
    (1, [])

    Holds the index's job lock (see ``locking``) throughout, waiting up to ``wait`` seconds for
    another job; raises :class:`IndexLockedError` if it is still busy.
    """
    with index_lock(index_dir, wait=wait):
        return build_unlocked(corpus_dir, index_dir, procs=procs, progress=progress)


def build_unlocked(corpus_dir: str | os.PathLike, index_dir: str | os.PathLike, *,
                   procs: int = 1, progress: Progress | None = None) -> BuildReport:
    """:func:`build_index` for a caller that already holds the job lock."""
    start = time.perf_counter()
    target = Path(index_dir)
    if target.exists() and not (target.is_dir() and (is_index_dir(target) or not any(target.iterdir()))):
        raise MqtError(f"refusing to replace {target}: it exists and is not an mqt index")
    files = list(iter_corpus(corpus_dir))
    report = BuildReport(index_dir=str(target), corpus_dir=str(corpus_dir))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    seen: dict[str, str] = {}
    try:
        with NewIndexWriter(tmp, procs=procs) as writer:
            for n, f in enumerate(files, 1):
                try:
                    if f.problem:
                        raise CorpusError(f.path, None, f.problem)
                    if f.doc_id in seen:
                        raise CorpusError(f.path, None, f"duplicate document id {f.doc_id!r}: "
                                                        f"{seen[f.doc_id]} has the same file name")
                    seen[f.doc_id] = str(f.path)  # the first file owns its id, even if rejected
                    q, data = load_question(f.path, f.doc_id)
                except CorpusError as e:
                    report.rejected.append(Rejected(e.path, e.line, e.reason))
                except Exception as e:  # a parser bug must not lose the rest of the corpus
                    report.rejected.append(
                        Rejected(str(f.path), None, f"unexpected error: {type(e).__name__}: {e}"))
                else:
                    writer.add(q, fileinfo(len(data), f.mtime_ns, data,
                                           relative_path(f.path, corpus_dir)))
                if progress:
                    progress(n, len(files))
            report.indexed = writer.count
        report.seconds = time.perf_counter() - start
        finish_new_index(tmp, built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
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
