"""The Whoosh schema of an mqt index: its fields, how each is analysed and stored, and the values
one question gives them.

Whoosh pickles the schema (field classes and analyzers included) into the index, so
:class:`MqtText` must stay importable at this path (``index_data.engine.schema``); bump
``meta.SCHEMA_VERSION`` when it moves or when a field changes what is written. The field names
and roles are ``index_data.fields``'s.
"""

from __future__ import annotations

import json
from collections import Counter

from whoosh import columns
from whoosh.fields import COLUMN, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Positions
from whoosh.system import pack_uint

from .. import termvectors
from ..analysis import index_counts, index_positions, index_terms, stem_terms
from ..fields import COLUMN_FACETS, NAME_FIELDS, SPELL_FIELD, TEXT_FIELDS, date_number, facet_column
from ..model import Question
from .analyzers import name_analyzer, spelling_analyzer, text_analyzer
from .lexicon import encode_words

#: Whoosh's name for the index files (shared by the writing and the reading modules).
INDEX_NAME = "MAIN"


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
        # the distinct unstemmed words of title, question and answer (see lexicon): the
        # record of the index's word list, which is kept outside Whoosh's posting lists
        spell=COLUMN(columns.VarBytesColumn()),
        # the source file's sources.FileInfo: "size:mtime_ns:sha1:relpath"
        fileinfo=COLUMN(columns.VarBytesColumn()),
        # title, question and answer as one term vector (see termvectors): similarity re-ranking
        termvec=COLUMN(columns.VarBytesColumn()),
    )
    for name in TEXT_FIELDS:
        fields[name] = MqtText(drop_stops=True, stem_words=True)
    for name in NAME_FIELDS:
        fields[name] = MqtText(drop_stops=False, stem_words=False)
    for name in COLUMN_FACETS:
        # each value once per segment, a 1- or 2-byte reference per document: a search counts
        # facets from the references without decoding a value per document (at most 65,535
        # distinct values a segment: an Assembly has a few hundred members, parties, meetings)
        fields[facet_column(name)] = COLUMN(columns.RefBytesColumn())
    return Schema(**fields)


def document_fields(q: Question, fileinfo: str = "", *, derived: bool = True) -> dict:
    """The field values Whoosh indexes for one question (``fileinfo``: its
    ``sources.FileInfo.format()``). ``derived=False`` leaves out the columns counted from the
    body's analysis (the term vector and the spelling words), for a writer that counts them
    from its own (the fast segment writer's ``vector`` and ``derived``)."""
    answered_by = " \n".join(q.answered_by)
    body = f"{q.title}\n{q.question}\n{q.answer_text}"
    doc = dict(
        id=q.id,
        record=json.dumps(q.to_dict(), ensure_ascii=False, separators=(",", ":")),
        status=q.status,
        date=date_number(q.meeting_date),
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
    for name in COLUMN_FACETS:
        value = getattr(q, name) or ""
        doc[facet_column(name)] = value.encode("utf-8")
    if derived:
        words = index_terms(body, True, False)  # unstemmed, stopwords dropped
        doc[SPELL_FIELD] = encode_words(words)
        # = the counts of index_positions(body), from the unstemmed words stemmed: the analysis
        # caches the spelling words use already, not a second chunk cache (~27 MB and ~20% of
        # a build's CPU at 100,000 files, benchmarks/RESULTS.md)
        doc[termvectors.FIELD] = termvectors.encode(Counter(stem_terms(words)))
    return doc

