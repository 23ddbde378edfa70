"""Snippets: the best fragments of a text around the matched terms, HTML-escaped, matches marked.

Engine-agnostic: it re-tokenises stored text with the index's own analysis, so a search for
``crimes`` marks ``crime`` and ``criminal``'s stem-mates alike, and needs nothing from Whoosh.
"""

from __future__ import annotations

import html
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable

from index_data.analysis import term_spans

#: Decides whether an index term matched the query (exact terms, prefixes, fuzzy expansions).
TermTest = Callable[[str], bool]

WIDTH = 200


def _word_start(text: str, i: int) -> int:
    """Move ``i`` back to the start of the word it falls in (never before 0)."""
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def _render(text: str, a: int, b: int, spans: list[tuple[int, int]], lead: bool, tail: bool) -> str:
    out = ["…" if lead else ""]
    pos = a
    merged: list[list[int]] = []
    for s, e in spans:
        if s < a or e > b:
            continue
        if merged and not text[merged[-1][1]:s].strip():
            merged[-1][1] = e  # adjacent matches (a phrase) share one <mark>
        else:
            merged.append([s, e])
    for s, e in merged:
        out.append(html.escape(text[pos:s], quote=False))
        out.append("<mark>" + html.escape(text[s:e], quote=False) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:b], quote=False))
    out.append("…" if tail else "")
    return " ".join("".join(out).split())  # one line: paragraph breaks become spaces


def make_snippets(text: str, matches: TermTest, *, fragments: int = 2, width: int = WIDTH,
                  spans: Iterable[tuple[str, int, int]] | None = None) -> list[str]:
    """Up to ``fragments`` fragments of about ``width`` characters with the most distinct matches.

    With no match the text's opening is returned (so every hit shows some text); an empty text
    gives no fragment.

    >>> make_snippets("Hate crimes rose <again>.", {"crime"}.__contains__)
    ['Hate <mark>crimes</mark> rose &lt;again&gt;.']
    """
    if not text:
        return []
    hits = [(t, s, e) for t, s, e in (spans if spans is not None else term_spans(text)) if matches(t)]
    if len(text) <= width * 1.25:
        return [_render(text, 0, len(text), [(s, e) for _, s, e in hits], False, False)]
    if not hits:
        end = _word_end(text, width)
        return [_render(text, 0, end, [], False, end < len(text))]
    terms = [t for t, _, _ in hits]
    starts = [s for _, s, _ in hits]
    ends = [e for _, _, e in hits]
    if any(e > s for e, s in zip(ends, starts[1:])):  # overlapping spans: not in order
        return _make_snippets_slowly(text, hits, fragments, width)

    # Score a window starting a little before each match: distinct terms first, then count. The
    # matches are in order and apart, so those inside a window are a run of them (bisect).
    windows = []
    for k, s in enumerate(starts):
        a = _word_start(text, max(0, s - width // 5))
        b = _word_end(text, min(len(text), a + width))
        lo, hi = bisect_left(starts, a, 0, k), max(bisect_right(ends, b, k), k)
        windows.append((len(set(terms[lo:hi])), hi - lo, -a, a, b))
    chosen = _choose(windows, fragments,
                     lambda a, b: set(terms[bisect_left(starts, a):bisect_right(ends, b)]))
    out = []
    for a, b in chosen:
        lo, hi = bisect_left(starts, a), bisect_right(ends, b)
        out.append(_render(text, a, b, list(zip(starts[lo:hi], ends[lo:hi])), a > 0, b < len(text)))
    return out


def _make_snippets_slowly(text: str, hits: list[tuple[str, int, int]], fragments: int,
                          width: int) -> list[str]:
    """:func:`make_snippets`'s windows for spans that overlap (none of mqt's analysis makes
    such), each window counting its matches one by one."""
    windows = []
    for k, (_, s, _) in enumerate(hits):
        a = _word_start(text, max(0, s - width // 5))
        b = _word_end(text, min(len(text), a + width))
        inside = [h for h in hits[k:] if h[2] <= b] + [h for h in hits[:k] if h[1] >= a]
        windows.append((len({t for t, _, _ in inside}), len(inside), -a, a, b))
    chosen = _choose(windows, fragments, lambda a, b: {t for t, s, e in hits if a <= s and e <= b})
    spans_ = [(s, e) for _, s, e in hits]
    return [_render(text, a, b, spans_, a > 0, b < len(text)) for a, b in chosen]


def _choose(windows: list[tuple[int, int, int, int, int]], fragments: int,
            shown: Callable[[int, int], set[str]]) -> list[tuple[int, int]]:
    """The best ``fragments`` of the ``(distinct, count, -a, a, b)`` windows that do not overlap,
    each after the first showing a term the ones before did not (``shown(a, b)``), in text order."""
    windows.sort(reverse=True)
    chosen: list[tuple[int, int]] = []
    covered: set[str] = set()
    for _distinct, _count, _, a, b in windows:
        if len(chosen) == fragments:
            break
        if any(a < cb and ca < b for ca, cb in chosen):
            continue
        terms = shown(a, b)
        if chosen and terms <= covered:
            continue  # a second fragment must show something the first did not
        chosen.append((a, b))
        covered |= terms
    return sorted(chosen)
