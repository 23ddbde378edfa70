"""Runs a compiled Whoosh query over whole posting lists with numpy: which documents match, and
their BM25/BM25F scores, in one vectorised pass per query node.

Whoosh evaluates a query by walking a tree of matcher objects one posting at a time in Python,
which is what made a 100,000-question index slow to search. This module reads the same posting
lists (a term's blocks decoded in one go and cached per open segment) into arrays, and computes
for every query node a dense "matches" mask and "score" array over the segment's documents:
OR adds scores, AND intersects, NOT subtracts, exactly as Whoosh's matchers combine them, with
Whoosh's own formulas (``whoosh_ranking``) and statistics. Phrases are checked against decoded
positions, only for documents holding every word. Query types it does not know fall back to
Whoosh's own matcher for that node, so the answer is always Whoosh's.
``tests/test_executor.py`` compares match sets, scores and order with Whoosh's search.
"""

from __future__ import annotations

import io
import pickle
import struct
import weakref
import zlib
from collections import OrderedDict
from itertools import chain

import numpy as np
from whoosh import query as wq
from whoosh.formats import Positions
from whoosh.util.numeric import byte_to_length

from index_data.whoosh_columns import bytes_values, numeric_column

from . import ranking
from .whoosh_ranking import FieldsTerm, fields_idf, group_avg_length, length_group

_INT = struct.Struct("!i")
_MAGIC = b"W3Bl"
#: Decoded posting lists kept per open segment, counted in postings (8 bytes each): 40 per
#: document, at least 0.5M (4 MB) and at most 4M (32 MB).
POSTINGS_BUDGET_PER_DOC = 40
MIN_POSTINGS_BUDGET = 500_000
MAX_POSTINGS_BUDGET = 4_000_000
#: Filter masks (party, dates, ...) kept per open segment (a byte per document each).
MAX_CACHED_FILTERS = 32
_LENGTH_TABLE = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.float64)


class _Result:
    """One query node evaluated over one segment: a boolean mask and a score array (0 off-mask)."""

    __slots__ = ("mask", "score")

    def __init__(self, mask: np.ndarray, score: np.ndarray):
        self.mask = mask
        self.score = score


def _tree_sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Add arrays in the order Whoosh's ``make_binary_tree`` of union/intersection matchers does
    (``a + (b + c)`` for three), so float sums come out bit for bit the same."""
    if len(arrays) == 1:
        return arrays[0]
    half = len(arrays) // 2
    return _tree_sum(arrays[:half]) + _tree_sum(arrays[half:])


def _blocks(raw: bytes):
    """The blocks of one on-disk posting list in Whoosh's W3 codec (a ``W3Bl`` header, then per
    block a signed length, negative for the last, a pickled info tuple and the pickled, maybe
    zlib'd ``(delta ids, weights, values)`` data) as ``(count, last id, data thunk)``."""
    if raw[:4] != _MAGIC:
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


#: Where a block's value strings (positions) start in its pickle: protocol 2 writes each bytes
#: object as a call to ``_codecs.encode``, and the values tuple opens with a MARK before it.
_VALUES_START = b"(c_codecs\nencode\n"


def _without_values(chunk: bytes, count: int):
    """A block's ``(ids, weights, ())``, unpickled without its value strings: they cost ~90% of
    the unpickling and scoring never reads them. None when the block is not shaped so."""
    at = chunk.find(_VALUES_START)
    if at < 0:
        return None
    try:
        ids, ws, vs = pickle.loads(chunk[:at] + b")\x87.")  # EMPTY_TUPLE, TUPLE3, STOP
    except Exception:
        return None
    if len(ids) != count or not (ws is None or isinstance(ws, float) or len(ws) == count):
        return None
    return ids, ws, vs


def _decode_blocks(raw: bytes):
    """Docnums (int32) and weights (float32) of one on-disk posting list."""
    deltas: list[int] = []
    weights: list[float] = []
    prev_last = 0
    for count, maxid, data in _blocks(raw):
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


