"""What the result pages show, computed from a ``SearchRequest`` and a ``ResultPage``: links that keep
every other argument, filter chips, facet lists, the year chart's bars and the page numbers; and
the trend page's stacked bars and table, from a ``Trend``.

Plain functions of plain values (no Starlette, no templates), so each is easy to test; the URLs use
the API's parameter names, so every page state is a shareable link.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from urllib.parse import quote_plus, urlencode

from markupsafe import Markup, escape

from ..params import PARAM_NAMES, SearchRequest
from ..query import date_bounds
from ..results import ResultPage
from ..search import MAX_PAGE
from ..trends import Trend

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


#: (field, query-string name, default) of each SearchRequest argument, in the order URLs write them.
_URL_FIELDS = tuple((f.name, PARAM_NAMES[f.name], f.default) for f in fields(SearchRequest))
_URL_NAMES = frozenset(name for name, _, _ in _URL_FIELDS)


def _pair(param: str, value) -> str | None:
    """``param=value`` URL-encoded as ``urlencode`` writes it (None for a default or absent value,
    which ``SearchRequest.to_params`` leaves out). Parameter names need no quoting, nor do
    ASCII letters and digits (years, page numbers), which ``quote_plus`` returns unchanged."""
    return None if value is None else _encode(param, value)


def _encode(param: str, value) -> str:
    text = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return param + "=" + (text if text.isascii() and text.isalnum() else quote_plus(text))


@functools.lru_cache(maxsize=32)
def _encoded(req: SearchRequest) -> tuple[str | None, ...]:
    """Each of ``req``'s own ``param=value`` pairs, encoded once for the many links of a page."""
    return tuple(_pair(param, v) if (v := getattr(req, name)) != default else None
                 for name, param, default in _URL_FIELDS)


def search_url(req: SearchRequest, **changes) -> str:
    """The results page for ``req`` with ``changes`` (any change but ``page`` goes back to page 1).

    The same text as ``"/?" + urlencode(req.but(**changes).to_params())``, built from ``req``'s
    pairs encoded once: a results page has ~150 of these links (facets, year bars, pages), which
    took 2.5-3 ms a page through ``dataclasses.replace`` and ``urlencode``."""
    if "page" not in changes:
        changes["page"] = 1
    if not _URL_NAMES.issuperset(changes):
        raise TypeError(f"not a search argument: {', '.join(sorted(set(changes) - _URL_NAMES))}")
    parts = []
    for (name, param, default), pair in zip(_URL_FIELDS, _encoded(req)):
        if name in changes:
            value = changes[name]
            pair = _pair(param, value) if value != default else None
        if pair is not None:
            parts.append(pair)
    return "/?" + "&".join(parts) if parts else "/"


def linker(req: SearchRequest, *names: str) -> Callable[..., str]:
    """``search_url(req, **dict(zip(names, values)))`` as a function of the values, for the many
    links of a page that change the same arguments (a facet's values, the year bars): ``req``'s
    other pairs are placed once, so each link encodes only its own values."""
    if not _URL_NAMES.issuperset(names):
        raise TypeError(f"not a search argument: {', '.join(sorted(set(names) - _URL_NAMES))}")
    slots: list = []  # an encoded pair of req's, or the (index in names, param, default) of a value
    for (name, param, default), pair in zip(_URL_FIELDS, _encoded(req)):
        if name in names:
            slots.append((names.index(name), param, default))
        elif name == "page":
            continue  # back to page 1, the default: left out
        elif pair is not None:
            slots.append(pair)

    def url(*values) -> str:
        parts = []
        for slot in slots:
            if slot.__class__ is str:
                parts.append(slot)
            else:
                value = values[slot[0]]
                if value is not None and value != slot[2]:
                    parts.append(_encode(slot[1], value))
        return "/?" + "&".join(parts) if parts else "/"

    return url


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


