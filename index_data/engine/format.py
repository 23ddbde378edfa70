"""Whoosh's W3 codec on disk, as mqt writes and reads it without Whoosh's per-posting objects:
posting lists (``.pst``), their term statistics and the term index (``.trm``).

Written once, here: the fast segment writer encodes with :func:`write_posting_list` and
:class:`TermIndexWriter`; the query executor decodes with :func:`decode_postings`,
:func:`block_values` and :func:`position_keys`; ``tests/index_compare.py`` reads blocks with
:func:`read_blocks`. The layout is Whoosh 2.7.4's (``whoosh.codec.whoosh3``,
``whoosh.filedb.filetables``); ``tests/test_engine_contract.py`` checks every detail used here.

A posting list is ``MAGIC``, then per block of up to :data:`BLOCK_LIMIT` postings: a signed
4-byte length (negative for the last block), the pickled info tuple ``(count, last id, max
weight, compression level, min length byte, max length byte)`` and the pickle (protocol
:data:`BLOCK_PROTOCOL`; Whoosh's: 2) of ``(ids, weights, values)``, zlib'd when the level is
not 0 (see :data:`COMPRESS_FROM`). Ids: the first absolute, the rest deltas; weights None for
all-1.0, one float for all-equal, else a float32 tuple; values: a tuple, or None for a fixed
size of 0.
"""

from __future__ import annotations

import io
import pickle
import zlib
from array import array
from itertools import chain
from operator import sub
from pickle import dumps
from struct import Struct
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterator

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.formats import Positions
from whoosh.system import emptybytes

if TYPE_CHECKING:
    import numpy as np

# numpy is imported inside the decoding functions only: writing posting lists with this module
# needs none (an indexing worker loads numpy only once it groups its postings: see
# segment_writer._FlatPostings).

MAGIC = b"W3Bl"  # whoosh3.WHOOSH3_HEADER_MAGIC: starts every posting list
BLOCK_LIMIT = 128  # W3Codec's default blocklimit: postings per block
COMPRESSION = 3  # W3Codec's default zlib level (W3PostingsWriter compresses every block)
#: A block whose pickle is shorter than this is written uncompressed, with compression level 0
#: in its info tuple (readers decompress only blocks whose level is set: Whoosh's
#: ``W3LeafMatcher._read_data`` and :func:`blocks`). zlib costs ~5-15 µs a call whatever the
#: size (setting up its state) and does not shrink small pickles: on 3,000 generated questions
#: 91% of the blocks are under 192 bytes and the .pst file is 156 KB smaller than with every
#: block compressed. Whoosh's writer compresses every block, so its segments differ from ours
#: in those blocks' bytes, never in what they decode to.
COMPRESS_FROM = 192
#: The pickle protocol of a block's ``(ids, weights, values)``. Whoosh writes protocol 2, where
#: each value string (bytes) is a call to ``_codecs.encode`` on a latin-1 str; protocol 3 writes
#: bytes as they are: ~10x faster to pickle and to unpickle, half the size before zlib (the
#: compressed .pst ~40% smaller on 3,000 questions). Any reader's ``pickle.loads`` takes it
#: (Whoosh's ``W3LeafMatcher._read_data``); the value strings inside stay Whoosh's own
#: encodings (``positions_value``), and the small info tuple stays protocol 2.
BLOCK_PROTOCOL = 3
INT = Struct("!i")
_INT = INT
_UINT = Struct("!I")
LONG = Struct("!q")
USHORT = Struct("!H")
_LENGTHS = Struct("!ii")  # filetables._lengths: key and value length of a .trm entry
_POINTER = Struct("!Iq")  # filetables._pointer: one slot of a .trm hash table
_NULL_POINTER = _POINTER.pack(0, 0)
#: W3TermInfo's packed statistics (weight, doc frequency, min/max length byte, max weight,
#: min/max id), followed in the term index by the posting list's offset and length.
TERMINFO = W3TermInfo._struct

# How a term's postings are handed to write_posting_list (the fast writer's buffers).
FREQ = 1     # Frequency format: array('I') of [doc, n, doc, n, ...]
POS = 2      # Positions format: (array('I') of [doc, n, ...], array('I') of positions)
EXIST = 3    # Existence format (ID, NUMERIC...), weight 1.0 and no value: array('I') of docs
GENERIC = 4  # anything else: [(doc, weight, value bytes), ...]


