"""Text analysis: the tokens the issue names, stemming both ways, stopwords, positions."""

import pytest

from index_data.analysis import analyze, stopwords, tokenize
from index_data.engine.analyzers import name_analyzer, spelling_analyzer, text_analyzer


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


def test_removed_stopwords_and_sentence_ends_keep_positions():
    def positions(text):
        return [(t.text, t.pos) for t in text_analyzer()(text, positions=True)]

    assert positions("Mayor of London") == [("mayor", 0), ("london", 2)]
    assert positions("rough. And against sleeping") == [("rough", 0), ("sleep", 4)]
    assert positions("knife\n\ncrime") == [("knife", 0), ("crime", 2)]
    assert positions("Mr. Smith and J. Bloggs") == [("mr", 0), ("smith", 1), ("j", 3), ("blogg", 4)]
    assert positions("U.S.A. rules") == [("u", 0), ("rule", 3)]  # "A." an initial: no end
    assert positions("Housing? Transport!") == [("hous", 0), ("transport", 2)]
    assert positions("end .Net") == [("end", 0), ("net", 1)]  # "." before a word: no end
    assert positions("end . next") == [("end", 0), ("next", 2)]


@pytest.mark.parametrize("text", [
    "rough. And against sleeping", "Mayor of London\n\nThe secretary of state. Mr. Smith!",
    "a. b? c! d . e .f g.h\n \n i", ". . start", "end.", "no. 10 St. Paul's", "x.\ty\n\nz",
])
def test_index_tokens_positions_equal_the_analyzers(text):
    from index_data.analysis import index_positions

    analyzer = {}
    for t in text_analyzer()(text, positions=True):
        analyzer.setdefault(t.text, []).append(t.pos)
    assert index_positions(text) == analyzer


def test_char_offsets_point_at_the_original_text():
    text = "Hate crimes, COVID-19!"
    spans = [(t.text, text[t.startchar:t.endchar]) for t in text_analyzer()(text, chars=True)]
    assert spans == [("hate", "Hate"), ("crime", "crimes"), ("covid", "COVID"), ("19", "19")]


def test_no_token_contains_whitespace():
    """Indexing splits text on whitespace before the token pattern (``analysis._TermCache``):
    that is the same only if no character ``str.split`` splits on can be part of a token."""
    import sys

    from index_data.analysis import TOKEN_RE as _TOKEN_RE

    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if f"a{c}b".split() == ["a", "b"]]
    assert len(spaces) > 20 and "\u00a0" in spaces and "\u3000" in spaces
    for c in spaces:
        for left, right in (("a", "b"), ("1", "2"), ("a'", "b"), ("1,", "2"), ("1.", "5")):
            assert _TOKEN_RE.findall(left + c + right) == _TOKEN_RE.findall(left) + _TOKEN_RE.findall(right)


def test_index_terms_equal_the_analyzers_tokens():
    from index_data.analysis import index_terms

    text = ("The Mayor's £1.2bn plan,\u00a0for 1,000 homes\u2028in 2017/18: COVID-19 (O’Connell) "
            "Siân's ULEZ\u3000crimes\tcrimes.")
    for analyzer, flags in ((text_analyzer(), (True, True)), (spelling_analyzer(), (True, False)),
                            (name_analyzer(), (False, False))):
        want = [t.text for t in analyzer(text)]
        assert index_terms(text, *flags) == want and len(want) > 10
