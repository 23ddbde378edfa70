"""Saved searches that report new and changed questions (alerts), fed by the reindex job.

A *watch* is a named search (query and filters). Each run (``mqt watch run``, and every
``mqt reindex``) records, for every watch, the questions that now match it and were added or
changed since that watch's last run; those records are the watch's feed (``mqt watch feed``,
``/watch/NAME.atom``). Questions that matched before a watch was created are never reported.

What "added or changed" means: each question's *version* is the SHA-1 of the file it was
indexed from (``index_data.fileinfo``). Each run first notes every version in the index not
seen before, with the run's number; a watch then reports the versions first seen after its last
run that match it. A file rewritten with other content is a new version, reported again; one
only touched, moved or re-indexed by a rebuild is not.

Exactly once, even when killed: a run is one SQLite transaction (versions seen, entries
recorded, each watch's last run advanced), so a run killed at any moment leaves the previous
state and the next run finds the same questions again; an entry's key (watch, question,
version) keeps it from being recorded twice. The entries are the record; what a run prints is
what it recorded.

The database is a small SQLite file *beside* the index folder (``<index>.watches.sqlite``), so it
survives rebuilds (which swap the index folder) and reindexes.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from index_data.errors import MqtError, NotFoundError

from .feeds import FeedEntry, summary

#: The filters a watch may keep (the keyword arguments of ``Searcher.search``).
FILTERS = ("asker", "party", "asked_of", "status", "date_from", "date_to")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run INTEGER PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    id TEXT NOT NULL, sha1 TEXT NOT NULL, first_run INTEGER NOT NULL,
    PRIMARY KEY (id, sha1)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watches (
    name TEXT PRIMARY KEY, query TEXT NOT NULL, filters TEXT NOT NULL, synonyms INTEGER NOT NULL,
    created_at TEXT NOT NULL, last_run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    watch TEXT NOT NULL REFERENCES watches(name) ON DELETE CASCADE,
    id TEXT NOT NULL, sha1 TEXT NOT NULL, run INTEGER NOT NULL, at TEXT NOT NULL,
    title TEXT NOT NULL, meeting TEXT NOT NULL, meeting_date TEXT NOT NULL, asker TEXT NOT NULL,
    party TEXT, asked_of TEXT NOT NULL, status TEXT NOT NULL, summary TEXT NOT NULL,
    PRIMARY KEY (watch, id, sha1));
CREATE INDEX IF NOT EXISTS entries_by_run ON entries (watch, run);
"""
#: A new watch's name: letters, digits, "-", "_" and "." (it names a feed URL and a file).
_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def db_path(index_dir: str | os.PathLike) -> Path:
    """Where the watches of the index at ``index_dir`` are kept: ``<index>.watches.sqlite``."""
    target = Path(os.path.abspath(index_dir))
    return target.parent / f"{target.name}.watches.sqlite"


def valid_name(name: str) -> bool:
    """Whether ``name`` can name a watch: 1 to 100 letters, digits, "-", "_" or "."."""
    return 0 < len(name) <= 100 and set(name) <= _NAME_OK


def _open_readonly(path: Path) -> sqlite3.Connection:
    """The database at ``path`` opened only for reading (SQLite's ``mode=ro``).

    A WAL database's readers need its ``-shm`` file, which the last writer removes on closing
    and a reader on a read-only mount (``mqt serve`` under systemd) cannot create again; then,
    with no ``-wal`` file left either, the database file holds every commit and is read as
    ``immutable``."""
    if not path.is_file():
        raise NotFoundError("there are no watches for this index")
    uri = path.absolute().as_uri()
    try:
        db = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=30, isolation_level=None)
        try:
            db.execute("SELECT 1 FROM watches LIMIT 1")
            return db
        except sqlite3.Error:
            db.close()
            raise
    except sqlite3.OperationalError as e:
        if path.with_name(path.name + "-wal").exists():
            raise MqtError(f"cannot read the watch database {path}: {e}") from None
    try:
        db = sqlite3.connect(uri + "?immutable=1", uri=True, isolation_level=None)
        db.execute("SELECT 1 FROM watches LIMIT 1")
    except sqlite3.Error as e:
        raise MqtError(f"cannot read the watch database {path}: {e}") from None
    return db


