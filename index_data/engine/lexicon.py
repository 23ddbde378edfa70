"""The index's word list ("did you mean", prefix and fuzzy expansion): each segment's distinct
unstemmed body words and how many of its documents hold each, kept outside Whoosh's posting
lists.

The record is the ``spell`` column: for each document its distinct unstemmed words of title,
question and answer (stopwords dropped), in the order they first occur, joined by newlines
(:func:`encode_words`).
Whoosh copies the column of live documents when it merges segments, so a lexicon derived from
it stays exact through reindexes. Beside each segment, ``mqt-lex/<segment>.mql`` is that
lexicon derived once (written by the build's worker from its own counts, by every reindex
commit from the column, and checked against its segment's id and document count when read; a
missing or stale file is derived again in memory by a search and rewritten by the next
reindex). It replaces a Whoosh ``spell`` field that held the same words as posting lists: 45%
of a build's postings, read only for their document counts.

Document counts follow Whoosh's ``doc_frequency``: every document of a segment counts,
deleted or not, until a merge drops it. The answers are Whoosh's own over a spelling field
(``tests/test_lexicon.py`` keeps one as the reference): sums over segments, prefixes in
sorted order, and ``terms_within`` as Whoosh gives it, which depends on the segment count
(one segment: its Levenshtein automaton over the word list; several: the prefix's words whose
Damerau-Levenshtein distance is within the limit).

File layout (little-endian): the header (:data:`_HEADER`: magic, format version, document
count, word count, words' bytes, CRC-32 of what follows, the segment id in 32 bytes), then a
uint32 document count per word, uint32 offsets of each word's end in the words' bytes, then
the words' UTF-8 bytes in byte order (code point order, Whoosh's term order).
"""

from __future__ import annotations

import bisect
import heapq
import mmap
import os
import struct
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Folder (inside the index folder) of the per-segment lexicon files.
LEX_DIR = "mqt-lex"
_MAGIC = b"MQTLEX1\n"
_VERSION = 1
#: magic, version, documents, words, words' bytes, CRC-32 of the rest, segment id
_HEADER = struct.Struct("<8sIQQQI32s")


def encode_words(words: Iterable[str]) -> bytes:
    """One document's ``spell`` column value: its distinct words in the order they first
    occur (no sort: ~15 µs a document), joined by newlines (an analysed word never holds a
    newline)."""
    return "\n".join(dict.fromkeys(words)).encode("utf-8")


def decode_words(blob: bytes) -> list[bytes]:
    """The words (UTF-8) of one column value."""
    return blob.split(b"\n") if blob else []


def count_words(blobs: Iterable[bytes]) -> Counter:
    """Word (UTF-8) -> how many of these column values hold it."""
    counts: Counter = Counter()
    for blob in blobs:
        if blob:
            counts.update(blob.split(b"\n"))
    return counts


def lex_path(index_dir: str | os.PathLike, segment_id: str) -> Path:
    return Path(index_dir) / LEX_DIR / f"{segment_id}.mql"


def _body(counts: dict) -> tuple[list[bytes], bytes]:
    """(sorted UTF-8 words, the bytes after the header) of word -> count (str or UTF-8 keys)."""
    pairs = sorted((w.encode("utf-8") if isinstance(w, str) else w, n) for w, n in counts.items())
    words = [w for w, _n in pairs]
    dfs = array("I", [n for _w, n in pairs])
    ends = array("I")
    n = 0
    for w in words:
        n += len(w)
        ends.append(n)
    if sys.byteorder == "big":  # pragma: no cover
        dfs.byteswap()
        ends.byteswap()
    return words, dfs.tobytes() + ends.tobytes() + b"".join(words)


