"""Text analysis: how text becomes index terms, the same way at index time and at query time.

Engine-agnostic functions (no Whoosh): :func:`tokenize`, :func:`stem`, :func:`index_terms`...
The engine's Whoosh analyzers (``index_data.engine.analyzers``) are built from these and must
give the same terms (``tests/test_analysis.py`` checks it). Change what they produce and you must
bump ``meta.SCHEMA_VERSION``.

Tokens (see ``tests/test_analysis.py``):

- words, lower-cased and accent-folded: ``Siân`` -> ``sian``; ``ULEZ`` -> ``ulez``
- apostrophes: possessive ``'s`` dropped, inner ones removed, curly or straight:
  ``Mayor's`` -> ``mayor``; ``O’Connell`` -> ``oconnell``
- numbers keep decimals and a unit suffix, thousands commas go: ``£1.2bn`` -> ``1.2bn``,
  ``1,000`` -> ``1000``
- ``-`` and ``/`` separate tokens: ``COVID-19`` -> ``covid`` ``19`` and ``2017/3660`` -> ``2017``
  ``3660``; the query side turns such a word into a phrase, so ``COVID-19`` still matches exactly.

Body text then loses stopwords (a shipped list, ``data/stopwords_en.txt``) and is stemmed with
NLTK's Snowball English stemmer (pure code: no NLTK data is needed).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import chain, compress
from operator import not_
from pathlib import Path

from . import snowball

TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*[^\W_]*|[^\W_]+(?:['’‘`][^\W_]+)*", re.UNICODE)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})
_NUMBER_COMMA_RE = re.compile(r"(?<=\d),(?=\d)")


def normalize_token(raw: str) -> str:
    """One raw token as an index term before stemming: ``"O’Connell"`` -> ``"oconnell"``."""
    text = raw.lower()
    if not text.isascii():
        text = text.translate(_APOSTROPHES)
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if "'" in text:
        if text.endswith("'s"):
            text = text[:-2]
        text = text.replace("'", "")
    if "," in text:
        text = _NUMBER_COMMA_RE.sub("", text)
    return text


def tokenize(text: str) -> list[str]:
    """The normalised tokens of ``text`` (no stopwords removed, no stemming)."""
    return [t for t in (normalize_token(m.group()) for m in TOKEN_RE.finditer(text)) if t]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The shipped English stopword list (one word a line, ``#`` comments)."""
    # package data is installed as files beside the modules (pyproject.toml); reading it through
    # importlib.resources would cost a one-query process ~3 ms of imports
    data = (Path(__file__).parent / "data" / "stopwords_en.txt").read_text("utf-8")
    return frozenset(
        w for w in (line.split("#", 1)[0].strip().lower() for line in data.splitlines()) if w
    )


class _StemCache(dict):
    """The process-wide stem cache (word -> stem); a miss stems the word (see :func:`stem`)."""

    def __missing__(self, word: str) -> str:
        s = _table.get(word) if _table is not None else None
        if s is None:
            s = _stemmer.stem(word) if _stemmer is not None else snowball.stem(word)
        if len(self) >= _STEM_CACHE_MAX:
            self.clear()
        self[word] = s
        return s


_STEM_CACHE = _StemCache()
_STEM_CACHE_MAX = 500_000
_stemmer = None
_table = None  # a stemtable.StemTable (see use_stem_table)


def stem_cache() -> dict[str, str]:
    """The process-wide stem cache itself (word -> stem, filled on lookup): for loops that
    stem many words (the engine's analyzers), ``cache[word]`` without a call per word."""
    return _STEM_CACHE


def stem(word: str) -> str:
    """The Snowball English stem of a normalised word, cached (``"crimes"`` -> ``"crime"``).

    A word the attached stem table holds (see :func:`use_stem_table`) is not stemmed again. The
    index side stems with NLTK's ``EnglishStemmer`` once :func:`warm_up` has loaded it; without
    it (a search) the same stems come from ``snowball.stem``, NLTK's algorithm without NLTK's
    0.7 s import (``tests/test_snowball.py`` checks they agree).
    """
    return _STEM_CACHE[word]


