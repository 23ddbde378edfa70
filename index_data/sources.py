"""Source files as both a build and a reindex see them: their path relative to the corpus
folder, the one screening step (unusable files, duplicate ids), reading and parsing one, and the
one way a file that cannot be read or parsed becomes a :class:`~index_data.reports.Rejected`
record. What the index remembers of a file is ``fileinfo.FileInfo``.

Engine-agnostic.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from .corpus import CorpusListing, decode, parse_text, read_bytes
from .errors import CorpusError
from .model import Question
from .reports import Rejected


def relative_path(path: str | os.PathLike, corpus_dir: str | os.PathLike) -> str:
    """A corpus file's path relative to the corpus folder, with ``/`` separators."""
    return Path(os.path.relpath(os.fspath(path), os.fspath(corpus_dir))).as_posix()


class RelativePaths:
    """:func:`relative_path` for many files of one corpus folder: a path that starts with the
    folder and continues with plain names (as ``iter_corpus`` gives them) is cut without
    ``os.path.relpath``'s work (a no-op reindex of 100,000 files is mostly listing)."""

    def __init__(self, corpus_dir: str | os.PathLike):
        self.corpus_dir = os.fspath(corpus_dir)
        self._prefix = str(Path(corpus_dir)) + "/"

    def __call__(self, path: str | os.PathLike) -> str:
        p = os.fspath(path)
        if os.sep == "/" and p.startswith(self._prefix):
            rest = p[len(self._prefix):]
            if rest and "//" not in rest and "/." not in "/" + rest:
                return rest
        return relative_path(p, self.corpus_dir)


def screen(ids: Sequence[str], problems: dict[int, str],
           path: Callable[[int], str]) -> tuple[dict[str, int], list[tuple[int, Rejected]]]:
    """The screening both a build and a reindex apply to the listed files before reading any:
    a file found unusable (``problems``: position -> why) is rejected; of several files with one
    id (the same file name in two folders) the first in listing order owns it and the others are
    rejected, every time, so nothing is silently indexed over something else. Gives each usable
    id's owner (id -> position) and the rejected files with their positions, in listing order;
    ``path(i)`` names a file only when it is rejected."""
    owners: dict[str, int] = {}
    rejected: list[tuple[int, Rejected]] = []
    for i, doc_id in enumerate(ids):
        if problems and i in problems:
            rejected.append((i, Rejected(path(i), None, problems[i])))
            continue
        owner = owners.setdefault(doc_id, i)  # the first file owns its id, even if it fails to parse
        if owner != i:
            rejected.append((i, Rejected(path(i), None, f"duplicate document id {doc_id!r}: "
                                                         f"{path(owner)} has the same file name")))
    return owners, rejected


def screen_listing(listing: CorpusListing) -> tuple[dict[str, int], list[Rejected]]:
    """:func:`screen` over a whole :class:`~index_data.corpus.CorpusListing`."""
    owners, rejected = screen(listing.ids, listing.problems, listing.path)
    return owners, [r for _, r in rejected]


def load_question(path: str | os.PathLike, doc_id: str) -> tuple[Question, bytes]:
    """Read and parse one file (raises :class:`CorpusError`); also returns its bytes."""
    data = read_bytes(path)
    return parse_text(decode(data, path), path, doc_id), data


def content_sha1(path: str | os.PathLike) -> str:
    """The SHA-1 (hex) of a file's bytes, as ``fileinfo.FileInfo`` keeps it (raises
    :class:`CorpusError` when it cannot be read)."""
    return hashlib.sha1(read_bytes(path)).hexdigest()


def rejection(path: str | os.PathLike, e: Exception) -> Rejected:
    """The record of a file that could not be read, parsed or analysed: a :class:`CorpusError`
    names its file, line and reason; any other exception (a bug) is reported as unexpected, so
    that it never loses the rest of the corpus."""
    if isinstance(e, CorpusError):
        return Rejected(e.path, e.line, e.reason)
    return Rejected(str(path), None, f"unexpected error: {type(e).__name__}: {e}")
