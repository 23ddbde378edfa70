"""Reading an index: open it read-only, give each thread a consistent view (a :class:`Snapshot`)
that follows new commits and rebuilt indexes, and answer what the searcher asks of it.

The searcher (``searcher.search``) talks to :class:`EngineReader` and its snapshots in plain
values: compiled queries, document numbers, score and date arrays, records, facet counts. What a
view decodes from a segment is kept by the view itself (``postings.SegmentArrays``, one per
segment reader) or, when it depends only on the segment, by the reader for every view
(``facets.SegmentCache``); never in module globals. It never writes.
"""

from __future__ import annotations

import bisect
import functools
import json
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from collections.abc import Callable, Iterator

import numpy as np
from whoosh import index as whoosh_index

from .. import stemtable, termvectors
from ..analysis import use_stem_table
from ..errors import IndexCorruptError, IndexMissingError, IndexVersionError, QueryError
from ..fields import FACETS, SPELL_FIELD, TEXT_FIELDS
from ..meta import check_index
from ..model import Question
from . import compiler, fastpath, internals
from .columns import bytes_column
from .compiler import Compiled
from .evaluate import execute
from .lexicon import Lexicon, SegmentLexicon, segment_lexicon
from .facets import SegmentCache, SegmentFacets, count_facets, segment_facets, segment_key
from .postings import SegmentArrays
from .scoring import robertson_idf, weighting
from .topk import top_by_date, top_k
from .storage import LOW_LEVEL_ERRORS, damaged_index_error, open_error, open_for_reading

if TYPE_CHECKING:
    from searcher.ranking import Ranking

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Report damage found while reading as IndexCorruptError (query errors pass through)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (QueryError, IndexMissingError, IndexVersionError, IndexCorruptError):
            raise
        except LOW_LEVEL_ERRORS as e:
            raise damaged_index_error(self.index_dir, e) from None

    return wrapper  # type: ignore[return-value]


@dataclass
class Ranked:
    """A query's matches in one view: how many, every match (sorted docnums: for facets and
    trends) and the first ``want`` in result order as ``(docnum, score)``."""

    total: int
    docs: np.ndarray
    top: list[tuple[int, float]]


@dataclass
class RawHit:
    """One hit as the engine knows it: its number in the view, its score and its stored record."""

    docnum: int
    score: float
    record: dict


