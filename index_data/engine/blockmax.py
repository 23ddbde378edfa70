"""Top-k over the posting stores (``poststore``) by upper bounds: exact totals and match sets
for every query, exact scores only for the few documents that can still reach the top k.

A query is a small tree of frozen dataclasses (:class:`Word`, :class:`FieldsWord`,
:class:`Phrase`, :class:`AnyOf`, ...), scored as the executor
scores the compiled Whoosh query (``evaluate``): the same formulas (``scoring``), the same
operations in the same order per document (float sums in Whoosh's binary-tree order), so the
scores agree to the last bit (``tests/test_blockmax.py`` checks it against the executor). No
Whoosh here: ``fastpath`` turns compiled queries into these trees.

Per segment, three passes over the tree:

1. ``mask``: which documents match, from document numbers only (no weights, no lengths;
   positions only for phrase candidates). Totals and facets come from these masks: they need
   the whole match set, not its scores.
2. ``doc_bounds``: an upper bound of every document's score, added up leaf by leaf into one
   array: a word's BM25F from the combined field's per-posting impact (its pseudo-frequency
   rounded up: BM25F's saturation rises with it), other words and phrases from the bound of
   their window of ``2**window_bits`` documents (``bound``: largest weight / smallest length,
   or the stored largest ``tf / norm``); a strict coordination bonus adds ``bonus`` per
   matched word and takes one off. This is score-at-a-time MaxScore on impacts, vectorised:
   the interval form of block-max skipping (Dimopoulos, Nepomnyachiy, Suel, "A candidate
   filtering mechanism for fast top-k query processing on modern CPUs", SIGIR 2013) taken
   down to single documents, because numpy adds an array in one step.
3. ``score_on``: exact scores of given documents: first the ``max(2k, 32)`` best bounds, which
   set a threshold (the k-th best exact score), then every match whose bound reaches it
   (ties included, so the order — score, then document number — is exact).

Date-sorted searches score only the matches on or after the k-th date (``_by_date``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .phrases import follow
from .poststore import PostStore, TermPostings, one_each

#: Filter masks (``party:labour``, date ranges) kept per segment, at most this many.
MAX_CACHED_FILTERS = 64
#: Relative room on every bound: sums in another order and float32 leaves round differently.
_SLACK = 1e-5


class Unsupported(Exception):
    """A query this module cannot run exactly (the caller runs it the old way)."""


# ---- the query tree -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Word:
    """BM25 of one word in one field (Whoosh's ``Term`` scored by ``MqtBM25``)."""

    field: str
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class FieldsWord:
    """BM25F of one word over weighted fields (``whoosh_ranking.FieldsTerm``)."""

    text: str
    weights: tuple[tuple[str, float], ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Phrase:
    """Words in order in one field, word ``i`` ``deltas[i]`` to ``deltas[i] + extra`` positions
    after word ``i - 1`` (``deltas[0]`` is 0; a phrase without gaps has 1 for the others: the
    engine's ``GappedPhrase``/Whoosh's ``Phrase``); scored as the sum of the words' BM25."""

    field: str
    words: tuple[str, ...]
    deltas: tuple[int, ...] = ()
    extra: int = 0
    boost: float = 1.0

    def gaps(self) -> tuple[int, ...]:
        return self.deltas or (0,) + (1,) * (len(self.words) - 1)


@dataclass(frozen=True)
class AnyOf:
    """OR; ``bonus`` (with ``clauses`` > 1, the number of sub-queries written) adds
    ``bonus * (matched - 1)``: the coordination of short queries (``CoordOr``)."""

    children: tuple
    bonus: float | None = None
    clauses: int = 0


@dataclass(frozen=True)
class AllOf:
    """AND: the documents every child matches, scored as the sum of the children's scores."""

    children: tuple


@dataclass(frozen=True)
class Without:
    """``a`` minus the documents ``b`` matches (``AndNot``)."""

    a: object
    b: object


@dataclass(frozen=True)
class Maybe:
    """``a``, plus ``b``'s score where both match (``AndMaybe``)."""

    a: object
    b: object


@dataclass(frozen=True)
class Filter:
    """``child``'s documents, each scored ``score`` (``ConstantScoreQuery``); cached per segment."""

    child: object
    score: float = 0.0


@dataclass(frozen=True)
class DateRange:
    """Documents whose ``date`` column (YYYYMMDD, 0: none) is in the range; scores 0."""

    start: int | None
    end: int | None
    startexcl: bool = False
    endexcl: bool = False


@dataclass(frozen=True)
class Everything:
    """Every live document, each scored ``boost`` (Whoosh's ``Every``)."""

    boost: float = 1.0


@dataclass(frozen=True)
class Nothing:
    """No document (Whoosh's ``NullQuery``)."""


Node = (Word | FieldsWord | Phrase | AnyOf | AllOf | Without | Maybe | Filter | DateRange | Everything
        | Nothing)


@dataclass(frozen=True)
class Scoring:
    """The ranking numbers the scores depend on, as values (see ``searcher.ranking``)."""

    k1: float = 1.2
    b: tuple[tuple[str, float], ...] = (("title", 0.5), ("question", 0.75), ("answer", 0.75))
    default_b: float = 0.75
    #: BM25F's length groups: a field's counts are normalised by its group's joint length
    #: (``BM25Settings.length_groups``; a field in none is its own group).
    groups: tuple[tuple[str, ...], ...] = ()

    def field_b(self, field: str) -> float:
        return dict(self.b).get(field, self.default_b)

    def group(self, field: str) -> tuple[str, ...]:
        for g in self.groups:
            if field in g:
                return tuple(g)
        return (field,)


# ---- collection statistics ----------------------------------------------------------------------

class Stats:
    """Whole-index statistics over the segments' stores (what Whoosh's searcher gives)."""

    def __init__(self, stores: list[PostStore], scoring: Scoring):
        self.stores = stores
        self.scoring = scoring
        self.n = sum(s.n for s in stores)
        self._df: dict = {}
        self._avg: dict = {}

    def df(self, field: str, text: str) -> int:
        key = (field, text)
        v = self._df.get(key)
        if v is None:
            v = self._df[key] = sum(s.doc_frequency(field, text) for s in self.stores)
        return v

    def avg(self, field: str) -> float:
        """``searcher.avg_field_length``: total length over all documents (deleted included)."""
        v = self._avg.get(field)
        if v is None:
            v = self._avg[field] = sum(s.total_length(field) for s in self.stores) / (self.n or 1)
        return v

    def group_avg(self, group: tuple[str, ...]) -> float:
        """A length group's average length (``scoring.group_avg_length``: the fields' averages
        added up, 1 if all are 0)."""
        return sum((self.avg(f) or 0.0) for f in group) or 1.0

    def _idf(self, df: int) -> float:
        """BM25's own idf (``scoring.robertson_idf``)."""
        n = self.n
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def word_idf(self, field: str, text: str) -> float:
        return self._idf(self.df(field, text))

    def fields_idf(self, text: str, weights) -> float:
        return self._idf(max((self.df(f, text) for f, _w in weights), default=0))


def _tree_sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Sums in Whoosh's ``make_binary_tree`` order (``a + (b + c)``): bit-equal float sums."""
    if len(arrays) == 1:
        return arrays[0]
    half = len(arrays) // 2
    return _tree_sum(arrays[:half]) + _tree_sum(arrays[half:])


def _lookup(docs: np.ndarray, cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate, whether ``docs`` holds it, and where (valid where held)."""
    if not len(docs):
        return np.zeros(len(cands), bool), np.zeros(len(cands), np.int64)
    idx = np.searchsorted(docs, cands)
    idx = np.minimum(idx, len(docs) - 1)
    return docs[idx] == cands, idx


def _cut_from_sample(values: np.ndarray, m: int):
    """A value of a long ``values`` with about ``4 m`` of them above it, read from a sample of
    about ``16 m`` evenly spaced (at least 8 of the sample above it): a cut-off that keeps at
    least ``m`` of the largest values almost always, without sorting ``values``."""
    step = max(1, len(values) // (16 * m))
    sample = values[::step]
    j = min(len(sample), max(8, -(-4 * m // step)))
    return np.partition(sample, len(sample) - j)[len(sample) - j]


def _best(ub: np.ndarray, m: int) -> np.ndarray:
    """Ascending indexes of the ``m`` largest values of ``ub`` (all of them if fewer; ties
    either way). ``argpartition`` over tens of thousands of values costs milliseconds: a long
    array is first cut to the values at or above a cut-off read from a sample (one pass), and
    partitioned there; when the cut keeps fewer than ``m`` (unlikely), over the whole array."""
    n = len(ub)
    if n <= m:
        return np.arange(n)
    if n >= 64 * m:
        cut = _cut_from_sample(ub, m)
        kept = np.flatnonzero(ub >= cut)
        if len(kept) >= m:
            return np.sort(kept[np.argpartition(-ub[kept], m - 1)[:m]])
    return np.sort(np.argpartition(-ub, m - 1)[:m])


def _kth_smallest(key: np.ndarray, k: int):
    """``np.partition(key, k - 1)[k - 1]`` (``1 <= k <= len(key)``), on a long ``key`` read
    among the values at or below a sampled cut-off (the k-th smallest of those is the k-th
    smallest of all when they are ``k`` or more)."""
    if len(key) >= 64 * k:
        cut = _cut_from_sample(-key, k)
        low = key[key <= -cut]
        if len(low) >= k:
            return np.partition(low, k - 1)[k - 1]
    return np.partition(key, k - 1)[k - 1]


# ---- one segment ----------------------------------------------------------------------------------

class SegmentQuery:
    """One query over one segment: masks (pass 1), window bounds (pass 2), exact scores of
    given documents (pass 3), each node's result kept for the passes after."""

    def __init__(self, store: PostStore, stats: Stats, filters: dict | None = None):
        self.st = store
        self.stats = stats
        self.sc = stats.scoring
        self.n = store.n
        self.nwin = store.windows
        self.bits = store.window_bits
        self._masks: dict[int, np.ndarray | None] = {}
        self._bounds: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        self._posts: dict[tuple[str, str], TermPostings | None] = {}
        self._combines: dict[tuple, bool] = {}
        #: repr(filter node) -> its mask, per segment (kept by the caller between queries)
        self._filters: dict[str, np.ndarray] = {} if filters is None else filters
        self._keep: list = []  # nodes whose id() keys the caches stay alive
        self._scratch: np.ndarray | None = None  # see _places
        #: id(phrase node) -> the documents it matches, ascending (what its mask was made
        #: from: passes 2 and 3 read them instead of scanning the mask again)
        self._phrase_docs: dict[int, np.ndarray] = {}
        #: The local numbers of the documents the query matches (set by ``Index.matches``).
        self.matched: np.ndarray = np.zeros(0, dtype=np.int64)

    def uses_combined(self, q: FieldsWord) -> bool:
        """Whether the store's combined field stands for ``q``: it combined exactly ``q``'s
        weighted fields with ``q``'s weights and this ranking's ``b``."""
        ok = self._combines.get(q.weights)
        if ok is None:
            spec: dict = self.st.dir.get("combined") or {}
            ok = bool(spec) and spec["weights"] == {f: w for f, w in q.weights if w > 0} and all(
                self.st.fields[f].get("b_ref") == self.sc.field_b(f)
                and tuple(spec.get("group_of", {}).get(f, (f,))) == self.sc.group(f)
                for f in spec["weights"])
            self._combines[q.weights] = ok
        return ok

    def combined(self, q: FieldsWord) -> TermPostings | None:
        """The combined field's postings of ``q``'s word (see :meth:`uses_combined`; None: the
        word is in none of the fields)."""
        return self.postings(self.st.dir["combined"]["field"], q.text)

    def postings(self, field: str, text: str) -> TermPostings | None:
        key = (field, text)
        if key not in self._posts:
            p = self.st.postings(field, text)
            self._posts[key] = p if p is not None and p.df else None
        return self._posts[key]

    def weighted_postings(self, q):
        """A fields word's ``(field, weight, postings)`` for each field that counts (weight > 0)
        and holds the word here."""
        for f, w in q.weights:
            if w > 0:
                p = self.postings(f, q.text)
                if p is not None:
                    yield f, w, p

    def _must_mask(self, q) -> np.ndarray:
        """:meth:`mask` where the caller knows ``q`` matches something."""
        m = self.mask(q)
        if m is None:
            raise ValueError(f"{q!r} matches nothing here")
        return m

    def _must_postings(self, field: str, text: str) -> TermPostings:
        """:meth:`postings` where the caller knows the word is in the segment."""
        p = self.postings(field, text)
        if p is None:
            raise ValueError(f"{field}:{text} is not in this segment")
        return p

    def _must_bound(self, q) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`bound` where the caller knows ``q`` matches something."""
        b = self.bound(q)
        if b is None:
            raise ValueError(f"{q!r} matches nothing here")
        return b

    # -- pass 1: masks --

    def mask(self, q) -> np.ndarray | None:
        """Which documents ``q`` matches (None: none, exactly where the executor gives None)."""
        key = id(q)
        if key in self._masks:
            return self._masks[key]
        self._keep.append(q)
        m = self._mask(q)
        self._masks[key] = m
        return m

    def _mask(self, q):
        t = type(q)
        n = self.n
        if t is FieldsWord:
            if self.uses_combined(q):  # one list instead of one per field
                c = self.combined(q)
                if c is None:
                    return None
                out = np.zeros(n, dtype=bool)
                out[c.docs] = True
                return out
            found: np.ndarray | None = None
            for _f, _w, p in self.weighted_postings(q):
                if found is None:
                    found = np.zeros(n, dtype=bool)
                found[p.docs] = True
            return found
        if t is Word:
            p = self.postings(q.field, q.text)
            if p is None:
                return None
            out = np.zeros(n, dtype=bool)
            out[p.docs] = True
            return out
        if t is Phrase:
            return self._phrase_mask(q)
        if t is AnyOf:
            self._phrases_together(q.children)
            subs = [m for m in (self.mask(c) for c in q.children) if m is not None]
            if not subs:
                return None
            out = subs[0].copy()
            for m in subs[1:]:
                out |= m
            return out
        if t is AllOf:
            if not q.children:
                return None
            every = []
            for c in q.children:
                mc = self.mask(c)
                if mc is None:
                    return None
                every.append(mc)
            out = every[0].copy()
            for mc in every[1:]:
                out &= mc
            return out
        if t is Without:
            a = self.mask(q.a)
            if a is None:
                return None
            b = self.mask(q.b)
            return a if b is None else a & ~b
        if t is Maybe:
            a = self.mask(q.a)
            self.mask(q.b)  # its None-ness decides the score
            return a
        if t is Filter:
            key = repr(q.child)
            fm = self._filters.get(key)
            if fm is None:
                cm = self.mask(q.child)
                fm = cm if cm is not None else np.zeros(n, dtype=bool)
                if len(self._filters) >= MAX_CACHED_FILTERS:
                    self._filters.clear()
                self._filters[key] = fm
            return fm if fm.any() else None
        if t is DateRange:
            values = self.st.maybe_array("date")
            if values is None:
                raise Unsupported("no date column in the store")
            dm = values > 0
            if q.start is not None:
                dm &= (values > q.start) if q.startexcl else (values >= q.start)
            if q.end is not None:
                dm &= (values < q.end) if q.endexcl else (values <= q.end)
            return dm if dm.any() else None
        if t is Everything:
            return np.ones(n, dtype=bool)
        if t is Nothing:
            return None
        raise Unsupported(f"query node {t.__name__}")

    def _phrase_mask(self, q: Phrase):
        got = self._phrase_start(q)
        if isinstance(got, tuple):
            posts, cands, idxs = got
            got = self._check_positions(posts, q.gaps(), cands, idxs, q.extra)
        return self._phrase_result(q, got)

    def _phrase_start(self, q: Phrase):
        """A phrase's first steps: None (it matches nothing here), the documents it matches
        (one word), or ``(postings, candidates, idxs)``: the documents holding every word, and
        where each word's list holds them, whose positions are still to be checked."""
        if q.field not in self.st.fields:
            return None
        if not self.st.has_positions(q.field):
            raise Unsupported(f"no positions for {q.field}")
        if not q.words:
            return None
        found = [self.postings(q.field, w) for w in q.words]
        posts = [p for p in found if p is not None]
        if len(posts) < len(found):
            return None
        if len(posts) == 1:
            return posts[0].docs
        cands, idxs = self._intersect(posts)
        return (posts, cands, idxs) if len(cands) else None

    def _phrase_result(self, q: Phrase, cands: np.ndarray | None) -> np.ndarray | None:
        """The mask of the documents ``cands`` a phrase matches (None: none), its documents kept
        for the passes after."""
        if cands is None or not len(cands):
            return None
        out = np.zeros(self.n, dtype=bool)
        out[cands] = True
        self._phrase_docs[id(q)] = cands  # q is kept alive by mask() / _phrases_together()
        return out

    def _phrases_together(self, nodes) -> None:
        """The masks of the phrases without slack among ``nodes`` (an OR's children: a phrase in
        the title, question and answer fields), their positions checked in one pass
        (:meth:`_check_rigid_many`) instead of one per phrase: each check's steps cost tens of
        microseconds whatever its size. The masks are kept as :meth:`mask` keeps them."""
        todo = [c for c in nodes if type(c) is Phrase and c.extra == 0 and len(c.words) > 1
                and id(c) not in self._masks]
        if len(todo) < 2:
            return
        checks = []
        for c in todo:
            got = self._phrase_start(c)
            if isinstance(got, tuple):
                checks.append((c, got))
            else:
                self._keep.append(c)
                self._masks[id(c)] = self._phrase_result(c, got)
        found = self._check_rigid_many([(posts, c.gaps(), cands, idxs)
                                        for c, (posts, cands, idxs) in checks])
        for (c, _got), cands in zip(checks, found):
            self._keep.append(c)
            self._masks[id(c)] = self._phrase_result(c, cands)

    def _intersect(self, posts: list[TermPostings]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The documents in every one of ``posts``, and for each list where they are in it
        (indexes into its ``docs``), shortest list first: a list many times longer than the
        documents left is searched (``searchsorted``); another is read once through a map of
        each document left to its place among them (:meth:`_places`): the matches' places
        come out in order, no sort, no second pass."""
        order = sorted(range(len(posts)), key=lambda i: len(posts[i].docs))
        first = order[0]
        cands = posts[first].docs
        idxs: list = [None] * len(posts)
        idxs[first] = np.arange(len(cands), dtype=np.int64)
        done = [first]
        for i in order[1:]:
            docs = posts[i].docs
            if len(cands) * 16 < len(docs):  # few: look them up
                at = np.minimum(np.searchsorted(docs, cands), len(docs) - 1)
                keep = docs[at] == cands
                idx = at[keep]
            else:  # many: one pass over the list
                places = self._places()
                places[cands] = np.arange(1, len(cands) + 1, dtype=places.dtype)
                hit = places[docs]
                places[cands] = 0
                idx = np.flatnonzero(hit)
                keep = hit[idx] - 1  # ascending places among the candidates
            for j in done:
                idxs[j] = idxs[j][keep]
            cands = cands[keep]
            idxs[i] = idx
            done.append(i)
            if not len(cands):
                return cands, [np.zeros(0, dtype=np.int64)] * len(posts)
        return cands, idxs

    def _places(self) -> np.ndarray:
        """A zeroed int32 (int64 past 2**31 documents) array of one slot per document, made
        once per segment query and left zeroed by each user (``_intersect``)."""
        if self._scratch is None:
            self._scratch = np.zeros(self.n, dtype=np.int32 if self.n < 2**31 - 1 else np.int64)
        return self._scratch

    def _check_positions(self, posts: list[TermPostings], deltas, cands: np.ndarray,
                         idxs: list[np.ndarray], extra: int) -> np.ndarray:
        """Candidates where the words occur in order, word ``i`` ``deltas[i]`` to ``deltas[i] +
        extra`` positions after word ``i - 1`` (the executor's ``_check_positions``, positions
        read from the store); ``idxs``: where each word's list holds the candidates."""
        if extra == 0:
            return self._check_rigid(posts, deltas, cands, idxs)
        return self._check_following(posts, deltas, cands, idxs, extra)

    def _check_following(self, posts: list[TermPostings], deltas, cands: np.ndarray,
                         idxs: list[np.ndarray], extra: int) -> np.ndarray:
        """:meth:`_check_positions` word after word: every word's positions in the candidates
        read, then kept where they follow the phrase so far (any slack)."""
        reach = None
        for p, idx, delta in zip(posts, idxs, deltas):
            owner, pos = self.st.positions(p, idx)
            keys = (owner << 32) | pos
            if reach is None:
                reach = keys
                continue
            reach = follow(reach, keys, delta, extra)
            if not len(reach):
                return cands[:0]
        assert reach is not None  # two words or more
        owners = reach >> 32  # ascending: keys are (owner, position) in order
        return cands[owners[np.concatenate(([True], owners[1:] != owners[:-1]))]]

    def _check_rigid(self, posts: list[TermPostings], deltas, cands: np.ndarray,
                     idxs: list[np.ndarray]) -> np.ndarray:
        """:meth:`_check_positions` for a phrase without slack (word ``i`` exactly
        ``sum(deltas[:i + 1])`` positions after word 0): the positions of the word with the
        fewest in the candidates are read, and each other word is looked up where it must be
        (a binary search in each candidate's positions of that word), instead of reading every
        word's positions: a frequent word costs a few steps per occurrence of the rare one."""
        runs = [self.st.position_runs(p, idx) for p, idx in zip(posts, idxs)]
        offsets = np.cumsum(deltas).tolist()
        order = sorted(range(len(posts)), key=lambda i: int(runs[i][1].sum()))
        a = order[0]
        owner, pos = self.st.gather_positions(*runs[a])
        base = pos - offsets[a]  # where word 0 would stand
        for j in order[1:]:
            start, count = runs[j]
            ok = self.st.holds_position(start[owner], count[owner], base + offsets[j])
            owner, base = owner[ok], base[ok]
            if not len(owner):
                return cands[:0]
        # ascending: read candidate by candidate
        return cands[owner[np.concatenate(([True], owner[1:] != owner[:-1]))]]

    def _check_rigid_many(self, checks: list) -> list[np.ndarray]:
        """:meth:`_check_rigid` of several phrases of as many words (each ``(postings, deltas,
        candidates, idxs)``), in one pass over all their candidates laid end to end: each
        phrase's rarest word's positions are read, and at each step every phrase's next word is
        looked up where it must stand (one binary search for all of them)."""
        if len(checks) < 2 or len({len(posts) for posts, *_ in checks}) > 1:
            return [self._check_rigid(*c) for c in checks]
        nwords = len(checks[0][0])
        sizes = [len(c[2]) for c in checks]
        first = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)  # each one's first place
        starts: list[list[np.ndarray]] = [[] for _ in range(nwords)]
        counts: list[list[np.ndarray]] = [[] for _ in range(nwords)]
        shift: list[list[int]] = [[] for _ in range(nwords)]  # where step j's word stands from the rarest
        for posts, deltas, _cands, idxs in checks:
            runs = [self.st.position_runs(p, idx) for p, idx in zip(posts, idxs)]
            offsets = np.cumsum(deltas).tolist()
            order = sorted(range(nwords), key=lambda i: int(runs[i][1].sum()))
            for j, w in enumerate(order):
                starts[j].append(runs[w][0])
                counts[j].append(runs[w][1])
                shift[j].append(offsets[w] - offsets[order[0]])
        rarest = np.concatenate(counts[0])
        owner, pos = self.st.gather_positions(np.concatenate(starts[0]), rarest)
        each_once = one_each(rarest)  # owner is 0, 1, 2...: one position per candidate
        for j in range(1, nwords):
            start, count = np.concatenate(starts[j]), np.concatenate(counts[j])
            if not each_once:
                start, count = start[owner], count[owner]
            if len(set(shift[j])) == 1:  # the same phrase in every field
                target = pos + shift[j][0]
            else:
                at = np.repeat(np.array(shift[j], dtype=np.int64), sizes)
                target = pos + (at if each_once else at[owner])
            ok = self.st.holds_position(start, count, target)
            owner, pos = owner[ok], pos[ok]
            each_once = False
            if not len(owner):
                break
        # ascending: each phrase's candidates in turn, each candidate's positions in turn
        owner = owner[np.concatenate(([True], owner[1:] != owner[:-1]))] if len(owner) else owner
        cut = np.searchsorted(owner, first)
        return [c[2][owner[cut[i]:cut[i + 1]] - first[i]] for i, c in enumerate(checks)]

    # -- pass 2: window bounds --

    def bound(self, q) -> tuple[np.ndarray, np.ndarray] | None:
        """``(present, upper)`` per window: whether a match may lie there, and a score no match
        there exceeds. None where :meth:`mask` is None."""
        key = id(q)
        if key in self._bounds:
            return self._bounds[key]
        if self.mask(q) is None:
            self._bounds[key] = None
            return None
        b = self._bound(q)
        self._bounds[key] = b
        return b

    def _window_any(self, m: np.ndarray, docs: np.ndarray | None = None) -> np.ndarray:
        """Which windows hold a document of mask ``m`` (``docs``: its documents, if known)."""
        out = np.zeros(self.nwin, dtype=bool)
        out[(np.flatnonzero(m) if docs is None else docs) >> self.bits] = True
        return out

    def _x_upper(self, p: TermPostings, field: str) -> np.ndarray:
        """Per window of ``p``, an upper bound of ``tf / (1 - b + b * length / avg)`` at this
        query's ``b`` and the index's average length: from the store's ``maxq`` (computed at
        the segment's average), times the largest ratio the other average can make, or, for
        another ``b``, from the largest weight and the smallest length."""
        spec = self.st.fields[field]
        b = self.sc.field_b(field)
        if spec.get("b_ref") == b:
            return p.win_maxq.astype(np.float64) * self._rho(field)
        avg = self.stats.avg(field) or 1.0
        return p.win_maxtf.astype(np.float64) / (1 - b + b * self.st.length_table[p.win_minlen] / avg)

    def _rho(self, field: str) -> float:
        """How much larger ``tf / norm`` can be at the index's average length than at the
        segment's (``avg_ref``), for any length up to the field's longest: norm's ratio is
        monotone in the length, so its largest value is at 0 (1.0) or at the longest."""
        spec = self.st.fields[field]
        b = spec["b_ref"]
        avg = self.stats.avg(field) or 1.0
        length = spec["maxlen"]
        return max(1.0, (1 - b + b * length / spec["avg_ref"]) / (1 - b + b * length / avg))

    def _combined_rho(self) -> float:
        """:meth:`_rho` for the combined field's impacts: how much larger any field's ``tf /
        norm`` can be at the index's average length of its length group than at the segment's
        (the directory's ``groups``: average and longest)."""
        comb = self.st.dir["combined"]
        groups = comb.get("groups")
        if not groups:  # a store of per-field normalisation
            return max(self._rho(f) for f in comb["weights"])
        out = 1.0
        for f in comb["weights"]:
            g = tuple(comb["group_of"][f])
            avg_ref, length = groups["+".join(g)]
            b = self.st.fields[f]["b_ref"]
            avg = self.stats.group_avg(g)
            out = max(out, (1 - b + b * length / avg_ref) / (1 - b + b * length / avg))
        return out

    def _word_upper(self, field: str, text: str, boost: float) -> tuple[np.ndarray, np.ndarray] | None:
        p = self.postings(field, text)
        if p is None:
            return None
        present = np.zeros(self.nwin, dtype=bool)
        present[p.win_id] = True
        upper = np.zeros(self.nwin)
        upper[p.win_id] = self._word_window_upper(p, field, text, boost)
        return present, upper

    def _word_window_upper(self, p: TermPostings, field: str, text: str, boost: float) -> np.ndarray:
        """A word's BM25 bound in each of its windows (``p.win_id``)."""
        k1 = self.sc.k1
        idf = self.stats.word_idf(field, text)
        x = self._x_upper(p, field)  # BM25 = idf (k1 + 1) x / (x + k1), rising with x
        return idf * (k1 + 1) * x / (x + k1) * boost

    def _bound(self, q):
        t = type(q)
        nwin = self.nwin
        if t is FieldsWord:
            if q.boost < 0:
                raise Unsupported("negative boost")
            k1 = self.sc.k1
            idf = self.stats.fields_idf(q.text, q.weights)
            c = self.combined(q) if self.uses_combined(q) else None
            if c is not None:  # a bound on each document's whole pseudo-frequency
                x = c.win_maxq.astype(np.float64) * self._combined_rho()
                present = np.zeros(nwin, dtype=bool)
                present[c.win_id] = True
                upper = np.zeros(nwin)
                upper[c.win_id] = q.boost * idf * x * (k1 + 1.0) / (k1 + x)
                return present, upper
            present = np.zeros(nwin, dtype=bool)
            tsum = np.zeros(nwin)
            for f, w, p in self.weighted_postings(q):
                group = self.sc.group(f)
                if group == (f,):
                    tsum[p.win_id] += w * self._x_upper(p, f)
                else:  # its group's length is at least its own (the window's smallest)
                    fb = self.sc.field_b(f)
                    lmin = np.maximum(self.st.length_table[p.win_minlen], 1.0)
                    tsum[p.win_id] += w * p.win_maxtf.astype(np.float64) / (
                        1 - fb + fb * lmin / self.stats.group_avg(group))
                present[p.win_id] = True
            return present, q.boost * idf * tsum * (k1 + 1.0) / (k1 + tsum)
        if t is Word:
            if q.boost < 0:
                raise Unsupported("negative boost")
            return self._word_upper(q.field, q.text, q.boost)
        if t is Phrase:
            if q.boost < 0:
                raise Unsupported("negative boost")
            present = self._window_any(self._must_mask(q), self._phrase_docs.get(id(q)))
            upper = np.zeros(nwin)
            for w in q.words:  # the words' bounds added up (0 where a word is not)
                p = self.postings(q.field, w)
                if p is not None:
                    upper[p.win_id] += self._word_window_upper(p, q.field, w, 1.0)
            return present, upper * q.boost
        if t is AnyOf:
            subs = [(c, b) for c, b in ((c, self.bound(c)) for c in q.children) if b is not None]
            present = np.zeros(nwin, dtype=bool)
            upper = np.zeros(nwin)
            for _c, (pc, uc) in subs:
                present |= pc
                upper += np.where(pc, uc, 0.0)
            if q.bonus and q.clauses > 1:
                # the most sub-queries any one document of the window matches, from the masks
                count = np.zeros(nwin << self.bits, dtype=np.uint8)
                for c, _b in subs:
                    count[:self.n] += self._must_mask(c)
                most = count.reshape(nwin, -1).max(axis=1).astype(np.float64)
                upper += q.bonus * np.maximum(most - 1, 0)
            return present, upper
        if t is AllOf:
            present = np.ones(nwin, dtype=bool)
            upper = np.zeros(nwin)
            for c in q.children:
                pc, uc = self._must_bound(c)
                present &= pc
                upper += uc
            return present, upper
        if t is Without:
            return self._must_bound(q.a)
        if t is Maybe:
            pa, ua = self._must_bound(q.a)
            b = self.bound(q.b)
            return pa, (ua + np.where(b[0], b[1], 0.0)) if b is not None else ua
        if t in (Filter, DateRange):
            if t is Filter and q.score < 0:
                raise Unsupported("negative filter score")
            return self._window_any(self._must_mask(q)), np.full(nwin, float(getattr(q, "score", 0.0)))
        if t is Everything:
            if q.boost < 0:
                raise Unsupported("negative boost")
            return np.ones(nwin, dtype=bool), np.full(nwin, float(q.boost))
        raise Unsupported(f"query node {t.__name__}")

    # -- pass 2b: document bounds --

    def doc_bounds(self, q) -> np.ndarray:
        """An upper bound of every document's score (meaningful where ``q`` matches), added up
        leaf by leaf into one array: a word of the combined field adds its per-posting impact
        bound at its postings (BM25F rises with the pseudo-frequency), other words and phrases
        their window's bound; a coordination bonus adds ``bonus`` per matched sub-query, less
        one ``bonus`` where the OR matches; filters their constant score."""
        acc = np.zeros(self.n)
        offset = self._accumulate(q, acc, True)
        if offset:
            acc += offset
        return acc

    def _leaf_docs(self, q) -> np.ndarray:
        """The documents ``q`` matches, from its postings where it is one list."""
        t = type(q)
        if t is FieldsWord and self.uses_combined(q):
            c = self.combined(q)
            if c is not None:
                return c.docs
        if t is Word:
            p = self.postings(q.field, q.text)
            if p is not None:
                return p.docs
        m = self._must_mask(q)
        if t is Phrase:
            docs = self._phrase_docs.get(id(q))
            if docs is not None:
                return docs
        return np.flatnonzero(m)

    def _accumulate(self, q, acc: np.ndarray, always: bool, extra: float = 0.0) -> float:
        """Add ``q``'s bound, plus ``extra`` where ``q`` matches, into ``acc``; a constant part is
        returned when ``always`` (every document the caller reads matches ``q``), else added
        where ``q`` matches. Leaves compute in float32 (``_SLACK`` covers the rounding)."""
        if self.mask(q) is None:
            return 0.0
        t = type(q)
        const = 0.0
        if t is FieldsWord:
            if q.boost < 0:
                raise Unsupported("negative boost")
            c = self.combined(q) if self.uses_combined(q) else None
            if c is not None and c.imp is not None:
                imp = c.imp
                comb = self.st.dir["combined"]
                rho = self._combined_rho()
                k1 = self.sc.k1
                top = q.boost * self.stats.fields_idf(q.text, q.weights) * (k1 + 1.0)
                # BM25F's saturation top * x / (k1 + x) of the impact x, rising with x
                x = imp.astype(np.float32)
                x *= np.float32(rho / comb["imp_scale"])
                v = x / (x + np.float32(k1))
                v *= np.float32(top)
                if imp.max() == 65535:  # "that or more": the saturation's limit
                    v[imp == 65535] = top
                if extra:
                    v += np.float32(extra)
                acc[c.docs] += v
                return 0.0
            # Without impacts for this ranking: per posting, each field's tf / norm at the
            # field's own length (never longer than its length group's, and norm rises with
            # the length), summed per document, then saturated (BM25F rises with the sum).
            pseudo = np.zeros(self.n)
            table = self.st.length_table
            for f, w, p in self.weighted_postings(q):
                fb = self.sc.field_b(f)
                if fb < 0:
                    raise Unsupported("negative b")
                avg = self.stats.group_avg(self.sc.group(f))
                own = np.maximum(table[self.st.lengths(f)[p.docs]], 1.0)
                pseudo[p.docs] += w * p.tf.astype(np.float64) / (1.0 - fb + fb * own / avg)
            docs = self._leaf_docs(q)
            k1 = self.sc.k1
            xd = pseudo[docs]
            acc[docs] += q.boost * self.stats.fields_idf(q.text, q.weights) * (k1 + 1.0) * xd / (k1 + xd) + extra
            return 0.0
        if t in (Word, Phrase):
            if q.boost < 0:
                raise Unsupported("negative boost")
            docs = self._leaf_docs(q)
            acc[docs] += self._must_bound(q)[1][docs >> self.bits] + extra
            return 0.0
        if t is AnyOf:
            subs = [c for c in q.children if self.mask(c) is not None]
            bonus = q.bonus if q.bonus and q.clauses > 1 else 0.0
            for c in subs:
                if type(c) in (FieldsWord, Word, Phrase):  # the bonus with the leaf's bound
                    self._accumulate(c, acc, False, bonus)
                else:
                    self._accumulate(c, acc, False)
                    if bonus:
                        acc[self.mask(c)] += bonus
            const = extra - bonus
        elif t is AllOf:
            const = extra
            for c in q.children:
                const += self._accumulate(c, acc, always)
            if not always and const:
                acc[self.mask(q)] += const
            return const if always else 0.0
        elif t is Without:
            return self._accumulate(q.a, acc, always, extra)
        elif t is Maybe:
            const = self._accumulate(q.a, acc, always, extra)
            self._accumulate(q.b, acc, False)
            return const
        elif t is Filter:
            if q.score < 0:
                raise Unsupported("negative filter score")
            const = float(q.score) + extra
        elif t is DateRange:
            const = extra
        elif t is Everything:
            if q.boost < 0:
                raise Unsupported("negative boost")
            const = float(q.boost) + extra
        else:
            raise Unsupported(f"query node {t.__name__}")
        if always:
            return const
        if const:
            acc[self.mask(q)] += const
        return 0.0

    # -- pass 3: exact scores --

    def score_on(self, q, cands: np.ndarray) -> np.ndarray:
        """Exact scores of ``cands`` (ascending local document numbers that ``q`` matches), the
        executor's values bit for bit."""
        r = self._score(q, cands)
        if r is None:
            raise ValueError(f"{q!r} matches nothing here")
        return r

    def _score(self, q, c: np.ndarray) -> np.ndarray | None:
        """The executor's score array restricted to ``c`` (0 where ``q`` does not match); None
        where the executor's node result is None."""
        m = self.mask(q)
        if m is None:
            return None
        t = type(q)
        if t is FieldsWord:
            parts = []
            for f, w, p in self.weighted_postings(q):
                hit, idx = _lookup(p.docs, c)
                b = self.sc.field_b(f)
                group = self.sc.group(f)
                avg = self.stats.group_avg(group)
                part = np.zeros(len(c))
                dh = c[hit]
                table = self.st.length_table
                lens = table[self.st.lengths(group[0])[dh]]
                for g in group[1:]:  # the group's joint length, added in the executor's order
                    lens = lens + table[self.st.lengths(g)[dh]]
                norm = 1.0 - b + b * np.maximum(lens, 1.0) / avg
                part[hit] = w * p.tf[idx[hit]].astype(np.float64) / norm
                parts.append(part)
            idf = self.stats.fields_idf(q.text, q.weights)
            tf = _tree_sum(parts)
            k1 = self.sc.k1
            s = q.boost * idf * tf * (k1 + 1.0) / (k1 + tf)
            return np.where(m[c], s, 0.0)
        if t is Word:
            p = self._must_postings(q.field, q.text)
            hit, idx = _lookup(p.docs, c)
            out = np.zeros(len(c))
            s = self._bm25(q.field, q.text, c[hit], p.tf[idx[hit]])
            out[hit] = s * q.boost if q.boost != 1.0 else s
            return out
        if t is Phrase:
            mc = m[c]
            if not mc.any():  # none of these holds it (a title's phrase, mostly)
                return np.zeros(len(c))
            cm = c[mc]
            scores = []
            for w in q.words:
                p = self._must_postings(q.field, w)
                _hit, idx = _lookup(p.docs, cm)
                scores.append(self._bm25(q.field, w, cm, p.tf[idx]))
            s = _tree_sum(scores)
            out = np.zeros(len(c))
            out[mc] = s * q.boost if q.boost != 1.0 else s
            return out
        if t is AnyOf:
            scored = [(ch, sc) for ch, sc in ((ch, self._score(ch, c)) for ch in q.children)
                      if sc is not None]
            coord = q.bonus and q.clauses > 1
            if len(scored) == 1 and not coord:
                return scored[0][1]
            score = _tree_sum([sc for _ch, sc in scored])
            if coord:
                count = np.zeros(len(c))
                for ch, _sc in scored:
                    count += self._must_mask(ch)[c]
                score = np.where(m[c], score + q.bonus * (count - 1), 0.0)
            return score
        if t is AllOf:
            every = [self.score_on(ch, c) for ch in q.children]
            if len(every) == 1:
                return every[0]
            return np.where(m[c], _tree_sum(every), 0.0)
        if t is Without:
            a = self.score_on(q.a, c)
            if self.mask(q.b) is None:
                return a
            return np.where(m[c], a, 0.0)
        if t is Maybe:
            a = self.score_on(q.a, c)
            if self.mask(q.b) is None:
                return a
            return a + np.where(self._must_mask(q.a)[c], self.score_on(q.b, c), 0.0)
        if t is Filter:
            out = np.zeros(len(c))
            if q.score:
                out[m[c]] = q.score
            return out
        if t is DateRange:
            return np.zeros(len(c))
        if t is Everything:
            return np.full(len(c), float(q.boost or 1.0))
        raise Unsupported(f"query node {t.__name__}")

    def _bm25(self, field, text, docs, tf) -> np.ndarray:
        """The executor's ``_bm25``: Whoosh's BM25 with the searcher's weighting."""
        k1, b = self.sc.k1, self.sc.field_b(field)
        idf = self.stats.word_idf(field, text)
        avgfl = self.stats.avg(field) or 1
        tf = tf.astype(np.float64)
        fl = self.st.length_table[self.st.lengths(field)[docs]]
        return idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))


# ---- the whole index ------------------------------------------------------------------------------

@dataclass
class Result:
    """A query over all segments: the total, every match (global document numbers, for facets),
    the top hits ``(docnum, score)`` and how much scoring was done."""

    total: int
    docs: np.ndarray
    top: list[tuple[int, float]]
    scored: int = 0
    rounds: int = 0
    segments: list = field(default_factory=list, repr=False)


class Index:
    """The segments' stores of one index, in segment order, with their live-document masks
    (None: no deletions) and filter caches. Reuse it for many queries."""

    def __init__(self, stores: list[PostStore], live: list[np.ndarray | None] | None = None,
                 scoring: Scoring = Scoring()):
        self.stores = stores
        self.live = live or [None] * len(stores)
        self.scoring = scoring
        self.offsets = np.concatenate(([0], np.cumsum([s.n for s in stores]))).astype(np.int64)
        self._date_cache: np.ndarray | None = None

    def prepare(self, q) -> list[SegmentQuery]:
        stats = Stats(self.stores, self.scoring)
        return [SegmentQuery(s, stats, s.filters) for s in self.stores]

    def matches(self, q, segs: list[SegmentQuery] | None = None) -> tuple[list, np.ndarray]:
        """Each segment's match mask (live documents only; None: none) and all matches as
        global document numbers."""
        segs = segs or self.prepare(q)
        masks, docs = [], []
        for i, sq in enumerate(segs):
            m = sq.mask(q)
            if m is not None and self.live[i] is not None:
                m = m & self.live[i]
            masks.append(m)
            if m is not None:
                sq.matched = np.flatnonzero(m)
                docs.append(sq.matched + self.offsets[i])
        alldocs = np.concatenate(docs) if docs else np.zeros(0, np.int64)
        return masks, alldocs

    def scores(self, q, docs: np.ndarray) -> np.ndarray:
        """Exact scores of matching global document numbers ``docs`` (ascending)."""
        segs = self.prepare(q)
        out = np.zeros(len(docs))
        seg_of = np.searchsorted(self.offsets, docs, side="right") - 1
        for i, sq in enumerate(segs):
            sel = seg_of == i
            if sel.any():
                out[sel] = sq.score_on(q, docs[sel] - self.offsets[i])
        return out

    def search(self, q, k: int, *, sort: str = "relevance") -> Result:
        """Total, matches and the ``k`` best hits: by score (then document number), or by the
        ``date`` column (``sort="newest"``/``"oldest"``, then score, then document number) as
        ``topk.top_k``/``top_by_date`` order them."""
        segs = self.prepare(q)
        masks, docs = self.matches(q, segs)
        res = Result(len(docs), docs, [], segments=masks)
        if k <= 0 or not len(docs):
            return res
        if sort in ("newest", "oldest"):
            return self._by_date(q, segs, masks, docs, k, sort == "newest", res)
        # every match's upper bound; the best bounds scored first, then whatever can still beat
        # (or tie) the k-th best score found
        parts = [sq.doc_bounds(q)[sq.matched] for sq, m in zip(segs, masks) if m is not None]
        ub = np.concatenate(parts) * (1 + _SLACK) + _SLACK
        pick = _best(ub, max(2 * k, 32))
        scores = self._score_docs(q, segs, docs[pick])
        res.scored, res.rounds = len(pick), 1
        if len(pick) < len(docs):
            threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
            ub[pick] = -np.inf
            more = np.flatnonzero(ub >= threshold)
            if len(more):
                pick = np.concatenate((pick, more))
                scores = np.concatenate((scores, self._score_docs(q, segs, docs[more])))
                res.scored += len(more)
                res.rounds += 1
        d = docs[pick]
        o = np.lexsort((d, -scores))[:k]
        res.top = [(int(x), float(y)) for x, y in zip(d[o].tolist(), scores[o].tolist())]
        return res

    def _score_docs(self, q, segs, docs: np.ndarray) -> np.ndarray:
        """Exact scores of ascending global document numbers that match ``q``."""
        out = np.zeros(len(docs))
        bounds = np.searchsorted(docs, self.offsets)
        for i, sq in enumerate(segs):
            a, b = bounds[i], bounds[i + 1]
            if b > a:
                out[a:b] = sq.score_on(q, docs[a:b] - self.offsets[i])
        return out

    def dates(self) -> np.ndarray:
        """Every document's date number (YYYYMMDD, 0: none), global order, read once."""
        if self._date_cache is None:
            parts = [s.array("date") for s in self.stores]
            self._date_cache = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
        return self._date_cache

    def _by_date(self, q, segs, masks, docs, k, newest, res):
        dates = self.dates()
        d = dates[docs]
        key = -d if newest else d
        if len(docs) > k:
            cutoff = _kth_smallest(key, k)
            keep = key <= cutoff
            docs, key = docs[keep], key[keep]
        scores = self.scores(q, docs)
        res.scored = len(docs)
        order = np.lexsort((docs, -scores, key))[:k]
        res.top = [(int(x), float(s)) for x, s in zip(docs[order].tolist(), scores[order].tolist())]
        return res

    def facet_counts(self, docs: np.ndarray, names) -> dict[str, dict[str, int]]:
        """Value -> count of each facet over ``docs`` (global), most frequent first, from the
        stores' coded columns (``year``: codes made once from the date column)."""
        cut = np.searchsorted(docs, self.offsets)
        locals_ = [docs[cut[i]:cut[i + 1]] - self.offsets[i] for i in range(len(self.stores))]
        out = {}
        for name in names:
            counts: dict[str, int] = {}
            for i, s in enumerate(self.stores):
                local = locals_[i]
                codes, labels = self._year_codes(i) if name == "year" else (
                    s.maybe_array(f"facet_{name}"), s.labels.get(f"facet_{name}", []))
                if not len(local) or codes is None:
                    continue
                c = np.bincount(codes[local], minlength=len(labels))
                for code in np.flatnonzero(c).tolist():
                    label = labels[code]
                    if label:  # "": no value
                        counts[label] = counts.get(label, 0) + int(c[code])
            out[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return out

    def _year_codes(self, i: int) -> tuple[np.ndarray, list[str]]:
        """A store's meeting years as codes (0: no date) and their labels, made once per store."""
        st = self.stores[i]
        if st.year_codes is None:
            years = st.array("date").astype(np.int64) // 10000  # 0 (no date) or 1 to 9999
            # what np.unique(years, return_inverse=True) gives, without its sort (~2-6 ms of a
            # cold search): the years present, in order, and each document's number among them
            present = np.zeros(int(years.max(initial=0)) + 1, dtype=bool)
            present[years] = True
            codes = (np.cumsum(present) - 1)[years]
            labels = [str(y) if y else "" for y in np.flatnonzero(present).tolist()]
            st.year_codes = (codes.astype(np.uint16), labels)
        return st.year_codes
