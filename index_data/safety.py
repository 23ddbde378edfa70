"""Never empty the index by mistake: limits on how many documents one indexing job may remove.

A scheduled ``mqt reindex`` whose corpus folder is an unmounted network share, or an ``mqt index``
pointed at the wrong folder, would otherwise replace an archive of thousands of questions with
nothing, and say so only in a summary line nobody reads. Like ``rsync --max-delete``, a job that
would remove more than a limit changes nothing, explains why, and needs to be told it is intended:

- ``reindex`` refuses to delete more than :data:`DEFAULT_MAX_DELETE` of the indexed documents
  (but always allows up to :data:`SMALL_DELETE` documents), and always refuses to delete every
  document or to apply a corpus folder that holds no question files, unless given a larger
  ``max_delete`` (``--max-delete N|PCT``) or none (``--allow-deletes``).
- ``build_index`` refuses to replace a non-empty index with an empty one, and to replace an index
  built from another folder when the new one would lose more than that limit, unless ``force``.

Deleted means gone from the index: a file removed, or a file that no longer parses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import TooManyDeletionsError

#: The default limit: a job may remove at most this share of the indexed documents...
DEFAULT_MAX_DELETE = "10%"
#: ...but any job may remove this many (a small index loses 10% in one or two questions).
SMALL_DELETE = 10


@dataclass(frozen=True)
class DeleteLimit:
    """How many documents one job may remove: ``count`` documents or ``fraction`` of the index
    (whichever is set), never all of them unless ``unlimited``.

    >>> DeleteLimit.parse("10%").allowed(1500), DeleteLimit.parse("25").allowed(1500)
    (150, 25)
    """

    count: int | None = None
    fraction: float | None = None

    @property
    def unlimited(self) -> bool:
        return self.count is None and self.fraction is None

    @classmethod
    def parse(cls, value: str | int | None | DeleteLimit) -> DeleteLimit:
        """``"10%"`` (a share of the indexed documents), ``"500"`` or ``500`` (a count), or None
        (no limit). Raises ValueError for anything else."""
        if isinstance(value, DeleteLimit):
            return value
        if value is None:
            return cls()
        if isinstance(value, bool):
            raise ValueError(f"not a deletion limit: {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"a deletion limit cannot be negative: {value}")
            return cls(count=value)
        text = str(value).strip()
        try:
            if text.endswith("%"):
                pct = float(text[:-1])
                if not 0 <= pct <= 100 or math.isnan(pct):
                    raise ValueError
                return cls(fraction=pct / 100)
            n = int(text)
            if n < 0:
                raise ValueError
            return cls(count=n)
        except ValueError:
            raise ValueError(f"not a deletion limit: {value!r} (use a number of documents such as "
                             f"500, or a share of the index such as 10%)") from None

    def allowed(self, documents: int) -> int | None:
        """How many of ``documents`` a job may remove (None: no limit)."""
        if self.unlimited:
            return None
        if self.count is not None:
            return self.count
        return max(SMALL_DELETE, math.floor(documents * (self.fraction or 0.0)))

    def describe(self) -> str:
        if self.unlimited:
            return "no limit"
        if self.count is not None:
            return f"{self.count:,} document(s)"
        return f"{(self.fraction or 0.0) * 100:g}% of the documents (or {SMALL_DELETE})"


DEFAULT_LIMIT = DeleteLimit.parse(DEFAULT_MAX_DELETE)


def check_deletions(*, would_delete: int, documents: int | None, remaining: int, files_found: int,
                    corpus_dir, built_from: str | None, limit: DeleteLimit, how_to_allow: str) -> None:
    """Raise :class:`TooManyDeletionsError` when a job on an index of ``documents`` documents
    (None: unknown, taken as non-empty) would leave it empty (``remaining`` documents after the
    job; ``files_found`` question files in ``corpus_dir``), remove every document, or remove more
    than ``limit`` allows. An unlimited ``limit`` allows anything."""
    if limit.unlimited or documents == 0:
        return
    if remaining == 0 and files_found == 0:
        reason = "it holds no question files (is it mounted, is the path right?), so the index " \
                 "would be empty"
    elif remaining == 0:
        reason = "none of its question files could be indexed, so the index would be empty"
    elif documents is not None and would_delete >= documents:
        reason = "that is every document in the index"
    else:
        allowed = limit.allowed(documents or 0)
        if allowed is None or would_delete <= allowed:
            return
        reason = f"that is more than the limit of {limit.describe()}"
    of = f" of {documents:,}" if documents is not None else ""
    pct = f" ({would_delete / documents:.0%})" if documents else ""
    source = f"; the index was built from {built_from}" if built_from else ""
    raise TooManyDeletionsError(
        f"refusing to remove {would_delete:,}{of} indexed documents{pct} to match the corpus "
        f"folder {corpus_dir}: {reason}{source}. Nothing was changed. If this is intended, "
        f"{how_to_allow}.",
        would_delete=would_delete, documents=documents, corpus_dir=str(corpus_dir),
        built_from=built_from)