# ---- values: positions -------------------------------------------------------------------------

def positions_value(poslist: list[int]) -> bytes:
    """``formats.Positions.encode(poslist)``: the count, then the pickled position deltas."""
    deltas = [poslist[0]]
    deltas += map(sub, poslist[1:], poslist)
    return _UINT.pack(len(deltas)) + dumps(deltas, 2)


class _OnePosition(dict):
    """Position -> the encoded value of a posting with that one position (most postings)."""

    def __missing__(self, pos: int) -> bytes:
        v = self[pos] = positions_value([pos])
        return v


_ONE_POSITION = _OnePosition()


def bulk_position_deltas(values: list[bytes]) -> list | None:
    """The position-delta lists of many ``Positions`` values with one ``pickle.loads``.

    Each value is ``pack_uint(count)`` + a protocol-2 pickle of a list; the pickles' bodies are
    joined inside one ``MARK ... LIST`` so the C unpickler reads them as a list of lists. None if
    a value is not shaped so (then the caller decodes them one by one).
    """
    if not values:
        return []
    if not all(v[4:6] == b"\x80\x02" and v[-1:] == b"." for v in values):
        return None
    try:
        lists = pickle.loads(b"\x80\x02(" + b"".join([v[6:-1] for v in values]) + b"l.")
    except Exception:
        return None
    if len(lists) != len(values) or not all(type(x) is list for x in lists):
        return None
    return lists


POS_BITS = 32


def position_keys(values: list[bytes], fmt) -> np.ndarray:
    """Sorted ``index << 32 | position`` keys for the positions in ``values`` (one Whoosh
    ``Positions`` value string per candidate document, in candidate order)."""
    import numpy as np

    lists = bulk_position_deltas(values) if type(fmt) is Positions else None
    if lists is None:  # another format, or an unexpected encoding: Whoosh decodes one by one
        posns = [fmt.decode_positions(v) for v in values]
        lens = np.fromiter(map(len, posns), dtype=np.int64, count=len(posns))
        flat = np.fromiter(chain.from_iterable(posns), dtype=np.int64, count=int(lens.sum()))
    else:
        lens = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        deltas = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(lens.sum()))
        total = np.cumsum(deltas)  # positions are deltas within each document: restart per list
        ends = np.cumsum(lens)
        before = np.concatenate(([0], total[ends[:-1] - 1])) if len(lens) else total[:0]
        flat = total - np.repeat(before, lens)
    owner = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
    return (owner << POS_BITS) | flat


# ---- encoding a posting list ------------------------------------------------------------------

