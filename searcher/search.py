"""The search API: ``Searcher(index_dir).search("hate crime")`` -> a :class:`ResultPage`.

Validates arguments, parses the query, adds filters, has the engine (``index_data.engine``)
compile and run it, ranks the matches (top k, re-ranking steps of ``rerank``, feedback), and
builds snippets, facets and "did you mean" suggestions. Every ranking number comes from the
:class:`~searcher.ranking.Ranking` the Searcher was given.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index_data.analysis import SpanFinder, analyze, matching_spans, normalize_token, stopwords
from index_data.engine import Compiled, EngineReader, RawHit, Snapshot
from index_data.errors import MqtError, NotFoundError, QueryError
from index_data.fields import number_date
from index_data.meta import read_meta
from index_data.model import STATUSES, Question, Status

from . import query as q
from . import rerank
from .aliases import expand as expand_aliases
from .feedback import expansion_weights, key_terms, relevance_model
from .query import parse_query
from .ranking import Ranking
from .results import SORTS, Hit, IndexHealth, IndexStats, Result, ResultPage, Results, Snippets, Sort
from .snippets import make_snippets
from .synonyms import expand as expand_synonyms

if TYPE_CHECKING:
    from .trends import Trend

MAX_LIMIT = 1000
MAX_PAGE = 10_000
#: With fewer hits than this, a misspelt word gets a suggestion even if the fix finds no more.
FEW_HITS = 10


def default_index_dir() -> Path:
    """``$MQT_INDEX`` if set, else ``.mqt-index`` in the current directory."""
    return Path(os.environ.get("MQT_INDEX") or ".mqt-index")


def _as_date(value, name: str, end: bool) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        lo, hi = q.date_bounds(str(value))
    except ValueError:
        raise QueryError(f"{name}={value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)") from None
    return hi if end else lo


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@dataclass(frozen=True)
class _Plan:
    """A search's compiled query and what else it needs (see ``Searcher._plan``)."""

    typed: q.Node  # the query as parsed
    full_tree: Callable[[q.Node], q.Node]  # adds synonyms, party names and filters to a parsed query
    compiled: Compiled
    smooth: bool
    filters: dict[str, str]


