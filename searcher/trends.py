"""How often a topic came up: counts of matching questions per year or month, split by a field.

Engine-agnostic arithmetic over two arrays the engine hands over for every match of a search
(its meeting date as a YYYYMMDD number, and optionally a facet code per match with the codes'
labels): the same columns the facets are counted from, so a trend's yearly counts equal the
``year`` facet of the same search (``tests/test_trends.py`` checks it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from index_data.fields import date_number, number_date

Interval = Literal["year", "month"]
By = Literal["party", "asker", "asked_of"]
INTERVALS: tuple[Interval, ...] = ("year", "month")
BY_FIELDS: tuple[By, ...] = ("party", "asker", "asked_of")
#: What a match without a value of the ``by`` field is counted under.
NO_VALUE = "(none)"


@dataclass(frozen=True)
class TrendBucket:
    """One period (``"2017"`` or ``"2017-09"``): matching questions, and per group when split."""

    period: str
    count: int
    groups: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"period": self.period, "count": self.count, "groups": self.groups}


@dataclass(frozen=True)
class Trend:
    """Counts of a search's matches per period, every period from the first to the last (or
    the date filters' range) with zeros included; ``first``/``last``: the first and last
    meeting date a match was asked; ``groups``: each group's total, highest first."""

    query: str
    interval: Interval
    by: By | None
    buckets: list[TrendBucket]
    first: dt.date | None
    last: dt.date | None
    total: int
    filters: dict[str, str] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """What ``mqt trend --json`` prints."""
        return {"query": self.query, "interval": self.interval, "by": self.by,
                "filters": self.filters, "total": self.total,
                "buckets": [b.to_dict() for b in self.buckets],
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None}


def _period_number(dates: np.ndarray, interval: Interval) -> np.ndarray:
    """Date numbers (``fields.date_number``: YYYYMMDD) as a running period number: years, or
    months counted from year 0."""
    if interval == "year":
        return dates // 10000
    return (dates // 10000) * 12 + (dates // 100 % 100) - 1


def _label(n: int, interval: Interval) -> str:
    return f"{n:04d}" if interval == "year" else f"{n // 12:04d}-{n % 12 + 1:02d}"


def count(dates: np.ndarray, codes: np.ndarray | None, labels: list[str] | None, *,
          interval: Interval, start: dt.date | None = None, end: dt.date | None = None,
          ) -> tuple[list[TrendBucket], dt.date | None, dt.date | None, dict[str, int]]:
    """``(buckets, first, last, group totals)`` for matches with meeting dates ``dates``
    (YYYYMMDD; 0 for none, left out) and group ``codes`` into ``labels`` (code 0 = no value).

    Buckets run over every period from ``start`` (else the first match) to ``end`` (else the
    last match).
    """
    dates = np.asarray(dates, dtype=np.int64)
    dated = dates > 0
    if codes is not None:
        codes = np.asarray(codes)[dated]
    dates = dates[dated]
    first = number_date(int(dates.min())) if len(dates) else None
    last = number_date(int(dates.max())) if len(dates) else None
    lo_date, hi_date = start or first, end or last
    if lo_date is None or hi_date is None or lo_date > hi_date:
        return [], first, last, {}
    lo = int(_period_number(np.array([date_number(lo_date.replace(day=1))]), interval)[0])
    hi = int(_period_number(np.array([date_number(hi_date.replace(day=1))]), interval)[0])
    periods = _period_number(dates, interval) - lo
    inside = (periods >= 0) & (periods <= hi - lo)
    periods = periods[inside]
    counts = np.bincount(periods, minlength=hi - lo + 1)
    per_group: list[dict[str, int]] = [{} for _ in range(hi - lo + 1)]
    totals: dict[str, int] = {}
    if codes is not None and labels is not None:
        codes = codes[inside]
        width = len(labels)
        table = np.bincount(periods * width + codes, minlength=(hi - lo + 1) * width)
        table = table.reshape(hi - lo + 1, width)
        names = [label or NO_VALUE for label in labels]
        column_totals = table.sum(axis=0)
        order = sorted(np.flatnonzero(column_totals).tolist(),
                       key=lambda c: (-int(column_totals[c]), names[c]))
        totals = {names[c]: int(column_totals[c]) for c in order}
        for p in range(hi - lo + 1):
            per_group[p] = {names[c]: int(table[p, c]) for c in order if table[p, c]}
    buckets = [TrendBucket(_label(lo + p, interval), int(counts[p]), per_group[p])
               for p in range(hi - lo + 1)]
    return buckets, first, last, totals