_POS_BITS = 32


def _position_keys(values: list[bytes], fmt) -> np.ndarray:
    """Sorted ``index << 32 | position`` keys for the positions in ``values`` (one Whoosh
    ``Positions`` value string per candidate document, in candidate order)."""
    lists = _bulk_position_deltas(values) if type(fmt) is Positions else None
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
    return (owner << _POS_BITS) | flat


def _bulk_position_deltas(values: list[bytes]) -> list | None:
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


def _block_values(raw: bytes, docs: np.ndarray) -> list:
    """The value strings of a posting list for ``docs`` only: blocks holding none stay undecoded."""
    out: list = []
    lo = 0  # docs[lo:] are not yet found
    for _count, maxid, data in _blocks(raw):
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


class SegmentArrays:
    """What scoring needs from one open segment, decoded once and kept while it is open:
    posting lists as arrays (LRU, bounded), field lengths, the live-document mask, filters."""

    def __init__(self, reader):
        self.reader = reader
        self.n = reader.doc_count_all()
        self.budget = min(MAX_POSTINGS_BUDGET, max(MIN_POSTINGS_BUDGET, POSTINGS_BUDGET_PER_DOC * self.n))
        self._postings: OrderedDict = OrderedDict()
        self._held = 0
        self._lengths: dict[str, np.ndarray] = {}
        self._norms: dict = {}
        self._columns: dict[str, np.ndarray] = {}
        self._byte_readers: dict = {}
        self.filters: OrderedDict = OrderedDict()
        self.live = None
        if reader.has_deletions():
            live = np.ones(self.n, dtype=bool)
            perdoc = getattr(reader, "_perdoc", None)
            gone = perdoc.deleted_docs() if hasattr(perdoc, "deleted_docs") else \
                (d for d in range(self.n) if reader.is_deleted(d))
            deleted = np.fromiter(gone, dtype=np.int64)
            live[deleted] = False
            self.live = live

    # -- posting lists --

    def _raw(self, fieldname: str, text: str):
        reader = self.reader
        try:
            info = reader.term_info(fieldname, text)
        except Exception:  # TermNotFound and friends: the word is not in this segment
            return None
        if info.is_inlined():
            return ("inline", info.inlined_postings())
        postfile = getattr(getattr(reader, "_terms", None), "_postfile", None)
        if postfile is None:
            return ("matcher", None)
        offset, length = info.extent()
        if isinstance(length, tuple):  # Whoosh 2.7.4 reads it back as unpack_int's 1-tuple
            length = length[0]
        return ("raw", postfile.get(offset, length))

    def postings(self, fieldname: str, text: str):
        """``(docnums int32, weights float32)`` of a term in this segment, or None when absent."""
        key = (fieldname, text)
        hit = self._postings.get(key)
        if hit is not None:
            self._postings.move_to_end(key)
            return hit
        kind, data = self._raw(fieldname, text) or (None, None)
        if kind is None:
            return None
        if kind == "raw":
            ids, weights = _decode_blocks(data)
        elif kind == "inline":
            ids = np.array(data[0], dtype=np.int32)
            weights = np.array(data[1], dtype=np.float32)
        else:  # another codec: ask Whoosh's matcher
            m = _unfiltered(self.reader.postings(fieldname, text))
            pairs = list(_iter_postings(m))
            ids = np.array([p[0] for p in pairs], dtype=np.int32)
            weights = np.array([p[1] for p in pairs], dtype=np.float32)
        value = (ids, weights)
        self._postings[key] = value
        self._held += len(ids)
        while self._held > self.budget and len(self._postings) > 1:
            _, (old, _w) = self._postings.popitem(last=False)
            self._held -= len(old)
        return value

    def values_for(self, fieldname: str, text: str, docs: np.ndarray) -> list:
        """The value strings (encoded positions) of a term's postings for ``docs`` (sorted local
        docnums, all in the term's posting list), decoding only the blocks that hold them."""
        kind, data = self._raw(fieldname, text) or (None, None)
        if kind == "raw":
            return _block_values(data, docs)
        if kind == "inline":
            ids, values = np.array(data[0], dtype=np.int64), data[2]
        else:
            m = _unfiltered(self.reader.postings(fieldname, text))
            pairs = list(_iter_postings(m, values=True))
            ids = np.array([p[0] for p in pairs], dtype=np.int64)
            values = [p[2] for p in pairs]
        return [values[i] for i in np.searchsorted(ids, docs).tolist()]

    # -- columns --

    def column_bytes(self, fieldname: str, docs: list[int]) -> list[bytes]:
        """Some documents' values in a bytes column (see ``whoosh_columns.bytes_values``); the
        column reader is kept."""
        cr = self._byte_readers.get(fieldname)
        if cr is None:
            cr = self._byte_readers[fieldname] = self.reader.column_reader(fieldname, translate=False)
        return bytes_values(cr, self.n, docs)

    def column(self, fieldname: str) -> np.ndarray:
        """A numeric column's value for every document (0 where a document has none)."""
        values = self._columns.get(fieldname)
        if values is None:
            values = self._columns[fieldname] = numeric_column(self.reader, fieldname)
        return values

    # -- field lengths --

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in a field, decoded as ``doc_field_length`` decodes it."""
        lens = self._lengths.get(fieldname)
        if lens is None:
            lens = self._read_lengths(fieldname)
            self._lengths[fieldname] = lens
        return lens

    def _read_lengths(self, fieldname: str) -> np.ndarray:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        perdoc = getattr(self.reader, "_perdoc", None)
        cr = None
        if perdoc is not None and hasattr(perdoc, "_cached_reader"):
            cr = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if cr is None:
            return np.zeros(self.n, dtype=np.float64)
        if getattr(cr, "_fixedlen", None) == 1 and hasattr(cr, "_dbfile"):
            raw = cr._dbfile.get(cr._basepos, cr._count) if cr._count else b""
            codes = np.zeros(self.n, dtype=np.uint8)
            codes[:len(raw)] = np.frombuffer(raw, dtype=np.uint8)
            return _LENGTH_TABLE[codes]
        get = self.reader.doc_field_length
        return np.array([get(d, fieldname, 0) or 0 for d in range(self.n)], dtype=np.float64)

    def norm(self, fields: tuple[str, ...], b: float, avg: float) -> np.ndarray:
        """BM25F's length normalisation ``1 - b + b * len / avg`` of every document, ``len`` its
        length over ``fields`` (a field's length group, see ``ranking``; 0 counts as 1)."""
        key = (fields, b, avg)
        out = self._norms.get(key)
        if out is None:
            lens = self.lengths(fields[0])
            for f in fields[1:]:
                lens = lens + self.lengths(f)
            lens = np.maximum(lens, 1.0)
            out = 1.0 - b + b * lens / avg
            if len(self._norms) > 16:
                self._norms.clear()
            self._norms[key] = out
        return out


def _unfiltered(m):
    """The posting-list matcher under Whoosh's deleted-documents filter (deletions are applied
    once, at the end, from the live mask)."""
    from whoosh.matching.wrappers import FilterMatcher

    while isinstance(m, FilterMatcher):
        m = m.child
    return m


def _iter_postings(m, values: bool = False):
    while m.is_active():
        yield (m.id(), m.weight(), m.value()) if values else (m.id(), m.weight())
        m.next()


#: Open segment reader (weakly held) -> its arrays; entries leave with their reader.
_SEGMENTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def segment_arrays(reader) -> SegmentArrays:
    seg = _SEGMENTS.get(reader)
    if seg is None:
        seg = SegmentArrays(reader)
        _SEGMENTS[reader] = seg
    return seg


# ---- evaluation ------------------------------------------------------------------------------------

class _Evaluator:
    """Evaluates query nodes over one segment; ``top`` is the whole index's searcher (for the
    collection statistics: idf, average field lengths), ``sub`` this segment's."""

    def __init__(self, top, sub, want_scores: bool = True, idfs: dict | None = None):
        self.top = top
        self.idfs = {} if idfs is None else idfs  # word -> idf, shared by one query's segments
        self.sub = sub
        self.reader = sub.reader()
        self.seg = segment_arrays(self.reader)
        self.n = self.seg.n
        self.want_scores = want_scores

    def empty(self) -> _Result:
        return _Result(np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=np.float64))

    def eval(self, q) -> _Result | None:
        """None means "matches nothing" (Whoosh's NullMatcher)."""
        t = type(q)
        if q is wq.NullQuery or t is type(wq.NullQuery):
            return None
        if t is FieldsTerm:
            return self.fields_term(q)
        if t is wq.Term:
            return self.term(q)
        if isinstance(q, wq.Or) and getattr(q, "bonus", None) is not None:
            return self.union(q.subqueries, coord_bonus=q.bonus)
        if t is wq.Or:
            return self.union(q.subqueries)
        if t is wq.And:
            return self.intersection(q.subqueries)
        if t is wq.AndNot:
            return self.and_not(q)
        if t is wq.AndMaybe:
            return self.and_maybe(q)
        if isinstance(q, wq.ConstantScoreQuery):
            return self.constant(q)
        if t is wq.Phrase:
            return self.phrase(q)
        if t is wq.NumericRange:
            return self.numeric_range(q)
        if t is wq.Every and q.fieldname in (None, "", "*"):
            # every document (``-housing``, filters alone), at Whoosh's ListMatcher weight
            return _Result(np.ones(self.n, dtype=bool), np.full(self.n, float(q.boost or 1.0)))
        return self.fallback(q)

    # -- leaves --

    def term(self, q: wq.Term) -> _Result | None:
        field = self.top.schema[q.fieldname] if q.fieldname in self.top.schema else None
        if field is None or not field.scorable:
            return self.fallback(q)
        p = self.seg.postings(q.fieldname, q.text)
        if p is None or not len(p[0]):
            return None
        ids, tf = p
        res = self.empty()
        res.mask[ids] = True
        if self.want_scores:
            res.score[ids] = self._bm25(q.fieldname, q.text, ids, tf) * q.boost if q.boost != 1.0 \
                else self._bm25(q.fieldname, q.text, ids, tf)
        return res

    def _bm25(self, fieldname, text, ids, tf) -> np.ndarray:
        """Whoosh's ``bm25(idf, tf, fl, avgfl, B, K1)`` with the searcher's weighting model."""
        weighting = self.top.weighting
        b = weighting._field_B.get(fieldname, weighting.B)
        k1 = weighting.K1
        idf = self.top.idf(fieldname, text)
        avgfl = self.top.avg_field_length(fieldname) or 1
        tf = tf.astype(np.float64)
        fl = self.seg.lengths(fieldname)[ids]
        return idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))

    def fields_term(self, q: FieldsTerm) -> _Result | None:
        top = self.top
        parts = []
        res = None
        for f, w in q.weights.items():
            if w <= 0:
                continue
            p = self.seg.postings(f, q.text)
            if p is None or not len(p[0]):
                continue
            ids, tf = p
            if res is None:
                res = self.empty()
            res.mask[ids] = True
            if self.want_scores:
                b = ranking.BM25_B.get(f, 0.75)
                group = length_group(f)
                norm = self.seg.norm(group, b, group_avg_length(top, group))
                part = np.zeros(self.n, dtype=np.float64)
                part[ids] = w * tf.astype(np.float64) / norm[ids]
                parts.append(part)
        if res is None:
            return None
        if self.want_scores:
            key = (q.text, tuple(q.weights))
            idf = self.idfs.get(key)
            if idf is None:
                idf = self.idfs[key] = fields_idf(top, q.text, q.weights)
            tf = _tree_sum(parts)
            k1 = ranking.BM25_K1
            s = q.boost * idf * tf * (k1 + 1.0) / (k1 + tf)
            res.score = np.where(res.mask, s, 0.0)
        return res

    def phrase(self, q: wq.Phrase) -> _Result | None:
        """Documents where the words occur in order, each within ``slop`` positions of the one
        before (Whoosh's ``SpanNear2(ordered=True, mindist=1)``), scored as the sum of the words'
        BM25 scores, as Whoosh's phrase matcher does."""
        if q.fieldname not in self.top.schema:
            return None
        field = self.top.schema[q.fieldname]
        if not field.format or not field.format.supports("positions"):
            return self.fallback(q)
        words = list(q.words)
        if not words:
            return None
        posts = [self.seg.postings(q.fieldname, w) for w in words]
        if any(p is None or not len(p[0]) for p in posts):
            return None
        cands = posts[0][0]
        for ids, _ in posts[1:]:
            cands = np.intersect1d(cands, ids, assume_unique=True)
            if not len(cands):
                return None
        if len(words) > 1:
            cands = self._check_positions(q.fieldname, words, cands, q.slop)
            if not len(cands):
                return None
        res = self.empty()
        res.mask[cands] = True
        if self.want_scores:
            scores = []
            for w, (ids, tf) in zip(words, posts):
                idx = np.searchsorted(ids, cands)
                scores.append(self._bm25(q.fieldname, w, cands, tf[idx]))
            s = _tree_sum(scores)
            res.score[cands] = s * q.boost if q.boost != 1.0 else s
        return res

    def _check_positions(self, fieldname, words, cands, slop) -> np.ndarray:
        """The candidates where the words occur in order, each 1 to ``slop`` positions after the
        previous one, checked for all candidates at once on ``(candidate, position)`` keys."""
        fmt = self.top.schema[fieldname].format
        reach = None
        for w in words:
            keys = _position_keys(self.seg.values_for(fieldname, w, cands), fmt)
            if reach is None:
                reach = keys
                continue
            ok = np.zeros(len(keys), dtype=bool)
            for d in range(1, slop + 1):
                want = keys - d
                at = np.minimum(np.searchsorted(reach, want), len(reach) - 1)
                ok |= reach[at] == want
            reach = keys[ok]
            if not len(reach):
                return reach
        return cands[np.unique(reach >> _POS_BITS)]

    def numeric_range(self, q: wq.NumericRange) -> _Result | None:
        """A date range as a filter, from the date column instead of Whoosh's expansion into
        many terms. Only for ``date``: every question has a meeting date (a number > 0), so
        "has a value" is "column > 0"; scored ranges and other fields go to Whoosh."""
        if q.fieldname != "date" or self.want_scores:
            return self.fallback(q)
        values = self.seg.column(q.fieldname)
        mask = values > 0
        if q.start is not None:
            mask &= (values > q.start) if q.startexcl else (values >= q.start)
        if q.end is not None:
            mask &= (values < q.end) if q.endexcl else (values <= q.end)
        if not mask.any():
            return None
        return _Result(mask, np.zeros(self.n, dtype=np.float64))

    def fallback(self, q) -> _Result | None:
        """Any other query type: Whoosh's own matcher, one posting at a time."""
        m = q.matcher(self.sub, self.sub.context(needs_current=True, weighting=self.top.weighting))
        if not m.is_active():
            return None
        ids, scores = [], []
        while m.is_active():
            ids.append(m.id())
            scores.append(m.score() if self.want_scores else 0.0)
            m.next()
        res = self.empty()
        idx = np.array(ids, dtype=np.int64)
        res.mask[idx] = True
        res.score[idx] = scores
        return res

    # -- combinations --

    def union(self, subqueries, coord_bonus: float | None = None) -> _Result | None:
        subs = [r for r in (self.eval(s) for s in subqueries) if r is not None]
        if not subs:
            return None
        if len(subs) == 1 and not (coord_bonus and len(subqueries) > 1):
            return subs[0]
        mask = subs[0].mask.copy()
        for r in subs[1:]:
            mask |= r.mask
        res = _Result(mask, _tree_sum([r.score for r in subs]) if self.want_scores else subs[0].score)
        if coord_bonus and len(subqueries) > 1 and self.want_scores:
            count = np.zeros(self.n, dtype=np.float64)
            for r in subs:
                count += r.mask
            res.score = np.where(mask, res.score + coord_bonus * (count - 1), 0.0)
        return res

    def intersection(self, subqueries) -> _Result | None:
        if not subqueries:
            return None
        subs = []
        for s in subqueries:
            r = self.eval(s)
            if r is None:
                return None
            subs.append(r)
        if len(subs) == 1:
            return subs[0]
        mask = subs[0].mask.copy()
        for r in subs[1:]:
            mask &= r.mask
        score = np.where(mask, _tree_sum([r.score for r in subs]), 0.0) if self.want_scores \
            else subs[0].score
        return _Result(mask, score)

    def and_not(self, q) -> _Result | None:
        a = self.eval(q.a)
        if a is None:
            return None
        b = self.eval(q.b)
        if b is None:
            return a
        mask = a.mask & ~b.mask
        return _Result(mask, np.where(mask, a.score, 0.0))

    def and_maybe(self, q) -> _Result | None:
        a = self.eval(q.a)
        if a is None:
            return None
        b = self.eval(q.b)
        if b is None or not self.want_scores:
            return a
        return _Result(a.mask, a.score + np.where(a.mask, b.score, 0.0))

    def constant(self, q: wq.ConstantScoreQuery) -> _Result | None:
        """A filter (party, asker, status, dates): its mask is cached per segment."""
        filters = self.seg.filters
        key = repr(q.child)
        mask = filters.get(key)
        if mask is None:
            saved, self.want_scores = self.want_scores, False
            try:
                r = self.eval(q.child)
            finally:
                self.want_scores = saved
            mask = r.mask if r is not None else np.zeros(self.n, dtype=bool)
            filters[key] = mask
            if len(filters) > MAX_CACHED_FILTERS:
                filters.popitem(last=False)
        else:
            filters.move_to_end(key)
        if not mask.any():
            return None
        score = np.zeros(self.n, dtype=np.float64)
        if q.score:
            score[mask] = q.score
        return _Result(mask, score)