def warm_up(light: bool = False) -> None:
    """Load NLTK's stemmer now (~0.1-0.7 s), the index side's stemmer: a build or a reindex
    calls it before analysing documents.

    ``light`` keeps NLTK from importing SciPy and NumPy, which stemming does not use but which
    NLTK's package imports whenever they are installed (~65 MB and ~0.5 s): NLTK then runs
    without them in this process, so it is for mqt's own worker processes only. If NLTK cannot
    be imported that way, it is imported normally.
    """
    global _stemmer
    if _stemmer is not None:
        return
    blocked = [m for m in _HEAVY_MODULES if m not in sys.modules] if light else []
    try:
        for m in blocked:
            sys.modules[m] = None  # type: ignore[assignment]  # "import scipy" now raises ImportError
        try:
            from nltk.stem.snowball import EnglishStemmer
        except ImportError:
            if not blocked:
                raise
            for name in [n for n in sys.modules if n == "nltk" or n.startswith("nltk.")]:
                del sys.modules[name]
            for m in blocked:
                del sys.modules[m]
            blocked = []
            from nltk.stem.snowball import EnglishStemmer
    finally:
        for m in blocked:
            if sys.modules.get(m, False) is None:
                del sys.modules[m]
    _stemmer = EnglishStemmer()


#: Optional dependencies NLTK imports but stemming does not use (see :func:`warm_up`).
_HEAVY_MODULES = ("scipy", "numpy")


def use_stem_table(path) -> bool:
    """Look stems up in an index's stem table (``stemtable.FILE``) from now on, instead of
    stemming; False (and no table) if it is missing or damaged."""
    global _table
    from .stemtable import StemTable

    _table = StemTable.load(path)
    return _table is not None


def term_spans(text: str):
    """Yield ``(term, start, end)`` for each body-text term, as indexed, with its character span.

    What the snippet builder uses to find matches (stemmed variants included) in stored text.
    """
    stops = stopwords()
    cache = stem_cache()
    for m in TOKEN_RE.finditer(text):
        t = normalize_token(m.group())
        if not t or t in stops:
            continue
        yield cache[t], m.start(), m.end()


#: In a token list (:func:`index_tokens`), a position no term fills: a removed stopword.
GAP = ""
#: In a token list, a sentence end or paragraph break: one position before the next token.
SENTENCE_END = "\x00"
#: Full stops that do not end a sentence after these words (and after single letters, initials):
#: "Mr. Smith", "St. Paul's", "No. 10", "Cllr. Jones".
ABBREVIATIONS = frozenset("""mr mrs ms mx dr st no nos vs cllr prof rev revd sr jr rt hon gen col
capt cdr lt sgt insp supt det ch cmdr etc approx dept govt inc ltd co corp est fig vol pp op cf
viz ca jan feb mar apr jun jul aug sep sept oct nov dec""".split())
_SENTENCE_PUNCT = frozenset(".!?")
#: A paragraph break: two line ends with only white space between them.
PARAGRAPH_RE = re.compile(r"\n\s*\n")


def ends_sentence(trailer: str, previous: str) -> bool:
    """Whether ``trailer``, the punctuation written right after the token ``previous``
    (normalised) and before white space, ends a sentence: it holds ``.``, ``!`` or ``?``, and is
    not just a full stop after an abbreviation or an initial ("Mr.", "J.")."""
    punct = _SENTENCE_PUNCT.intersection(trailer)
    if not punct:
        return False
    if punct == {"."} and (previous in ABBREVIATIONS or (len(previous) == 1 and previous.isalpha())):
        return False
    return True


def sentence_break(separator: str, previous: str) -> bool:
    """Whether the text between two tokens ends a sentence (positions keep a gap there, so a
    phrase does not match across it): a paragraph break; sentence punctuation written right
    after ``previous`` (normalised) and followed by white space (:func:`ends_sentence`); or
    sentence punctuation standing alone between white space (``rough . Sleeping``). Without
    white space there is no break ("U.S.A", "rough.Sleeping"); punctuation right before the next
    token is not one either."""
    if not any(c.isspace() for c in separator):
        return False
    if "\n" in separator and PARAGRAPH_RE.search(separator):
        return True
    pieces = separator.split()
    starts, ends = separator[0].isspace(), separator[-1].isspace()
    trailer = "" if starts else pieces[0]
    middle = pieces[(0 if starts else 1):(len(pieces) if ends else len(pieces) - 1)]
    return ends_sentence(trailer, previous) or any(_SENTENCE_PUNCT.intersection(p) for p in middle)


