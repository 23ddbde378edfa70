"""Errors mqt reports to users as one clear line (the CLI turns each into an exit code)."""

from __future__ import annotations

import os


class MqtError(Exception):
    """Base class of every error meant for the user rather than a traceback."""


class CorpusError(MqtError, ValueError):
    """A corpus file that cannot be read or does not follow the format.

    ``str(err)`` is ``"path:line: reason"`` (no line when the problem is the whole file).
    """

    def __init__(self, path: str | os.PathLike, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class NotFoundError(MqtError, LookupError):
    """No question with the id asked for (``Searcher.get``, ``Searcher.similar``, ``mqt show``)."""


class IndexMissingError(MqtError):
    """No index where one was expected (not built yet, or not an mqt index)."""


class IndexVersionError(MqtError):
    """The index was built by an incompatible version of mqt and must be rebuilt."""


class IndexCorruptError(MqtError):
    """The index exists but cannot be read (damaged or truncated files)."""


class IndexWriteError(MqtError):
    """Writing the index failed (disk full, read-only folder...); the previous index is intact."""


class IndexLockedError(MqtError):
    """Another job holds the index's write lock."""


class TooManyDeletionsError(MqtError):
    """An indexing job would remove more documents than allowed (see ``safety``); nothing changed."""

    def __init__(self, message: str, *, would_delete: int, documents: int | None,
                 corpus_dir: str, built_from: str | None):
        super().__init__(message)
        self.would_delete = would_delete
        self.documents = documents
        self.corpus_dir = corpus_dir
        self.built_from = built_from
