"""The index schema: which fields exist, how each is analysed and stored, and its version.

Bump :data:`SCHEMA_VERSION` whenever a field or an analyzer changes what is written: an index of
another version is refused with a "rebuild the index" message (see :func:`check_index`) instead of
being misread. The version lives in a small JSON file beside Whoosh's own files, read before Whoosh
unpickles anything.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

from whoosh import columns
from whoosh.fields import COLUMN, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Positions

from whoosh.system import pack_uint

from .analysis import (index_counts, index_positions, index_terms, name_analyzer, spelling_analyzer,
                       stem_terms, text_analyzer)
from .errors import IndexCorruptError, IndexMissingError, IndexVersionError
from .model import Question
from . import termvectors

SCHEMA_VERSION = 4
META_FILE = "mqt-index.json"
#: Whoosh's name for the index files (shared by the writing and the reading modules).
INDEX_NAME = "MAIN"

#: Full-text fields (stemmed, with positions for phrases).
TEXT_FIELDS = ("title", "question", "answer")
#: The spelling field holds these fields' text, unstemmed, joined by newlines.
SPELL_SOURCES = TEXT_FIELDS
#: Name/label fields matched word by word, case-insensitively, unstemmed (filters).
NAME_FIELDS = ("asker", "party", "asked_of", "answered_by", "meeting")
#: Facets, counted over a whole result set from per-document columns.
FACETS = ("party", "asker", "asked_of", "year", "status", "meeting")


class MqtText(TEXT):
    """A TEXT field whose indexing skips Whoosh's token-object pipeline.

    ``index()`` gives exactly the postings the field's analyzer would (same terms, positions and
    encoding; ``tests/test_fast_indexing.py`` checks it) from :func:`analysis.index_positions`:
    one regex pass and one cache lookup per token. Queries still use the analyzer.
    """

    def __init__(self, *, drop_stops: bool, stem_words: bool, phrase: bool = True):
        if stem_words:
            analyzer = text_analyzer()
        elif drop_stops:
            analyzer = spelling_analyzer()
        else:
            analyzer = name_analyzer()
        TEXT.__init__(self, analyzer=analyzer, phrase=phrase)
        self.drop_stops = drop_stops
        self.stem_words = stem_words

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            yield from TEXT.index(self, value, **kwargs)
            return
        fmt = self.format
        fb = fmt.field_boost
        if isinstance(fmt, Positions):
            encode = fmt.encode
            for w, poslist in index_positions(value, self.drop_stops, self.stem_words).items():
                yield w.encode("utf-8"), len(poslist), len(poslist) * fb, encode(poslist)
        else:  # Frequency
            for w, n in index_counts(value, self.drop_stops, self.stem_words).items():
                yield w.encode("utf-8"), n, n * fb, pack_uint(n)


def make_schema() -> Schema:
    """A fresh Whoosh schema for mqt's documents."""
    fields = dict(
        id=ID(stored=True, unique=True),
        record=STORED(),  # the whole Question as JSON: hits, snippets and `get(id)` read it
        status=ID(),
        date=NUMERIC(int, bits=32, signed=False, sortable=True),  # meeting date as YYYYMMDD
        spell=MqtText(drop_stops=True, stem_words=False, phrase=False),
        fileinfo=COLUMN(columns.VarBytesColumn()),  # "size:mtime_ns:sha1" of the source file
        # title, question and answer as one term vector (see termvectors): similarity re-ranking
        termvec=COLUMN(columns.VarBytesColumn()),
    )
    for name in TEXT_FIELDS:
        fields[name] = MqtText(drop_stops=True, stem_words=True)
    for name in NAME_FIELDS:
        fields[name] = MqtText(drop_stops=False, stem_words=False)
    for name in ("party", "asker", "asked_of", "status", "meeting"):
        # each value once per segment, a 1- or 2-byte reference per document: a search counts
        # facets from the references without decoding a value per document (at most 65,535
        # distinct values a segment: an Assembly has a few hundred members, parties, meetings)
        fields[f"facet_{name}"] = COLUMN(columns.RefBytesColumn())
    return Schema(**fields)


def date_number(d) -> int:
    """A date as the integer the ``date`` field stores: 2017-09-14 -> 20170914."""
    return d.year * 10000 + d.month * 100 + d.day