def matching_spans(text: str, is_match, cache: dict, terms=None) -> list[tuple[str, int, int]]:
    """The spans of :func:`term_spans` whose term passes ``is_match``, in order, looking at each
    distinct whitespace-separated chunk of ``text`` once. ``cache`` (chunk -> its matching
    ``(term, start, end)`` within the chunk) is meant to be shared by the texts of one query's
    snippets. With ``terms`` (a set such that ``is_match(t)`` is ``t in terms``), the chunks are
    screened in C against the indexer's cache of each chunk's terms (no Python step per
    chunk). No token contains whitespace (see :class:`_TermCache`), so a chunk's tokens are the
    text's tokens at the chunk's offset; the chunks with a match are then found with
    ``str.find``. A query's snippets cost about half of what :func:`term_spans` made them
    (``benchmarks/RESULTS.md``)."""
    uniq = list(set(text.split()))
    if terms is not None:
        stems = _term_cache(True, True)  # a chunk's terms (and markers, which match nothing)
        uniq = list(compress(uniq, map(not_, map(terms.isdisjoint, map(stems.__getitem__, uniq)))))
    found = []
    for chunk in uniq:
        rel = cache.get(chunk)
        if rel is None:
            rel = cache[chunk] = tuple(x for x in term_spans(chunk) if is_match(x[0]))
        if rel:
            found.append((chunk, rel))
    if not found:
        return []
    out: list[tuple[str, int, int]] = []
    n = len(text)
    for chunk, rel in found:
        size = len(chunk)
        pos = text.find(chunk)
        while pos >= 0:
            end = pos + size
            if (pos == 0 or text[pos - 1].isspace()) and (end == n or text[end].isspace()):
                out.extend((t, pos + a, pos + b) for t, a, b in rel)
                pos = text.find(chunk, end)
            else:
                pos = text.find(chunk, pos + 1)
    out.sort(key=lambda x: x[1])
    return out


#: A word's stem differs from the word itself only in its last letters: every normalised word
#: starts with its stem but for at most this many of the stem's letters (Snowball English
#: replaces suffixes: ``hoping`` -> ``hope``, ``happy`` -> ``happi``, ``dying`` -> ``die``).
#: ``tests/test_analysis.py`` checks it over an index's vocabulary, a 235,000-word English list
#: and generated words.
STEM_TAIL = 2


def stem_key(term: str) -> str:
    """A prefix of every normalised word whose stem is ``term`` (never empty for a term):
    ``stem_key("hope")`` -> ``"ho"`` (``hoping``, ``hopes``)."""
    return term[:max(1, len(term) - STEM_TAIL)]


#: Non-ASCII characters that are never part of a token nor an apostrophe (so they do not make
#: a chunk's tokens differ from its lower-cased ASCII letters): what :class:`SpanFinder` skips.
_PLAIN = "".join(c for c in "£–—“”…•€°·§©®±×÷«»¬¦¨¯´¸¿¡¤¥¢"
                 if not TOKEN_RE.search(c) and c not in "'’‘`")
_UNUSUAL_RE = re.compile(f"[^\\x00-\\x7f\\s{re.escape(_PLAIN)}]")
_DIGIT_COMMA_RE = re.compile(r"\d,\d")
_SPACE_RE = re.compile(r"\s")
_CHUNK_REST_RE = re.compile(r"\S*")


