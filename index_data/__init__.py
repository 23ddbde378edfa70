"""mqt's index side: the document model, the corpus parser, text analysis, the schema and building.

>>> from index_data import parse_file, build_index          # doctest: +SKIP
>>> parse_file("corpus/000_f69fb07d1f8a9a60.txt").title
'Hate Crime (1)'
>>> build_index("corpus", ".mqt-index").indexed
1
>>> reindex("corpus", ".mqt-index").unchanged             # incremental update (see reindex.py)
1
"""

import sys as _sys
import types as _types

from .corpus import iter_corpus, parse_file, parse_text
from .errors import (CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError,
                     IndexVersionError, IndexWriteError, MqtError, NotFoundError,
                     TooManyDeletionsError)
from .model import ANSWERED, HOLDING, UNANSWERED, Answer, Question
from .schema import SCHEMA_VERSION

#: Imported on first use: the writing side (Whoosh's writer, multiprocessing, hashing) costs a
#: one-query ``mqt search`` process ~70 ms it never needs.
_LAZY = {"BuildReport": "build", "Rejected": "build", "build_index": "build",
         "ReindexReport": "reindex"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'index_data' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


class _Package(_types.ModuleType):
    """``index_data.reindex`` is the function (as when it was imported eagerly), also after the
    ``index_data.reindex`` submodule is imported: importing a submodule sets the package
    attribute of its name to the module, which would otherwise hide the lazy function."""

    @property
    def reindex(self):
        fn = self.__dict__.get("_reindex_function")
        if fn is None:
            from .reindex import reindex as fn
            self.__dict__["_reindex_function"] = fn
        return fn

    @reindex.setter
    def reindex(self, value):
        if not isinstance(value, _types.ModuleType):  # the import system registering the module
            self.__dict__["_reindex_function"] = value


_sys.modules[__name__].__class__ = _Package

__version__ = "0.1.0"

__all__ = [
    "ANSWERED", "HOLDING", "UNANSWERED", "Answer", "BuildReport", "CorpusError",
    "IndexCorruptError", "IndexLockedError", "IndexMissingError", "IndexVersionError",
    "IndexWriteError", "MqtError", "NotFoundError", "TooManyDeletionsError",
    "Question", "Rejected", "SCHEMA_VERSION", "build_index", "iter_corpus", "parse_file",
    "parse_text", "ReindexReport", "reindex",
]
