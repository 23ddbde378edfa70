"""Writing one new Whoosh segment fast: postings grouped per term in compact arrays, written in bulk.

Whoosh's ``SegmentWriter`` pushes every posting through a sorting pool (a tuple each, one big
sort, marshalled runs, a merge) and then through ``W3PostingsWriter.add_posting``, looking up the
document's field length in a column for each posting. :class:`FastSegmentWriter` keeps the
text fields' postings in flat arrays (:class:`_FlatPostings`: term ids, documents, counts,
positions; grouped by term with one stable numpy sort when written) and the other fields' per
term, knows every document's field lengths already, and encodes each block of 128 postings with
a handful of C-level calls (``format.write_posting_list``).

The files are Whoosh's own W3 codec format, laid out as ``SegmentWriter`` lays them out (the
same blocks, block statistics and term statistics; the blocks pickled with protocol 3 and the
small ones uncompressed: see ``format.BLOCK_PROTOCOL``), so every Whoosh reader, the
incremental updater and Whoosh's segment merging work on them unchanged.
``tests/test_fast_segment.py`` compares indexes written both ways, posting by posting and block
by block.

Memory stays bounded: when the buffered postings pass a budget they are written to a sorted run
file in the index's temporary folder, and the runs are merged term by term at the end.
"""

from __future__ import annotations

import heapq
import pickle
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from bisect import bisect_left
from itertools import accumulate, chain, repeat
from typing import Any, NamedTuple

from whoosh import formats
from whoosh.codec.whoosh3 import W3Codec
from whoosh.system import emptybytes
from whoosh.util.numeric import length_to_byte

from ..analysis import index_tokens, real_terms, stem_tokens, term_positions
from . import internals
from .format import EXIST, FREQ, GENERIC, INT, LONG, POS, USHORT, TermIndexWriter, write_posting_list
from .schema import MqtText

#: Rough bytes of memory per buffered term and per buffered posting, by kind (measured with
#: tracemalloc on a generated corpus; they only decide when a run is written).
#: (FREQ and POS: a term's string and dict entry; a posting's three 4-byte array items, and a
#: share of what grouping them costs: see _FlatPostings.)
_TERM_COST = {FREQ: 150, POS: 150, EXIST: 190, GENERIC: 220}
_POSTING_COST = {FREQ: 16, POS: 16, EXIST: 5, GENERIC: 110}
#: A buffered position: 4 bytes (4.5 with the array's spare room), and 4 more for its grouped
#: copy, which exists beside the buffered positions while a field is grouped
#: (``_FlatPostings._grouped`` gathers them a slice at a time, with no other full-length array).
_POSITION_COST = 8.5

#: A field's value cache is given up if its first this-many misses come in fewer than twice
#: as many documents; it is emptied when it holds more than _VALUE_CACHE_MAX values.
_VALUE_CACHE_TRIAL = 1000
_VALUE_CACHE_MAX = 20_000


class Analysis(NamedTuple):
    """The fast path's analysis of an ``MqtText`` field (``index_terms``'s flags)."""

    drop_stops: bool
    stem_words: bool


class FieldPlan(NamedTuple):
    """How the writer handles one field (see :meth:`FastSegmentWriter._make_plan`)."""

    name: str
    field: Any  # the Whoosh field
    #: How its postings are buffered (``format.FREQ``, ``POS``, ``EXIST``, ``GENERIC``), 0 when
    #: the field is not indexed.
    kind: int
    stored: bool
    column: Any  # the Whoosh column type, or None
    #: The fast path's flags for an MqtText field, else None (Whoosh's own ``field.index``).
    analysis: Analysis | None


