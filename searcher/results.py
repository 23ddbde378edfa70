"""What a search returns: typed hits and result pages, and their JSON form.

The JSON form (``to_dict``) is what ``mqt search --json`` prints; its field names are the
dataclass field names, documented in the README ("JSON output").
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def to_json(obj, *, indent: int | None = 2) -> str:
    """The JSON text of a ``to_dict()`` result, as ``--json`` and the HTTP API write it: ``<``, ``>``
    and ``&`` are written as ``\\u003c`` etc. (the same strings once parsed), so the JSON text itself
    never carries markup from a document."""
    return json.dumps(obj, ensure_ascii=False, indent=indent, default=str).translate(_HTML_SAFE)


@dataclass(frozen=True)
class Snippets:
    """Best fragments of the question and answer text, HTML-escaped, matches in ``<mark>``."""

    question: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Hit:
    """One ranked question in a result page (``get(hit.id)`` gives the whole record)."""

    id: str
    rank: int
    score: float
    title: str
    meeting: str
    meeting_date: dt.date
    asker: str
    party: str | None
    asked_of: str
    status: str
    snippets: Snippets

    def to_dict(self) -> dict:
        d = asdict(self)
        d["meeting_date"] = self.meeting_date.isoformat()
        d["score"] = round(self.score, 4)
        return d


@dataclass(frozen=True)
class ResultPage:
    """One page of results, with counts and facets over the whole result set.

    ``facets`` maps a facet name (party, asker, asked_of, year, status, meeting) to
    ``{value: count}`` ordered by count, highest first. ``suggestion`` is a corrected query
    that finds more, or None.
    """

    query: str
    total: int
    page: int
    limit: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    took_ms: float
    sort: str = "relevance"

    @property
    def pages(self) -> int:
        """How many pages of ``limit`` hits the whole result set fills."""
        return (self.total + self.limit - 1) // self.limit if self.limit else 0

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "limit": self.limit,
            "sort": self.sort,
            "took_ms": round(self.took_ms, 2),
            "suggestion": self.suggestion,
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
        }


@dataclass(frozen=True)
class IndexStats:
    """Facts about an index: ``mqt stats``."""

    index_dir: str
    documents: int
    first_date: dt.date | None
    last_date: dt.date | None
    top_askers: dict[str, int]
    top_parties: dict[str, int]
    statuses: dict[str, int]
    size_bytes: int
    segments: int
    built_at: str | None
    schema_version: int

    def to_dict(self) -> dict:
        d = asdict(self)
        d["first_date"] = self.first_date.isoformat() if self.first_date else None
        d["last_date"] = self.last_date.isoformat() if self.last_date else None
        return d


@dataclass(frozen=True)
class IndexHealth:
    """What a health check needs, cheaply (no facet counts): how many documents the open index
    holds and which version of it is open (``generation`` grows with each commit; a rebuilt index
    starts again, with a new ``built_at``)."""

    index_dir: str
    documents: int
    generation: int
    built_at: str | None

    def to_dict(self) -> dict:
        return asdict(self)