class Searcher:
    """Searches an mqt index. Thread-safe; reuse one for many queries.

    >>> with Searcher(".mqt-index") as s:                       # doctest: +SKIP
    ...     page = s.search("hate crime", party="labour", date_from="2016")
    ...     for hit in page.hits:
    ...         print(hit.rank, hit.title, hit.snippets.question[0])
    """

    def __init__(self, index_dir: str | os.PathLike | None = None, *, ranking: Ranking | None = None):
        self.index_dir = Path(index_dir) if index_dir is not None else default_index_dir()
        #: The ranking settings every search of this Searcher uses (default: the product's).
        self.ranking = ranking if ranking is not None else Ranking()
        self._engine = EngineReader(self.index_dir, self.ranking)

    @property
    def engine(self) -> EngineReader:
        """The engine reader behind this Searcher, for tools and tests that work at the engine's
        level (``index_data.engine``)."""
        return self._engine

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._engine.close()

    def search(self, query: str = "", *, limit: int = 10, page: int = 1, asker: str | None = None,
               party: str | None = None, asked_of: str | None = None, meeting: str | None = None,
               status: Status | None = None,
               date_from: dt.date | str | None = None, date_to: dt.date | str | None = None,
               sort: Sort = "relevance", facets: bool = True, snippets: bool = True,
               suggest: bool = True, feedback: bool | None = None,
               neighbours: bool | None = None, synonyms: bool = True) -> ResultPage:
        """Run a query (see ``searcher.query`` for the syntax) and return one page of results.

        Keyword filters match like the query's fields (``party="labour"`` finds "Labour Group",
        ``meeting="plenary"`` is ``meeting:plenary``);
        dates are inclusive, as ``datetime.date`` or ISO strings (``"2017"``, ``"2017-09"`` too).
        ``facets`` counts over the whole result set; ``suggestion`` is set when a corrected query
        finds more. ``feedback`` (default ``ranking.feedback.enabled``) re-ranks the matches with
        words learnt from the best ones (pseudo-relevance feedback, see ``searcher.feedback``);
        ``neighbours`` (default ``ranking.neighbours.enabled``) re-ranks a long query's best hits by
        their similarity to each other (see ``searcher.neighbours``): a hit's ``score`` is then
        the smoothed one, between 0 and 1;
        ``synonyms`` adds the names of ``searcher/data/synonyms.txt`` (``Met Police`` finds ``MPS``).
        """
        start = time.perf_counter()
        if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
            raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        if not (isinstance(page, int) and 1 <= page <= MAX_PAGE):
            raise QueryError(f"page must be a whole number from 1 to {MAX_PAGE}")
        # one view of the index for the whole search: compiling, ranking, records and "did you
        # mean" read the same commit (and the index is checked for changes once)
        snap = self._engine.snapshot()
        plan = self._plan(query, asker=asker, party=party, asked_of=asked_of, meeting=meeting,
                          status=status, date_from=date_from, date_to=date_to, sort=sort,
                          feedback=feedback, neighbours=neighbours, synonyms=synonyms, snap=snap)
        total, raw, facet_counts = self._run(
            plan.compiled, offset=(page - 1) * limit, limit=limit, sort=sort, want_facets=facets,
            neighbours=plan.smooth, snap=snap)
        hits = _hits(raw, plan.compiled, first_rank=(page - 1) * limit + 1, snippets=snippets)
        suggestion = self._suggest(query, plan.typed, total, plan.full_tree, snap) if suggest else None
        return ResultPage(query=query, total=total, page=page, limit=limit, hits=hits,
                          facets=facet_counts, suggestion=suggestion, sort=sort,
                          took_ms=(time.perf_counter() - start) * 1000, filters=plan.filters)

    def iter_results(self, query: str = "", *, asker: str | None = None, party: str | None = None,
                     asked_of: str | None = None, meeting: str | None = None,
                     status: Status | None = None,
                     date_from: dt.date | str | None = None, date_to: dt.date | str | None = None,
                     sort: Sort = "relevance", feedback: bool | None = None,
                     neighbours: bool | None = None, synonyms: bool = True) -> Results:
        """Every match of a search, not one page: the same query, filters and order as
        :meth:`search` with the same arguments, as :class:`Results` (``total``, then each
        :class:`Result` — rank, score and the full :class:`Question` — read one at a time, so an
        export of 100,000 questions holds none of the others in memory).

        >>> with Searcher(".mqt-index") as s:                       # doctest: +SKIP
        ...     results = s.iter_results("hate crime", party="labour", sort="newest")
        ...     print(results.total)
        ...     for r in results:
        ...         print(r.rank, r.question.id, r.question.title)
        """
        plan = self._plan(query, asker=asker, party=party, asked_of=asked_of, meeting=meeting,
                          status=status, date_from=date_from, date_to=date_to, sort=sort,
                          feedback=feedback, neighbours=neighbours, synonyms=synonyms)
        snap = self._engine.snapshot()
        total, _docs, top = self._order(snap, plan.compiled, want=None, sort=sort,
                                        neighbours=plan.smooth)
        # the whole iteration reads the index as it was now, even if a reindex commits meanwhile
        rows = (Result(rank=i, score=r.score, question=Question.from_dict(r.record))
                for i, r in enumerate(snap.iter_records(top), 1))
        return Results(query=query, total=total, sort=sort, filters=plan.filters, rows=rows)

    def trend(self, query: str = "", *, asker: str | None = None, party: str | None = None,
              asked_of: str | None = None, meeting: str | None = None, status: Status | None = None,
              date_from: dt.date | str | None = None, date_to: dt.date | str | None = None,
              interval: str = "year", by: str | None = None, synonyms: bool = True) -> Trend:
        """How many questions match per year (or month), every period included, split by
        ``by`` (``"party"``, ``"asker"`` or ``"asked_of"``) when given; with the first and last
        date a match was asked. The same matches as :meth:`search` with the same arguments, so
        the yearly counts equal its ``year`` facet.

        >>> with Searcher(".mqt-index") as s:                       # doctest: +SKIP
        ...     t = s.trend("hate crime", date_from="2016", by="party")
        ...     [(b.period, b.count) for b in t.buckets][:2]
        [('2016', 14), ('2017', 21)]
        """
        from . import trends

        if interval not in trends.INTERVALS:
            raise QueryError(f"interval must be one of {', '.join(trends.INTERVALS)}, not {interval!r}")
        if by is not None and by not in trends.BY_FIELDS:
            raise QueryError(f"by must be one of {', '.join(trends.BY_FIELDS)}, not {by!r}")
        plan = self._plan(query, asker=asker, party=party, asked_of=asked_of, meeting=meeting,
                          status=status, date_from=date_from, date_to=date_to, sort="relevance",
                          feedback=False, neighbours=False, synonyms=synonyms)
        dates, codes, labels = self._engine.snapshot().match_columns(plan.compiled, by)
        buckets, first, last, groups = trends.count(
            dates, codes, labels, interval=interval,
            start=_as_date(date_from, "date_from", end=False),
            end=_as_date(date_to, "date_to", end=True))
        return trends.Trend(query=query, interval=interval, by=by, buckets=buckets,
                     first=first, last=last, total=len(dates), filters=plan.filters, groups=groups)

    def document_versions(self) -> dict[str, str]:
        """Every question's id and version (the SHA-1 of the file it was indexed from)."""
        return self._engine.document_versions()

    def matching(self, query: str, ids, *, synonyms: bool = True, **filters) -> list[Question]:
        """Those of the questions ``ids`` that match a search (``filters`` as for
        :meth:`search`), as records (for ``watch``: which new questions a saved search finds)."""
        if not ids:
            return []
        plan = self._plan(query, asker=filters.get("asker"), party=filters.get("party"),
                          asked_of=filters.get("asked_of"), meeting=filters.get("meeting"),
                          status=filters.get("status"),
                          date_from=filters.get("date_from"), date_to=filters.get("date_to"),
                          sort="relevance", feedback=False, neighbours=False, synonyms=synonyms)
        found = self._engine.snapshot().matching_ids(plan.compiled, ids)
        return [self.get(doc_id) for doc_id in sorted(found)]

    def _plan(self, query, *, asker, party, asked_of, meeting, status, date_from, date_to, sort,
              feedback, neighbours, synonyms, snap: Snapshot | None = None) -> _Plan:
        """Check a search's arguments and compile its query (see :meth:`search`), in the view
        ``snap`` (None: the current one)."""
        if not isinstance(query, str):
            raise QueryError("the query must be a string")
        if sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if status is not None and status.lower() not in STATUSES:
            raise QueryError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        d_from = _as_date(date_from, "date_from", end=False)
        d_to = _as_date(date_to, "date_to", end=True)
        if d_from and d_to and d_from > d_to:
            raise QueryError(f"date_from {d_from} is after date_to {d_to}")

        typed = parse_query(query)
        named = {name: value for name, value in (("asker", asker), ("party", party),
                                                 ("asked_of", asked_of), ("meeting", meeting),
                                                 ("status", status)) if value}
        filters: list = [q.Match(name, value) for name, value in named.items()]
        if d_from or d_to:
            filters.append(q.DateRange(d_from, d_to))

        def full_tree(tree):
            """The typed query with synonyms, party names and the keyword filters."""
            if synonyms:
                tree = expand_synonyms(tree)
            if filters:
                tree = q.Bool(must=tuple(filters) + ((tree,) if not _is_empty(tree) else ()))
            return expand_aliases(tree)

        compiled = (snap or self._engine).compile(full_tree(typed))
        if (self.ranking.feedback.enabled if feedback is None else feedback) and sort.startswith("relevance"):
            compiled = self._feedback(compiled)
        smooth = (self.ranking.neighbours.enabled if neighbours is None else neighbours) \
            and sort.startswith("relevance")
        applied = dict(named)
        if d_from:
            applied["from"] = d_from.isoformat()
        if d_to:
            applied["to"] = d_to.isoformat()
        return _Plan(typed, full_tree, compiled, bool(smooth), applied)

    def _run(self, compiled: Compiled, *, offset: int, limit: int, sort: Sort, want_facets: bool,
             neighbours: bool = False, snap: Snapshot | None = None
             ) -> tuple[int, list[RawHit], dict[str, dict[str, int]]]:
        """The total, one page of hits and the facet counts of a compiled query, all from one
        view of the index (``snap``; None: the current one). ``neighbours``: re-rank a long
        query's best hits by neighbour smoothing (see ``rerank``)."""
        snap = snap or self._engine.snapshot()
        # The total, every match (for the facets) and the first hits, from one view; the engine
        # scores only what can reach the first offset + limit (see Snapshot.ranked).
        total, docs, top = self._order(snap, compiled, want=offset + limit, sort=sort,
                                       neighbours=neighbours)
        facet_counts = snap.facet_counts(docs) if want_facets else {}
        return total, snap.records(top[offset:offset + limit]), facet_counts

    def _order(self, snap: Snapshot, compiled: Compiled, *, want: int | None, sort: Sort,
               neighbours: bool) -> tuple[int, Any, list[tuple[int, float]]]:
        """The total, every match (sorted docnums) and the first ``want`` matches (None: all)
        in result order, with their (final) scores."""
        ranking = self.ranking
        if sort in ("newest", "oldest"):
            r = snap.ranked(compiled, want, sort)
            return r.total, r.docs, r.top
        smooth = neighbours and compiled.words >= ranking.neighbours.min_words
        if want is not None:
            want = max(1, want)
            if smooth:
                want = max(want, ranking.neighbours.depth)
            if sort == "relevance_recent":
                want = max(want, ranking.recency.pool)
        r = snap.ranked(compiled, want)
        top = r.top
        if smooth:
            top = rerank.smooth_top(snap, top, ranking.neighbours)  # scores keep falling
        if sort == "relevance_recent":
            top = rerank.recency(snap, top, ranking.recency)
        return r.total, r.docs, top

    def _feedback(self, compiled: Compiled) -> Compiled:
        """The compiled query with RM3 expansion terms from its top documents (see ``feedback``)."""
        settings = self.ranking.feedback
        if len(compiled.terms) < settings.min_words:
            return compiled  # keyword queries (and filters alone) are ranked as typed
        snap = self._engine.snapshot()
        top = []
        for hit in snap.records(snap.ranked(compiled, settings.docs).top):
            rec = hit.record
            text = "\n".join([rec["title"], rec["question"]] + [a["text"] for a in rec.get("answers", ())])
            top.append((hit.score, analyze(text)))
        if len(top) < settings.min_hits:
            return compiled
        top = [d for d in top if d[0] >= settings.min_score_ratio * top[0][0]]
        model = relevance_model(top, settings.terms, snap.idf if settings.idf_weighted else None)
        return self._engine.with_feedback(compiled, expansion_weights(len(compiled.terms), model, settings))

    def _suggest(self, query: str, tree: q.Node, total: int,
                 full_tree: Callable[[q.Node], q.Node] = lambda t: t,
                 snap: Snapshot | None = None) -> str | None:
        """A corrected query when some words are unknown to the index and the correction finds
        more (or as many, when there were few hits); known words are never corrected. Plain
        words, words inside quotes and names in name filters (``asker:"Elly Bof"``, checked
        against that field's words) are corrected; ``full_tree`` adds what the search added
        (filters, synonyms) before the corrected query is counted; in the view ``snap`` (None:
        the current one)."""
        view = snap or self._engine.snapshot()
        stops = stopwords()
        fixes: list[tuple[int, int, str]] = []
        for pos, raw, field in _correctable_words(query, tree):
            norm = normalize_token(raw)
            if (not norm.isalpha() or len(norm) < 3 or (field is None and norm in stops)
                    or view.knows_word(norm, field)):
                continue  # a word the index knows is never "corrected"
            maxdist = 1 if len(norm) <= 4 else 2
            cands = [(_edit_distance(norm, c), -df, c)
                     for c, df in view.similar_words(norm, maxdist, field)]
            cands = [c for c in cands if c[0] <= maxdist]
            if not cands:
                continue
            best = min(cands)[2]
            fixed = best.capitalize() if raw[:1].isupper() else best
            fixes.append((pos, pos + len(raw), fixed))
        if not fixes:
            return None
        out, last = [], 0
        for a, b, fixed in sorted(fixes):
            out.append(query[last:a])
            out.append(fixed)
            last = b
        out.append(query[last:])
        suggestion = "".join(out)
        try:
            better = view.count(view.compile(full_tree(parse_query(suggestion))))
        except QueryError:
            return None
        # more hits, or as many when there were few: "afordable housing" may match on "housing"
        return suggestion if better > total or (better == total and total < FEW_HITS) else None

    def similar(self, doc_id: str, limit: int = 10, *, snippets: bool = True) -> ResultPage:
        """Questions like ``doc_id`` ("has this been asked before?"), most similar first, itself excluded.

        Chosen by the document's key words: its title, question and answer text is analysed as the
        index does, each word weighed by ``(1 + log tf) * idf`` (the title's words count twice), and
        the ``ranking.similar.terms`` heaviest are searched with those weights, ranked by BM25F.
        """
        start = time.perf_counter()
        if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
            raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        rec = self.get(doc_id)
        terms = analyze(rec.title) * 2 + analyze(rec.question) + analyze(rec.answer_text)
        weights = key_terms(terms, self._engine.snapshot().idf, self.ranking.similar.terms)
        compiled = self._engine.weighted_terms(weights, exclude_id=doc_id)
        total, raw, _ = self._run(compiled, offset=0, limit=limit, sort="relevance", want_facets=False)
        return ResultPage(query=f"similar:{doc_id}", total=total, page=1, limit=limit,
                          hits=_hits(raw, compiled, first_rank=1, snippets=snippets), facets={},
                          suggestion=None, took_ms=(time.perf_counter() - start) * 1000)

    def get(self, doc_id: str) -> Question:
        """The full record of one question; raises :class:`NotFoundError` when no question has
        that id (as :meth:`similar` does)."""
        rec = self._engine.get(doc_id) if isinstance(doc_id, str) else None
        if rec is None:
            raise NotFoundError(f"no question with id {doc_id!r} in {self.index_dir}")
        return rec

    def health(self) -> IndexHealth:
        """The live document count and generation of the index, checked for changes first: cheap
        (no facet counts), for a server's health check."""
        raw = self._engine.health()
        return IndexHealth(index_dir=str(self.index_dir), **raw)

    def stats(self, top: int = 10) -> IndexStats:
        """Facts about the index (:class:`IndexStats`): documents, first and last meeting date,
        the ``top`` most frequent askers and parties, documents per status, size on disk,
        segments, schema version, and when it was built and last updated."""
        raw = self._engine.stats()
        try:
            meta = read_meta(self.index_dir)  # the engine's copy is from when it opened
        except MqtError:
            meta = raw["meta"]

        def day(n):
            return number_date(n) if n else None

        def head(d):
            return dict(list(d.items())[:top])

        return IndexStats(index_dir=str(self.index_dir), documents=raw["documents"],
                          first_date=day(raw["first_date"]), last_date=day(raw["last_date"]),
                          top_askers=head(raw["facets"]["asker"]), top_parties=head(raw["facets"]["party"]),
                          statuses=raw["facets"]["status"], size_bytes=raw["size_bytes"],
                          segments=raw["segments"], built_at=_timestamp(meta.get("built_at")),
                          updated_at=_timestamp(meta.get("updated_at")),
                          schema_version=meta["schema_version"])


