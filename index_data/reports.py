"""What ``build_index`` and ``reindex`` return: typed reports, and their ``--json`` form.

Both reports list the files that were not indexed the same way, as :class:`Rejected` records in
``rejected``. The JSON forms keep their documented keys (README "JSON output"): ``mqt index
--json`` puts the records under ``rejected``; ``mqt reindex --json`` gives their count under
``rejected`` and the records under ``rejected_files`` (next to its other counts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from collections.abc import Callable

#: Called as ``progress(done, total)`` while files are processed.
Progress = Callable[[int, int], None]

#: ``ReindexReport.rebuilt`` when there was no index to update.
NO_INDEX = "no index yet"


@dataclass(frozen=True)
class Rejected:
    """A corpus file that was not indexed, and why (``line`` when the problem has one)."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"

    def to_dict(self) -> dict:
        """``{"path", "line", "reason"}``."""
        return asdict(self)


@dataclass
class BuildReport:
    """What a build did: counts, rejected files with reasons, and how long it took."""

    index_dir: str
    corpus_dir: str
    indexed: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """The ``mqt index --json`` object: ``index_dir, corpus_dir, indexed, rejected: [{path,
        line, reason}], seconds``."""
        d = asdict(self)
        d["rejected"] = [r.to_dict() for r in self.rejected]
        return d


@dataclass
class ReindexReport:
    """What a reindex did. Counts are of documents (one per question file)."""

    index_dir: str
    corpus_dir: str
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0
    #: Files read (the others were matched to their document by size, mtime and path alone).
    files_read: int = 0
    #: Unchanged documents rewritten only to record a new path (moved; a file only touched is
    #: read and hashed but not rewritten).
    refreshed: int = 0
    #: Why the index was built from scratch instead ("" when it was updated in place).
    rebuilt: str = ""
    #: Index segments after the run.
    segments: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted or self.rebuilt)

    def to_dict(self) -> dict:
        """The ``mqt reindex --json`` object: the counts ``added``, ``updated``, ``deleted``,
        ``unchanged`` and ``rejected`` (a number), the rejected files as ``rejected_files:
        [{path, line, reason}]``, then ``seconds, files_read, refreshed, rebuilt`` (null when
        updated in place), ``segments, index_dir, corpus_dir``."""
        return dict(
            added=self.added, updated=self.updated, deleted=self.deleted,
            unchanged=self.unchanged, rejected=len(self.rejected),
            rejected_files=[r.to_dict() for r in self.rejected],
            seconds=round(self.seconds, 3), files_read=self.files_read, refreshed=self.refreshed,
            rebuilt=self.rebuilt or None, segments=self.segments,
            index_dir=self.index_dir, corpus_dir=self.corpus_dir)

    def summary(self) -> str:
        """One line for people (the CLI prints it on stderr)."""
        how = "reindexed"
        if self.rebuilt:
            how = f"{'built' if self.rebuilt == NO_INDEX else 'rebuilt'} ({self.rebuilt})"
        return (f"{how.capitalize()} {self.index_dir} from {self.corpus_dir} in {self.seconds:.1f} s: "
                f"{self.added:,} added, {self.updated:,} updated, {self.deleted:,} deleted, "
                f"{self.unchanged:,} unchanged, {len(self.rejected):,} rejected "
                f"({self.files_read:,} files read, {self.segments} segment(s)).")
