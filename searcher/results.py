"""What a search returns: typed hits and result pages, and their JSON form.

The JSON form (``to_dict``) is what ``mqt search --json`` prints; its field names are the
dataclass field names, documented in the README ("JSON output").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

from index_data.model import Question, Status

#: How a result set is ordered: by relevance; by relevance nudging recent questions up among
#: near-equals; by meeting date, newest or oldest first (then relevance).
Sort = Literal["relevance", "relevance_recent", "newest", "oldest"]
SORTS: tuple[Sort, ...] = get_args(Sort)


def to_json(obj, *, indent: int | None = 2) -> str:
    """The JSON text of a ``to_dict()`` result, as ``--json`` and the HTTP API write it: ``<``, ``>``
    and ``&`` are written as ``\\u003c`` etc. (the same strings once parsed), so the JSON text itself
    never carries markup from a document. (Three ``str.replace`` calls: ``str.translate`` with a
    table took 0.65 ms for a 9 KB result page, more than the encoding itself.)"""
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


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
    status: Status
    snippets: Snippets

    def to_dict(self) -> dict:
        # written out rather than dataclasses.asdict (which deep-copies every value): ~10x cheaper,
        # and the same dict (tests/test_search.py::test_hit_dict_is_the_dataclass_as_json)
        return {"id": self.id, "rank": self.rank, "score": round(self.score, 4), "title": self.title,
                "meeting": self.meeting, "meeting_date": self.meeting_date.isoformat(),
                "asker": self.asker, "party": self.party, "asked_of": self.asked_of,
                "status": self.status,
                "snippets": {"question": list(self.snippets.question),
                             "answer": list(self.snippets.answer)}}


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
    sort: Sort = "relevance"
    #: The keyword filters applied besides the query (``party``, ``asker``, ``asked_of``,
    #: ``status``, ``from``, ``to``: dates as ISO strings), as given.
    filters: dict[str, str] = field(default_factory=dict)

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
            "filters": self.filters,
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
        }


@dataclass(frozen=True)
class IndexStats:
    """Facts about an index: ``mqt stats`` (``Searcher.stats()``).

    ``built_at`` is when the index was last built from scratch (``mqt index``, or a reindex that
    had to rebuild), ``updated_at`` when a reindex last changed it (None if none has since the
    build); both timezone-aware. ``top_askers``/``top_parties``: the most frequent values with
    their document counts, highest first; ``statuses``: documents per status.
    """

    index_dir: str
    documents: int
    first_date: dt.date | None
    last_date: dt.date | None
    top_askers: dict[str, int]
    top_parties: dict[str, int]
    statuses: dict[str, int]
    size_bytes: int
    segments: int
    built_at: dt.datetime | None
    schema_version: int
    updated_at: dt.datetime | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        for name in ("first_date", "last_date", "built_at", "updated_at"):
            value = getattr(self, name)
            d[name] = value.isoformat() if value else None
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


#: The columns of an export (``mqt export``, ``mqt search --format csv|jsonl``), in order.
EXPORT_COLUMNS = ("id", "title", "meeting", "meeting_date", "asker", "party", "asked_of", "status",
                  "question", "answers")


@dataclass(frozen=True)
class Result:
    """One match of :meth:`Searcher.iter_results`: its rank, its score and the whole question."""

    rank: int
    score: float
    question: Question

    def to_dict(self) -> dict:
        """The export row (:data:`EXPORT_COLUMNS`): ``answers`` a list of
        ``{"answered_by", "text"}``."""
        q = self.question
        return {"id": q.id, "title": q.title, "meeting": q.meeting,
                "meeting_date": q.meeting_date.isoformat(), "asker": q.asker, "party": q.party,
                "asked_of": q.asked_of, "status": q.status, "question": q.question,
                "answers": [{"answered_by": a.answered_by, "text": a.text} for a in q.answers]}


@dataclass
class Results:
    """Every match of a search (``Searcher.iter_results``): ``total``, then the :class:`Result`
    rows in rank order, produced one at a time as they are iterated (once)."""

    query: str
    total: int
    sort: Sort
    filters: dict[str, str]
    rows: Iterator[Result]

    def __iter__(self) -> Iterator[Result]:
        return self.rows
