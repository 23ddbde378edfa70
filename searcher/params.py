"""One search as named arguments: what ``mqt search``'s options and ``/api/search``'s query string
both become, so the CLI's ``--json`` and the HTTP API print the same object for the same arguments.

>>> req = SearchRequest.from_params({"q": "hate crime", "party": "labour", "from": "2016"})
>>> req.query, req.party, req.date_from
('hate crime', 'labour', '2016')
>>> req.to_params()
{'q': 'hate crime', 'party': 'labour', 'from': '2016'}

The values are checked by ``Searcher.search`` itself (one set of rules and messages); this module
only turns strings into the types it takes (``page=abc`` gets the library's own message).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from index_data.errors import QueryError

from .query import date_bounds
from .results import ResultPage, Results
from .search import MAX_LIMIT, MAX_PAGE

if TYPE_CHECKING:
    from .trends import Trend
#: The query-string name of each field, in the order URLs write them.
PARAM_NAMES = {"query": "q", "asker": "asker", "party": "party", "asked_of": "asked_of",
               "meeting": "meeting", "status": "status", "date_from": "from", "date_to": "to",
               "sort": "sort", "page": "page", "limit": "limit", "synonyms": "synonyms"}
#: The filters a result set can be narrowed by (the facets that can be clicked, less the year).
FILTERS = ("party", "asker", "asked_of", "meeting", "status")
#: The parameters of a search less its order and page: what a trend counts (``/api/trend``).
MATCH_PARAMS = ("q", "asker", "party", "asked_of", "meeting", "status", "from", "to", "synonyms")
#: An export's parameters: every match, in this order (``/export.csv``).
EXPORT_PARAMS = (*MATCH_PARAMS, "sort")
#: A search feed's parameters: a page of the newest matches (``/search.atom``).
FEED_PARAMS = (*MATCH_PARAMS, "page", "limit")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class SearchRequest:
    """The arguments of one ``Searcher.search`` call that a user can choose (defaults omitted in
    URLs). ``date_from``/``date_to`` stay strings (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``)."""

    query: str = ""
    asker: str | None = None
    party: str | None = None
    asked_of: str | None = None
    meeting: str | None = None
    status: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    limit: int = 10
    synonyms: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, str] | Iterable[tuple[str, str]], *,
                    strict: bool = True) -> SearchRequest:
        """From query-string pairs (``q``, ``party``, ``from``... see :data:`PARAM_NAMES`).

        Empty values count as absent (as an empty form field sends them). With ``strict``, an
        unknown or repeated name is a :class:`QueryError`; otherwise unknown names are ignored.
        """
        pairs = params.items() if isinstance(params, Mapping) else params
        by_param = {v: k for k, v in PARAM_NAMES.items()}
        values: dict[str, str] = {}
        for name, value in pairs:
            attr = by_param.get(name)
            if attr is None:
                if strict:
                    raise QueryError(f"unknown parameter {name!r}; use {', '.join(PARAM_NAMES.values())}")
                continue
            if attr in values and strict:
                raise QueryError(f"parameter {name!r} is given more than once")
            values[attr] = value
        kwargs: dict = {}
        for attr, value in values.items():
            if value == "" or value is None:
                continue
            if attr in ("page", "limit"):
                kwargs[attr] = whole_number(value, attr, MAX_PAGE if attr == "page" else MAX_LIMIT)
            elif attr == "synonyms":
                kwargs[attr] = _flag(value, PARAM_NAMES[attr])
            elif attr in ("date_from", "date_to"):
                kwargs[attr] = _date(value, PARAM_NAMES[attr])
            else:
                kwargs[attr] = value
        return cls(**kwargs)

    def to_params(self) -> dict[str, str]:
        """The query-string pairs of this request, defaults left out (the inverse of from_params)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default and value is not None:
                out[PARAM_NAMES[f.name]] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out

    def but(self, **changes) -> SearchRequest:
        """A copy with some arguments changed (``req.but(party=None, page=1)``)."""
        return replace(self, **changes)

    def run(self, searcher, *, facets: bool = True) -> ResultPage:
        """``searcher.search`` with these arguments: the one call behind ``mqt search`` and
        ``/api/search``."""
        return searcher.search(self.query, limit=self.limit, page=self.page, sort=self.sort,
                               facets=facets, **self.match_args())

    def match_args(self) -> dict:
        """The keyword arguments that choose which questions match (filters and synonyms)."""
        return dict(asker=self.asker, party=self.party, asked_of=self.asked_of,
                    meeting=self.meeting, status=self.status, date_from=self.date_from,
                    date_to=self.date_to, synonyms=self.synonyms)

    def iter_results(self, searcher) -> Results:
        """Every match in this order (``Searcher.iter_results``): ``mqt export``, ``/export.csv``."""
        return searcher.iter_results(self.query, sort=self.sort, **self.match_args())

    def trend(self, searcher, *, interval: str = "year", by: str | None = None) -> Trend:
        """``Searcher.trend`` of these matches: ``mqt trend``, ``/api/trend``, ``/trend``."""
        return searcher.trend(self.query, interval=interval, by=by, **self.match_args())

    def atom(self, searcher, *, base_url: str | None = None) -> bytes:
        """This page of the newest matches as an Atom feed (``searcher.feeds.search_feed``):
        ``mqt search --format atom``, ``/search.atom``."""
        from .feeds import search_feed

        page = searcher.search(self.query, limit=self.limit, page=self.page, sort="newest",
                               facets=False, snippets=False, suggest=False, **self.match_args())
        return search_feed(searcher, page, base_url=base_url)


def whole_number(value: str, name: str, top: int) -> int:
    """``value`` as an int from 1 to ``top``, or the library's QueryError for ``name``."""
    try:
        n = int(value.strip(), 10)
    except (ValueError, AttributeError):
        n = 0
    if not 1 <= n <= top:
        raise QueryError(f"{name} must be a whole number from 1 to {top}")
    return n


def _date(value: str, name: str) -> str:
    """``value`` if it is a date the library takes (the message names the URL's parameter)."""
    try:
        date_bounds(value)
    except ValueError:
        raise QueryError(f"{name}={value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)") from None
    return value


def _flag(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE or v in _FALSE:
        return v in _TRUE
    raise QueryError(f"{name} must be true or false, not {value!r}")