class SpanFinder:
    """:func:`matching_spans` for one query's set of terms, for its hits' texts: the same spans,
    found by ``str.find`` of a few keys instead of a look-up per whitespace-separated chunk.

    A token whose lower-cased text is plain ASCII (no apostrophe, no comma between digits) is
    its own normalised word, and a word starts with the :func:`stem_key` of its stem; so a
    chunk can hold a matching token only if its lower-cased text contains a term's key, an
    apostrophe, a comma between digits (when a key starts with a digit) or a non-ASCII
    character other than :data:`_PLAIN`'s. Only those chunks are analysed, once per query
    (they are cached), and about half the time of :func:`matching_spans` goes.
    """

    __slots__ = ("terms", "cache", "keys", "digits", "exact")

    def __init__(self, terms: frozenset[str]):
        self.terms = terms
        self.cache: dict[str, tuple] = {}  # chunk -> its matching (term, start, end) within it
        # a term holding white space matches no token; one that is empty could (a GAP)
        keys = {stem_key(t) for t in terms if t and not _SPACE_RE.search(t)}
        self.exact = "" in terms
        self.digits = any(k[0].isdigit() for k in keys)
        if keys:
            keys |= {"'", "`"}  # apostrophes, taken out of words: a chunk holding one is analysed
        # a chunk holding a key holds any key inside it: str.find per key (no pattern to compile)
        self.keys = sorted(k for k in keys if not any(o != k and o in k for o in keys))

    def __call__(self, text: str) -> list[tuple[str, int, int]]:
        """The spans of :func:`term_spans` in ``text`` whose term is one of the query's."""
        if self.exact:
            return matching_spans(text, self.terms.__contains__, self.cache, self.terms)
        if not self.keys:
            return []
        low = text.lower()
        if len(low) != len(text):  # a letter whose lower case is longer (İ): offsets differ
            return matching_spans(text, self.terms.__contains__, self.cache, self.terms)
        found: dict[int, int] = {}  # candidate chunks: start -> end
        find = low.find
        for key in self.keys:
            p = find(key)
            while p >= 0:
                end = _chunk_end(low, p)
                found[_chunk_start(low, p)] = end
                p = find(key, end)
        more: list[int] = []
        if not low.isascii():
            more += [m.start() for m in _UNUSUAL_RE.finditer(low)]
        if self.digits and "," in low:
            more += [m.start() for m in _DIGIT_COMMA_RE.finditer(low)]
        for p in more:
            found[_chunk_start(low, p)] = _chunk_end(low, p)
        if not found:
            return []
        out: list[tuple[str, int, int]] = []
        cache, terms = self.cache, self.terms
        for a in sorted(found):
            chunk = text[a:found[a]]
            rel = cache.get(chunk)
            if rel is None:
                rel = cache[chunk] = tuple(x for x in term_spans(chunk) if x[0] in terms)
            if rel:
                out.extend([(t, a + s, a + e) for t, s, e in rel])
        return out


def _chunk_end(text: str, i: int) -> int:
    """Where the whitespace-separated chunk holding ``text[i]`` ends."""
    m = _CHUNK_REST_RE.match(text, i)
    return m.end() if m else i


def _chunk_start(text: str, i: int) -> int:
    """Where the whitespace-separated chunk holding ``text[i]`` starts (a key is most often a
    word's start: no step back)."""
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i


class _TermCache(dict):
    """Whitespace-separated chunk of text -> its tokens (a tuple) for one kind of analysis,
    computed on first sight. A dict subclass so that ``map(cache.__getitem__, text.split())``
    looks chunks up without a Python-level step per chunk.

    Splitting on whitespace first gives the same tokens as running the token pattern over the
    whole text (no token contains whitespace: ``tests/test_analysis.py`` checks every
    character), and ``str.split`` is ~6x faster than the pattern; most chunks are one word.
    With ``drop_stops`` a stopword is kept as :data:`GAP` and a chunk that ends a sentence
    (:func:`sentence_break`) ends with :data:`SENTENCE_END`, so positions can keep them.
    """

    def __init__(self, drop_stops: bool, stem_words: bool):
        super().__init__()
        self.drop_stops = drop_stops
        self.stem_words = stem_words

    def __missing__(self, chunk: str) -> tuple[str, ...]:
        stops = stopwords() if self.drop_stops else ()
        terms: list[str] = []
        last, end = "", 0  # the last token (normalised) and where it ends in the chunk
        for m in TOKEN_RE.finditer(chunk):
            term = normalize_token(m.group())
            if not term:
                continue
            last, end = term, m.end()
            if term in stops:
                terms.append(GAP)
                continue
            if self.stem_words:
                term = stem(term)
                if not term:
                    terms.append(GAP)
                    continue
            terms.append(term)
        if self.drop_stops and (ends_sentence(chunk[end:], last) if last else
                                _SENTENCE_PUNCT.intersection(chunk)):
            terms.append(SENTENCE_END)
        if len(self) >= _TERM_CACHE_MAX:
            self.clear()
        out = self[chunk] = tuple(terms)
        return out


#: Per analysis kind (drop_stops, stem_words), text chunk -> index terms.
_TERM_CACHES: dict[tuple[bool, bool], _TermCache] = {}
_TERM_CACHE_MAX = 500_000