@dataclass(frozen=True)
class Watch:
    """A saved search: ``filters`` are ``Searcher.search`` keyword arguments."""

    name: str
    query: str
    filters: dict[str, str] = field(default_factory=dict)
    synonyms: bool = True
    created_at: str = ""
    last_run_at: str | None = None
    entries: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "query": self.query, "filters": self.filters,
                "synonyms": self.synonyms, "created_at": self.created_at,
                "last_run_at": self.last_run_at, "entries": self.entries}


@dataclass(frozen=True)
class WatchEntry:
    """A question a watch reported: which version, when (``at``), and what it showed."""

    watch: str
    id: str
    version: str
    at: str
    title: str
    meeting: str
    meeting_date: str
    asker: str
    party: str | None
    asked_of: str
    status: str
    summary: str

    def to_dict(self) -> dict:
        return {"watch": self.watch, "id": self.id, "version": self.version, "at": self.at,
                "title": self.title, "meeting": self.meeting, "meeting_date": self.meeting_date,
                "asker": self.asker, "party": self.party, "asked_of": self.asked_of,
                "status": self.status, "summary": self.summary}

    def feed_entry(self) -> FeedEntry:
        return FeedEntry(id=self.id, title=self.title, updated=dt.datetime.fromisoformat(self.at),
                         meeting_date=dt.date.fromisoformat(self.meeting_date), asker=self.asker,
                         party=self.party, summary=self.summary, version=self.version)


@dataclass
class WatchRun:
    """What one run recorded: per watch, the new entries (watches with none included)."""

    at: str
    new: dict[str, list[WatchEntry]]

    def to_dict(self) -> dict:
        """What ``mqt watch run --json`` prints."""
        return {"at": self.at, "watches": [{"name": name, "new": [e.to_dict() for e in entries]}
                                           for name, entries in self.new.items()]}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


