"""Text analysis: the tokens the issue names, stemming both ways, stopwords, positions."""

import pytest

from index_data.analysis import analyze, stopwords, text_analyzer, tokenize


@pytest.mark.parametrize("text, tokens", [
    ("2017/3660", ["2017", "3660"]),
    ("COVID-19", ["covid", "19"]),
    ("£1.2bn", ["1.2bn"]),
    ("Mayor's", ["mayor"]),
    ("Mayor’s", ["mayor"]),
    ("O’Connell", ["oconnell"]),
    ("O'Connell", ["oconnell"]),
    ("ULEZ", ["ulez"]),
    ("1,000 homes", ["1000", "homes"]),
    ("Siân Berry", ["sian", "berry"]),
    ("the end.", ["the", "end"]),
])
def test_tokens(text, tokens):
    assert tokenize(text) == tokens


def test_stemming_both_ways_and_stopwords_removed():
    assert analyze("crimes") == analyze("crime") == ["crime"]
    assert analyze("investigating investigators")[0] == analyze("investigate")[0]
    assert analyze("The Mayor's policies on policing") == ["mayor", "polici", "polic"]


def test_shipped_stopword_list():
    stops = stopwords()
    assert {"the", "and", "of", "dont"} <= stops
    assert not {"may", "us", "london", "ill"} & stops  # words that matter here stay


def test_positions_skip_stopwords_consistently():
    toks = [(t.text, t.pos) for t in text_analyzer()("Mayor of London", positions=True)]
    assert toks == [("mayor", 0), ("london", 1)]


def test_char_offsets_point_at_the_original_text():
    text = "Hate crimes, COVID-19!"
    spans = [(t.text, text[t.startchar:t.endchar]) for t in text_analyzer()(text, chars=True)]
    assert spans == [("hate", "Hate"), ("crime", "crimes"), ("covid", "COVID"), ("19", "19")]
