"""A ``Searcher`` whose searches go through the prototype fast path (``index_data.engine.
fastpath``): the same pages (hits, scores, snippets, facets, totals), or the usual path when the
stores cannot answer. For benchmarks and tests; the product's searcher does not use it yet.

    from benchmarks.fastsearch import fast_searcher
    s = fast_searcher("/tmp/bench/index-mqt")       # stores built beforehand (ensure_stores)
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from index_data.engine import fastpath  # noqa: E402
from index_data.fields import FACETS  # noqa: E402
from searcher import rerank  # noqa: E402
from searcher.search import Searcher  # noqa: E402


class FastSearcher(Searcher):
    """:class:`Searcher` with ``_run`` (the total, one page, the facets) from the stores."""

    def _fast_view(self, snap) -> fastpath.FastView:
        views = self.__dict__.setdefault("_views", {})
        view = views.get(id(snap))
        if view is None or view.snapshot is not snap:
            views.clear()  # one snapshot a thread in these benchmarks
            view = views[id(snap)] = fastpath.FastView(snap, self.ranking.bm25)
        return view

    def _run(self, compiled, *, offset, limit, sort, want_facets, neighbours=False):
        snap = self._engine.snapshot()
        view = self._fast_view(snap)
        ranking = self.ranking
        if sort in ("newest", "oldest"):
            want = offset + limit
        else:
            want = max(1, offset + limit)
            smooth = neighbours and ranking.coordination.is_long(compiled.words)
            if smooth:
                want = max(want, ranking.neighbours.depth)
            if sort == "relevance_recent":
                want = max(want, ranking.recency.pool)
        res = view.search(compiled, want, sort="relevance" if sort.startswith("relevance") else sort)
        if res is None:
            return Searcher._run(self, compiled, offset=offset, limit=limit, sort=sort,
                                 want_facets=want_facets, neighbours=neighbours)
        self.last = res
        top = res.top
        if not sort.startswith("newest") and not sort.startswith("oldest"):
            if neighbours and ranking.coordination.is_long(compiled.words):
                top = rerank.smooth_top(snap, top, ranking.neighbours)
            if sort == "relevance_recent":
                top = rerank.recency(snap, top, ranking.recency)
        facets = view.index.facet_counts(res.docs, FACETS) if want_facets else {}
        return res.total, snap.records(top[offset:offset + limit]), facets


def fast_searcher(index_dir) -> FastSearcher:
    """A :class:`FastSearcher` on ``index_dir`` (stores built beforehand:
    ``index_data.engine.poststore.ensure_stores``)."""
    return FastSearcher(index_dir)