def chips(req: SearchRequest, url: Callable[..., str] = search_url) -> list[Chip]:
    """The active filters, each with ``url(req, <filter>=None)``, the same view without it."""
    out = [Chip(label, getattr(req, name), url(req, **{name: None}))
           for name, label in FILTER_LABELS.items() if getattr(req, name)]
    if req.date_from and req.date_from == req.date_to:
        out.append(Chip("Date" if "-" in req.date_from else "Year", req.date_from,
                        url(req, date_from=None, date_to=None)))
    else:
        if req.date_from:
            out.append(Chip("From", req.date_from, url(req, date_from=None)))
        if req.date_to:
            out.append(Chip("To", req.date_to, url(req, date_to=None)))
    if not req.synonyms:
        out.append(Chip("Synonyms", "off", url(req, synonyms=True)))
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
        link = linker(req, "date_from", "date_to") if name == "year" else linker(req, name)
        for value, count in counts.items():
            if name == "year":
                active = req.date_from == value and req.date_to == value
                url = link(None, None) if active else link(value, value)
            else:
                active = _same(getattr(req, name), value)
                url = link(None if active else value)
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
    link = linker(req, "date_from", "date_to")
    for i, y in enumerate(years):
        n = counts.get(y, 0)
        h = (height - 14) * n / top if n else 0.0
        h = max(h, 1.0) if n else 0.0
        bars.append(Bar(str(y), n, link(str(y), str(y)),
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


# ---- links to the other views of a search -----------------------------------------------------

def trend_url(req: SearchRequest, interval: str = "year", **changes) -> str:
    """The trend page of ``req``'s matches (its order and page size kept for the way back)."""
    params = req.but(page=1, **changes).to_params()
    if interval != "year":
        params["interval"] = interval
    return "/trend?" + urlencode(params) if params else "/trend"


def feed_url(req: SearchRequest) -> str:
    """The Atom feed of ``req``'s newest matches (``/search.atom``: always newest first)."""
    params = req.but(page=1, sort="relevance").to_params()
    return "/search.atom?" + urlencode(params) if params else "/search.atom"


def export_url(req: SearchRequest, fmt: str) -> str:
    """Every match of ``req``, in its order, as a file (``/export.csv``, ``/export.jsonl``)."""
    params = req.but(page=1, limit=10).to_params()
    return f"/export.{fmt}?" + urlencode(params) if params else f"/export.{fmt}"


# ---- the trend chart ---------------------------------------------------------------------------

#: Series colours are CSS classes ``series-0`` ... ``series-7`` (mqt.css; each at least 3:1
#: against the white background, WCAG 1.4.11). A party whose name has one of these words takes
#: its usual colour when still free; the last colour is for "Other" (parties past the first 7).
SERIES = 8
PARTY_COLOURS = {"conservative": 0, "labour": 1, "liberal": 2, "green": 3}
OTHER = "Other parties"


@dataclass(frozen=True)
class Series:
    name: str
    colour: int  # the CSS class series-<colour>
    total: int


@dataclass(frozen=True)
class Segment:
    """One party's part of one period's bar."""

    group: str
    count: int
    colour: int
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    period: str
    count: int
    x: float
    width: float
    segments: list[Segment]
    label: str | None  # the axis text under this bar, if any


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class TrendChart:
    """A stacked bar chart of a ``Trend`` split by party, in SVG user units: the plot spans
    ``left``..``right`` and ``top``..``bottom``; a count of n is ``n * unit`` high."""

    columns: list[Column]
    series: list[Series]
    ticks: list[Tick]
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    unit: float


def _step(top: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) that divides 0..top into at most 5."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if top <= 5 * step * m:
                return step * m
        step *= 10


def series_of(groups: dict[str, int]) -> tuple[list[Series], dict[str, str]]:
    """The chart's series for a trend's groups (highest total first), and the series each group
    is drawn in: itself, or OTHER for the smallest when there are more than SERIES."""
    names = list(groups) if len(groups) <= SERIES else list(groups)[:SERIES - 1]
    colour: dict[str, int] = {}
    free = list(range(SERIES - 1))
    for name in names:  # the usual colours first, for the party that has most questions
        for word, c in PARTY_COLOURS.items():
            if word in name.casefold() and c in free:
                colour[name] = c
                free.remove(c)
                break
    free.sort(key=lambda c: c in PARTY_COLOURS.values())  # others take the unusual ones first
    for name in names:
        if name not in colour:
            colour[name] = free.pop(0) if free else SERIES - 1
    series = [Series(n, colour[n], groups[n]) for n in names]
    drawn_as = {n: n for n in names}
    rest = [g for g in groups if g not in drawn_as]
    if rest:
        series.append(Series(OTHER, SERIES - 1, sum(groups[g] for g in rest)))
        drawn_as.update((g, OTHER) for g in rest)
    return series, drawn_as


def _labeller(buckets, interval: str):
    """Which bars get a label under them: at most about 12 (for months over two years, the
    Januaries, as years)."""
    n = len(buckets)
    if interval == "month" and n > 24:
        every = -(-n // 144)  # years between labels: at most ~12 labels
        first = int(buckets[0].period[:4])
        return lambda i, period: period[:4] if period.endswith("-01") and \
            (int(period[:4]) - first) % every == 0 else None
    every = -(-n // 12)
    return lambda i, period: period if (n - 1 - i) % every == 0 else None  # the last always


def trend_chart(trend: Trend, width: int = 640, height: int = 240) -> TrendChart | None:
    """The bars of ``trend``: one column per period, zeros included, each group's count
    stacked from the bottom in legend order, n high as n * unit. None when nothing matched."""
    buckets = trend.buckets
    if not buckets or not trend.total:
        return None
    left, right, top, bottom = 44, width - 6, 8, height - 22
    if trend.groups:
        series, drawn_as = series_of(trend.groups)
    else:  # not split: one series
        series, drawn_as = [Series("Questions", 0, trend.total)], {}
    colour = {s.name: s.colour for s in series}
    order = {s.name: i for i, s in enumerate(series)}
    biggest = max(b.count for b in buckets)
    step = _step(biggest)
    scale = step * -(-biggest // step)  # the axis' top: a whole number of steps
    unit = (bottom - top) / scale
    slot = (right - left) / len(buckets)
    gap = slot * (0.2 if len(buckets) <= 60 else 0.1)
    label = _labeller(buckets, trend.interval)
    columns = []
    for i, b in enumerate(buckets):
        parts: dict[str, int] = {}
        for g, n in (b.groups.items() if trend.groups else [("Questions", b.count)]):
            parts[drawn_as.get(g, g)] = parts.get(drawn_as.get(g, g), 0) + n
        segments, below = [], 0
        for name in sorted(parts, key=order.__getitem__):
            n = parts[name]
            if n:
                y0 = round(bottom - below * unit, 2)
                below += n
                y1 = round(bottom - below * unit, 2)
                segments.append(Segment(name, n, colour[name], y1, round(y0 - y1, 2)))
        columns.append(Column(b.period, b.count, round(left + i * slot + gap / 2, 2),
                              round(slot - gap, 2), segments, label(i, b.period)))
    ticks = [Tick(v, round(bottom - v * unit, 2)) for v in range(0, scale + 1, step)]
    return TrendChart(columns, series, ticks, width, height, left, right, top, bottom, unit)


@dataclass(frozen=True)
class TrendRow:
    period: str
    count: int
    groups: list[int]  # in TrendTable.groups order, zeros included
    url: str  # the results page for this period


@dataclass(frozen=True)
class TrendTable:
    groups: list[str]
    rows: list[TrendRow]
    totals: list[int]


def period_url(req: SearchRequest, period: str) -> str:
    """The results page for one period of a trend, within ``req``'s own dates."""
    lo, hi = date_bounds(period)
    date_from = req.date_from if req.date_from and date_bounds(req.date_from)[0] > lo else period
    date_to = req.date_to if req.date_to and date_bounds(req.date_to)[1] < hi else period
    return search_url(req, date_from=date_from, date_to=date_to)


def trend_table(req: SearchRequest, trend: Trend) -> TrendTable:
    """The trend's numbers as a table: a row per period, a column per group (every group)."""
    groups = list(trend.groups)
    rows = [TrendRow(b.period, b.count, [b.groups.get(g, 0) for g in groups], period_url(req, b.period))
            for b in trend.buckets]
    return TrendTable(groups, rows, [trend.groups[g] for g in groups])
