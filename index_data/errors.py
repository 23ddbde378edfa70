"""Errors mqt reports to users as one clear line (the CLI turns each into an exit code).

Every error meant for a user derives from :class:`MqtError`; all are importable from here, from
``index_data`` and from ``searcher``. The CLI maps :class:`IndexLockedError` to exit status 4 and
every other ``MqtError`` to 1.
"""

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


class QueryError(MqtError, ValueError):
    """A query (or search argument) that cannot be used. For a syntax error, ``position`` is the
    character at fault counted from 1, as the message says ("unclosed quote (at position 1)"),
    and ``offset`` the same place counted from 0 (``query[offset:]`` starts there); both are
    None for other errors."""

    def __init__(self, message: str, offset: int | None = None, query: str = ""):
        self.message = message
        self.offset = offset
        self.position = offset + 1 if offset is not None else None
        self.query = query
        where = f" (at position {self.position})" if offset is not None else ""
        super().__init__(f"{message}{where}")
