"""The indexing fast path (``schema.MqtText``) writes exactly what Whoosh's analyzer path would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.fields import TEXT

from index_data.engine.schema import MqtText, make_schema
from index_data.fields import NAME_FIELDS, TEXT_FIELDS

from conftest import SEED

SAMPLES = [
    SEED.read_text("utf-8"),
    "The Mayor's £1.2bn plan for 1,000 homes in 2017/18: COVID-19, O’Connell and Siân's ULEZ.",
    "the of and to", "", "  ", "Hate crimes hate CRIME hated criminal",
    "ÉCOLE café naïve ﬁnance ½ x² 3.14.15 a''b don't `quote` ‘curly’",
]


def field_of(name):
    """A field of the schema, or ``spelling``: unstemmed words and their counts (what the
    schema's ``spell`` field was before it became a column; the reference of test_lexicon)."""
    if name == "spelling":
        return MqtText(drop_stops=True, stem_words=False, phrase=False)
    return make_schema()[name]


def analyzer_postings(field, value):
    """What Whoosh's own TEXT.index (the analyzer path) yields for ``value``."""
    return sorted(TEXT.index(field, value))


@pytest.mark.parametrize("name", ("title", "question", "answer", "spelling") + NAME_FIELDS)
@pytest.mark.parametrize("text", SAMPLES)
def test_fast_path_matches_analyzer(name, text):
    field = field_of(name)
    fast = sorted(field.index(text))
    assert fast == analyzer_postings(field, text)
    if text.strip() and name in TEXT_FIELDS and text != "the of and to":
        assert fast  # not trivially equal


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["the", "crimes", "Mayor's", "running", "1,000", "O’Neil", "é", "’",
                                  "'", "`", ",", ".", "-", "/", " ", "19", "£", "\n", "X", "s",
                                  "!", "?", "Mr", "\n\n", ". ", '."', "\t", "etc"]),
                max_size=40).map("".join) | st.text(max_size=40))
def test_fast_path_matches_analyzer_on_arbitrary_text(text):
    for name in ("question", "spelling", "asker"):
        field = field_of(name)
        assert sorted(field.index(text)) == analyzer_postings(field, text)
