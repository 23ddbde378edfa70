"""mqt's query side: search an index built by ``index_data``.

>>> from searcher import Searcher                                  # doctest: +SKIP
>>> with Searcher(".mqt-index") as s:
...     page = s.search('"hate crime" party:labour', sort="newest")
...     print(page.total, page.hits[0].title, page.facets["party"])
1 Hate Crime (1) {'Labour Group': 1}
"""

from index_data.errors import (IndexCorruptError, IndexLockedError, IndexMissingError,
                               IndexVersionError, MqtError, NotFoundError)

from .query import QueryError, parse_query
from .results import Hit, IndexHealth, IndexStats, ResultPage, Snippets
from .search import Searcher, default_index_dir

__all__ = [
    "Hit", "IndexCorruptError", "IndexHealth", "IndexLockedError", "IndexMissingError", "IndexStats",
    "IndexVersionError", "MqtError", "NotFoundError", "QueryError", "ResultPage", "Searcher", "Snippets",
    "default_index_dir", "parse_query",
]
