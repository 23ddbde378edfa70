"""mqt's query side: search an index built by ``index_data``.

>>> from searcher import Searcher                                  # doctest: +SKIP
>>> with Searcher(".mqt-index") as s:
...     page = s.search('"hate crime" party:labour', sort="newest")
...     print(page.total, page.hits[0].title, page.facets["party"])
1 Hate Crime (1) {'Labour Group': 1}

``Searcher`` (with the engine, Whoosh and numpy behind it) is imported on first use, so the
query language (``searcher.query``) and the result types can be imported on their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from index_data import __version__
from index_data.errors import (CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError,
                               IndexVersionError, IndexWriteError, MqtError, NotFoundError,
                               QueryError, TooManyDeletionsError)

from .query import parse_query
from .ranking import Ranking
from .results import SORTS, Hit, IndexHealth, IndexStats, ResultPage, Snippets, Sort

if TYPE_CHECKING:
    from .search import Searcher, default_index_dir


def __getattr__(name: str) -> Any:
    """``Searcher`` and ``default_index_dir``, imported when first asked for (PEP 562)."""
    if name not in ("Searcher", "default_index_dir"):
        raise AttributeError(f"module 'searcher' has no attribute {name!r}")
    from . import search

    value = getattr(search, name)
    globals()[name] = value
    return value


__all__ = [
    "CorpusError", "Hit", "IndexCorruptError", "IndexHealth", "IndexLockedError", "IndexMissingError",
    "IndexStats", "IndexVersionError", "IndexWriteError", "MqtError", "NotFoundError", "QueryError",
    "Ranking", "TooManyDeletionsError",
    "ResultPage", "SORTS", "Searcher", "Snippets", "Sort", "__version__", "default_index_dir",
    "parse_query",
]