class WatchStore:
    """The watches of one index (see the module doc). Every method is one transaction.

    >>> from searcher import Searcher                                # doctest: +SKIP
    >>> with Searcher("index") as s, WatchStore("index") as w:
    ...     w.add(s, "hate-crime", "hate crime", {"party": "labour"})
    ...     run = w.run(s)                   # after a reindex: what is new for each watch
    """

    def __init__(self, index_dir: str | os.PathLike, path: str | os.PathLike | None = None, *,
                 readonly: bool = False):
        """``readonly``: only read (``mqt serve``): the database is never created or changed,
        and a missing one is a ``NotFoundError``."""
        self.path = Path(path) if path is not None else db_path(index_dir)
        if readonly:
            self._db = _open_readonly(self.path)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise MqtError(f"cannot open the watch database {self.path}: {e}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> WatchStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")  # one writer at a time; readers go on (WAL)
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- watches --

    def add(self, searcher, name: str, query: str, filters: dict | None = None,
            synonyms: bool = True) -> Watch:
        """Save a search as watch ``name``; it will report questions added or changed from now
        on. Raises ``QueryError`` for a query or filter the search refuses, ``MqtError`` for a
        bad or taken name."""
        if not valid_name(name):
            raise MqtError(f"watch name {name!r}: use letters, digits, '-', '_' or '.' "
                           f"(it names the feed)")
        filters = {k: str(v) for k, v in (filters or {}).items() if v is not None and v != ""}
        unknown = set(filters) - set(FILTERS)
        if unknown:
            raise MqtError(f"unknown watch filter(s): {', '.join(sorted(unknown))}")
        searcher.search(query, limit=1, facets=False, snippets=False, suggest=False,
                        synonyms=synonyms, **filters)  # raises QueryError for a bad one
        versions = searcher.document_versions()
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM watches WHERE name = ?", (name,)).fetchone():
                raise MqtError(f"there is already a watch named {name!r}")
            run = self._new_run(db, versions)  # what the index holds now is not news
            db.execute("INSERT INTO watches VALUES (?, ?, ?, ?, ?, ?)",
                       (name, query, json.dumps(filters, sort_keys=True), int(synonyms), _now(), run))
        return self.get(name)

    def remove(self, name: str) -> None:
        """Delete watch ``name`` and its feed; raises NotFoundError if there is none."""
        with self._transaction() as db:
            if not db.execute("DELETE FROM watches WHERE name = ?", (name,)).rowcount:
                raise NotFoundError(f"no watch named {name!r}")

    def get(self, name: str) -> Watch:
        rows = [w for w in self.list() if w.name == name]
        if not rows:
            raise NotFoundError(f"no watch named {name!r}")
        return rows[0]

    def list(self) -> list[Watch]:
        """Every watch, by name, with its number of entries and last run."""
        rows = self._db.execute(
            "SELECT w.name, w.query, w.filters, w.synonyms, w.created_at, r.at, "
            "(SELECT count(*) FROM entries e WHERE e.watch = w.name) "
            "FROM watches w LEFT JOIN runs r ON r.run = w.last_run ORDER BY w.name").fetchall()
        return [Watch(name, query, json.loads(filters), bool(syn), created, last, n)
                for name, query, filters, syn, created, last, n in rows]

    # -- runs --

    def _new_run(self, db: sqlite3.Connection, versions: dict[str, str]) -> int:
        """Start run n+1 inside a transaction: note every version not seen before."""
        at = _now()
        run = db.execute("INSERT INTO runs (at) VALUES (?)", (at,)).lastrowid
        db.executemany("INSERT OR IGNORE INTO versions VALUES (?, ?, ?)",
                       ((doc_id, sha1, run) for doc_id, sha1 in versions.items()))
        return int(run or 0)

    def run(self, searcher) -> WatchRun:
        """Record, for every watch, the questions now matching it that were added or changed
        since its last run (see the module doc); returns what was recorded."""
        versions = searcher.document_versions()
        with self._transaction() as db:
            run = self._new_run(db, versions)
            at = db.execute("SELECT at FROM runs WHERE run = ?", (run,)).fetchone()[0]
            new: dict[str, list[WatchEntry]] = {}
            for name, query, filters, syn, last in db.execute(
                    "SELECT name, query, filters, synonyms, last_run FROM watches ORDER BY name"
            ).fetchall():
                fresh = {doc_id: sha1 for doc_id, sha1 in db.execute(
                    "SELECT id, sha1 FROM versions WHERE first_run > ?", (last,)).fetchall()
                    if versions.get(doc_id) == sha1}
                matched = searcher.matching(query, fresh, synonyms=bool(syn), **json.loads(filters))
                entries = []
                for q in sorted(matched, key=lambda q: (q.meeting_date, q.id)):
                    e = WatchEntry(name, q.id, fresh[q.id], at, q.title, q.meeting,
                                   q.meeting_date.isoformat(), q.asker, q.party, q.asked_of,
                                   q.status, summary(q.question))
                    cur = db.execute(
                        "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (name, e.id, e.version, run, at, e.title, e.meeting, e.meeting_date,
                         e.asker, e.party, e.asked_of, e.status, e.summary))
                    if cur.rowcount:
                        entries.append(e)
                db.execute("UPDATE watches SET last_run = ? WHERE name = ?", (run, name))
                new[name] = entries
        return WatchRun(at, new)

    def entries(self, name: str, limit: int | None = 100) -> builtins.list[WatchEntry]:
        """Watch ``name``'s entries, newest first (``limit`` None: all)."""
        self.get(name)
        sql = ("SELECT watch, id, sha1, at, title, meeting, meeting_date, asker, party, asked_of, "
               "status, summary FROM entries WHERE watch = ? ORDER BY run DESC, meeting_date DESC, id")
        rows = self._db.execute(sql + (" LIMIT ?" if limit else ""),
                                (name, limit) if limit else (name,)).fetchall()
        return [WatchEntry(*row) for row in rows]

    def feed(self, name: str, *, base_url: str | None = None, limit: int = 100) -> bytes:
        """Watch ``name`` as an Atom feed (``searcher.feeds``), newest entries first."""
        from .feeds import atom

        w = self.get(name)
        described = w.query or "(every question)"
        if w.filters:
            described += " · " + ", ".join(f"{k} {v}" for k, v in w.filters.items())
        return atom(feed_id=f"watch/{name}", title=f"mqt watch {name}: {described}",
                    subtitle="New and changed Questions to the Mayor matching a saved search",
                    entries=[e.feed_entry() for e in self.entries(name, limit)],
                    base_url=base_url, self_path=f"/watch/{name}.atom")
