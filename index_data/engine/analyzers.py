"""The Whoosh analyzers of mqt's fields: a tokenizer and a stopword-and-stem filter built on
``index_data.analysis``, so they give exactly the terms its engine-agnostic functions give.

Whoosh pickles analyzers into the index's schema, so these classes must stay importable at this
path (``index_data.engine.analyzers``); moving or renaming one means bumping
``meta.SCHEMA_VERSION`` (an older index then gets the clean "rebuild it" message). Indexing
itself takes a faster path (``schema.MqtText``); queries go through these analyzers.
"""

from __future__ import annotations

from whoosh.analysis import Filter, Token, Tokenizer

from ..analysis import TOKEN_RE, normalize_token, sentence_break, stem_cache, stopwords


class MqtTokenizer(Tokenizer):
    """Splits text into normalised word and number tokens in one regex pass (see module doc).

    Every token takes a position; with ``sentence_gaps`` a sentence end or paragraph break
    (``analysis.sentence_break``) takes one more, so a phrase does not match across it.
    """

    def __init__(self, sentence_gaps: bool = False):
        self.sentence_gaps = sentence_gaps

    def __eq__(self, other):
        return other.__class__ is self.__class__ and self.sentence_gaps == other.sentence_gaps

    def __hash__(self):
        return hash((self.__class__.__name__, self.sentence_gaps))

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
        gaps = positions and self.sentence_gaps
        previous, end = "", -1  # the last token (normalised) and where it ended
        for m in TOKEN_RE.finditer(value):
            raw = m.group()
            text = normalize_token(raw)
            if not text:
                continue
            if gaps:
                if end >= 0 and sentence_break(value[end:m.start()], previous):
                    pos += 1
                previous, end = text, m.end()
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = raw
            if positions:
                t.pos = pos
                pos += 1
            if chars:
                t.startchar = start_char + m.start()
                t.endchar = start_char + m.end()
            yield t


class StopStemFilter(Filter):
    """Drops stopwords and stems the rest. A dropped stopword keeps its position (as Lucene's
    and Elasticsearch's stop filters do), so ``"reducing crimes"`` does not match "reducing
    these crimes" while ``"secretary of state"`` still matches "Secretary of State".

    One filter rather than Whoosh's ``StopFilter | StemFilter`` chain: one generator per token
    instead of two, and a process-wide stem cache that is never pickled into the index.
    """

    def __init__(self, stoplist=None, stem_words=True):
        self.stops = frozenset(stopwords() if stoplist is None else stoplist)
        self.stem_words = stem_words

    def __eq__(self, other):
        return (other.__class__ is self.__class__ and self.stops == other.stops
                and self.stem_words == other.stem_words)

    def __hash__(self):
        return hash((self.__class__.__name__, self.stem_words, len(self.stops)))

    def __call__(self, tokens):
        stops = self.stops
        stem_words = self.stem_words
        cache = stem_cache()
        for t in tokens:
            text = t.text
            if text in stops:
                if t.removestops:
                    continue
                t.stopped = True
                yield t
                continue
            if stem_words:
                t.text = cache[text]
                if not t.text:
                    continue
            yield t


def text_analyzer():
    """Analyzer for title, question and answer text: tokens, stopwords out (their positions
    kept), sentence ends as position gaps, Snowball stems."""
    return MqtTokenizer(sentence_gaps=True) | StopStemFilter()


def name_analyzer():
    """Analyzer for names and labels (asker, party, asked-of, meeting): tokens only, no stemming.

    ``party:labour`` matches ``Labour Group``; ``asker:"navin shah"`` matches ``Navin Shah``.
    """
    return MqtTokenizer()


def spelling_analyzer():
    """Analyzer for the spelling field: unstemmed words (no stopwords), the vocabulary that
    "did you mean" suggestions are drawn from."""
    return MqtTokenizer(sentence_gaps=True) | StopStemFilter(stem_words=False)


