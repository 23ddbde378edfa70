"""Atom feeds (RFC 4287) of questions: one per saved search (``watch``) and one for any search.

A feed reader subscribes to a search the way TheyWorkForYou's email alerts do. Built with the
standard library's ElementTree (text is escaped by the serializer, never concatenated into XML):
the feed has ``id``, ``title``, ``updated``, ``author`` and a ``self`` link when a base URL is
known; each entry ``id`` (a ``tag:`` URI of the question and its version), ``title``,
``updated``, ``published`` (the meeting date), ``author`` (the asker), a ``summary`` and, with a
base URL, an ``alternate`` link to the question's page (``/q/<id>`` on ``mqt serve``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
#: The authority of the ``tag:`` URIs entries and feeds are named by (RFC 4151).
TAG_AUTHORITY = "mqt.questions-to-the-mayor,2026"
SUMMARY_CHARS = 400


@dataclass(frozen=True)
class FeedEntry:
    """One question in a feed. ``version`` (the source file's SHA-1) makes a changed question a
    new entry; ``updated`` is when it entered the feed (or its meeting date)."""

    id: str
    title: str
    updated: dt.datetime
    meeting_date: dt.date
    asker: str
    party: str | None
    summary: str
    version: str = ""


def summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The opening of a question's text, on one line, cut at a word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > limit // 2 else limit] + " …"


def _iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.isoformat(timespec="seconds")


def _tag(*parts: str) -> str:
    return f"tag:{TAG_AUTHORITY}:" + "/".join(quote(p, safe="") for p in parts)


def atom(*, feed_id: str, title: str, entries: Iterable[FeedEntry], updated: dt.datetime | None = None,
         base_url: str | None = None, self_path: str | None = None, subtitle: str | None = None) -> bytes:
    """An Atom document (UTF-8 bytes) of ``entries`` in the order given."""
    ET.register_namespace("", ATOM)

    def sub(parent, tag, text=None, **attrs):
        e = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            e.text = text
        return e

    entries = list(entries)
    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", _tag("feed", feed_id))
    sub(feed, "title", title)
    if subtitle:
        sub(feed, "subtitle", subtitle)
    newest = max((e.updated for e in entries), default=None)
    sub(feed, "updated", _iso(updated or newest or dt.datetime.now(dt.timezone.utc)))
    author = sub(feed, "author")
    sub(author, "name", "mqt: Questions to the Mayor")
    sub(feed, "generator", "mqt")
    base = base_url.rstrip("/") if base_url else None
    if base and self_path:
        sub(feed, "link", rel="self", type="application/atom+xml", href=base + self_path)
    for e in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", _tag("question", e.id, e.version) if e.version else _tag("question", e.id))
        sub(entry, "title", e.title)
        sub(entry, "updated", _iso(e.updated))
        sub(entry, "published", _iso(dt.datetime.combine(e.meeting_date, dt.time(),
                                                         dt.timezone.utc)))
        who = sub(entry, "author")
        sub(who, "name", f"{e.asker} ({e.party})" if e.party else e.asker)
        if base:
            sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/q/{quote(e.id)}")
        sub(entry, "summary", e.summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def search_feed(searcher, page, *, base_url: str | None = None) -> bytes:
    """A result page (sorted newest first) as an Atom feed: entries dated by meeting date."""
    from urllib.parse import urlencode

    entries = []
    for hit in page.hits:
        q = searcher.get(hit.id)
        stamp = dt.datetime.combine(hit.meeting_date, dt.time(), dt.timezone.utc)
        entries.append(FeedEntry(id=hit.id, title=hit.title, updated=stamp,
                                 meeting_date=hit.meeting_date, asker=hit.asker, party=hit.party,
                                 summary=summary(q.question)))
    params = {"q": page.query, **{("from" if k == "from" else k): v for k, v in page.filters.items()}}
    described = page.query or "(every question)"
    if page.filters:
        described += " · " + ", ".join(f"{k} {v}" for k, v in page.filters.items())
    return atom(feed_id="search?" + urlencode(sorted(params.items())), title=f"mqt search: {described}",
                subtitle="Questions to the Mayor matching a search, newest first",
                entries=entries, base_url=base_url,
                self_path="/search.atom?" + urlencode(params))