class EngineReader:
    """Opens an index read-only and answers queries; one Whoosh searcher per thread, refreshed
    when the index changes (new commits, or a rebuilt index swapped into place). Thread-safe.

    ``ranking`` (a ``searcher.ranking.Ranking``, default ``Ranking()``) gives the compiled
    queries their rules and the executor and Whoosh's weighting their BM25 settings.

    Searches go through the segments' posting stores (``fastpath``) when every segment has one
    and the query's nodes are known there, else through the executor (``evaluate``): the same
    results. ``use_stores=False`` always takes the executor (tests and benchmarks compare them).
    """

    def __init__(self, index_dir: str | os.PathLike, ranking: Ranking | None = None, *,
                 use_stores: bool = True):
        if ranking is None:
            from searcher.ranking import Ranking

            ranking = Ranking()
        self.index_dir = Path(index_dir)
        self.ranking = ranking
        self._weighting = weighting(ranking.bm25)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._epoch = 0
        #: Values computed once per segment (facet codes, dates, df tables): see ``facets``.
        self.segment_cache = SegmentCache()
        #: Whether searches may use the posting stores (see the class doc).
        self.use_stores = use_stores
        #: Seconds before a view that found a store missing looks again (the build and reindex
        #: write them just after their commit, so the first view of a commit may come first).
        self.store_recheck = 1.0
        #: Queries of one view the stores may fail (each then answered by the executor) before
        #: that view stops using them: one failure may be passing (memory), repeated ones are a
        #: damaged store, which the next build or reindex rewrites.
        self.store_failures = 3
        #: The segments' posting stores, opened once each (``fastpath``).
        self.stores = fastpath.StoreKeeper(self.index_dir)
        #: thread id -> (the thread, its open Whoosh searcher): closed when replaced, when the
        #: thread is found gone, or by close().
        self._searchers: dict[int, tuple[weakref.ref, Any]] = {}
        self._open()

    def _open(self) -> None:
        self.meta = check_index(self.index_dir)
        ino = os.stat(self.index_dir).st_ino
        try:
            ix = open_for_reading(self.index_dir)
        except whoosh_index.EmptyIndexError:
            raise IndexMissingError(f"{self.index_dir} holds no finished index: rebuild it") from None
        except Exception as e:
            raise open_error(self.index_dir, e) from None
        use_stem_table(self.index_dir / stemtable.FILE)  # stems without importing NLTK
        self._ix = ix
        self._ino = ino
        self._epoch += 1
        self.segment_cache.clear()  # another index: nothing of the old one applies
        if hasattr(self, "stores"):
            self.stores.clear()

    def _searcher(self):
        """This thread's Whoosh searcher, reopened or refreshed if the index changed."""
        try:
            ino = os.stat(self.index_dir).st_ino
        except OSError:
            raise IndexMissingError(f"the index at {self.index_dir} has disappeared") from None
        if ino != self._ino:
            with self._lock:
                if ino != self._ino:
                    self._open()
        loc = self._local
        old = getattr(loc, "searcher", None)
        try:
            stale = old is None or loc.epoch != self._epoch or not old.up_to_date()
        except LOW_LEVEL_ERRORS:
            stale = True
        if not stale:
            return old
        # A fresh searcher rather than Whoosh's refresh(): refresh shares segment readers with
        # the old searcher and, if it fails half-way (a commit replacing files), leaves that
        # searcher closed for good. A new commit may also delete files between Whoosh listing
        # them and opening them: try again on the newer state.
        for attempt in range(5):
            try:
                s = self._ix.searcher(weighting=self._weighting)
                break
            except LOW_LEVEL_ERRORS as e:
                if attempt == 4:
                    raise damaged_index_error(self.index_dir, e) from None
                time.sleep(0.01 * (attempt + 1))
        if old is not None:
            _close(old)
        loc.searcher, loc.epoch = s, self._epoch
        loc.snapshot = Snapshot(self, s)
        self._track(s)
        self.segment_cache.retain(segment_key(sub.reader()) for sub, _ in s.leaf_searchers())
        return s

    def _track(self, searcher) -> None:
        """Remember this thread's new searcher; close those of threads that have ended."""
        me = threading.current_thread()
        with self._lock:
            for ident, (thread, old) in list(self._searchers.items()):
                t = thread()
                if ident != me.ident and (t is None or not t.is_alive()):
                    del self._searchers[ident]
                    _close(old)
            self._searchers[me.ident or 0] = (weakref.ref(me), searcher)

    @_guarded
    def snapshot(self) -> Snapshot:
        """This thread's current view of the index: use one for everything one request reads,
        so that document numbers stay meaningful between calls."""
        self._searcher()
        return self._local.snapshot

    def close(self) -> None:
        """Close every thread's searcher (their files); the reader is not to be used after."""
        with self._lock:
            searchers = [s for _t, s in self._searchers.values()]
            self._searchers.clear()
        for s in searchers:
            _close(s)
        self._local.searcher = None
        self._local.snapshot = None

    # -- compiling --

    def compile(self, node) -> Compiled:
        """The compiled query of a query tree (``searcher.query``), against the current view."""
        return self.snapshot().compile(node)

    def weighted_terms(self, weights: dict[str, float], exclude_id: str | None = None) -> Compiled:
        """A query for weighted index terms over the text fields (similar questions)."""
        return compiler.weighted_terms(weights, self.ranking, exclude_id)

    def with_feedback(self, compiled: Compiled, weights: dict[str, float]) -> Compiled:
        """The query re-ranked by weighted expansion terms: same matches, feedback adds score only."""
        return compiler.with_feedback(compiled, weights, self.ranking)

    # -- whole-index questions --

    def count(self, compiled: Compiled) -> int:
        return self.snapshot().count(compiled)

    def word_frequency(self, word: str, field: str | None = None) -> int:
        """:meth:`Snapshot.word_frequency` in the current view."""
        return self.snapshot().word_frequency(word, field)

    def similar_words(self, word: str, maxdist: int, field: str | None = None) -> list[tuple[str, int]]:
        """:meth:`Snapshot.similar_words` in the current view."""
        return self.snapshot().similar_words(word, maxdist, field)

    @_guarded
    def document_versions(self) -> dict[str, str]:
        """Every live document's id and the SHA-1 of the file it was indexed from (its version:
        a changed file is a new version), read from the ``fileinfo`` column, not the records."""
        from ..fileinfo import FileInfo  # here: a search never reads versions

        out: dict[str, str] = {}
        reader = self._searcher().reader()
        for leaf, _base in reader.leaf_readers():
            infos = leaf.column_reader("fileinfo")
            deleted = leaf.is_deleted if leaf.has_deletions() else None
            for btext in leaf.lexicon("id"):
                doc_id = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                for d in leaf.postings("id", btext).all_ids():
                    if deleted is not None and deleted(d):
                        continue
                    raw = infos[d]
                    info = FileInfo.parse(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
                    out[doc_id] = info.sha1 if info else ""
        return out

    @_guarded
    def get(self, doc_id: str) -> Question | None:
        fields = self._searcher().document(id=doc_id)
        return Question.from_dict(json.loads(fields["record"])) if fields else None

    @_guarded
    def doc_count(self) -> int:
        return self._searcher().doc_count()

    @_guarded
    def health(self) -> dict:
        """Live documents, the generation of the index this thread has open (refreshed first)
        and when it was built: cheap (no facet counts), for a server's health check."""
        s = self._searcher()
        return dict(documents=s.doc_count(), generation=s.reader().generation(),
                    built_at=self.meta.get("built_at"))

    @_guarded
    def stats(self) -> dict:
        snap = self.snapshot()
        s = snap.whoosh_searcher
        reader = s.reader()
        live = [d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)] \
            if reader.has_deletions() else range(reader.doc_count_all())
        facets = snap.facet_counts(live)
        dates = snap.dates().tolist()
        dates = [dates[d] for d in live if dates[d]]
        size = 0  # the whole folder: Whoosh's files, the side tables and the posting stores
        for path in self.index_dir.rglob("*"):
            try:
                size += path.stat().st_size if path.is_file() else 0
            except OSError:  # a file a concurrent commit removed
                pass
        return dict(documents=s.doc_count(), first_date=min(dates) if dates else None,
                    last_date=max(dates) if dates else None, facets=facets, size_bytes=size,
                    segments=len(internals.segments(self._ix)), meta=self.meta)

    # -- test seam --

    def whoosh_searcher(self):
        """Test seam: this thread's current Whoosh searcher, for tests that compare the executor
        with Whoosh's own search. mqt never uses it."""
        return self._searcher()

    def arrays(self, segment_reader) -> SegmentArrays:
        """Test seam: the decoded arrays (``postings.SegmentArrays``) of a segment reader of this
        thread's current searcher, for tests of the posting cache. mqt never uses it."""
        return self.snapshot().arrays(segment_reader)


