"""The one module that reads a Whoosh index: open it, turn a query tree into Whoosh queries, run
them, count facets, look up the vocabulary. It never writes.

Everything Whoosh-specific on the query side lives here; ``search.Searcher`` talks to it through
plain Python values, so another engine can be put behind the same interface.
"""

from __future__ import annotations

import bisect
import functools
import json
import os
import pickle
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.matching import NullMatcher, UnionMatcher, WrappingMatcher
from whoosh.util import make_binary_tree

from index_data import stemtable
from index_data.analysis import analyze, normalize_token, stem, use_stem_table
from index_data.errors import IndexCorruptError, IndexMissingError, IndexVersionError
from index_data.model import STATUSES, Question
from index_data import termvectors
from index_data.schema import (FACETS, INDEX_NAME, TEXT_FIELDS, check_index, damaged_index_error,
                               number_date, open_error)
from index_data.whoosh_columns import bytes_column, coded_column

from . import query as q
from .query import QueryError
from . import neighbours, ranking, whoosh_ranking
from .whoosh_executor import execute, segment_arrays, top_by_date, top_k

#: A prefix (``hous*``) or fuzzy word expands to at most this many index words, most frequent first.
MAX_EXPANSIONS = 256
#: A pasted text ranks by its first this-many words (bounds the cost of a 10,000-character query).
MAX_RANKED_WORDS = 256
#: A prefix matching more words than this is refused: it is too short to mean anything.
MAX_PREFIX_SCAN = 20_000


# ---- word coordination -------------------------------------------------------------------------

class _Clause(WrappingMatcher):
    """Marks where one ranked word's matcher starts, so matched words can be counted."""

    def _replacement(self, newchild):
        return _Clause(newchild)


def _count_clauses(m, docid) -> int:
    if isinstance(m, _Clause):
        return 1
    if isinstance(m, UnionMatcher):
        n = 0
        for child in (m.a, m.b):
            if child.is_active() and child.id() == docid:
                n += _count_clauses(child, docid)
        return n
    return 1


class _CoordMatcher(WrappingMatcher):
    """Adds ``bonus`` for every matched clause beyond the first (see ``ranking``)."""

    def __init__(self, child, nclauses: int, bonus: float):
        WrappingMatcher.__init__(self, child)
        self._n = nclauses
        self._bonus = bonus

    def _replacement(self, newchild):
        return _CoordMatcher(newchild, self._n, self._bonus)

    def max_quality(self):
        return self.child.max_quality() + self._bonus * (self._n - 1)

    def block_quality(self):
        return self.child.block_quality() + self._bonus * (self._n - 1)

    def score(self):
        child = self.child
        return child.score() + self._bonus * (_count_clauses(child, child.id()) - 1)


class CoordOr(wq.Or):
    """OR of ranked words where documents matching more of the words get a bonus per word."""

    def __init__(self, subqueries, boost=1.0, bonus=0.0):
        wq.Or.__init__(self, subqueries, boost=boost)
        self.bonus = bonus

    def normalize(self):
        norm = wq.Or.normalize(self)
        if isinstance(norm, CoordOr):
            norm.bonus = self.bonus
        return norm

    def matcher(self, searcher, context=None):
        subs = [m for m in (s.matcher(searcher, context) for s in self.subqueries) if m.is_active()]
        if not subs:
            return NullMatcher()
        m = make_binary_tree(UnionMatcher, [_Clause(s) for s in subs])
        if self.bonus and len(self.subqueries) > 1:
            m = _CoordMatcher(m, len(self.subqueries), self.bonus)
        return m


# ---- compiling the query tree ------------------------------------------------------------------

@dataclass
class Compiled:
    """A Whoosh query plus what the snippet builder needs to mark matches."""

    query: wq.Query
    terms: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    #: Ranked words of the typed query (``ranking.ranked_words``): short or long query.
    words: int = 0

    def matches(self, term: str) -> bool:
        return term in self.terms or any(term.startswith(p) for p in self.prefixes)


