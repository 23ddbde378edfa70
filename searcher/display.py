"""Terminal rendering of results: plain text, with bold/colour only when asked for.

Document text never reaches the terminal raw: control characters and escape sequences are
stripped, so a document cannot move the cursor or change colours.
"""

from __future__ import annotations

import html
import re
import textwrap

import click

from index_data.model import Question

from .results import Hit, IndexStats, ResultPage

_CONTROL_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES_RE = re.compile(r"\s+")
_MARK_RE = re.compile(r"(<mark>.*?</mark>)")


def clean(text: str | None) -> str:
    """Text safe for a terminal: escape sequences and control characters removed."""
    if not text:
        return ""
    return _CONTROL_RE.sub("", text)


def clean_line(text: str | None) -> str:
    """Like :func:`clean`, and on one line."""
    return " ".join(clean(text).split())


class Style:
    """Applies terminal styles, or nothing when colour is off."""

    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, **kw) -> str:
        return click.style(text, **kw) if self.color else text


def render_snippet(snippet: str, style: Style) -> str:
    """A ``<mark>``-ed, HTML-escaped snippet as terminal text (marks bold and yellow)."""
    out = []
    for part in _MARK_RE.split(snippet):
        if part.startswith("<mark>") and part.endswith("</mark>"):
            out.append(style(clean_line(html.unescape(part[6:-7])), bold=True, fg="yellow"))
        elif part:
            out.append(_SPACES_RE.sub(" ", clean(html.unescape(part))))
    return "".join(out)


def _who(asker: str, party: str | None) -> str:
    return f"{clean_line(asker)} ({clean_line(party)})" if party else clean_line(asker)


def format_hit(hit: Hit, style: Style, width: int = 100) -> str:
    head = f"{hit.rank:>3}. {style(clean_line(hit.title), bold=True)}"
    meta = (f"     {hit.meeting_date.isoformat()} · {clean_line(hit.meeting)} · "
            f"{_who(hit.asker, hit.party)} → {clean_line(hit.asked_of)} · {hit.status} · {hit.id}")
    lines = [head, style(meta, dim=True)]
    for label, snippets in (("Q", hit.snippets.question[:1]), ("A", hit.snippets.answer[:1])):
        for snip in snippets:
            lines.append(f"     {label}: {render_snippet(snip, style)}")
    return "\n".join(lines)


def format_page(page: ResultPage, style: Style, show_facets: bool = False,
                facets_limit: int = 5) -> str:
    """The hits of a result page (and its facets), for stdout; the footer is separate
    (:func:`format_footer`, for stderr)."""
    out = []
    if page.suggestion:
        out.append(style(f"Did you mean: {clean_line(page.suggestion)}?", fg="cyan"))
    if not page.hits:
        out.append(no_results(page) if page.total == 0 else
                   f"Page {page.page} is past the last page ({page.pages}).")
    for hit in page.hits:
        out.append(format_hit(hit, style))
        out.append("")
    if show_facets and page.facets:
        out.extend(format_facets(page.facets, style, top=facets_limit))
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def no_results(page: ResultPage) -> str:
    """"No results for 'cladding' with party labour, from 2016-01-01." (the filters named)."""
    what = f"No results for {clean_line(page.query)!r}" if page.query.strip() else "No results"
    if page.filters:
        labels = {"asked_of": "asked of"}
        what += " with " + ", ".join(f"{labels.get(k, k)} {clean_line(v)}"
                                     for k, v in page.filters.items())
    return what + "."


def format_footer(page: ResultPage, style: Style) -> str:
    """``1–10 of 42 · page 1 of 5 · 3.1 ms`` ("" when the page has no hits)."""
    if not page.hits:
        return ""
    first, last = page.hits[0].rank, page.hits[-1].rank
    return style(f"{first}–{last} of {page.total} · page {page.page} of {page.pages} · "
                 f"{page.took_ms:.1f} ms", dim=True)


