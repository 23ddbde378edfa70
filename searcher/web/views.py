"""What the result pages show, computed from a ``SearchRequest`` and a ``ResultPage``: links that keep
every other argument, filter chips, facet lists, the year chart's bars and the page numbers.

Plain functions of plain values (no Starlette, no templates), so each is easy to test; the URLs use
the API's parameter names, so every page state is a shareable link.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup, escape

from ..params import SearchRequest
from ..results import ResultPage
from ..search import MAX_PAGE

#: Facets in the sidebar, in order, with their labels.
FACET_LABELS = {"party": "Party", "asker": "Asked by", "asked_of": "Asked of", "year": "Year",
                "status": "Status", "meeting": "Meeting"}
FILTER_LABELS = {"party": "Party", "asker": "Asked by", "asked_of": "Asked of", "meeting": "Meeting",
                 "status": "Status"}
SORT_LABELS = {"relevance": "Relevance", "relevance_recent": "Relevance, recent first",
               "newest": "Newest first", "oldest": "Oldest first"}
#: Values listed per facet before "more"; and the most listed under "more".
FACET_SHOWN = 6
FACET_MORE = 30


def search_url(req: SearchRequest, **changes) -> str:
    """The results page for ``req`` with ``changes`` (any change but ``page`` goes back to page 1)."""
    if "page" not in changes:
        changes["page"] = 1
    params = req.but(**changes).to_params()
    return "/?" + urlencode(params) if params else "/"


def hidden_fields(req: SearchRequest, *leave_out: str) -> list[tuple[str, str]]:
    """The query-string pairs a form must carry to keep ``req``'s other arguments (page omitted)."""
    skip = {"page", *leave_out}
    return [(k, v) for k, v in req.but(page=1).to_params().items() if k not in skip]


@dataclass(frozen=True)
class Chip:
    """An active filter, shown with a link that removes it."""

    label: str
    value: str
    remove_url: str


def chips(req: SearchRequest) -> list[Chip]:
    out = [Chip(label, getattr(req, name), search_url(req, **{name: None}))
           for name, label in FILTER_LABELS.items() if getattr(req, name)]
    if req.date_from and req.date_from == req.date_to:
        out.append(Chip("Date" if "-" in req.date_from else "Year", req.date_from,
                        search_url(req, date_from=None, date_to=None)))
    else:
        if req.date_from:
            out.append(Chip("From", req.date_from, search_url(req, date_from=None)))
        if req.date_to:
            out.append(Chip("To", req.date_to, search_url(req, date_to=None)))
    if not req.synonyms:
        out.append(Chip("Synonyms", "off", search_url(req, synonyms=True)))
    return out


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    url: str
    active: bool


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    shown: list[FacetValue]
    more: list[FacetValue]
    hidden: int  # values past FACET_SHOWN + FACET_MORE, not listed


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.casefold() == b.casefold()


def facets(req: SearchRequest, page: ResultPage) -> list[Facet]:
    """The sidebar: each facet's values with counts and the link that filters by (or un-filters) one."""
    out = []
    for name, label in FACET_LABELS.items():
        counts = page.facets.get(name) or {}
        values = []
        for value, count in counts.items():
            if name == "year":
                active = req.date_from == value and req.date_to == value
                url = search_url(req, date_from=None, date_to=None) if active else \
                    search_url(req, date_from=value, date_to=value)
            else:
                active = _same(getattr(req, name), value)
                url = search_url(req, **{name: None if active else value})
            values.append(FacetValue(value, count, url, active))
        if values:
            shown, rest = values[:FACET_SHOWN], values[FACET_SHOWN:]
            out.append(Facet(name, label, shown, rest[:FACET_MORE], max(0, len(rest) - FACET_MORE)))
    return out


@dataclass(frozen=True)
class Bar:
    year: str
    count: int
    url: str
    x: float
    y: float
    width: float
    height: float
    label: bool  # write the year under this bar


@dataclass(frozen=True)
class YearChart:
    bars: list[Bar]
    width: int
    height: int
    top: int  # the largest count


def year_chart(req: SearchRequest, page: ResultPage, width: int = 300, height: int = 90) -> YearChart | None:
    """Bars of the result set by year, every year between the first and last (empty ones too);
    a bar links to that year. None when the results span fewer than two years."""
    counts = {int(y): n for y, n in (page.facets.get("year") or {}).items() if y.isdigit()}
    if len(counts) < 2:
        return None
    first, last = min(counts), max(counts)
    years = list(range(first, last + 1))
    top = max(counts.values())
    slot = width / len(years)
    gap = min(2.0, slot * 0.2)
    every = 1 + (len(years) - 1) // 8  # label at most ~8 years
    bars = []
    for i, y in enumerate(years):
        n = counts.get(y, 0)
        h = (height - 14) * n / top if n else 0.0
        h = max(h, 1.0) if n else 0.0
        bars.append(Bar(str(y), n, search_url(req, date_from=str(y), date_to=str(y)),
                        x=round(i * slot + gap / 2, 2), y=round(height - 14 - h, 2),
                        width=round(slot - gap, 2), height=round(h, 2),
                        label=(len(years) - 1 - i) % every == 0))  # the last year always
    return YearChart(bars, width, height, top)


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: a gap ("…")
    url: str
    current: bool


def pagination(req: SearchRequest, page: ResultPage, window: int = 2) -> list[PageLink]:
    """Page numbers around the current one, with the first and last and gaps between."""
    last = min(page.pages, MAX_PAGE)
    if last <= 1:
        return []
    numbers = sorted({1, last, *range(max(1, req.page - window), min(last, req.page + window) + 1)})
    out, prev = [], 0
    for n in numbers:
        if n > prev + 1:
            out.append(PageLink(None, "", False))
        out.append(PageLink(n, search_url(req, page=n), n == req.page))
        prev = n
    return out


_MARK_RE = re.compile(r"(</?mark>)")


def marked(snippet: str) -> Markup:
    """A library snippet as HTML: only ``<mark>``/``</mark>`` pass, everything else is escaped again
    (snippets come HTML-escaped already; this makes sure nothing else can ever get through)."""
    parts = []
    for part in _MARK_RE.split(snippet):
        parts.append(part if part in ("<mark>", "</mark>") else str(escape(html.unescape(part))))
    return Markup("".join(parts))


def paragraphs(text: str | None) -> list[str]:
    """A document text's paragraphs (blank-line separated), blank ones dropped."""
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def error_parts(query: str, offset: int | None) -> tuple[str, str, str] | None:
    """The query cut at a query error's offset (``QueryError.offset``, from 0): (before, at, after),
    ``at`` one character (or a space past the end), for showing where the problem is."""
    if offset is None or offset < 0:
        return None
    offset = min(offset, len(query))
    return query[:offset], query[offset:offset + 1] or " ", query[offset + 1:]