class _Compiler:
    def __init__(self, reader, schema):
        self.reader = reader
        self.schema = schema
        self.terms: set[str] = set()
        self.prefixes: list[str] = []
        self.query_words = 0

    def text_terms(self, text: str, fieldname: str) -> list[str]:
        return [t.text for t in self.schema[fieldname].analyzer(text, mode="query")]

    def fields(self, fieldname: str | None) -> list[str]:
        return [fieldname] if fieldname else list(TEXT_FIELDS)

    def over_fields(self, fieldname, make):
        subs = [make(f, ranking.FIELD_WEIGHTS.get(f, 1.0)) for f in self.fields(fieldname)]
        return subs[0] if len(subs) == 1 else wq.Or(subs)

    def words(self, node, slop: int = 1, highlight: bool = True):
        terms = self.text_terms(node.text, node.field or "question")
        if not terms:
            return None
        if highlight:
            self.terms.update(terms)
        if len(terms) == 1:
            if node.field is None:
                return whoosh_ranking.fields_term(terms[0])
            return self.over_fields(node.field, lambda f, w: wq.Term(f, terms[0], boost=w))
        phrase = self.over_fields(node.field, lambda f, w: wq.Phrase(f, terms, slop=slop, boost=w))
        if (isinstance(node, q.Words) and node.field is None and ranking.LONG_QUERY_SPLIT_WORDS
                and self.query_words > ranking.SHORT_QUERY_WORDS):
            # "free-flight" in a pasted question: its parts rank as words (the text may write
            # "free flight" or "flight, free"); adjacent parts add the phrase's score on top
            parts = wq.Or([whoosh_ranking.fields_term(t) for t in terms])
            return wq.AndMaybe(parts, phrase) if ranking.LONG_QUERY_SPLIT_WORDS == "words+phrase" else parts
        return phrase

    def expansion(self, node, surface: list[str], highlight: bool):
        if len(surface) > MAX_EXPANSIONS:
            df = self.reader.doc_frequency
            surface = sorted(surface, key=lambda w: -df("spell", w))[:MAX_EXPANSIONS]
        stems = sorted({stem(w) for w in surface})
        if highlight:
            self.terms.update(stems)
        if not stems:
            return wq.NullQuery
        return self.over_fields(node.field, lambda f, w: wq.Or([wq.Term(f, s, boost=w) for s in stems]))

    def prefix(self, node: q.Prefix, highlight: bool):
        p = normalize_token(node.text)
        words = []
        for i, w in enumerate(self.reader.expand_prefix("spell", p)):
            if i >= MAX_PREFIX_SCAN:
                raise QueryError(f"{node.text}* matches too many words; use a longer prefix")
            words.append(w.decode("utf-8") if isinstance(w, bytes) else w)
        if highlight:
            self.prefixes.append(stem(p) if len(p) > 3 else p)
        return self.expansion(node, words, highlight)

    def fuzzy(self, node: q.Fuzzy, highlight: bool):
        word = normalize_token(node.text)
        words = [w.decode("utf-8") if isinstance(w, bytes) else w
                 for w in self.reader.terms_within("spell", word, node.distance, prefix=1)]
        return self.expansion(node, words or [word], highlight)

    def match(self, node: q.Match):
        if node.field == "id":
            return wq.ConstantScoreQuery(wq.Term("id", node.value), 0.0)
        if node.field == "status":
            value = node.value.lower()
            if value not in STATUSES:
                raise QueryError(f"status:{node.value} is not a status; use one of {', '.join(STATUSES)}")
            return wq.ConstantScoreQuery(wq.Term("status", value), 0.0)
        terms = list(dict.fromkeys(
            t.text for t in self.schema[node.field].analyzer(node.value, mode="query")))
        if not terms:
            return wq.NullQuery
        # every word, in any order: asker:"sahota marina" finds "Marina Sahota"
        inner = wq.Term(node.field, terms[0]) if len(terms) == 1 else \
            wq.And([wq.Term(node.field, t) for t in terms])
        return wq.ConstantScoreQuery(inner, 0.0)

    def compile(self, node, highlight: bool = True):
        """Whoosh query for a node (None when it analyses to nothing, e.g. only stopwords)."""
        if isinstance(node, q.Words):
            return self.words(node, highlight=highlight)
        if isinstance(node, q.Phrase):
            return self.words(node, slop=node.slop + 1, highlight=highlight)
        if isinstance(node, q.Prefix):
            return self.prefix(node, highlight)
        if isinstance(node, q.Fuzzy):
            return self.fuzzy(node, highlight)
        if isinstance(node, q.Match):
            return self.match(node)
        if isinstance(node, q.DateRange):
            lo = node.start and node.start.year * 10000 + node.start.month * 100 + node.start.day
            hi = node.end and node.end.year * 10000 + node.end.month * 100 + node.end.day
            return wq.ConstantScoreQuery(wq.NumericRange("date", lo, hi), 0.0)
        if isinstance(node, q.Or):
            subs = [s for s in (self.compile(c, highlight) for c in node.children) if s is not None]
            return wq.Or(subs) if subs else None
        if isinstance(node, q.Bool):
            return self.boolean(node, highlight)
        raise TypeError(f"unknown query node {node!r}")  # pragma: no cover

    def boolean(self, node: q.Bool, highlight: bool):
        must = [s for s in (self.compile(c, highlight) for c in node.must) if s is not None]
        should = [s for s in (self.compile(c, highlight) for c in node.should[:MAX_RANKED_WORDS])
                  if s is not None]
        must_not = [s for s in (self.compile(c, False) for c in node.must_not) if s is not None]
        if not (must or should):
            if node.should or node.must:
                return None  # only stopwords
            base = wq.Every()
        else:
            parts = list(must)
            if should:
                parts.append(should[0] if len(should) == 1
                             else CoordOr(should, bonus=ranking.coordination_bonus(max(len(should), self.query_words))))
            base = parts[0] if len(parts) == 1 else wq.And(parts)
        if must_not:
            base = wq.AndNot(base, must_not[0] if len(must_not) == 1 else wq.Or(must_not))
        return base