class FastSegmentWriter:
    """Writes the documents given to :meth:`add_document` as one new segment of ``ix``.

    Not a Whoosh ``IndexWriter``: it takes no lock and writes no table of contents. The caller
    adds the segment that :meth:`finish` returns to a table of contents (see ``writer``).

    >>> w = FastSegmentWriter(storage, schema, segment)      # doctest: +SKIP
    >>> w.add_document(**fields); seg = w.finish()
    """

    def __init__(self, storage, schema, segment, *, budget_mb: float = 64,
                 derived: tuple[str, tuple[str, ...], Callable[[Iterable[str]], bytes]] | None = None,
                 vector: tuple[str, Callable[[Counter], bytes]] | None = None,
                 feed: Callable[[FastSegmentWriter], Any] | None = None):
        """``derived``: (column, source fields, encode): a column a document may leave out,
        then filled with ``encode`` of the distinct unstemmed words of its sources (mqt's
        ``spell`` column, see ``lexicon``), from the tokenisation the sources are stemmed from
        (one tokenisation of the text, not two); the writer counts the documents holding each
        word (:attr:`word_counts`). ``feed``: called by :meth:`finish` (once the documents
        and their lengths are known, when there are any) for an object whose
        ``add(field, kind, term, payload)`` is given every term's postings as they are written
        (the posting stores: ``poststore.WriterFeed``)."""
        self._plan = self._make_plan(schema)  # first: it may refuse the schema
        self.storage = storage
        self.schema = schema
        self.segment = segment
        self.codec = segment.codec()
        self.compound = segment.should_assemble()
        self.budget = int(budget_mb * 2**20)
        self._tempstorage = storage.temp_storage(f"{segment.indexname}.tmp")
        self._perdoc = self.codec.per_document_writer(storage, segment)
        self.docnum = 0
        self._kinds = {p.name: p.kind for p in self._plan}
        self._plan_by_name = {p.name: p for p in self._plan}
        # Per indexed field, value -> its analysis, while values repeat (names, dates, status).
        self._value_caches: dict[str, dict | None] = {p.name: {} for p in self._plan if p.kind}
        self._misses: dict[str, int] = {}
        self._derived = derived if self._can_derive(derived) else None
        #: The sources' drop_stops flag (see _can_derive).
        self._derived_drop = bool(derived and self._derived is not None
                                  and self._plan_by_name[derived[1][0]].analysis.drop_stops)  # type: ignore[union-attr]
        if vector is not None and self._derived is None:
            raise ValueError("a vector column needs a derived field to count")
        #: (column, encode): a column a document may leave out, then filled with ``encode`` of
        #: the counts of its derived field's stemmed terms (mqt's term vectors), from the
        #: analysis the sources get anyway.
        self._vector = vector
        #: Per indexed field: a _FlatPostings (FREQ, POS), or term -> postings (EXIST, GENERIC).
        self._buffers: dict[str, Any] = {p.name: _FlatPostings(p.kind == POS) if p.kind in (FREQ, POS)
                                         else {} for p in self._plan if p.kind}
        # Field length bytes per document (what the length columns hold) for scorable fields.
        self._lengths: dict[str, array] = {p.name: array("B") for p in self._plan
                                            if p.kind and p.field.scorable}
        self._totals = dict.fromkeys(self._lengths, 0)
        self._used = 0
        #: Word -> how many documents' ``derived`` column holds it (the segment's lexicon).
        self.word_counts: Counter = Counter()
        self._feed = feed
        self._runs: list[str] = []
        #: Run files written so far (postings spilled to disk because of the memory budget).
        self.runs_written = 0
        self.is_closed = False

    # ---- adding documents ---------------------------------------------------------------------

    @staticmethod
    def _make_plan(schema) -> list[FieldPlan]:
        """A :class:`FieldPlan` per field, sorted by name as Whoosh's add_document goes."""
        plan = []
        for name in sorted(schema.names()):
            field = schema[name]
            fmt = field.format
            # What Whoosh's add_document also writes but this writer does not: refuse the
            # schema rather than write an index without them.
            if field.vector:
                raise ValueError(f"field {name!r}: term vectors are not supported by the fast writer")
            if field.separate_spelling():
                raise ValueError(f"field {name!r}: a separate spelling field is not supported by "
                                 f"the fast writer")
            kind = 0
            if field.indexed:
                if isinstance(field, MqtText) and fmt.field_boost == 1.0 and type(fmt) in (
                        formats.Frequency, formats.Positions):
                    kind = POS if type(fmt) is formats.Positions else FREQ
                elif type(fmt) is formats.Existence and fmt.field_boost == 1.0:
                    kind = EXIST
                else:
                    kind = GENERIC
            flags = Analysis(field.drop_stops, field.stem_words) if isinstance(field, MqtText) else None
            plan.append(FieldPlan(name, field, kind, field.stored, field.column_type, flags))
        return plan

    def _can_derive(self, derived) -> bool:
        """Whether ``derived`` = (column, source fields, encode) can share the sources'
        tokenisation: a column of its own, each source an MqtText stemming the same words."""
        if not derived:
            return False
        name, sources, _encode = derived
        plan = self._plan_by_name.get(name)
        if plan is None or plan.kind or plan.column is None or not sources:
            return False
        first = self._plan_by_name.get(sources[0])
        flags = first.analysis if first is not None else None
        return flags is not None and flags.stem_words and all(
            src in self._plan_by_name and self._plan_by_name[src].kind == POS
            and self._plan_by_name[src].analysis == flags for src in sources)

    def add_document(self, **fields) -> None:
        """Add one document (field name -> value, as for Whoosh's ``add_document``)."""
        self.add_prepared(self.prepare(fields))

    def prepare(self, fields: dict):
        """Analyse one document for :meth:`add_prepared`, writing nothing: a value that cannot
        be indexed raises here with this writer unchanged. Boost keywords (``_boost``...) are
        not supported."""
        unknown = [k for k in fields if k not in self._kinds]
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))} (boosts are not "
                             f"supported by the fast writer)")
        # The derived column (mqt's "spell": the distinct unstemmed words of title, question
        # and answer) is counted from the sources' words, and the sources are stemmed from the
        # same words: one tokenisation of the text.
        words: dict[str, list[str]] | None = None
        stemmed: dict[str, list[str]] = {}
        spelled: Any = None  # the document's distinct derived words
        if self._derived is not None:
            dname, sources, encode_words = self._derived
            drop = self._derived_drop
            texts: list[Any] = [fields.get(src) for src in sources]
            if all(isinstance(t, str) for t in texts):
                # tokens with markers where stopwords were and sentences end (positions keep them)
                words = {src: index_tokens(t, drop, False) for src, t in zip(sources, texts)}
                stemmed = {src: stem_tokens(w) for src, w in words.items()}
            given = fields.get(dname)
            if given is None:
                if words is None:
                    raise ValueError(f"a source of {dname} is not text: give {dname} explicitly")
                spelled = dict.fromkeys(real_terms(list(chain.from_iterable(words.values()))))
                fields = {**fields, dname: encode_words(spelled)}
            else:
                spelled = [w.decode("utf-8") for w in given.split(b"\n")] if given else []
            if self._vector is not None and self._vector[0] not in fields:
                if words is None:
                    raise ValueError(f"a source of {dname} is not text: give "
                                     f"{self._vector[0]} explicitly")
                vname, encode = self._vector
                fields = {**fields, vname: encode(Counter(real_terms(
                    list(chain.from_iterable(stemmed.values())))))}
        # (name, kind, postings, length) per indexed field; stored and column values per field
        analysed: list[tuple[str, int, Any, int]] = []
        perdoc: list[tuple[str, Any, Any, Any, Any]] = []
        post: Any
        for name, field, kind, stored, column, flags in self._plan:
            value = fields.get(name)
            if value is None:
                continue
            length = 0
            if kind:
                if words is not None and name in words:
                    post = term_positions(stemmed[name])
                    length = sum(map(len, post.values()))
                else:
                    cache = self._value_caches.get(name)
                    if cache is not None and type(value) in (str, int):
                        hit = cache.get(value)
                        if hit is None:
                            hit = cache[value] = self._analyse(name, field, kind, flags, value)
                            self._value_cache_misses(name, cache)
                        kind, post, length = hit
                    else:
                        kind, post, length = self._analyse(name, field, kind, flags, value)
                analysed.append((name, kind, post, length))
            if stored or column:
                perdoc.append((name, field, value if stored else None,
                               column, field.to_column_value(value) if column else None))
        return analysed, perdoc, spelled

    def _analyse(self, name, field, kind, flags, value) -> tuple[int, Any, int]:
        """(kind, postings, length) of one field value (see :meth:`prepare`)."""
        post: Any
        if flags is not None and isinstance(value, str):
            tokens = index_tokens(value, *flags)
            if kind == FREQ:
                terms = real_terms(tokens)
                return kind, Counter(terms), len(terms)
            post = term_positions(tokens)
            return kind, post, sum(map(len, post.values()))
        post = list(field.index(value))
        if kind in (FREQ, POS):  # a non-string value for an MqtText field
            kind = GENERIC
        elif kind == EXIST and not all(w == 1.0 and not v for _, _, w, v in post):
            kind = GENERIC
        if kind == GENERIC and self._kinds[name] != GENERIC:
            raise ValueError(f"field {name!r}: value {value!r} does not fit the "
                             f"fast writer's postings for this field")
        return kind, post, sum(freq for _, freq, _, _ in post) if field.scorable else 0

    def _value_cache_misses(self, name, cache) -> None:
        """Count a miss of a field's value cache; give the cache up for a field whose values
        rarely repeat (ids, text), and keep it bounded."""
        misses = self._misses[name] = self._misses.get(name, 0) + 1
        if misses == _VALUE_CACHE_TRIAL and self.docnum > 2 * misses:
            return  # repeats often enough: keep it
        if misses == _VALUE_CACHE_TRIAL:
            self._value_caches[name] = None
        elif len(cache) > _VALUE_CACHE_MAX:
            cache.clear()

    def add_prepared(self, prepared) -> None:
        """Add a document analysed by :meth:`prepare` as the next document of the segment."""
        if self.is_closed:
            raise ValueError("this segment writer is finished")
        analysed, perdoc, spelled = prepared
        docnum = self.docnum
        if spelled:
            self.word_counts.update(iter(spelled))  # an iterable, not a mapping: counted in C
        self._perdoc.start_doc(docnum)
        for name, field, sv, column, cv in perdoc:
            if sv is not None:
                self._perdoc.add_field(name, field, sv, 0)  # lengths: see _write_lengths
            if column is not None and cv is not None:
                self._perdoc.add_column_value(name, column, cv)
        self._perdoc.finish_doc()
        used = 0
        for name, kind, post, length in analysed:
            lens = self._lengths.get(name)
            if lens is not None:
                lens.append(_L2B[length] if length < len(_L2B) else length_to_byte(length))
                self._totals[name] += length
            buf = self._buffers[name]
            if kind == FREQ or kind == POS:
                new = buf.add(docnum, post)
                used += new * _TERM_COST[kind] + len(post) * _POSTING_COST[kind]
                if kind == POS:
                    used += length * _POSITION_COST
            elif kind == EXIST:
                new = 0
                for tbytes, _, _, _ in post:
                    a = buf.get(tbytes)
                    if a is None:
                        a = buf[tbytes] = array("I")
                        new += 1
                    a.append(docnum)
                used += new * _TERM_COST[EXIST] + len(post) * _POSTING_COST[EXIST]
            else:
                for tbytes, _, weight, vbytes in post:
                    lst = buf.get(tbytes)
                    if lst is None:
                        lst = buf[tbytes] = []
                        used += _TERM_COST[GENERIC]
                    lst.append((docnum, weight * 1.0,  # Whoosh multiplies by the field boost
                                vbytes if vbytes is not None else emptybytes))
                used += len(post) * _POSTING_COST[GENERIC]
        for lens in self._lengths.values():
            if len(lens) == docnum:  # field absent from this document
                lens.append(0)
        self.docnum = docnum + 1
        self._used += used
        if self._used > self.budget:
            self._write_run()

    def doc_count(self) -> int:
        return self.docnum

    def lengths(self) -> list[tuple[str, array, int]]:
        """(field, length byte per document, total length) of each scored field."""
        return [(name, lens, self._totals[name]) for name, lens in self._lengths.items()]

    # ---- runs ---------------------------------------------------------------------------------

    def _write_run(self) -> None:
        """Write the buffered postings, sorted by field and term, to a temporary run file.

        A run is a sequence of pickled chunks, each one field's next terms with their postings
        concatenated into a few arrays (cheap to pickle and load: no object per term)."""
        name = f"{self.segment.segment_id()}_{len(self._runs)}.run"
        f = self._tempstorage.create_file(name)
        self._runs.append(name)
        self.runs_written += 1
        try:
            raw = f.file
            for field in sorted(self._buffers):
                buf = self._buffers[field]
                if not buf:
                    continue
                kind = self._kinds[field]
                if isinstance(buf, _FlatPostings):
                    for chunk in buf.run_chunks():
                        pickle.dump((field, chunk), raw, protocol=pickle.HIGHEST_PROTOCOL)
                    continue
                terms = sorted(buf)
                start = 0
                while start < len(terms):
                    chunk, start = _run_chunk(kind, buf, terms, start)
                    pickle.dump((field, chunk), raw, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump((None, None), raw, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            f.close()
        self._used = 0

    def _read_run(self, k: int, name: str):
        """(field, term, k, payload) for each term of run ``k``, in order."""
        f = self._tempstorage.open_file(name)
        try:
            raw = f.file
            while True:
                field, chunk = pickle.load(raw)
                if field is None:
                    return
                kind = self._kinds[field]
                if kind == GENERIC:
                    for term, payload in chunk:
                        yield field, term, k, payload
                elif kind == POS:
                    terms, lens, data, plens, pdata = chunk
                    o = po = 0
                    for term, n, pn in zip(terms, lens, plens):
                        yield field, term, k, (data[o:o + n], pdata[po:po + pn])
                        o += n
                        po += pn
                else:
                    terms, lens, data = chunk
                    o = 0
                    for term, n in zip(terms, lens):
                        yield field, term, k, data[o:o + n]
                        o += n
        finally:
            f.close()

    def _sorted_postings(self):
        """(field, term, payload) for every term, sorted, each term's postings in document order."""
        if not self._runs:
            for field in sorted(self._buffers):
                buf = self._buffers[field]
                if isinstance(buf, _FlatPostings):
                    yield from ((field, term, payload) for term, payload in buf.sorted_postings())
                    continue
                for term in sorted(buf):
                    yield field, term, buf.pop(term)
            return
        if any(self._buffers.values()):
            self._write_run()
        # (field, term, run) is unique, so the merge never compares payloads
        merged = heapq.merge(*[self._read_run(k, name) for k, name in enumerate(self._runs)])
        last_field: Any = None
        last_term = None
        parts: list = []
        for field, term, _, payload in merged:
            if term != last_term or field != last_field:
                if parts:
                    yield last_field, last_term, _concat(self._kinds[last_field], parts)
                    parts = []
                last_field, last_term = field, term
            parts.append(payload)
        if parts:
            yield last_field, last_term, _concat(self._kinds[last_field], parts)

    # ---- finishing ----------------------------------------------------------------------------

    def finish(self):
        """Write the postings and close every file; returns the new (Whoosh) segment."""
        if self.is_closed:
            raise ValueError("this segment writer is finished")
        self._write_lengths()
        self._perdoc.close()  # stored fields and columns; sets the segment's field totals
        self._write_postings(self._feed(self) if self._feed is not None and self.docnum else None)
        self._cleanup()
        self.segment.set_doc_count(self.docnum)
        if self.compound:
            self.segment.create_compound_file(self.storage)
        return self.segment

    def cancel(self) -> None:
        """Abandon the segment (its files are left for the caller's folder cleanup)."""
        if not self.is_closed:
            if not self._perdoc.is_closed:
                try:
                    self._perdoc.close()
                except Exception:
                    pass
            self._cleanup()

    def _cleanup(self) -> None:
        for name in self._runs:
            try:
                self._tempstorage.delete_file(name)
            except OSError:
                pass
        self._runs = []
        self._buffers = {k: {} for k in self._buffers}  # closed: nothing is added any more
        self.is_closed = True

    def _write_lengths(self) -> None:
        """The field-length columns and totals, as W3PerDocWriter.add_field writes them one
        document at a time: a length byte per document up to the last non-zero one (the column
        only if some document has one), and each field's total length."""
        for name, lens in self._lengths.items():
            data = lens.tobytes().rstrip(b"\0")
            if data:
                internals.write_length_column(self._perdoc, name, data)
            if self._totals[name]:
                internals.add_field_length(self._perdoc, name, self._totals[name])

    def _write_postings(self, feed=None) -> None:
        """Posting lists (.pst) and the term index (.trm), as W3FieldWriter writes them (and
        each term's postings to ``feed``)."""
        tindex = TermIndexWriter(self.segment.create_file(self.storage, W3Codec.TERMS_EXT))
        fieldmap: dict[str, int] = {}
        tindex.extras["fieldmap"] = fieldmap
        postfile = self.segment.create_file(self.storage, W3Codec.POSTS_EXT)
        out = bytearray()
        base = 0  # bytes of the postings file already flushed
        schema = self.schema
        fieldname = None
        fieldprefix = b""
        for field, term, payload in self._sorted_postings():
            if field != fieldname:
                fieldname = field
                fieldmap[field] = len(fieldmap)
                fieldprefix = USHORT.pack(fieldmap[field])
                kind = self._kinds[field]
                fmt = schema[field].format
                fixed = fmt.fixed_value_size()
                lens = self._lengths.get(field)
            if feed is not None:
                feed.add(field, kind, term, payload)
            btext = term.encode("utf-8") if isinstance(term, str) else term
            start = base + len(out)
            info = write_posting_list(out, kind, payload, lens, fixed)
            tindex.add(fieldprefix + btext, info + LONG.pack(start) + INT.pack(base + len(out) - start))
            if len(out) > 1 << 20:
                postfile.write(out)
                base += len(out)
                out = bytearray()
        postfile.write(out)
        tindex.close()  # closes its file
        postfile.close()


class _FlatPostings:
    """A FREQ or POS field's buffered postings, in flat arrays in the order they were added
    (each distinct term of a document costs one dict lookup, the rest is C-level), grouped by
    term with numpy when they are written (a stable sort: each term's postings stay in
    document order). What it gives is what the per-term arrays gave: ``[doc, count, ...]``
    and (POS) the positions, term by term in sorted order.

    numpy is imported when the postings are grouped (a worker's first run or its segment's
    end, where its posting store loads numpy anyway), never at import."""

    __slots__ = ("ids", "terms", "tids", "docs", "counts", "positions")

    def __init__(self, positions: bool):
        self._reset(positions)

    def _reset(self, positions: bool) -> None:
        self.ids: dict[str, int] = {}  # term -> term id (its index in ``terms``)
        self.terms: list[str] = []
        self.tids = array("I")  # per posting: its term id, its document, its count
        self.docs = array("I")
        self.counts = array("I")
        self.positions: array | None = array("I") if positions else None

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, docnum: int, post) -> int:
        """Add a document's postings (term -> count, or term -> positions); returns how many
        of its terms are new here."""
        ids = self.ids
        tids: list = list(map(ids.get, post))
        new = 0
        if None in tids:
            fresh = [t for t, i in zip(post, tids) if i is None]
            for t in fresh:
                t.encode("utf-8")  # fail here, before anything is added, not at write time
            terms = self.terms
            for t in fresh:
                ids[t] = len(terms)
                terms.append(t)
            new = len(fresh)
            tids = list(map(ids.__getitem__, post))
        self.tids.extend(tids)
        self.docs.extend(repeat(docnum, len(tids)))
        if self.positions is None:
            self.counts.extend(post.values())
        else:
            lists = post.values()
            self.counts.extend(map(len, lists))
            self.positions.extend(chain.from_iterable(lists))
        return new

    def _grouped(self):
        """(sorted terms, per term its items in ``data`` (2 a posting), ``data`` = [doc, count,
        ...] term by term, per term its positions, the positions or None), as arrays; empties
        the buffer."""
        import numpy as np

        terms, tids, docs, counts, positions = (self.terms, self.tids, self.docs, self.counts,
                                                self.positions)
        self._reset(positions is not None)
        order = sorted(range(len(terms)), key=terms.__getitem__)
        rank = np.empty(len(order), dtype=np.uint32)
        rank[np.array(order, dtype=np.int64)] = np.arange(len(order), dtype=np.uint32)
        key = rank[np.frombuffer(tids, dtype=np.uint32)]
        del tids
        perm = np.argsort(key, kind="stable")
        nposts = np.bincount(key, minlength=len(order))
        del key
        cnt = np.frombuffer(counts, dtype=np.uint32)
        cs = cnt[perm]
        data = np.empty(2 * len(perm), dtype=np.uint32)
        data[0::2] = np.frombuffer(docs, dtype=np.uint32)[perm]
        data[1::2] = cs
        del docs
        pdata = plens = None
        if positions is not None:
            src = np.cumsum(cnt, dtype=np.int64) - cnt  # where each posting's positions start
            dst = np.cumsum(cs, dtype=np.int64)
            ends = dst[np.cumsum(nposts) - 1] if len(cs) else dst[:0]
            plens = _to_array(np.diff(ends, prepend=0))
            dst -= cs
            # Each grouped position is the buffered one at its posting's shift plus its own
            # index: gathered into the result a slice of postings at a time, so the only array
            # as long as all the positions besides the buffered one is the result (see
            # _POSITION_COST); the indexes are as long as one slice's positions.
            total = len(positions)
            shift = src[perm]
            shift -= dst
            del src
            pdata = array("I", [0]) * total
            out = np.frombuffer(pdata, dtype=np.uint32)
            pos = np.frombuffer(positions, dtype=np.uint32)
            for a in range(0, len(cs), _GATHER_POSTINGS):
                b = min(a + _GATHER_POSTINGS, len(cs))
                start, stop = int(dst[a]), int(dst[b - 1] + cs[b - 1])
                idx = np.repeat(shift[a:b], cs[a:b])
                idx += np.arange(start, stop, dtype=np.int64)
                np.take(pos, idx, out=out[start:stop])
            del out, pos, positions
        return [terms[i] for i in order], _to_array(nposts * 2), _to_array(data), plens, pdata

    def sorted_postings(self):
        """(term, payload) for every term, sorted (payloads as ``format.FREQ``/``POS`` take
        them); empties the buffer."""
        terms, lens, data, plens, pdata = self._grouped()
        o = 0
        if pdata is None:
            for term, n in zip(terms, lens):
                yield term, data[o:o + n]
                o += n
            return
        po = 0
        for term, n, pn in zip(terms, lens, plens):
            yield term, (data[o:o + n], pdata[po:po + pn])
            o += n
            po += pn

    def run_chunks(self):
        """The buffered postings as run chunks (see ``_run_chunk``); empties the buffer."""
        terms, lens, data, plens, pdata = self._grouped()
        cum = list(accumulate(lens, initial=0))  # items before each term
        o = po = start = 0
        while start < len(terms):
            end = min(len(terms), start + _CHUNK_TERMS,
                      max(start + 1, bisect_left(cum, cum[start] + _CHUNK_ITEMS, start + 1)))
            n = cum[end] - cum[start]
            if pdata is None:
                yield terms[start:end], lens[start:end], data[o:o + n]
            else:
                pn = sum(plens[start:end])
                yield terms[start:end], lens[start:end], data[o:o + n], plens[start:end], pdata[po:po + pn]
                po += pn
            o += n
            start = end


def _to_array(a) -> array:
    """A numpy array of non-negative integers < 2**32 as an ``array('I')``."""
    import numpy as np

    out = array("I")
    # a byte view of the array (no intermediate bytes copy; frombytes wants format 'B')
    out.frombytes(np.ascontiguousarray(a, dtype=np.uint32).data.cast("B"))
    return out


#: Positions are grouped (gathered in term order) this many postings at a time.
_GATHER_POSTINGS = 1 << 16

#: A run chunk holds at most this many terms or this many array items.
_CHUNK_TERMS = 16384
_CHUNK_ITEMS = 1 << 20


def _run_chunk(kind, buf, terms, start):
    """The next chunk of a run from ``terms[start:]`` (popped from ``buf``, an EXIST or GENERIC
    field's: FREQ and POS fields buffer in _FlatPostings), and where it ends."""
    end = start
    if kind == GENERIC:
        end = min(len(terms), start + 1024)
        return [(t, buf.pop(t)) for t in terms[start:end]], end
    lens, data = array("I"), array("I")
    while end < len(terms) and end - start < _CHUNK_TERMS and len(data) < _CHUNK_ITEMS:
        a = buf.pop(terms[end])
        lens.append(len(a))
        data.extend(a)
        end += 1
    return (terms[start:end], lens, data), end


def _concat(kind, parts):
    """One term's payloads from several runs, in run (= document) order, as one payload."""
    if len(parts) == 1:
        return parts[0]
    if kind == POS:
        a, positions = parts[0]
        for a2, p2 in parts[1:]:
            a.extend(a2)
            positions.extend(p2)
        return a, positions
    first = parts[0]
    for p in parts[1:]:
        first.extend(p)
    return first


# A length byte survives Whoosh's byte -> length -> byte round trip (see format.write_posting_list;
# tests/test_fast_segment.py checks it).
_L2B = [length_to_byte(n) for n in range(4096)]