def write_posting_list(out: bytearray, kind: int, payload, lens, fixed) -> bytes:
    """Append one term's posting list (magic, then blocks) to ``out``; return the packed term
    statistics (``W3TermInfo.to_bytes`` without the extent), exactly as W3PostingsWriter and
    W3TermInfo compute them.

    Field lengths are handled as length bytes: W3PostingsWriter keeps ``byte_to_length`` of the
    column's byte and writes ``length_to_byte`` of that, which is the byte itself."""
    positions = counts = None
    if kind == FREQ:
        ids = payload[0::2]
        counts = payload[1::2]
    elif kind == POS:
        a, positions = payload
        ids = a[0::2]
        counts = a[1::2]
        off = 0  # where the block's first posting's positions start
    elif kind == EXIST:
        ids = payload
    else:
        ids = array("I", [p[0] for p in payload])
    n = len(ids)
    out += MAGIC
    weight: float = 0
    minlb = 256  # smallest non-zero length byte so far (256: none)
    maxlb = 0
    maxweight: float = 0
    bmax: float
    wmini: Any  # None, one float or a tuple of float32 weights
    vmini: Any  # a tuple of value strings, bytes, or None
    start = 0
    while start < n:
        end = start + BLOCK_LIMIT
        if end >= n:
            end = n
        k = end - start
        bids = ids[start:end] if n > BLOCK_LIMIT else ids
        # weights (float32 in the block; the block maximum is the unrounded weight) and values
        if counts is not None:
            if k == 1:
                c0 = counts[start]
                wmini = None if c0 == 1 else float(c0)
                wsum = bmax = float(c0)
                if positions is None:
                    vmini = _UINT.pack(c0)
                else:
                    vmini = ((_ONE_POSITION[positions[off]],) if c0 == 1 else
                             (positions_value(positions[off:off + c0].tolist()),))
                    off += c0
            else:
                bcounts = counts[start:end] if n > BLOCK_LIMIT else counts
                c0 = bcounts[0]
                if bcounts.count(c0) == k:
                    wmini = None if c0 == 1 else float(c0)
                else:
                    wmini = tuple(array("f", bcounts))
                wsum = float(sum(bcounts))  # = the sum of the float32 weights (small integers)
                bmax = float(max(bcounts))
                if positions is None:
                    vmini = _uint_struct(k).pack(*bcounts)
                elif wmini is None:  # one position each: the common case, from a cache
                    vmini = tuple(map(_ONE_POSITION.__getitem__, positions[off:off + k]))
                    off += k
                else:
                    vals = []
                    for c in bcounts:
                        if c == 1:
                            vals.append(_ONE_POSITION[positions[off]])
                        else:
                            vals.append(positions_value(positions[off:off + c].tolist()))
                        off += c
                    vmini = tuple(vals)
        elif kind == EXIST:
            wmini = vmini = None
            wsum = float(k)
            bmax = 1.0
        else:
            posts = payload[start:end]
            raw = [p[1] for p in posts]
            wts = array("f", raw)
            wsum = sum(wts)
            bmax = 0
            for w in raw:
                if w > bmax:
                    bmax = w
            wmini = _mini_weights(wts)
            vmini = _mini_values([p[2] for p in posts if p[2]], fixed)
        # field lengths: the smallest (non-zero) and largest length byte of the block's documents
        if lens is not None:
            if k == 1:
                lo = hi = lens[bids[0]]
            else:
                lbs = [lens[d] for d in bids]
                lo, hi = min(lbs), max(lbs)
                if lo == 0:  # a document with no length (cannot happen for a posting's field)
                    lo = min([b for b in lbs if b], default=0)
            if lo and lo < minlb:
                minlb = lo
            if hi > maxlb:
                maxlb = hi
        else:
            lo = hi = 0
        # term statistics (W3TermInfo.add_block)
        weight += wsum
        if bmax > maxweight:
            maxweight = bmax
        # the block (W3PostingsWriter._write_block)
        data = dumps(((bids[0],) if k == 1 else tuple(map(sub, bids, chain((0,), bids))),
                      wmini, vmini), BLOCK_PROTOCOL)
        if len(data) >= COMPRESS_FROM:
            data = zlib.compress(data, COMPRESSION)
            infob = dumps((k, bids[-1], bmax, COMPRESSION, lo, hi), 2)
        else:  # stored as it is: the info's compression level 0 tells readers so
            infob = dumps((k, bids[-1], bmax, 0, lo, hi), 2)
        out += _INT.pack(-(len(infob) + len(data)) if end == n else len(infob) + len(data))
        out += infob
        out += data
        start = end
    return TERMINFO.pack(0, weight, n, minlb if minlb < 256 else 0, maxlb, maxweight,
                         ids[0], ids[-1])


_UINT_STRUCTS: dict[int, Struct] = {}


def _uint_struct(n: int) -> Struct:
    s = _UINT_STRUCTS.get(n)
    if s is None:
        s = _UINT_STRUCTS[n] = Struct(f"!{n}I")
    return s


def _mini_weights(wts):
    """W3PostingsWriter._mini_weights."""
    first = wts[0]
    if first == 1.0 and wts.count(1.0) == len(wts):
        return None
    if wts.count(first) == len(wts):
        return first
    return tuple(wts)


def _mini_values(values, fixed):
    """W3PostingsWriter._mini_values."""
    if fixed is None or fixed < 0:
        return tuple(values)
    if fixed == 0:
        return None
    return emptybytes.join(values)


# ---- the term index -----------------------------------------------------------------------------