def execute(searcher, q, want_scores: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every live document ``q`` matches in ``searcher``'s index, as sorted global docnums, and
    their scores (zeros when ``want_scores`` is False)."""
    docs, scores = [], []
    idfs: dict = {}
    for sub, offset in searcher.leaf_searchers():
        ev = _Evaluator(searcher, sub, want_scores, idfs)
        r = ev.eval(q)
        if r is None:
            continue
        mask = r.mask if ev.seg.live is None else (r.mask & ev.seg.live)
        local = np.flatnonzero(mask)
        docs.append(local + offset)
        scores.append(r.score[local])
    if not docs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return np.concatenate(docs).astype(np.int64), np.concatenate(scores)


def top_k(docs: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best ``(docnum, score)``: highest score first, then lowest docnum (Whoosh's order)."""
    if k <= 0 or not len(docs):
        return []
    if len(docs) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= threshold
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:k]
    return [(int(d), float(s)) for d, s in zip(docs[order].tolist(), scores[order].tolist())]


def top_by_date(docs: np.ndarray, scores: np.ndarray, dates: np.ndarray, k: int,
                newest: bool) -> list[tuple[int, float]]:
    """The first ``k`` matches by date (newest or oldest first), then score, then docnum: what
    Whoosh's ``sortedby=[FieldFacet("date"), ScoreFacet()]`` returns. ``dates`` is indexed by
    global docnum."""
    if k <= 0 or not len(docs):
        return []
    d = dates[docs]
    key = -d if newest else d
    if len(docs) > k:
        cutoff = np.partition(key, k - 1)[k - 1]
        keep = key <= cutoff
        docs, scores, key = docs[keep], scores[keep], key[keep]
    order = np.lexsort((docs, -scores, key))[:k]
    return [(int(x), float(s)) for x, s in zip(docs[order].tolist(), scores[order].tolist())]
