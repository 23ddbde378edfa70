"""Facet counts over a result set, and the cache of what is computed once per segment (facet
codes, dates, term-vector document frequencies).

A segment's files never change once written: a commit that deletes documents gives the segment
a new deletion count, a merge or a rebuilt index gives new segment ids. So values computed from
a segment are kept under its :class:`SegmentKey` (id and deletion count) in a
:class:`SegmentCache` owned by the engine reader, shared by its threads, trimmed to the segments
in use and cleared when a rebuilt index is swapped in: an entry never serves another segment's
data, whatever object ids Python reuses.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple, TypeVar
from collections.abc import Callable, Iterable

import numpy as np

from ..fields import COLUMN_FACETS, FACETS, facet_column
from .columns import coded_column

T = TypeVar("T")


class SegmentKey(NamedTuple):
    """What identifies a segment's contents: its id and how many of its documents are deleted."""

    segment_id: str
    deleted: int


def segment_key(reader) -> SegmentKey | None:
    """The key of an open segment reader's segment (None for a reader of no segment: an empty
    index)."""
    seg = reader.segment() if hasattr(reader, "segment") else None
    if seg is None:
        return None
    return SegmentKey(seg.segment_id(), seg.deleted_count())


class SegmentCache:
    """Values computed from one segment, by ``(SegmentKey, what)`` (see the module doc)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[SegmentKey, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, key: SegmentKey | None, what: str, compute: Callable[[], T]) -> T:
        """The cached value, computing it on first use (no key: computed, not kept)."""
        if key is None:
            return compute()
        value = self._entries.get((key, what))
        if value is None:
            value = compute()
            with self._lock:
                self._entries[(key, what)] = value
        return value

    def retain(self, keys: Iterable[SegmentKey | None]) -> None:
        """Forget every segment but those of ``keys`` (the segments of the newest view)."""
        keep = set(keys)
        with self._lock:
            for k in [k for k in self._entries if k[0] not in keep]:
                del self._entries[k]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class SegmentFacets(NamedTuple):
    """One segment's facet values: per facet, a code per document into a list of labels
    (label ``""``: no value)."""

    codes: dict[str, np.ndarray]
    labels: dict[str, list[str]]


def segment_facets(reader, dates: np.ndarray) -> SegmentFacets:
    """A segment's :class:`SegmentFacets`: read from its reference columns (``coded_column``)
    and, for ``year``, from its dates (``dates``: the segment's date numbers)."""
    codes: dict[str, np.ndarray] = {}
    labels: dict[str, list[str]] = {}
    for name in FACETS:
        if name == "year":
            years, local = np.unique(dates // 10000, return_inverse=True)
            codes[name] = local.reshape(-1)
            labels[name] = [str(y) if y else "" for y in years.tolist()]
        else:
            assert name in COLUMN_FACETS
            c, values = coded_column(reader, facet_column(name))
            codes[name] = c
            labels[name] = [v.decode("utf-8") for v in values]
    return SegmentFacets(codes, labels)


def count_facets(segments: list[tuple[int, SegmentFacets]], docs: np.ndarray) -> dict[str, dict[str, int]]:
    """Value -> count of each facet over ``docs`` (sorted global docnums), most frequent first
    (ties by value); ``segments``: each segment's first global docnum and its facets."""
    docs = np.asarray(docs, dtype=np.int64)
    totals: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    bounds = [start for start, _ in segments[1:]] + [None]
    for (start, facets), end in zip(segments, bounds):
        lo = int(np.searchsorted(docs, start))
        hi = len(docs) if end is None else int(np.searchsorted(docs, end))
        if lo == hi:
            continue
        local = docs[lo:hi] - start
        for name in FACETS:
            labels = facets.labels[name]
            counts = np.bincount(facets.codes[name][local], minlength=len(labels))
            out = totals[name]
            for i in np.flatnonzero(counts).tolist():
                label = labels[i]
                if label:
                    out[label] = out.get(label, 0) + int(counts[i])
    return {name: dict(sorted(t.items(), key=lambda kv: (-kv[1], kv[0]))) for name, t in totals.items()}
