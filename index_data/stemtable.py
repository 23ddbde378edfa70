"""The stem table: each indexed word's stem, saved beside the index and looked up in place.

Stemming a word the first time means importing NLTK (0.1-0.6 s), so the build saves the stem of
every word it indexed and readers consult the table instead. The table is not loaded into a dict
(at 100,000 questions that alone took ~20 ms of a one-query process): it is memory-mapped and
read in place as two arrays, 64-bit word hashes (sorted) and stem numbers, and a word is found
by binary search (~1 µs); a one-query process touches a few pages of it, instead of reading and
copying the whole file (1.7 MB at 100,000 questions: 1-10 ms of a cold search).

Stems are a pure function of the word, so the table is only a cache: a word it lacks (or an index
without one) is stemmed by NLTK with the same result. A word whose hash collides with another
indexed word's is left out at save time; an unindexed word colliding with an indexed one (odds
about n / 2**64) would take that word's stem.

File layout, little-endian: ``MQTSTEM1``, then ``n`` and ``m`` (uint32), then ``n`` sorted uint64
hashes, ``n`` uint32 stem numbers (``SAME``: the stem is the word), ``m + 1`` uint32 offsets into
the UTF-8 stems blob, and the blob.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
from array import array
from bisect import bisect_left
from typing import Literal

from .keyhash import hash64

#: File in an index folder holding its stem table.
FILE = "mqt-stems.tab"

_MAGIC = b"MQTSTEM1"
_HEAD = struct.Struct("<II")
SAME = 0xFFFFFFFF


def word_hash(word: str) -> int:
    """The table's stable 64-bit key for ``word`` (not Python's per-process ``hash``)."""
    return hash64(word.encode("utf-8"))


def _array(typecode: str, raw: bytes | memoryview) -> array:
    a = array(typecode)
    a.frombytes(raw)
    if sys.byteorder != "little":
        a.byteswap()
    return a


#: Numbers of the table: an array, or (a loaded table) a view of the mapped file.
Numbers = array | memoryview


def _view(typecode: Literal["I", "Q"], raw: memoryview) -> Numbers:
    """Little-endian numbers in place (a copy only on a big-endian machine)."""
    return raw.cast(typecode) if sys.byteorder == "little" else _array(typecode, raw)


def _bytes(a: Numbers) -> bytes:
    if sys.byteorder != "little":
        a = array(a.typecode if isinstance(a, array) else a.format, a)
        a.byteswap()
    return a.tobytes()


class StemTable:
    """A saved word -> stem table (see the module doc).

    >>> t = StemTable.from_items({"crimes": "crime", "crime": "crime"}.items())
    >>> t.get("crimes"), t.get("crime"), t.get("policing")
    ('crime', 'crime', None)
    """

    __slots__ = ("keys", "stems", "offsets", "blob")

    def __init__(self, keys: Numbers, stems: Numbers, offsets: Numbers, blob: bytes | memoryview):
        self.keys, self.stems, self.offsets, self.blob = keys, stems, offsets, blob

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, word: str) -> str | None:
        """The stem of ``word``, or None when the table does not hold it."""
        key = word_hash(word)
        keys = self.keys
        i = bisect_left(keys, key)
        if i == len(keys) or keys[i] != key:
            return None
        n = self.stems[i]
        if n == SAME:
            return word
        return str(self.blob[self.offsets[n]:self.offsets[n + 1]], "utf-8")

    def items(self):
        """``(hash, stem or None for "the word itself")`` for every entry, in hash order."""
        offsets, blob = self.offsets, self.blob
        for key, n in zip(self.keys, self.stems):
            yield key, (None if n == SAME else str(blob[offsets[n]:offsets[n + 1]], "utf-8"))

    @classmethod
    def from_items(cls, words_stems, base: StemTable | None = None) -> StemTable:
        """A table of ``(word, stem)`` pairs, plus the entries of ``base`` if given.

        Hashes shared by two different entries are dropped (those words fall back to NLTK)."""
        entries: dict[int, str | None] = dict(base.items()) if base is not None else {}
        clashes: set[int] = set()
        for word, stem in words_stems:
            key = word_hash(word)
            value = None if stem == word else stem
            if key in entries and entries[key] != value:
                clashes.add(key)
            entries[key] = value
        for key in clashes:
            del entries[key]
        keys = sorted(entries)
        numbers: dict[str, int] = {}
        for key in keys:
            s = entries[key]
            if s is not None and s not in numbers:
                numbers[s] = len(numbers)
        encoded = [s.encode("utf-8") for s in numbers]
        offsets = array("I", [0])
        for b in encoded:
            offsets.append(offsets[-1] + len(b))
        stems = array("I", (SAME if (s := entries[k]) is None else numbers[s] for k in keys))
        return cls(array("Q", keys), stems, offsets, b"".join(encoded))

    def save(self, path: str | os.PathLike) -> None:
        """Write the table to ``path`` atomically (a temporary file, then a rename)."""
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as f:
            f.write(_MAGIC + _HEAD.pack(len(self.keys), len(self.offsets) - 1))
            for a in (self.keys, self.stems, self.offsets):
                f.write(_bytes(a))
            f.write(self.blob)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> StemTable | None:
        """The table saved at ``path``, memory-mapped (a new table is written to another file and
        renamed over it: the map keeps the old one); None if it is missing or not a whole table."""
        try:
            with open(path, "rb") as f:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
            return None
        raw = memoryview(mapped)
        if raw[:8] != _MAGIC or len(raw) < 8 + _HEAD.size:
            return None
        n, m = _HEAD.unpack_from(raw, 8)
        a = 8 + _HEAD.size
        b = a + 8 * n
        c = b + 4 * n
        d = c + 4 * (m + 1)
        if len(raw) < d:
            return None
        offsets = _view("I", raw[c:d])
        if len(raw) != d + offsets[-1]:
            return None
        return cls(_view("Q", raw[a:b]), _view("I", raw[b:c]), offsets, raw[d:])
