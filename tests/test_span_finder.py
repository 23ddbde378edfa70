"""SpanFinder (index_data/analysis.py), the snippets' fast matching spans: exactly the spans of
``term_spans`` whose term is one of a query's (and of ``matching_spans``, the path it replaced
for term queries), on real, generated and hypothesis-made texts; and the facts it rests on:
every word starts with its stem's ``stem_key``, and the regex ``\\s`` is ``str.isspace``."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index_data import snowball
from index_data.analysis import (SpanFinder, matching_spans, normalize_token, stem_key, term_spans,
                                 tokenize)

from conftest import REAL_DEV, ROOT, SEED

SUFFIXES = ["", "s", "es", "ies", "ied", "ed", "ing", "ingly", "edly", "eed", "eedly", "y", "ly",
            "ily", "ization", "ational", "fulness", "ousness", "iveness", "tional", "biliti",
            "bility", "lessli", "entli", "ation", "alism", "aliti", "ousli", "iviti", "fulli",
            "enci", "ency", "anci", "ancy", "abli", "ably", "izer", "ator", "alli", "bli", "bly",
            "ogi", "ogy", "li", "alize", "icate", "iciti", "ative", "ical", "ness", "ful",
            "ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate", "iti",
            "ity", "ous", "ive", "ize", "ion", "al", "er", "ic", "e", "ll", "at", "bl", "iz"]


def _key_misses(words) -> list[tuple[str, str]]:
    """Normalised words that do not start with their stem's key, with that stem."""
    return [(w, s) for w in words if not w.startswith(stem_key(s := snowball.stem(w)))]


def test_every_word_starts_with_its_stems_key():
    texts = [(ROOT / "benchmarks/data/cranfield/cran.all.1400").read_text("utf-8", "replace"),
             SEED.read_text("utf-8")]
    if REAL_DEV.is_dir():
        texts += [p.read_text("utf-8") for p in sorted(REAL_DEV.glob("*.txt"))]
    words = {w for t in texts for w in tokenize(t)}
    assert len(words) > 8000
    edge = ["dying", "lying", "tying", "skies", "skis", "idly", "gently", "ugly", "early", "only",
            "singly", "news", "innings", "proceeding", "exceeded", "hoping", "happy", "cries",
            "ties", "ability", "usability", "agency", "sensibly", "capably", "a", "ys", "by",
            "2016", "1.2bn", "19th", "1000s", "o`connell", "naïve", "siân"]
    assert _key_misses(words | set(edge)) == []


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="abcdeilnorstuyw", min_size=1, max_size=7), st.sampled_from(SUFFIXES),
       st.sampled_from(SUFFIXES))
def test_every_generated_word_starts_with_its_stems_key(stem, suffix, suffix2):
    assert _key_misses([stem + suffix, stem + suffix + suffix2, stem + suffix2 + suffix]) == []


@pytest.mark.slow
def test_every_english_word_starts_with_its_stems_key():
    from english_words import get_english_words_set

    words = {w for t in get_english_words_set(["web2", "gcide"], lower=True, alpha=False)
             for w in tokenize(t)}
    assert len(words) > 200_000
    assert _key_misses(words) == []


def test_regex_white_space_is_str_white_space():
    """The finder's chunks (``\\S*``, ``\\s``) are ``str.split``'s, in raw and lower-cased text."""
    space = re.compile(r"\s")
    for c in map(chr, range(sys.maxunicode + 1)):
        assert bool(space.match(c)) == c.isspace(), hex(ord(c))
        low = c.lower()
        assert low.isspace() == c.isspace() if len(low) == 1 else not c.isspace(), hex(ord(c))


TEXTS = [
    "Hate crimes, COVID-19! hate-crime  crimes\u00a0crime\u3000Crimes.crimes (crimes)",
    "The Mayor's £1.2bn plan,\u00a0for 1,000 homes\u2028in 2017/18: O’Connell Siân's ULEZ",
    "", "   ", "crime", " crime ", "crimes crimes crimes", "xcrimes crimesx crimes-x x-crimes",
    "O'Connell o`connell O‘CONNELL oconnell's İstanbul istanbul ﬁre fire Kelvin \u212aelvin",
    "HOPING hopes hoped dying DIE dies 2016/17 2,016 20,16 1,000,000 1.000 10 £10,000bn",
    "Naïve NAIVE naive\tnaivety\x1cnaive\x85naive\u2003NAÏVE Straße strasse ǅemal džemal",
]


def _want(text: str, terms: frozenset[str]) -> list[tuple[str, int, int]]:
    return [x for x in term_spans(text) if x[0] in terms]


def _check(texts: list[str], terms: frozenset[str]) -> None:
    """One finder (and one chunk cache) for all the texts, as for one query's hits."""
    find = SpanFinder(terms)
    cache: dict = {}
    for text in texts:
        want = _want(text, terms)
        assert find(text) == want, (sorted(terms), text[:80])
        assert matching_spans(text, terms.__contains__, cache, terms) == want


def _terms_of(texts: list[str]) -> list[str]:
    return sorted({t for text in texts for t, _, _ in term_spans(text)})


def test_finder_equals_term_spans_on_awkward_texts():
    texts = TEXTS + [t.upper() for t in TEXTS] + [t + " " + t for t in TEXTS]
    words = _terms_of(texts)
    assert {"oconnel", "naiv", "hope", "die", "2016", "1000", "10000bn", "sian"} <= set(words)
    for terms in [frozenset(), frozenset({""}), frozenset({"crime"}), frozenset({"a b", "crime"}),
                  frozenset({"hate", "mayor", "sian", "1.2bn", "2017"}), frozenset(words),
                  frozenset({"oconnel", "istanbul", "fire", "kelvin"}), frozenset({"1000000", "16"}),
                  frozenset({"10000bn", "2016", "20"}), frozenset({"naiv", "strass", "džemal"})]:
        _check(texts, terms)
    for w in words:
        _check(texts, frozenset({w}))


def test_finder_equals_term_spans_on_questions(question_texts):
    """Every text for many queries: frequent and rare terms, one to four at a time."""
    seen: dict[str, int] = {}
    texts = question_texts
    for text in texts:
        for t, _, _ in term_spans(text):
            seen[t] = seen.get(t, 0) + 1
    words = sorted(seen, key=lambda t: (-seen[t], t))
    assert len(texts) > 100 and len(words) > 1000
    queries = [frozenset(words[i:i + 1 + i % 4]) for i in range(0, len(words), max(1, len(words) // 150))]
    queries += [frozenset({w}) for w in words if not w.isalpha()][:40]
    for terms in queries:
        _check(texts, terms)


_ALPHABET = list("abcABC iIeEnNsy19,.'’‘`-\u00a0\u3000\n\tÉéİıßﬁ\u212a£–") + ["ing", "ies", "ed", "'s"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=80).map("".join), st.data())
def test_finder_equals_term_spans_on_any_text(text, data):
    words = _terms_of([text])
    chosen = data.draw(st.lists(st.sampled_from(words), max_size=3)) if words else []
    extra = data.draw(st.lists(st.sampled_from(["a", "ab", "1", "19", "ea", "b", "abc", "ss", "i"]),
                               max_size=2))
    _check([text, text.upper(), normalize_token(text)], frozenset(chosen + extra))