# ---- the reader ----------------------------------------------------------------------------

#: What damaged index files raise from deep inside Whoosh (struct, pickle, zlib, short reads...).
_LOW_LEVEL_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, struct.error,
                     zlib.error, pickle.UnpicklingError, AttributeError)


_corrupt = damaged_index_error


def _guarded(method):
    """Report damage found while reading as IndexCorruptError (query errors pass through)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (QueryError, IndexMissingError, IndexVersionError, IndexCorruptError):
            raise
        except _LOW_LEVEL_ERRORS as e:
            raise _corrupt(self.index_dir, e) from None

    return wrapper

@dataclass
class RawHit:
    docnum: int
    score: float
    record: dict


def _open_dir(index_dir: Path, attempts: int = 20):
    """Open the index, retrying when a concurrent commit deletes the table of contents between
    Whoosh listing the folder and opening the file (Whoosh retries this for readers, not here)."""
    for attempt in range(attempts):
        try:
            # Not memory-mapped: Whoosh copies each mapped sub-file of a compound segment into a
            # BytesIO when it opens it (0.4 s and ~500 MB for a 100k index); plain reads fetch
            # only what a query touches.
            storage = FileStorage(str(index_dir), readonly=True, supports_mmap=False)
            return storage.open_index(INDEX_NAME)
        except FileNotFoundError:
            if attempt == attempts - 1 or not index_dir.is_dir():
                raise
            time.sleep(0.01)


class WhooshReader:
    """Opens an index read-only and answers queries; one Whoosh searcher per thread, refreshed
    when the index changes (new commits, or a rebuilt index swapped into place)."""

    def __init__(self, index_dir: str | os.PathLike):
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._epoch = 0
        self._columns: dict = {}
        self._dates: dict = {}  # index state -> every document's date number
        self._df_tables: dict[str, np.ndarray] = {}
        self._open()

    def _open(self) -> None:
        self.meta = check_index(self.index_dir)
        ino = os.stat(self.index_dir).st_ino
        try:
            ix = _open_dir(self.index_dir)
        except whoosh_index.EmptyIndexError:
            raise IndexMissingError(f"{self.index_dir} holds no finished index: rebuild it") from None
        except Exception as e:
            raise open_error(self.index_dir, e) from None
        use_stem_table(self.index_dir / stemtable.FILE)  # stems without importing NLTK
        self._ix = ix
        self._ino = ino
        self._epoch += 1
        self._weighting = whoosh_ranking.weighting()

    def _current(self):
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
        except _LOW_LEVEL_ERRORS:
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
            except _LOW_LEVEL_ERRORS as e:
                if attempt == 4:
                    raise _corrupt(self.index_dir, e) from None
                time.sleep(0.01 * (attempt + 1))
        if old is not None:
            try:
                old.close()
            except Exception:  # already closed or its files gone: nothing left to release
                pass
        loc.searcher, loc.epoch = s, self._epoch
        return s

    def close(self) -> None:
        s = getattr(self._local, "searcher", None)
        if s is not None:
            s.close()
            self._local.searcher = None

    # -- queries --

    @_guarded
    def compile(self, node) -> Compiled:
        s = self._current()
        c = _Compiler(s.reader(), s.schema)
        c.query_words = ranking.ranked_words(node)  # a group in a long query is not "short"
        wquery = c.compile(node)
        return Compiled(wquery if wquery is not None else wq.NullQuery, c.terms, c.prefixes,
                        c.query_words)

    @_guarded
    def search(self, compiled: Compiled, *, offset: int, limit: int, sort: str,
               want_facets: bool, neighbours: bool = False) -> tuple[int, list[RawHit], dict[str, dict[str, int]]]:
        """The total, one page of hits and the facet counts. ``neighbours``: re-rank a long
        query's best hits by neighbour smoothing (see ``searcher.neighbours``)."""
        s = self._current()
        # Every match and its score in one vectorised pass (see whoosh_executor): the total,
        # the facets and the top hits all come from it.
        docs, scores = execute(s, compiled.query)
        top = self._order(s, compiled, docs, scores, want=offset + limit, sort=sort,
                          neighbours=neighbours)
        facets: dict[str, dict[str, int]] = self.facet_counts(s, docs) if want_facets else {}
        hits = []
        for docnum, score in top[offset:offset + limit]:
            record = json.loads(s.stored_fields(docnum)["record"])
            hits.append(RawHit(docnum, float(score or 0.0), record))
        return len(docs), hits, facets

    @_guarded
    def iter_ranked(self, compiled: Compiled, *, sort: str, neighbours: bool = False):
        """``(total, hits)``: every match, in the order :meth:`search` pages through them, as a
        generator of :class:`RawHit` reading one stored record at a time (an export of 100,000
        questions never holds them all). The whole iteration reads the index as it was when
        called, even if a reindex commits meanwhile."""
        s = self._current()
        docs, scores = execute(s, compiled.query)
        top = self._order(s, compiled, docs, scores, want=len(docs), sort=sort,
                          neighbours=neighbours)

        def records():
            for docnum, score in top:
                try:
                    record = json.loads(s.stored_fields(docnum)["record"])
                except _LOW_LEVEL_ERRORS as e:
                    raise _corrupt(self.index_dir, e) from None
                yield RawHit(docnum, float(score or 0.0), record)

        return len(docs), records()

    def _order(self, s, compiled: Compiled, docs, scores, *, want: int, sort: str,
               neighbours: bool) -> list[tuple[int, float]]:
        """The first ``want`` matches in result order, with their (final) scores."""
        if sort in ("newest", "oldest"):
            return top_by_date(docs, scores, self._date_column(s), want, newest=(sort == "newest"))
        want = max(1, want)
        smooth = neighbours and compiled.words > ranking.SHORT_QUERY_WORDS
        if smooth:
            want = max(want, ranking.NEIGHBOUR_DEPTH)
        if sort == "relevance_recent":
            want = max(want, ranking.RECENCY_POOL)
        top = top_k(docs, scores, want)
        if smooth:
            depth = ranking.NEIGHBOUR_DEPTH
            best = top[0][1] if top and top[0][1] > 0 else 0.0
            rest = [(d, sc / best) for d, sc in top[depth:]] if best else top[depth:]
            top = self._neighbour_smoothing(s, top[:depth]) + rest  # scores keep falling
        if sort == "relevance_recent":
            top = self._recency(s, top)
        return top

    def _neighbour_smoothing(self, s, top: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """``top`` re-ordered by neighbour smoothing, with the smoothed scores."""
        if len(top) < 3:
            return top
        leaves = s.leaf_searchers()
        starts = [offset for _sub, offset in leaves]
        by_segment: dict[int, list[int]] = {}  # leaf -> positions in top
        for j, (docnum, _score) in enumerate(top):
            by_segment.setdefault(bisect.bisect_right(starts, docnum) - 1, []).append(j)
        blobs: list = [None] * len(top)
        for i, mine in by_segment.items():
            sub, start = leaves[i]
            values = segment_arrays(sub.reader()).column_bytes(
                termvectors.FIELD, [top[j][0] - start for j in mine])
            for j, v in zip(mine, values):
                blobs[j] = v
        rows, hashes, counts = termvectors.decode(blobs)
        uniq, terms = np.unique(hashes, return_inverse=True)
        terms = terms.reshape(-1)
        df_uniq = sum(termvectors.df_lookup(self._df_table(sub.reader()), uniq) for sub, _ in leaves)
        df = df_uniq[terms]
        weights = neighbours.unit_vectors(rows, counts, df, s.doc_count_all(), len(top))
        sim = neighbours.cosine_matrix(rows, terms, weights, len(top))
        order, new = neighbours.smooth(np.array([score for _d, score in top]), sim,
                                       ranking.NEIGHBOUR_K, ranking.NEIGHBOUR_GAMMA)
        return [(top[i][0], float(new[i])) for i in order.tolist()]

    def _df_table(self, reader) -> np.ndarray:
        """A segment's term-vector document frequencies: the table saved beside the index after
        its commit, or (missing: an interrupted reindex) computed from its column once."""
        segid = reader.segment().segment_id()
        table = self._df_tables.get(segid)
        if table is None:
            table = termvectors.load_df_table(self.index_dir, segid)
            if table is None:
                table = termvectors.df_table(bytes_column(reader, termvectors.FIELD))
            with self._lock:
                if len(self._df_tables) > 64:  # segments merged away long ago
                    self._df_tables.clear()
                self._df_tables[segid] = table
        return table

    def top_documents(self, compiled: Compiled, k: int) -> list[tuple[float, list[str]]]:
        """The ``k`` best matches as ``(score, index terms of title, question and answer)``."""
        s = self._current()
        out = []
        for docnum, score in top_k(*execute(s, compiled.query), k):
            rec = json.loads(s.stored_fields(docnum)["record"])
            text = "\n".join([rec["title"], rec["question"]] + [a["text"] for a in rec.get("answers", ())])
            out.append((score, analyze(text)))
        return out

    def idf(self, term: str) -> float:
        """BM25 idf of an index term, from the text field where it is most common."""
        s = self._current()
        df = max(s.doc_frequency(f, term) for f in TEXT_FIELDS)
        return whoosh_ranking.robertson_idf(df, s.doc_count_all())

    def weighted_terms(self, weights: dict[str, float], exclude_id: str | None = None) -> Compiled:
        """A query for weighted index terms over the text fields (similar questions)."""
        if not weights:
            return Compiled(wq.NullQuery)
        query = wq.Or([whoosh_ranking.fields_term(t, w) for t, w in sorted(weights.items())])
        if exclude_id is not None:
            query = wq.AndNot(query, wq.Term("id", exclude_id))
        return Compiled(query, set(weights))

    def with_feedback(self, compiled: Compiled, weights: dict[str, float]) -> Compiled:
        """The query re-ranked by weighted expansion terms: same matches, feedback adds score only."""
        if not weights or compiled.query is wq.NullQuery:
            return compiled
        extra = wq.Or([whoosh_ranking.fields_term(t, w) for t, w in sorted(weights.items())])
        return Compiled(wq.AndMaybe(compiled.query, extra), compiled.terms, compiled.prefixes,
                        compiled.words)

    def _recency(self, s, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Scores nudged up for recent meetings (see ``ranking.RECENCY_WEIGHT``), re-sorted."""
        dates = self._date_column(s)[[d for d, _ in ranked]].tolist()
        newest = max(dates, default=0)
        if not newest:
            return ranked

        def day(n: int) -> int:
            return number_date(n).toordinal()

        top = day(newest)
        out = []
        for (docnum, score), date in zip(ranked, dates):
            age = top - day(date) if date else 10 ** 6
            boost = 1.0 + ranking.RECENCY_WEIGHT * 0.5 ** (age / ranking.RECENCY_HALF_LIFE_DAYS)
            out.append((docnum, score * boost))
        out.sort(key=lambda x: -x[1])
        return out

    def _facet_columns(self, s) -> dict[str, tuple[np.ndarray, list[str]]]:
        """Per facet, every document's value as a code into a list of labels (code 0 is "no
        value"), for the whole index; built once per searcher generation from each segment's
        codes (``coded_column``): no per-document Python work."""
        key = self._state(s)
        cols = self._columns.get(key)
        if cols is None:
            leaves = [sub.reader() for sub, _offset in s.leaf_searchers()]
            cols = {}
            for name in FACETS:
                labels: dict[str, int] = {"": 0}
                if name == "year":
                    dates = self._date_column(s)
                    years, local = np.unique(dates // 10000, return_inverse=True)
                    parts = [(local.reshape(-1), [str(y) if y else "" for y in years.tolist()])]
                else:
                    parts = [coded_column(r, f"facet_{name}") for r in leaves]
                    parts = [(c, [v.decode("utf-8") for v in vs]) for c, vs in parts]
                out = []
                for codes, values in parts:
                    to_label = np.array([labels.setdefault(v, len(labels)) for v in values] or [0],
                                        dtype=np.int32)
                    out.append(to_label[codes])
                arr = np.concatenate(out) if out else np.zeros(0, dtype=np.int32)
                cols[name] = (arr, list(labels))
            # this state's and the one before (threads move to a new commit one by one)
            self._columns = {**dict(list(self._columns.items())[-1:]), key: cols}
        return cols

    def _date_column(self, s) -> np.ndarray:
        """Every document's date number (for sorting), read once per searcher generation."""
        key = self._state(s)
        dates = self._dates.get(key)
        if dates is None:
            # the executor's per-segment copies (date filters read them too)
            parts = [segment_arrays(sub.reader()).column("date") for sub, _offset in s.leaf_searchers()]
            dates = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            self._dates = {**dict(list(self._dates.items())[-1:]), key: dates}
        return dates

    def _state(self, s) -> tuple[int, int]:
        """Which index state this thread's searcher ``s`` reads: the same key for every thread's
        searcher of one commit (their documents are numbered alike), so whole-index columns are
        built once per commit, not once per thread."""
        return (self._local.epoch, s.reader().generation())

    def facet_counts(self, s, docs) -> dict[str, dict[str, int]]:
        """Value -> count of each facet over ``docs`` (global docnums), most frequent first."""
        cols = self._facet_columns(s)
        docs = np.asarray(docs, dtype=np.int64)
        out = {}
        for name in FACETS:
            codes, labels = cols[name]
            counts = np.bincount(codes[docs], minlength=len(labels)) if len(docs) else np.zeros(1, int)
            pairs = [(labels[i], int(counts[i])) for i in (np.flatnonzero(counts[1:]) + 1).tolist()]
            out[name] = dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))
        return out

    @_guarded
    def match_columns(self, compiled: Compiled, facet: str | None = None):
        """``(dates, codes, labels)`` for every match of ``compiled``: its meeting date as a
        YYYYMMDD number, and with ``facet`` (party, asker, asked_of...) its value of that facet
        as a code into ``labels`` (code 0: no value), from the same columns as the facets."""
        s = self._current()
        docs, _ = execute(s, compiled.query, want_scores=False)
        dates = self._date_column(s)[docs]
        if facet is None:
            return dates, None, None
        codes, labels = self._facet_columns(s)[facet]
        return dates, codes[docs], labels

    @_guarded
    def matching_ids(self, compiled: Compiled, ids) -> set[str]:
        """Those of ``ids`` (question ids) whose live document matches ``compiled``."""
        s = self._current()
        docs, _ = execute(s, compiled.query, want_scores=False)
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
    def document_versions(self) -> dict[str, str]:
        """Every live document's id and the SHA-1 of the file it was indexed from (its version:
        a changed file is a new version), read from the ``fileinfo`` column, not the records."""
        from index_data.fileinfo import FileInfo

        out: dict[str, str] = {}
        reader = self._current().reader()
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
    def count(self, compiled: Compiled) -> int:
        return len(execute(self._current(), compiled.query, want_scores=False)[0])

    # -- vocabulary (for "did you mean") --

    @_guarded
    def word_frequency(self, word: str, field: str | None = None) -> int:
        """How many documents contain this (unstemmed, normalised) word: in the body text, or
        in the name field ``field`` (asker, party...)."""
        return self._current().reader().doc_frequency(field or "spell", word)

    @_guarded
    def similar_words(self, word: str, maxdist: int, field: str | None = None) -> list[tuple[str, int]]:
        """Index words within ``maxdist`` edits of ``word`` (sharing its first letter), with doc
        counts: from the body text, or from the name field ``field``."""
        reader = self._current().reader()
        field = field or "spell"
        out = []
        for w in reader.terms_within(field, word, maxdist, prefix=1):
            w = w.decode("utf-8") if isinstance(w, bytes) else w
            if w != word:
                out.append((w, reader.doc_frequency(field, w)))
        return out

    # -- records and stats --

    @_guarded
    def get(self, doc_id: str) -> Question | None:
        fields = self._current().document(id=doc_id)
        return Question.from_dict(json.loads(fields["record"])) if fields else None

    @_guarded
    def doc_count(self) -> int:
        return self._current().doc_count()

    @_guarded
    def health(self) -> dict:
        """Live documents and the generation of the index this thread has open (refreshed first)."""
        s = self._current()
        return dict(documents=s.doc_count(), generation=s.reader().generation(),
                    built_at=self.meta.get("built_at"))

    @_guarded
    def stats(self) -> dict:
        s = self._current()
        reader = s.reader()
        live = [d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)] \
            if reader.has_deletions() else range(reader.doc_count_all())
        facets = self.facet_counts(s, live)
        dates = self._date_column(s).tolist()
        dates = [dates[d] for d in live if dates[d]]
        size = sum(p.stat().st_size for p in self.index_dir.iterdir() if p.is_file())
        return dict(documents=s.doc_count(), first_date=min(dates) if dates else None,
                    last_date=max(dates) if dates else None, facets=facets, size_bytes=size,
                    segments=len(self._ix._segments()) if hasattr(self._ix, "_segments") else None,
                    meta=self.meta)
