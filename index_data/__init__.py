"""mqt's index side: the document model, the corpus parser, text analysis and index building.

>>> from index_data import parse_file, build_index, reindex      # doctest: +SKIP
>>> parse_file("corpus/000_f69fb07d1f8a9a60.txt").title
'Hate Crime (1)'
>>> build_index("corpus", ".mqt-index").indexed
1
>>> reindex("corpus", ".mqt-index").unchanged             # incremental update (see reindexing.py)
1

``build_index`` and ``reindex``, the corpus parser and the build reports are imported on first
use: the writing side (Whoosh's writer, multiprocessing, hashing) and the parser would cost a
one-query ``mqt search`` process time it never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError,
                     IndexVersionError, IndexWriteError, MqtError, NotFoundError, QueryError,
                     TooManyDeletionsError)
from .meta import SCHEMA_VERSION
from .model import ANSWERED, HOLDING, STATUSES, UNANSWERED, Answer, Question, Status

if TYPE_CHECKING:
    from .build import build_index
    from .corpus import iter_corpus, parse_file, parse_text
    from .reindexing import reindex
    from .reports import BuildReport, Rejected, ReindexReport

#: Names imported from their module when first asked for (see the module doc).
_ON_FIRST_USE = {"build_index": "build", "reindex": "reindexing", "iter_corpus": "corpus",
                 "parse_file": "corpus", "parse_text": "corpus", "BuildReport": "reports",
                 "Rejected": "reports", "ReindexReport": "reports"}

#: The one version number of mqt (pyproject.toml reads it from here).
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """A name of ``_ON_FIRST_USE``, imported from its module when first asked for (PEP 562)."""
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'index_data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ANSWERED", "HOLDING", "STATUSES", "UNANSWERED", "Answer", "BuildReport", "CorpusError",
    "IndexCorruptError", "IndexLockedError", "IndexMissingError", "IndexVersionError",
    "IndexWriteError", "MqtError", "NotFoundError", "QueryError", "Question", "Rejected",
    "ReindexReport", "TooManyDeletionsError",
    "SCHEMA_VERSION", "Status", "__version__", "build_index", "iter_corpus", "parse_file",
    "parse_text", "reindex",
]
