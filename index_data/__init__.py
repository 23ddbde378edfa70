"""mqt's index side: the document model, the corpus parser, text analysis, the schema and building.

>>> from index_data import parse_file, build_index          # doctest: +SKIP
>>> parse_file("corpus/000_f69fb07d1f8a9a60.txt").title
'Hate Crime (1)'
>>> build_index("corpus", ".mqt-index").indexed
1
>>> reindex("corpus", ".mqt-index").unchanged             # incremental update (see reindex.py)
1
"""

from .corpus import iter_corpus, parse_file, parse_text
from .errors import (CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError,
                     IndexVersionError, IndexWriteError, MqtError)
from .model import ANSWERED, HOLDING, UNANSWERED, Answer, Question
from .schema import SCHEMA_VERSION

#: Imported on first use: the writing side (Whoosh's writer, multiprocessing, hashing) costs a
#: one-query ``mqt search`` process ~70 ms it never needs.
_LAZY = {"BuildReport": "build", "Rejected": "build", "build_index": "build",
         "ReindexReport": "reindex", "reindex": "reindex"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'index_data' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

__version__ = "0.1.0"

__all__ = [
    "ANSWERED", "HOLDING", "UNANSWERED", "Answer", "BuildReport", "CorpusError",
    "IndexCorruptError", "IndexLockedError", "IndexMissingError", "IndexVersionError",
    "IndexWriteError", "MqtError",
    "Question", "Rejected", "SCHEMA_VERSION", "build_index", "iter_corpus", "parse_file",
    "parse_text", "ReindexReport", "reindex",
]