def format_facets(facets: dict[str, dict[str, int]], style: Style, top: int = 5) -> list[str]:
    """One line per facet: its ``top`` values by count (years in year order, newest first)."""
    lines = []
    for name, counts in facets.items():
        items = list(counts.items())[:top]
        if name == "year":
            items = sorted(counts.items(), reverse=True)[:top]
        more = len(counts) - len(items)
        body = ", ".join(f"{clean_line(k)} ({v})" for k, v in items) or "–"
        lines.append(f"{style(name + ':', bold=True)} {body}" + (f", … {more} more" if more > 0 else ""))
    return lines


def format_trend(t, style: Style, width: int = 50) -> str:
    """A trend (``searcher.trends.Trend``) as one line per period: a bar proportional to its
    count, the count, and the largest groups when it is split."""
    if not t.buckets:
        return no_results(t) if t.total == 0 else "No dated matches."
    top = max(b.count for b in t.buckets) or 1
    label_width = max(len(b.period) for b in t.buckets)
    count_width = len(f"{top:,}")
    lines = []
    for b in t.buckets:
        n = round(width * b.count / top)
        bar = "█" * n if n or not b.count else "▏"
        line = f"{b.period:<{label_width}} {style(bar, fg='cyan')}{' ' * (width - len(bar))} " \
               f"{b.count:>{count_width},}"
        if b.groups:
            largest = sorted(b.groups.items(), key=lambda gc: -gc[1])[:3]
            parts = [f"{clean_line(g)} {c}" for g, c in largest]
            more = len(b.groups) - 3
            line += style("  " + ", ".join(parts) + (f", … {more} more" if more > 0 else ""), dim=True)
        lines.append(line.rstrip())
    span = f"{t.first.isoformat()} to {t.last.isoformat()}" if t.first and t.last else "no dates"
    lines.append(style(f"{t.total:,} matching question(s), asked from {span}.", dim=True))
    return "\n".join(lines)


def format_question(rec: Question, style: Style, width: int = 100) -> str:
    def para(text: str) -> str:
        return "\n\n".join(textwrap.fill(clean_line(p), width) for p in clean(text).split("\n\n"))

    lines = [style(clean_line(rec.title), bold=True),
             style(f"{clean_line(rec.meeting)} on {rec.meeting_date.isoformat()} · id {rec.id}"
                   + (f" · session {rec.session_date.isoformat()}" if rec.session_date else ""), dim=True),
             f"Asked by {_who(rec.asker, rec.party)} of {clean_line(rec.asked_of)} · {rec.status}",
             "", para(rec.question)]
    for a in rec.answers:
        lines += ["", style(f"Answered by {clean_line(a.answered_by) or 'unknown'}:", bold=True), "",
                  para(a.text)]
    if not rec.answers:
        lines += ["", style("(no answer yet)", dim=True)]
    return "\n".join(lines)


def format_stats(st: IndexStats, style: Style) -> str:
    def top(d):
        return ", ".join(f"{clean_line(k)} ({v})" for k, v in d.items()) or "–"

    def when(t):
        return t.strftime("%Y-%m-%d %H:%M %Z").strip() if t else "–"

    return "\n".join([
        f"{style('index:', bold=True)} {st.index_dir} (schema {st.schema_version})",
        f"{style('built:', bold=True)} {when(st.built_at)}; "
        f"{style('last updated:', bold=True)} {when(st.updated_at or st.built_at)}",
        f"{style('documents:', bold=True)} {st.documents:,}",
        f"{style('dates:', bold=True)} {st.first_date or '–'} to {st.last_date or '–'}",
        f"{style('status:', bold=True)} {top(st.statuses)}",
        f"{style('top askers:', bold=True)} {top(st.top_askers)}",
        f"{style('top parties:', bold=True)} {top(st.top_parties)}",
        f"{style('size:', bold=True)} {st.size_bytes / 1e6:.1f} MB in {st.segments} segment(s)",
    ])