def _timestamp(value) -> dt.datetime | None:
    """A time recorded in the index meta (ISO 8601), timezone-aware (an older mqt wrote
    ``2026-12-05T18:59:45+0000``); None if absent or unreadable."""
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            t = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    return t if t.tzinfo else t.astimezone()


def _is_empty(tree) -> bool:
    return isinstance(tree, q.Bool) and tree.is_empty


#: Name filters whose words "did you mean" may correct, from that field's own words.
_SPELLED_NAME_FIELDS = ("asker", "party", "asked_of", "answered_by", "meeting")
_RAW_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def _correctable_words(query: str, node: q.Node) -> Iterator[tuple[int, str, str | None]]:
    """``(offset in query, word as typed, name field or None)`` for each word "did you mean" may
    correct: unfielded plain words and words of unfielded phrases (body text), and the words of
    name filters."""
    if isinstance(node, q.Words) and node.field is None:
        if node.pos >= 0 and query[node.pos:node.pos + len(node.text)] == node.text:
            yield node.pos, node.text, None
    elif isinstance(node, (q.Phrase, q.Match)):
        text = node.text if isinstance(node, q.Phrase) else node.value
        field = None if isinstance(node, q.Phrase) else node.field
        if node.pos < 0 or query[node.pos:node.pos + len(text)] != text:
            return
        if isinstance(node, q.Phrase) and node.field is not None:
            return
        if isinstance(node, q.Match) and field not in _SPELLED_NAME_FIELDS:
            return
        for m in _RAW_WORD_RE.finditer(text):
            yield node.pos + m.start(), m.group(), field
    elif isinstance(node, q.Bool):
        for c in node.must + node.should:
            yield from _correctable_words(query, c)
    elif isinstance(node, q.Or):
        for c in node.children:
            yield from _correctable_words(query, c)