def number_date(n: int):
    """Inverse of :func:`date_number`: 20170914 -> ``datetime.date(2017, 9, 14)``."""
    import datetime as dt

    return dt.date(n // 10000, n // 100 % 100, n % 100)


def document_fields(q: Question, fileinfo: str = "", *, termvec: bool = True) -> dict:
    """The field values Whoosh indexes for one question. ``termvec=False`` leaves the term
    vector out, for a writer that counts it from its own analysis of the body (the fast
    segment writer's ``vector``)."""
    answered_by = " \n".join(q.answered_by)
    body = f"{q.title}\n{q.question}\n{q.answer_text}"
    doc = dict(
        id=q.id,
        record=json.dumps(q.to_dict(), ensure_ascii=False, separators=(",", ":")),
        status=q.status,
        date=date_number(q.meeting_date),
        spell=body,  # SPELL_SOURCES joined by newlines
        fileinfo=fileinfo.encode("utf-8"),
        title=q.title,
        question=q.question,
        answer=q.answer_text,
        asker=q.asker,
        party=q.party or "",
        asked_of=q.asked_of,
        answered_by=answered_by,
        meeting=q.meeting,
    )
    for name in ("party", "asker", "asked_of", "status", "meeting"):
        value = getattr(q, name) or ""
        doc[f"facet_{name}"] = value.encode("utf-8")
    if termvec:
        # = the counts of index_positions(body), from the unstemmed words stemmed: the analysis
        # caches the spelling field uses already, not a second chunk cache (~27 MB and ~20% of
        # a build's CPU at 100,000 files, benchmarks/RESULTS.md)
        doc[termvectors.FIELD] = termvectors.encode(Counter(stem_terms(index_terms(body, True, False))))
    return doc


def write_meta(index_dir: str | os.PathLike, **extra) -> None:
    """Record the schema version (and build facts) beside the index files."""
    meta = {"schema_version": SCHEMA_VERSION, **extra}
    path = Path(index_dir) / META_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=2), "utf-8")
    os.replace(tmp, path)


def update_meta(index_dir: str | os.PathLike, **changes) -> None:
    """Change some facts recorded beside the index (after a reindex), keeping the others."""
    write_meta(index_dir, **{**{k: v for k, v in read_meta(index_dir).items()
                                if k != "schema_version"}, **changes})


def read_meta(index_dir: str | os.PathLike) -> dict:
    """The index's metadata; raises the error a user should see when it is missing or foreign."""
    d = Path(index_dir)
    if not d.exists():
        raise IndexMissingError(f"no index at {d}: build one with `mqt index CORPUS_DIR`")
    if not d.is_dir():
        raise IndexMissingError(f"{d} is not a directory, so not an mqt index")
    path = d / META_FILE
    if not path.exists():
        raise IndexMissingError(
            f"{d} is not an mqt index (no {META_FILE}): build one with `mqt index CORPUS_DIR`")
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"cannot read {path}: {e}; rebuild the index") from None


def check_index(index_dir: str | os.PathLike) -> dict:
    """Refuse an index of another schema version with a clear "rebuild" message; return its meta."""
    meta = read_meta(index_dir)
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise IndexVersionError(
            f"the index at {index_dir} has schema version {version}, this mqt needs version "
            f"{SCHEMA_VERSION}: rebuild it with `mqt index CORPUS_DIR`")
    return meta


def damaged_index_error(index_dir, e: BaseException) -> IndexCorruptError:
    """The error for index files Whoosh cannot read (truncated, overwritten...)."""
    detail = repr(str(e))[1:-1][:200]
    return IndexCorruptError(f"cannot read the index at {index_dir} ({type(e).__name__}: {detail}): "
                             f"it is damaged; rebuild it with `mqt index CORPUS_DIR`")


def open_error(index_dir, e: BaseException) -> IndexVersionError | IndexCorruptError:
    """Classify a failure to unpickle an index's schema: a class that moved or vanished (a clean
    name in the message) means another version of mqt wrote it; anything else means damage."""
    if isinstance(e, (AttributeError, ImportError)):
        name = re.search(r"attribute '([^']*)'|module named '([^']*)'", str(e))
        if name and (name[1] or name[2] or "").replace(".", "_").isidentifier():
            return IndexVersionError(f"the index at {index_dir} was written by another version of "
                                     f"mqt ({e}): rebuild it with `mqt index CORPUS_DIR`")
    return damaged_index_error(index_dir, e)