def save_lexicon(index_dir: str | os.PathLike, segment_id: str, doc_count: int, counts: dict) -> None:
    """Write one segment's lexicon (word -> document count) atomically."""
    words, body = _body(counts)
    head = _HEADER.pack(_MAGIC, _VERSION, doc_count, len(words), len(body) - 8 * len(words),
                        zlib.crc32(body), segment_id.encode("ascii"))
    path = lex_path(index_dir, segment_id)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(body)
    os.replace(tmp, path)


class SegmentLexicon:
    """One segment's words and document counts, from its file (memory-mapped) or from counts
    held in memory; looked up by binary search."""

    def __init__(self, buf, n: int, nbytes: int, base: int = 0):
        self._buf = buf
        self.n = n
        view = memoryview(buf)
        self._dfs = view[base:base + 4 * n].cast("I")
        self._ends = view[base + 4 * n:base + 8 * n].cast("I")
        self._words = base + 8 * n
        self._nbytes = nbytes

    @classmethod
    def from_counts(cls, counts: dict) -> SegmentLexicon:
        words, body = _body(counts)
        return cls(body, len(words), len(body) - 8 * len(words))

    @classmethod
    def load(cls, path: Path, segment_id: str, doc_count: int, *, check_crc: bool = False):
        """The lexicon file at ``path`` if it is whole and for this segment (its id and document
        count; with ``check_crc`` its CRC too), else None."""
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < _HEADER.size:
                    return None
                buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        magic, version, docs, n, nbytes, crc, segid = _HEADER.unpack_from(buf, 0)
        if (magic != _MAGIC or version != _VERSION or docs != doc_count
                or segid.rstrip(b"\0") != segment_id.encode("ascii")
                or size != _HEADER.size + 8 * n + nbytes
                or (check_crc and zlib.crc32(memoryview(buf)[_HEADER.size:]) != crc)):
            buf.close()
            return None
        return cls(buf, n, nbytes, _HEADER.size)

    def word(self, i: int) -> bytes:
        start = self._ends[i - 1] if i else 0
        return bytes(self._buf[self._words + start:self._words + self._ends[i]])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> bytes:  # a sequence for bisect
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.word(i)

    def find(self, word: bytes) -> int:
        """Where ``word`` is, or would be inserted, in the sorted words."""
        return bisect.bisect_left(self, word)

    def doc_frequency(self, word: bytes) -> int:
        """How many of the segment's documents hold ``word`` (0: none, the word is absent)."""
        i = self.find(word)
        return self._dfs[i] if i < self.n and self.word(i) == word else 0

    def prefixed(self, prefix: bytes) -> Iterator[bytes]:
        """The words starting with ``prefix``, in order."""
        for i in range(self.find(prefix), self.n):
            w = self.word(i)
            if not w.startswith(prefix):
                return
            yield w

    def counts(self) -> Iterator[tuple[str, int]]:
        """Every (word, document count), in order."""
        for i in range(self.n):
            yield self.word(i).decode("utf-8"), self._dfs[i]


class Lexicon:
    """The words of a view of the index: its segments' lexicons (oldest first), each loaded
    on first use by ``load(i)``; answers as Whoosh's reader does over a spelling field."""

    def __init__(self, count: int, load):
        self._count = count
        self._load = load
        self._segments: list[SegmentLexicon] | None = None

    def segments(self) -> list[SegmentLexicon]:
        if self._segments is None:
            self._segments = [self._load(i) for i in range(self._count)]
        return self._segments

    def doc_frequency(self, word: str) -> int:
        """How many documents hold ``word`` (deleted ones until a merge, as Whoosh counts)."""
        b = word.encode("utf-8")
        return sum(seg.doc_frequency(b) for seg in self.segments())

    def __contains__(self, word: str) -> bool:
        b = word.encode("utf-8")
        return any(seg.doc_frequency(b) for seg in self.segments())

    def expand_prefix(self, prefix: str) -> Iterator[str]:
        """The words starting with ``prefix``, sorted, each once."""
        last = None
        for w in heapq.merge(*[seg.prefixed(prefix.encode("utf-8")) for seg in self.segments()]):
            if w != last:
                last = w
                yield w.decode("utf-8")

    def terms_within(self, word: str, maxdist: int, prefix: int = 0) -> Iterator[str]:
        """The words within ``maxdist`` edits of ``word`` sharing its first ``prefix`` letters,
        as Whoosh's reader gives them: with one segment its Levenshtein automaton over the
        words (insertions, deletions, substitutions), with several the prefix's words within
        ``maxdist`` Damerau-Levenshtein edits (transpositions count one), in sorted order."""
        segments = self.segments()
        if len(segments) == 1:
            from whoosh.codec.base import Automata

            auto = Automata()
            return auto.terms_within(_Cursor(segments[0]), word, maxdist, prefix)
        from whoosh.support.levenshtein import distance

        return (w for w in self.expand_prefix(word[:prefix]) if distance(w, word, limit=maxdist) <= maxdist)