class TermIndexWriter(OrderedHashWriter):
    """Whoosh's OrderedHashWriter (the .trm file) writing the same bytes with less work and
    memory: entries go through a local buffer (one file write per megabyte, not three per term),
    and each hash bucket keeps its (hash, position) pairs in two arrays instead of a list of
    tuples (16 bytes a term instead of ~130: 45 MB less for 350,000 terms)."""

    lastkey: bytes

    def __init__(self, dbfile):
        from hashlib import md5  # imported by writers only: a search never loads hashlib (whoosh_import)

        OrderedHashWriter.__init__(self, dbfile)
        self._md5 = md5
        self._buf = bytearray()
        self._flushed = dbfile.tell()
        self._hashes = [array("Q") for _ in range(256)]
        self._positions = [array("q") for _ in range(256)]

    def add(self, key, value):
        if key <= self.lastkey:
            raise ValueError(f"Keys must increase: {self.lastkey!r}..{key!r}")
        buf = self._buf
        pos = self._flushed + len(buf)
        self.index.append(pos)
        buf += _LENGTHS.pack(len(key), len(value))
        buf += key
        buf += value
        h = int.from_bytes(self._md5(key).digest()[12:], "big")  # = filetables.md5_hash(key)
        self._hashes[h & 255].append(h)
        self._positions[h & 255].append(pos)
        self.lastkey = key
        if len(buf) > 1 << 20:
            self._flush()

    def _flush(self):
        self.dbfile.write(self._buf)
        self._flushed += len(self._buf)
        self._buf = bytearray()

    def _write_hashes(self):
        """HashWriter._write_hashes over the arrays: the same tables, slot for slot."""
        dbfile = self.dbfile
        for hashes, positions in zip(self._hashes, self._positions):
            pos = dbfile.tell()
            numslots = 2 * len(hashes)
            self.directory.append((pos, numslots))
            table: list[tuple[int, int] | None] = [None] * numslots
            for h, p in zip(hashes, positions):
                slot = (h >> 8) % numslots
                while table[slot] is not None:
                    slot = (slot + 1) % numslots
                table[slot] = (h, p)
            out = bytearray()
            for entry in table:
                out += _POINTER.pack(*entry) if entry is not None else _NULL_POINTER
            dbfile.write(out)

    def close(self):
        self._flush()
        return OrderedHashWriter.close(self)


# ---- reading a term index -----------------------------------------------------------------------

_EXTENT = Struct("!qi")  # W3TermInfo.to_bytes after the statistics: offset and length of the list


def term_entries(data: bytes, fieldunmap: list) -> Iterator[tuple[str, bytes, Any, Any]]:
    """``(field, term bytes, inlined postings or None, (offset, length) or None)`` for every
    entry of a ``.trm`` file's key/value pairs (``internals.term_index``): each key is a 2-byte
    field number and the term, each value a ``W3TermInfo`` (postings pickled inline, or where
    the list lies in the ``.pst`` file)."""
    pos, end = 0, len(data)
    while pos < end:
        klen, vlen = _LENGTHS.unpack_from(data, pos)
        pos += 8
        fid = (data[pos] << 8) | data[pos + 1]
        text = data[pos + 2:pos + klen]
        pos += klen
        if data[pos]:  # inlined
            yield fieldunmap[fid], text, pickle.loads(data[pos + TERMINFO.size:pos + vlen]), None
        else:
            yield fieldunmap[fid], text, None, _EXTENT.unpack_from(data, pos + TERMINFO.size)
        pos += vlen


# ---- decoding a posting list --------------------------------------------------------------------

def blocks(raw: bytes) -> Iterator[tuple[int, int, Callable[..., Any]]]:
    """The blocks of one on-disk posting list as ``(count, last id, data thunk)``; the thunk
    unpickles the block's ``(ids, weights, values)`` (with ``values=False``, without the value
    strings when it can: see :func:`_without_values`)."""
    if raw[:4] != MAGIC:
        raise ValueError("posting list header is damaged")
    buf = io.BytesIO(raw)
    pos, end = 4, len(raw)
    while pos < end:
        blen = _INT.unpack_from(raw, pos)[0]
        pos += 4
        last = blen < 0
        blen = -blen if last else blen
        buf.seek(pos)
        count, maxid, _maxw, comp, _mn, _mx = pickle.load(buf)
        start, stop = buf.tell(), pos + blen

        def data(start=start, stop=stop, comp=comp, count=count, values=True):
            chunk = raw[start:stop]
            if comp:
                chunk = zlib.decompress(chunk)
            if not values:
                head = _without_values(chunk, count)
                if head is not None:
                    return head
            return pickle.loads(chunk)

        yield count, maxid, data
        pos = stop
        if last:
            break


