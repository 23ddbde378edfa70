"""mqt's index side: the document model, the corpus parser, text analysis, the schema and building.

>>> from index_data import parse_file, build_index          # doctest: +SKIP
>>> parse_file("corpus/000_f69fb07d1f8a9a60.txt").title
'Hate Crime (1)'
>>> build_index("corpus", ".mqt-index").indexed
1
>>> reindex("corpus", ".mqt-index").unchanged             # incremental update (see reindex.py)
1
"""

from .build import BuildReport, Rejected, build_index
from .corpus import iter_corpus, parse_file, parse_text
from .errors import (CorpusError, IndexCorruptError, IndexLockedError, IndexMissingError,
                     IndexVersionError, IndexWriteError, MqtError)
from .model import ANSWERED, HOLDING, UNANSWERED, Answer, Question
from .reindex import ReindexReport, reindex
from .schema import SCHEMA_VERSION

__version__ = "0.1.0"

__all__ = [
    "ANSWERED", "HOLDING", "UNANSWERED", "Answer", "BuildReport", "CorpusError",
    "IndexCorruptError", "IndexLockedError", "IndexMissingError", "IndexVersionError",
    "IndexWriteError", "MqtError",
    "Question", "Rejected", "SCHEMA_VERSION", "build_index", "iter_corpus", "parse_file",
    "parse_text", "ReindexReport", "reindex",
]