class _Cursor:
    """A term cursor over one segment's words (what Whoosh's automaton walks: ``text()``,
    ``find(text)``)."""

    def __init__(self, seg: SegmentLexicon):
        self._seg = seg
        self._i = 0

    def text(self) -> str | None:
        return self._seg.word(self._i).decode("utf-8") if self._i < self._seg.n else None

    def find(self, text: str) -> None:
        self._i = self._seg.find(text.encode("utf-8"))


def _derive(reader) -> Counter:
    """Word (UTF-8) -> document count of one segment, from its ``spell`` column."""
    from ..fields import SPELL_FIELD
    from .columns import bytes_column

    return count_words(bytes_column(reader, SPELL_FIELD))


def _segment(reader) -> tuple[str, int] | None:
    """(segment id, document count) of a segment reader; None for a reader of no segment."""
    seg = reader.segment() if hasattr(reader, "segment") else None
    return None if seg is None else (seg.segment_id(), reader.doc_count_all())


def segment_lexicon(index_dir: str | os.PathLike, reader) -> SegmentLexicon:
    """One open segment's lexicon: its file, or (missing or stale: a reindex interrupted
    before writing it) derived from its column in memory. Never writes (searches)."""
    seg = _segment(reader)
    if seg is None:
        return SegmentLexicon.from_counts({})
    lex = SegmentLexicon.load(lex_path(index_dir, seg[0]), *seg)
    return lex if lex is not None else SegmentLexicon.from_counts(_derive(reader))


def ensure_lexicon(index_dir: str | os.PathLike, reader) -> SegmentLexicon:
    """One segment's lexicon file, checked whole (its CRC too) and written again from the
    segment's column when missing, stale or damaged (after each commit)."""
    seg = _segment(reader)
    if seg is None:
        return SegmentLexicon.from_counts({})
    path = lex_path(index_dir, seg[0])
    lex = SegmentLexicon.load(path, *seg, check_crc=True)
    if lex is None:
        save_lexicon(index_dir, seg[0], seg[1], _derive(reader))
        lex = SegmentLexicon.load(path, *seg)
        if lex is None:  # pragma: no cover - written just now
            raise OSError(f"{path}: the lexicon just written cannot be read")
    return lex


def ensure_lexicons(index_dir: str | os.PathLike, leaves: list) -> list[SegmentLexicon]:
    """:func:`ensure_lexicon` of each segment reader of ``leaves`` (an index's segments), in
    order, then the lexicons of segments not among them (merged away) deleted."""
    lexicons = [ensure_lexicon(index_dir, r) for r in leaves]
    prune_lexicons(index_dir, [r.segment().segment_id() for r in leaves])
    return lexicons


def prune_lexicons(index_dir: str | os.PathLike, keep: Iterable[str]) -> None:
    """Delete the lexicons of segments that no longer exist (merged away)."""
    from ..termvectors import prune_folder

    prune_folder(Path(index_dir) / LEX_DIR, {f"{s}.mql" for s in keep})