#: Where a block's value strings (positions) start in its pickle: protocol 2 (Whoosh's) writes
#: each bytes object as a call to ``_codecs.encode``, protocol 3 (ours: BLOCK_PROTOCOL) as
#: SHORT_BINBYTES (``C``) or BINBYTES (``B``); the values tuple opens with a MARK before them.
_VALUES_STARTS = (b"(c_codecs\nencode\n", b"(C", b"(B")


def _without_values(chunk: bytes, count: int):
    """A block's ``(ids, weights, ())``, unpickled without its value strings: they cost most of
    the unpickling and scoring never reads them. None when the block is not shaped so (then the
    caller unpickles it whole). The places a values tuple may start are tried in order (in
    protocol 3 the two bytes may also be an id's), and what each gives is checked: ``count``
    ids, as many weights, one or None."""
    starts = _VALUES_STARTS[:1] if chunk[1:2] == b"\x02" else _VALUES_STARTS[1:]  # PROTO 2 or 3
    start = 0
    for _ in range(8):
        found = [at for at in (chunk.find(s, start) for s in starts) if at >= 0]
        if not found:
            return None
        at = min(found)
        try:
            ids, ws, vs = pickle.loads(chunk[:at] + b")\x87.")  # EMPTY_TUPLE, TUPLE3, STOP
            if type(ids) is tuple and len(ids) == count and (
                    ws is None or type(ws) is float or (type(ws) is tuple and len(ws) == count)):
                return ids, ws, vs
        except Exception:
            pass
        start = at + 1
    return None


def decode_postings(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Docnums (int32) and weights (float32) of one on-disk posting list."""
    import numpy as np

    deltas: list[int] = []
    weights: list[float] = []
    prev_last = 0
    for count, maxid, data in blocks(raw):
        ids, ws, _values = data(values=False)
        deltas.append(ids[0] - prev_last)  # each block's first id is absolute: make it a delta
        deltas.extend(ids[1:])
        prev_last = maxid
        if ws is None:
            weights.extend([1.0] * count)
        elif isinstance(ws, float):
            weights.extend([ws] * count)
        else:
            weights.extend(ws)
    ids_arr = np.cumsum(np.array(deltas, dtype=np.int64)).astype(np.int32)
    return ids_arr, np.array(weights, dtype=np.float32)


def block_values(raw: bytes, docs: np.ndarray) -> list:
    """The value strings of a posting list for ``docs`` only: blocks holding none stay undecoded."""
    import numpy as np

    out: list = []
    lo = 0  # docs[lo:] are not yet found
    for _count, maxid, data in blocks(raw):
        if lo >= len(docs):
            break
        hi = int(np.searchsorted(docs, maxid, side="right"))
        if hi > lo:
            deltas, _ws, vs = data()
            ids = np.cumsum(np.array(deltas, dtype=np.int64))
            out.extend([vs[i] for i in np.searchsorted(ids, docs[lo:hi]).tolist()])
            lo = hi
    if len(out) != len(docs):
        raise ValueError("posting list is damaged: documents missing from their blocks")
    return out


def read_blocks(raw: bytes) -> list[tuple[tuple, list[int], Any, Any, bool]]:
    """Every block of a posting list in full, for comparisons in tests: ``(info tuple, ids,
    weights, values, last)`` with absolute ids, as Whoosh decodes them."""
    import numpy as np

    out = []
    pos = 4
    assert raw[:4] == MAGIC
    while pos < len(raw):
        blen = _INT.unpack_from(raw, pos)[0]
        last = blen < 0
        blen = abs(blen)
        buf = io.BytesIO(raw[pos + 4:pos + 4 + blen])
        info = pickle.load(buf)
        ids, weights, values = pickle.loads(zlib.decompress(buf.read()) if info[3] else buf.read())
        absolute = list(np.cumsum(np.array(ids, dtype=np.int64)).tolist()) if len(ids) else []
        out.append((info, absolute, weights, values, last))
        pos += 4 + blen
    assert pos == len(raw)
    return out
