"""What the index remembers of each question's source file, to tell later whether it changed.

Stored per document in the ``fileinfo`` column as ``size:mtime_ns:sha1:relpath`` (the path
relative to the corpus folder, ``/``-separated; indexes built by older versions lack it). The
reindex compares size, mtime and path to skip unchanged files unread, and the SHA-1 of the
content to tell a changed file from a touched one; alerts (``searcher.watch``) use the SHA-1 as
the document's version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class FileInfo:
    """One source file's facts: ``FileInfo.parse(FileInfo(...).format()) == FileInfo(...)``."""

    size: int
    mtime_ns: int
    sha1: str
    relpath: str | None = None  # None: written by an mqt that did not record it

    @classmethod
    def of(cls, size: int, mtime_ns: int, data: bytes, relpath: str = "") -> FileInfo:
        return cls(size, mtime_ns, hashlib.sha1(data).hexdigest(), relpath)

    def format(self) -> str:
        return f"{self.size}:{self.mtime_ns}:{self.sha1}:{self.relpath or ''}"

    @classmethod
    def parse(cls, value: str) -> FileInfo | None:
        """The parts of a stored value (None when it is not one)."""
        parts = value.split(":", 3)
        try:
            return cls(int(parts[0]), int(parts[1]), parts[2], parts[3] if len(parts) == 4 else None)
        except (ValueError, IndexError):
            return None
