"""Snippets (searcher/snippets.py): the fast window search (matches found by bisection, spans
from ``matching_spans``) gives exactly the fragments of the plain one it replaced
(:func:`reference_snippets`, mqt's snippet builder before issue 15), on real and generated
questions, for many queries, and on any text."""

from __future__ import annotations


from hypothesis import given, settings
from hypothesis import strategies as st

from index_data.analysis import SpanFinder, matching_spans, term_spans
# the reference chooses its windows its own way and renders them as the product does
from searcher.snippets import WIDTH, _render, _word_end, _word_start, make_snippets


def reference_snippets(text, matches, fragments=2, width=WIDTH, spans=None):
    """mqt's snippets before issue 15: every window counts its matches one by one."""
    if not text:
        return []
    hits = [(t, s, e) for t, s, e in (spans if spans is not None else term_spans(text)) if matches(t)]
    if len(text) <= width * 1.25:
        return [_render(text, 0, len(text), [(s, e) for _, s, e in hits], False, False)]
    if not hits:
        end = _word_end(text, width)
        return [_render(text, 0, end, [], False, end < len(text))]
    windows = []
    for k, (_, s, _) in enumerate(hits):
        a = _word_start(text, max(0, s - width // 5))
        b = _word_end(text, min(len(text), a + width))
        inside = [h for h in hits[k:] if h[2] <= b] + [h for h in hits[:k] if h[1] >= a]
        windows.append((len({t for t, _, _ in inside}), len(inside), -a, a, b))
    windows.sort(reverse=True)
    chosen: list[tuple[int, int]] = []
    covered: set[str] = set()
    for _distinct, _count, _, a, b in windows:
        if len(chosen) == fragments:
            break
        if any(a < cb and ca < b for ca, cb in chosen):
            continue
        terms = {t for t, s, e in hits if a <= s and e <= b}
        if chosen and terms <= covered:
            continue
        chosen.append((a, b))
        covered |= terms
    chosen.sort()
    spans_ = [(s, e) for _, s, e in hits]
    return [_render(text, a, b, spans_, a > 0, b < len(text)) for a, b in chosen]


def _queries(texts: list[str]) -> list[frozenset[str]]:
    """Term sets: frequent and rare words of the texts, one to four at a time, and none."""
    seen: dict[str, int] = {}
    for text in texts:
        for t, _, _ in term_spans(text):
            seen[t] = seen.get(t, 0) + 1
    words = sorted(seen, key=lambda t: (-seen[t], t))
    out = [frozenset()]
    for i in range(0, 240, 11):
        out.append(frozenset(words[i:i + 1 + i % 4]))
    out += [frozenset(words[-i - 1:-i - 1 + 1 + i % 3] or words[-1:]) for i in range(0, 60, 7)]
    return out


def test_fast_snippets_equal_the_reference(question_texts):
    texts = question_texts
    """Every text for every query: the same fragments from term_spans and from the spans of
    matching_spans and of SpanFinder (one chunk cache per query, as for one page of hits), with one and two
    fragments and another width."""
    queries = _queries(texts)
    assert len(texts) > 150 and sum(len(t) > WIDTH * 1.25 for t in texts) > 100
    several = 0
    for terms in queries:
        cache: dict = {}
        find = SpanFinder(terms)
        for text in texts:
            want = reference_snippets(text, terms.__contains__)
            assert make_snippets(text, terms.__contains__) == want, (sorted(terms), text[:80])
            spans = matching_spans(text, terms.__contains__, cache, terms)
            assert make_snippets(text, terms.__contains__, fragments=2, spans=spans) == want
            assert make_snippets(text, terms.__contains__, fragments=2, spans=find(text)) == want
            several += len(want) == 2
        for text in texts[::7]:
            for fragments, width in ((1, WIDTH), (3, 90)):
                want = reference_snippets(text, terms.__contains__, fragments, width)
                assert make_snippets(text, terms.__contains__, fragments=fragments, width=width) == want
    assert several > 200  # second fragments chosen often


def test_prefix_matches_equal_the_reference(question_texts):
    texts = question_texts
    """A match function that is no set (prefixes, as ``hous*``)."""
    for prefix in ("hous", "c", "trans", "polic", "1", "mayor"):
        def test(t, p=prefix):
            return t.startswith(p)
        for text in texts[::3]:
            assert make_snippets(text, test) == reference_snippets(text, test)


def test_overlapping_spans_are_still_windowed():
    """Spans given out of mqt's analysis that overlap get the one-by-one windows."""
    text = "word " * 100
    spans = [("word", 0, 4), ("wor", 0, 3), ("other", 300, 304)]
    got = make_snippets(text, lambda t: True, spans=spans)
    assert got == reference_snippets(text, lambda t: True, spans=spans)
    assert got[0].startswith("<mark>wor</mark>d") and len(got) == 2


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab c1,.'’-<&\u00a0\u3000\n\tÉé")), min_size=200,
               max_size=700), st.sampled_from([frozenset({"a"}), frozenset({"ab", "b"}),
                                               frozenset({"1", "ea", "c"}), frozenset()]))
def test_fast_snippets_equal_the_reference_on_any_text(text, terms):
    assert make_snippets(text, terms.__contains__) == reference_snippets(text, terms.__contains__)
    spans = matching_spans(text, terms.__contains__, {}, terms)
    assert make_snippets(text, terms.__contains__, spans=spans) == \
        reference_snippets(text, terms.__contains__)
