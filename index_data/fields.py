"""The index's fields, by role, and how a date is stored: names both sides agree on.

Engine-agnostic (no Whoosh): the engine's schema (``index_data.engine.schema``) declares these
fields, the query language restricts words to :data:`TEXT_FIELDS`, facets are counted over
:data:`FACETS`. Changing what a field holds means bumping ``meta.SCHEMA_VERSION``.
"""

from __future__ import annotations

import datetime as dt

#: Full-text fields (stemmed, with positions for phrases): a word without a field is searched in
#: all of them (BM25F, see ``index_data.engine.scoring``).
TEXT_FIELDS = ("title", "question", "answer")
#: The spelling field ("did you mean", prefix and fuzzy expansion) holds these fields' text,
#: unstemmed, joined by newlines.
SPELL_FIELD = "spell"
SPELL_SOURCES = TEXT_FIELDS
#: Name/label fields matched word by word, case-insensitively, unstemmed (filters).
NAME_FIELDS = ("asker", "party", "asked_of", "answered_by", "meeting")
#: Facets, counted over a whole result set; all but ``year`` have a ``facet_<name>`` column
#: (``year`` comes from the date).
FACETS = ("party", "asker", "asked_of", "year", "status", "meeting")
#: The facets stored as a column of their own, and that column's name.
COLUMN_FACETS = ("party", "asker", "asked_of", "status", "meeting")


def facet_column(name: str) -> str:
    """The column holding facet ``name``'s value of each document: ``facet_party``..."""
    return f"facet_{name}"


def date_number(d: dt.date) -> int:
    """A date as the integer the ``date`` field stores: 2017-09-14 -> 20170914."""
    return d.year * 10000 + d.month * 100 + d.day


def number_date(n: int) -> dt.date:
    """Inverse of :func:`date_number`: 20170914 -> ``datetime.date(2017, 9, 14)``."""
    return dt.date(n // 10000, n // 100 % 100, n % 100)