def _close(searcher) -> None:
    try:
        searcher.close()
    except Exception:  # already closed or its files gone: nothing left to release
        pass


def _facets_of(arrays: SegmentArrays) -> SegmentFacets:
    return segment_facets(arrays.reader, arrays.column("date"))


class Snapshot:
    """One consistent view of the index (one Whoosh searcher), used by the thread that got it
    from :meth:`EngineReader.snapshot`: documents are numbered within it."""

    def __init__(self, engine: EngineReader, searcher):
        self._engine = engine
        self.whoosh_searcher = searcher
        self.index_dir = engine.index_dir
        self._leaves = searcher.leaf_searchers()
        self._starts = [offset for _sub, offset in self._leaves]
        self._dates: np.ndarray | None = None
        #: id of one of this view's segment readers -> its decoded arrays (the readers live as
        #: long as the view, so their ids stay theirs).
        self._arrays: dict[int, SegmentArrays] = {}
        #: The view's posting stores (``fastpath``), opened on first use; None: not usable
        #: (looked for again after ``_fast_retry``, a ``time.monotonic()``).
        self._fast: Any = False
        self._fast_retry = 0.0
        #: Queries the stores failed in this view (see ``EngineReader.store_failures``).
        self._failures = 0
        #: The view's word list (``lexicon``), made on first use: a search that expands or
        #: corrects no word never reads it.
        self._lexicon: Lexicon | None = None

    def fast(self):
        """This view's ``blockmax.Index`` (its segments' posting stores and deletions), or None
        when a segment has no usable store or the reader does not use them."""
        fast = self._fast
        if fast is None and time.monotonic() < self._fast_retry:
            return None
        if fast is False or fast is None:
            engine = self._engine
            fast = None
            if engine.use_stores:
                try:
                    fast = engine.stores.index(self.whoosh_searcher, engine.ranking.bm25)
                except Exception as e:  # a damaged store: the executor answers
                    self._store_failed(e, disable=True)
                    return None
            self._fast = fast
            # stores are written just after their commit: a view that came first looks again
            self._fast_retry = time.monotonic() + engine.store_recheck if engine.use_stores else float("inf")
        return fast

    def _store_failed(self, e: BaseException, disable: bool = False) -> None:
        """A store failed to open (``disable``) or to answer a query: the caller answers that
        query with the executor. This view stops using the stores (a later commit's view tries
        again) when they failed to open or failed ``store_failures`` queries."""
        import logging  # here: a search that goes well never imports logging

        _log = logging.getLogger(__name__)
        self._failures += 1
        _log.warning("%s: a posting store failed (%s: %s); answering without the stores",
                     self.index_dir, type(e).__name__, e)
        if disable or self._failures >= self._engine.store_failures:
            self._fast = None
            self._fast_retry = float("inf")
            _log.warning("%s: not using the posting stores in this view of the index (%d failure%s); "
                         "the next build or reindex rewrites a damaged store", self.index_dir,
                         self._failures, "" if self._failures == 1 else "s")

    @_guarded
    def compile(self, node) -> Compiled:
        """The compiled query of a query tree (``searcher.query``) in this view (prefixes and
        fuzzy words expand to its words)."""
        s = self.whoosh_searcher
        return compiler.compile_tree(node, self.lexicon(), s.schema, self._engine.ranking)

    def lexicon(self) -> Lexicon:
        """The view's body words and their document counts (``lexicon``), each segment's read
        on first use and kept by the reader for every view."""
        if self._lexicon is None:
            leaves = self._leaves
            self._lexicon = Lexicon(len(leaves), lambda i: self._segment_lexicon(leaves[i][0].reader()))
        return self._lexicon

    def _segment_lexicon(self, reader) -> SegmentLexicon:
        return self._engine.segment_cache.get(
            segment_key(reader), "lexicon", lambda: segment_lexicon(self.index_dir, reader))

    @_guarded
    def count(self, compiled: Compiled) -> int:
        """How many live documents ``compiled`` matches."""
        return len(self.matches(compiled))

    @_guarded
    def word_frequency(self, word: str, field: str | None = None) -> int:
        """How many documents contain this (unstemmed, normalised) word: in the body text, or
        in the name field ``field`` (asker, party...)."""
        if field is None or field == SPELL_FIELD:
            return self.lexicon().doc_frequency(word)
        return self.whoosh_searcher.reader().doc_frequency(field, word)

    @_guarded
    def knows_word(self, word: str, field: str | None = None) -> bool:
        """Whether :meth:`word_frequency` is above 0 (the first segment holding the word
        answers)."""
        if field is None or field == SPELL_FIELD:
            return word in self.lexicon()
        return (field, word) in self.whoosh_searcher.reader()

    @_guarded
    def similar_words(self, word: str, maxdist: int, field: str | None = None) -> list[tuple[str, int]]:
        """Index words within ``maxdist`` edits of ``word`` (sharing its first letter), with doc
        counts: from the body text, or from the name field ``field``."""
        if field is None or field == SPELL_FIELD:
            lex = self.lexicon()
            return [(w, lex.doc_frequency(w)) for w in lex.terms_within(word, maxdist, prefix=1)
                    if w != word]
        reader = self.whoosh_searcher.reader()
        out = []
        for w in reader.terms_within(field, word, maxdist, prefix=1):
            w = w.decode("utf-8") if isinstance(w, bytes) else w
            if w != word:
                out.append((w, reader.doc_frequency(field, w)))
        return out

    def _plan(self, compiled: Compiled):
        """The ``blockmax`` tree of a compiled query, or None when the stores cannot answer it."""
        idx = self.fast()
        if idx is None:
            return None, None
        try:
            return idx, fastpath.plan(compiled.query)
        except fastpath.Unsupported:
            return None, None

    @_guarded
    def ranked(self, compiled: Compiled, want: int | None, order: str = "relevance") -> Ranked:
        """The total, every match and the first ``want`` matches (None: all) of a compiled
        query, by score (``order="relevance"``; ties to the lower docnum) or by date
        (``"newest"``/``"oldest"``, then score, then docnum): from the stores when they can
        answer, scoring only the matches that can reach the first ``want``, else from every
        match's score (``run``)."""
        if order not in ("relevance", "newest", "oldest"):
            raise ValueError(f"unknown order {order!r}")
        idx, plan = self._plan(compiled)
        if plan is not None:
            try:
                r = idx.search(plan, want if want is not None else int(idx.offsets[-1]), sort=order)
            except fastpath.Unsupported:
                pass
            except Exception as e:
                self._store_failed(e)
            else:
                return Ranked(r.total, r.docs, r.top)
        docs, scores = self.run(compiled)
        k = len(docs) if want is None else want
        top = top_k(docs, scores, k) if order == "relevance" else \
            top_by_date(docs, scores, self.dates(), k, newest=(order == "newest"))
        return Ranked(len(docs), docs, top)

    @_guarded
    def matches(self, compiled: Compiled) -> np.ndarray:
        """Every live document ``compiled`` matches, as sorted docnums (no scores)."""
        idx, plan = self._plan(compiled)
        if plan is not None:
            try:
                return idx.matches(plan)[1]
            except fastpath.Unsupported:
                pass
            except Exception as e:
                self._store_failed(e)
        return self.run(compiled, want_scores=False)[0]

    def arrays(self, segment_reader) -> SegmentArrays:
        """The decoded arrays of one of this view's segment readers (made on first use)."""
        seg = self._arrays.get(id(segment_reader))
        if seg is None:
            seg = SegmentArrays(segment_reader, self._engine.segment_cache, segment_key(segment_reader))
            self._arrays[id(segment_reader)] = seg
        return seg

    def doc_count_all(self) -> int:
        return self.whoosh_searcher.doc_count_all()

    @_guarded
    def run(self, compiled: Compiled, want_scores: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Every live document ``compiled`` matches, as sorted docnums, and their scores."""
        return execute(self.whoosh_searcher, compiled.query, self.arrays,
                       self._engine.ranking.bm25, want_scores)

    @_guarded
    def dates(self) -> np.ndarray:
        """Every document's date number (``fields.date_number``; 0: none), by docnum."""
        if self._dates is None:
            idx = self.fast()
            if idx is not None:
                try:
                    self._dates = idx.dates()
                    return self._dates
                except Exception as e:
                    self._store_failed(e)
            parts = [self.arrays(sub.reader()).column("date") for sub, _ in self._leaves]
            self._dates = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return self._dates

    @_guarded
    def facet_counts(self, docs) -> dict[str, dict[str, int]]:
        """Value -> count of each facet over ``docs`` (sorted docnums), most frequent first."""
        docs = np.asarray(docs, dtype=np.int64)
        idx = self.fast()
        if idx is not None:
            try:
                return idx.facet_counts(docs, FACETS)
            except Exception as e:
                self._store_failed(e)
        return count_facets(self._segment_facets(), docs)

    def _segment_facets(self) -> list[tuple[int, SegmentFacets]]:
        """Each segment's first docnum and facet values (``facets.segment_facets``), cached by
        segment."""
        parts: list[tuple[int, SegmentFacets]] = []
        idx = self.fast()
        if idx is not None and len(idx.stores) == len(self._leaves):
            try:
                return [(offset, fastpath.store_facets(st))
                        for (_sub, offset), st in zip(self._leaves, idx.stores)]
            except Exception as e:
                self._store_failed(e)
        for sub, offset in self._leaves:
            arrays = self.arrays(sub.reader())
            parts.append((offset, self._engine.segment_cache.get(
                arrays.key, "facets", functools.partial(_facets_of, arrays))))
        return parts

    @_guarded
    def records(self, ranked: list[tuple[int, float]]) -> list[RawHit]:
        """The stored records of ``(docnum, score)`` pairs, in order."""
        stored = self.whoosh_searcher.stored_fields
        return [RawHit(docnum, float(score or 0.0), json.loads(stored(docnum)["record"]))
                for docnum, score in ranked]

    def iter_records(self, ranked: list[tuple[int, float]]) -> Iterator[RawHit]:
        """:meth:`records`, read one at a time as iterated (an export of 100,000 questions never
        holds them all)."""
        stored = self.whoosh_searcher.stored_fields
        for docnum, score in ranked:
            try:
                record = json.loads(stored(docnum)["record"])
            except LOW_LEVEL_ERRORS as e:
                raise damaged_index_error(self.index_dir, e) from None
            yield RawHit(docnum, float(score or 0.0), record)

    @_guarded
    def match_columns(self, compiled: Compiled, facet: str | None = None):
        """``(dates, codes, labels)`` for every match of ``compiled``: its meeting date as a
        YYYYMMDD number, and with ``facet`` (party, asker, asked_of...) its value of that facet
        as a code into ``labels`` (code 0: no value), from the same columns as the facets."""
        docs = self.matches(compiled)
        all_dates = self.dates()
        dates = all_dates[docs]
        if facet is None:
            return dates, None, None
        if facet == "year":
            years, local = np.unique(all_dates // 10000, return_inverse=True)
            labels = [""] + [str(y) for y in years.tolist() if y]
            shift = 0 if years.size and years[0] == 0 else 1
            return dates, (local.reshape(-1) + shift)[docs].astype(np.int32), labels
        index: dict[str, int] = {"": 0}
        codes = np.zeros(len(docs), dtype=np.int32)
        for (start, facets), end in zip(self._segment_facets(), self._starts[1:] + [None]):
            to_label = np.array([index.setdefault(v, len(index)) for v in facets.labels[facet]] or [0],
                                dtype=np.int32)
            lo = int(np.searchsorted(docs, start))
            hi = len(docs) if end is None else int(np.searchsorted(docs, end))
            codes[lo:hi] = to_label[facets.codes[facet][docs[lo:hi] - start]]
        return dates, codes, list(index)

    @_guarded
    def matching_ids(self, compiled: Compiled, ids) -> set[str]:
        """Those of ``ids`` (question ids) whose live document matches ``compiled``."""
        s = self.whoosh_searcher
        docs = self.matches(compiled)
        found = {}
        for doc_id in ids:
            n = s.document_number(id=doc_id)
            if n is not None:
                found[int(n)] = doc_id
        if not found:
            return set()
        keys = np.array(sorted(found), dtype=np.int64)
        hit = keys[np.isin(keys, docs)]
        return {found[int(n)] for n in hit.tolist()}

    @_guarded
    def term_vectors(self, docnums: list[int]) -> list[bytes]:
        """The term vectors (``termvectors.encode``) of some documents, in order."""
        by_segment: dict[int, list[int]] = {}  # leaf -> positions in docnums
        for j, docnum in enumerate(docnums):
            by_segment.setdefault(bisect.bisect_right(self._starts, docnum) - 1, []).append(j)
        blobs: list[bytes] = [b""] * len(docnums)
        for i, mine in by_segment.items():
            sub, start = self._leaves[i]
            values = self.arrays(sub.reader()).column_bytes(
                termvectors.FIELD, [docnums[j] - start for j in mine])
            for j, v in zip(mine, values):
                blobs[j] = v
        return blobs

    @_guarded
    def document_frequencies(self, hashes: np.ndarray) -> np.ndarray:
        """How many documents of the whole index have each term hash in their term vector."""
        return sum((termvectors.df_lookup(self._df_table(sub.reader()), hashes)
                    for sub, _ in self._leaves), np.zeros(len(hashes)))

    def _df_table(self, reader) -> np.ndarray:
        """A segment's term-vector document frequencies: the table saved beside the index after
        its commit, or (missing: an interrupted reindex) computed from its column once."""
        def load():
            segid = reader.segment().segment_id()
            table = termvectors.load_df_table(self.index_dir, segid)
            if table is None:
                table = termvectors.df_table(bytes_column(reader, termvectors.FIELD))
            return table

        return self._engine.segment_cache.get(segment_key(reader), "df", load)

    @_guarded
    def idf(self, term: str) -> float:
        """BM25 idf of an index term, from the text field where it is most common."""
        s = self.whoosh_searcher
        df = max(s.doc_frequency(f, term) for f in TEXT_FIELDS)
        return robertson_idf(df, s.doc_count_all())