def _term_cache(drop_stops: bool, stem_words: bool) -> _TermCache:
    cache = _TERM_CACHES.get((drop_stops, stem_words))
    if cache is None:
        cache = _TERM_CACHES[(drop_stops, stem_words)] = _TermCache(drop_stops, stem_words)
    return cache


def index_tokens(text: str, drop_stops: bool = True, stem_words: bool = True) -> list[str]:
    """The index terms of ``text`` in order with, when stopwords are dropped, :data:`GAP` where
    one was and :data:`SENTENCE_END` at sentence ends and paragraph breaks: what positions are
    counted from (:func:`term_positions`), exactly as the engine's analyzers number them."""
    cache = _term_cache(drop_stops, stem_words)
    if not drop_stops or "\n" not in text or not PARAGRAPH_RE.search(text):
        return list(chain.from_iterable(map(cache.__getitem__, text.split())))
    out: list[str] = []
    for para in PARAGRAPH_RE.split(text):
        if out:
            out.append(SENTENCE_END)
        out.extend(chain.from_iterable(map(cache.__getitem__, para.split())))
    return out


def real_terms(tokens: list[str]) -> list[str]:
    """The terms of :func:`index_tokens`'s list, markers left out."""
    return [t for t in tokens if t > SENTENCE_END]  # GAP ("") and "\x00" sort first


def index_terms(text: str, drop_stops: bool = True, stem_words: bool = True) -> list[str]:
    """The index terms of ``text`` in order, dropped tokens left out: exactly the token texts
    ``MqtTokenizer | StopStemFilter`` yields at index time, with one cache lookup per
    whitespace-separated chunk. ``drop_stops=False`` is the name analyzer."""
    cache = _term_cache(drop_stops, stem_words)
    if not drop_stops:
        return list(chain.from_iterable(map(cache.__getitem__, text.split())))
    return [t for t in chain.from_iterable(map(cache.__getitem__, text.split())) if t > SENTENCE_END]


def stem_terms(words: list[str]) -> list[str]:
    """Stems of unstemmed index terms (``index_terms(text, drop_stops, False)``), so that
    ``stem_terms(index_terms(t, d, False)) == index_terms(t, d, True)``."""
    return list(filter(None, map(_STEM_CACHE.__getitem__, words)))


def stem_tokens(tokens: list[str]) -> list[str]:
    """:func:`stem_terms` for :func:`index_tokens`'s list, markers kept in place, so that
    ``stem_tokens(index_tokens(t, d, False)) == index_tokens(t, d, True)``."""
    cache = _STEM_CACHE
    return [(cache[t] or GAP) if t > SENTENCE_END else t for t in tokens]


def term_positions(tokens: list[str]) -> dict[str, list[int]]:
    """Term -> its positions in ``tokens`` (what a positions field indexes): every token takes
    a position, a :data:`GAP` one without a term, and a :data:`SENTENCE_END` one more before
    the next token (once, however many there are; none at the start or the end)."""
    out: dict[str, list[int]] = {}
    get = out.get
    pos = 0
    pending = False
    for term in tokens:
        if term is SENTENCE_END or term == SENTENCE_END:
            pending = pos > 0
            continue
        if pending:
            pos += 1
            pending = False
        if term:
            p = get(term)
            if p is None:
                out[term] = [pos]
            else:
                p.append(pos)
        pos += 1
    return out


def index_positions(text: str, drop_stops: bool = True, stem_words: bool = True) -> dict[str, list[int]]:
    """Index term -> positions for ``text``: what the field's analyzer yields at index time
    (a removed stopword keeps its position, a sentence end adds one). The indexing fast path of
    ``engine.schema.MqtText``."""
    return term_positions(index_tokens(text, drop_stops, stem_words))


def index_counts(text: str, drop_stops: bool = True, stem_words: bool = True) -> dict[str, int]:
    """Index term -> number of occurrences in ``text``: :func:`index_positions` without the
    positions (what a frequency-only field such as ``spell`` indexes)."""
    return Counter(index_terms(text, drop_stops, stem_words))


def analyze(text: str) -> list[str]:
    """The index terms of body text, in order: ``analyze("Hate crimes")`` -> ``["hate", "crime"]``
    (what the engine's text analyzer yields: :func:`index_terms` with stopwords dropped and
    stems)."""
    return index_terms(text, True, True)