def _hits(raw: list[RawHit], compiled: Compiled, *, first_rank: int, snippets: bool) -> list[Hit]:
    """Result hits from the engine's raw hits, with snippets marking what ``compiled`` matched."""
    hits = []
    matches: Callable[[str], bool] = compiled.matches
    spans: Callable[[str], list[tuple[str, int, int]]]
    if compiled.prefixes:
        chunks: dict[str, tuple] = {}  # shared by the hits (see matching_spans)

        def spans(text: str) -> list[tuple[str, int, int]]:
            return matching_spans(text, matches, chunks)
    elif snippets:  # matches(t) is t in terms
        finder = SpanFinder(frozenset(compiled.terms))
        spans, matches = finder, finder.terms.__contains__  # one test, no Python call per span

    def snippet(text: str) -> list[str]:
        return make_snippets(text, matches, fragments=2, spans=spans(text))

    for i, r in enumerate(raw):
        rec = Question.from_dict(r.record)
        snips = Snippets(
            question=snippet(rec.question) if snippets else [],
            answer=snippet(rec.answer_text) if snippets else [],
        )
        hits.append(Hit(id=rec.id, rank=first_rank + i, score=r.score, title=rec.title,
                        meeting=rec.meeting, meeting_date=rec.meeting_date, asker=rec.asker,
                        party=rec.party, asked_of=rec.asked_of, status=rec.status, snippets=snips))
    return hits
