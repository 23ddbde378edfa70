"""Feeds and exports as served (issue 16): ``/search.atom`` against ``mqt search --format atom``,
``/watch/NAME.atom`` against ``mqt watch feed`` after reindexes (the server only reading the watch
database), ``/export.csv`` and ``/export.jsonl`` against ``mqt export`` and the ranked search's
full result set; streaming, the download slots, a client that goes away."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import shutil
import socket
import sqlite3
import threading
import time
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from conftest import question_file
from searcher import Searcher
from searcher.cli import cli
from searcher.params import SearchRequest
from searcher.results import Results
from searcher.watch import WatchStore, db_path
from searcher.web import service as service_module
from searcher.web.app import create_app
from web_util import serve_app

ATOM = "{http://www.w3.org/2005/Atom}"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


@pytest.fixture(scope="module")
def client(web_index):
    app = create_app(web_index, access_log_enabled=False)
    with serve_app(app) as c:
        c.app = app
        yield c


def run_cli(*args) -> bytes:
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return r.stdout_bytes


def base(client) -> str:
    return str(client.base_url).rstrip("/") + "/"


def parse_feed(data: bytes):
    root = ET.fromstring(data)  # a standard XML parser: the feed must be well-formed
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{tag}") is not None, tag
    entries = root.findall(f"{ATOM}entry")
    for e in entries:
        for tag in ("id", "title", "updated", "summary"):
            assert (e.find(f"{ATOM}{tag}").text or "").strip(), tag
    return root, entries


# ---- /search.atom ------------------------------------------------------------------------------

FEEDS = [
    ({"q": "transport"}, ["transport"]),
    ({"q": "transport", "limit": "3", "page": "2"}, ["transport", "--limit", "3", "--page", "2"]),
    ({"q": "crime OR hate", "party": "labour", "from": "2015"},
     ["crime OR hate", "--party", "labour", "--from", "2015"]),
    ({"q": "hostile"}, ["hostile"]),
    ({"status": "unanswered", "synonyms": "0"}, ["--status", "unanswered", "--no-synonyms"]),
]


@pytest.mark.parametrize("query,args", FEEDS, ids=[str(q) for q, _ in FEEDS])
def test_search_feed_is_what_mqt_search_format_atom_writes(client, web_index, query, args):
    r = client.get("/search.atom", params=query)
    assert r.status_code == 200 and r.headers["content-type"] == ATOM_TYPE
    assert r.headers["cache-control"] == "public, max-age=5"
    expected = run_cli("search", *args, "--format", "atom", "--base-url", base(client), "--index", web_index)
    assert r.content == expected


def test_search_feed_entries_newest_first_linking_here(client, web_index):
    r = client.get("/search.atom", params={"q": "transport", "limit": "5"})
    root, entries = parse_feed(r.content)
    with Searcher(web_index) as s:
        newest = s.search("transport", sort="newest", limit=5)
    assert [e.find(f"{ATOM}title").text for e in entries] == [h.title for h in newest.hits]
    published = [e.find(f"{ATOM}published").text for e in entries]
    assert len(entries) == 5 and published == sorted(published, reverse=True)
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == \
        [f"{base(client)}q/{quote(h.id)}" for h in newest.hits]
    self_link = [l for l in root.findall(f"{ATOM}link") if l.get("rel") == "self"][0].get("href")
    assert self_link.startswith(base(client) + "search.atom?q=transport")
    # the hostile document's title and the odd id come through as text and a quoted link
    _, entries = parse_feed(client.get("/search.atom", params={"q": "hostile OR identifiers"}).content)
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert any(t.startswith("<img src=x onerror=") for t in titles)
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert f"{base(client)}q/odd%20%26%20%27quoted%27%20%3Cid%3E" in links


@pytest.mark.parametrize("query,status,message", [
    ({"q": '"x'}, 400, "unclosed quote (at position 1)"),
    ({"q": "x", "sort": "oldest"}, 400, "unknown parameter 'sort'"),
    ({"q": "x", "limit": "0"}, 400, "limit must be a whole number"),
])
def test_search_feed_errors_are_plain_text(client, query, status, message):
    r = client.get("/search.atom", params=query)
    assert r.status_code == status and r.headers["content-type"].startswith("text/plain")
    assert message in r.text and r.headers["cache-control"] == "no-store"


def test_feeds_and_exports_without_an_index_are_503(tmp_path):
    with serve_app(create_app(tmp_path / "none", access_log_enabled=False)) as c:
        for path in ("/search.atom?q=x", "/export.csv?q=x", "/export.jsonl"):
            r = c.get(path)
            assert r.status_code == 503 and "no index" in r.text, path
            assert r.headers["content-type"].startswith("text/plain")
        r = c.get("/watch/x.atom")  # the watches are not the index: just none here
        assert r.status_code == 404 and r.text == "there are no watches for this index\n"
    assert not db_path(tmp_path / "none").exists()


# ---- /watch/NAME.atom --------------------------------------------------------------------------

@pytest.fixture
def watched(tmp_path, library_corpus):
    """A corpus and index of their own, with a watch "zep" (zeppelin) and a Labour one."""
    corpus = tmp_path / "corpus"
    shutil.copytree(library_corpus, corpus)
    ix = tmp_path / "ix"
    run_cli("index", corpus, "--index", ix)
    run_cli("watch", "add", "zep", "zeppelin", "--index", ix)
    run_cli("watch", "add", "zep.lab-1", "zeppelin", "--party", "labour", "--index", ix)
    return corpus, ix


def add(corpus, name, **kw):
    (corpus / f"{name}.txt").write_text(question_file(**kw), encoding="utf-8")


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_watch_feed_after_reindexes_is_mqt_watch_feed(watched):
    corpus, ix = watched
    with serve_app(create_app(ix, access_log_enabled=False)) as c:
        url = base(c)
        r = c.get("/watch/zep.atom")
        assert r.status_code == 200 and r.headers["content-type"] == ATOM_TYPE
        assert r.headers["cache-control"] == "public, max-age=5"
        assert parse_feed(r.content)[1] == []  # nothing new yet
        add(corpus, "z1", title="Zeppelins <b>&</b> airships", date="2022-01-13",
            session_date="January 13, 2022", question="Will zeppelins fly?", party="Labour Group")
        add(corpus, "z2", title="Mooring masts", date="2022-02-10", session_date="February 10, 2022",
            question="A zeppelin mooring mast at Crystal Palace?", party="Green Party")
        run_cli("reindex", corpus, "--index", ix)  # runs the watches
        _, entries = parse_feed(c.get("/watch/zep.atom").content)
        assert [e.find(f"{ATOM}title").text for e in entries] == ["Mooring masts", "Zeppelins <b>&</b> airships"]
        assert entries[1].find(f"{ATOM}link").get("href") == url + "q/z1"
        add(corpus, "z3", title="Airship hangar", date="2022-03-10", session_date="March 10, 2022",
            question="Where would a zeppelin hangar go?", party="Conservative Group")
        add(corpus, "z1", title="Zeppelins <b>&</b> airships", date="2022-01-13",
            session_date="January 13, 2022", question="Will zeppelins fly? And where?", party="Labour Group")
        run_cli("reindex", corpus, "--index", ix)
        r = c.get("/watch/zep.atom")
        _, entries = parse_feed(r.content)
        # the newest run first: the new question and the new version of z1, then the first run's
        assert [e.find(f"{ATOM}title").text for e in entries] == \
            ["Airship hangar", "Zeppelins <b>&</b> airships", "Mooring masts", "Zeppelins <b>&</b> airships"]
        assert len({e.find(f"{ATOM}id").text for e in entries}) == 4  # each version its own entry
        assert r.content == run_cli("watch", "feed", "zep", "--base-url", url, "--index", ix)
        _, entries = parse_feed(c.get("/watch/zep.lab-1.atom").content)
        assert [e.find(f"{ATOM}title").text for e in entries] == ["Zeppelins <b>&</b> airships"] * 2


def test_watch_feed_errors_and_the_server_never_writes(watched):
    corpus, ix = watched
    db = db_path(ix)
    before = sha(db)
    with serve_app(create_app(ix, access_log_enabled=False)) as c:
        for path, status, text in [("/watch/nope.atom", 404, "no watch named 'nope'"),
                                   ("/watch/%3Cb%3E.atom", 400, "'<b>' is not a watch name"),
                                   ("/watch/" + "x" * 101 + ".atom", 400, "is not a watch name"),
                                   ("/watch/zep.atom?limit=3", 400, "unknown parameter 'limit'")]:
            r = c.get(path)
            assert r.status_code == status and text in r.text, path
            assert r.headers["content-type"].startswith("text/plain") and "{" not in r.text
            assert r.headers["cache-control"] == "no-store"
        for _ in range(3):
            assert c.get("/watch/zep.atom").status_code == 200
        # a watch run while the server reads: the server sees it, and never changes the database
        add(corpus, "z9", title="Zeppelin 9", question="Zeppelin nine?")
        run_cli("reindex", corpus, "--index", ix)
        after_run = sha(db)
        assert after_run != before
        assert len(parse_feed(c.get("/watch/zep.atom").content)[1]) == 1
        assert sha(db) == after_run
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_watch_feed_on_a_read_only_place_reads_the_database_as_immutable(watched, monkeypatch):
    """Where SQLite cannot make the -shm file a WAL reader needs (a read-only mount, as under
    systemd), mode=ro fails; with no -wal file, the database is whole and read as immutable."""
    corpus, ix = watched
    add(corpus, "z1", title="Zeppelins", question="Zeppelins?")
    run_cli("reindex", corpus, "--index", ix)
    with WatchStore(ix) as w:
        expected = w.feed("zep", base_url="http://x/")
    real = sqlite3.connect
    opened = []

    def connect(target, *a, **kw):
        opened.append(str(target))
        if "mode=ro" in str(target):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(target, *a, **kw)

    import searcher.watch
    monkeypatch.setattr(searcher.watch.sqlite3, "connect", connect)
    with WatchStore(ix, readonly=True) as w:
        assert w.feed("zep", base_url="http://x/") == expected
    assert opened[-1].endswith("?immutable=1") and opened[-1].startswith("file:///")
    db = db_path(ix)
    db.with_name(db.name + "-wal").write_bytes(b"")  # a writer at work: the file is not all
    with pytest.raises(Exception, match="cannot read the watch database"):
        WatchStore(ix, readonly=True)


# ---- /export.csv, /export.jsonl ----------------------------------------------------------------

EXPORTS = [
    ("csv", {"q": "transport"}, ["transport"]),
    ("jsonl", {"q": "transport", "sort": "newest"}, ["transport", "--sort", "newest"]),
    ("csv", {"q": "crime OR hate OR transport", "party": "labour", "from": "2012", "to": "2019"},
     ["crime OR hate OR transport", "--party", "labour", "--from", "2012", "--to", "2019"]),
    ("jsonl", {}, []),
    ("csv", {"q": "hostile OR identifiers"}, ["hostile OR identifiers"]),
    ("csv", {"q": "What will TfL do about bus routes and transport in the outer London boroughs"},
     ["What will TfL do about bus routes and transport in the outer London boroughs"]),
    ("jsonl", {"q": "zebracrossingxyz"}, ["zebracrossingxyz"]),
]


def rows_of(body: bytes, fmt: str) -> list[dict]:
    text = body.decode("utf-8")
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("fmt,query,args", EXPORTS, ids=[f"{f}-{q}" for f, q, _ in EXPORTS])
def test_export_is_mqt_export_and_the_whole_ranked_result_set(client, web_index, tmp_path, fmt, query, args):
    r = client.get(f"/export.{fmt}", params=query)
    assert r.status_code == 200
    assert r.headers["content-type"] == {"csv": "text/csv; charset=utf-8; header=present",
                                         "jsonl": "application/jsonl; charset=utf-8"}[fmt]
    assert r.headers["content-disposition"].startswith('attachment; filename="mqt-')
    assert r.headers["cache-control"] == "no-store" and "content-length" not in r.headers
    out = tmp_path / f"e.{fmt}"
    run_cli("export", *args, "--format", fmt, "--output", out, "--index", web_index)
    assert r.content == out.read_bytes()
    rows = rows_of(r.content, fmt)
    req = SearchRequest.from_params(query)
    with Searcher(web_index) as s:
        page = s.search(req.query, limit=1000, sort=req.sort, **req.match_args())
    assert [row["id"] for row in rows] == [h.id for h in page.hits]  # the ranked search, whole
    assert len(rows) == page.total == int(r.headers["x-result-count"])


def test_export_cases_are_not_trivial(client):
    rows = rows_of(client.get("/export.jsonl").content, "jsonl")
    assert len(rows) == 24 and all(isinstance(row["answers"], list) for row in rows)
    rows = rows_of(client.get("/export.csv", params={"q": "transport"}).content, "csv")
    assert len(rows) == 12 and list(rows[0]) == ["id", "title", "meeting", "meeting_date", "asker", "party",
                                                 "asked_of", "status", "question", "answers"]
    assert rows_of(client.get("/export.csv", params={"q": "zebracrossingxyz"}).content, "csv") == []


@pytest.mark.parametrize("query,name", [
    ({"q": "hate crime"}, "mqt-hate-crime.csv"),
    ({"q": 'x"; filename=evil.exe <x>"'}, "mqt-x-filename-evil-exe-x.csv"),
    ({"party": "labour"}, "mqt-export.csv"),
    ({"q": "Ünïcödé ✓ knife\r\nX-Evil: 1"}, "mqt-unicode-knife-x-evil-1.csv"),
    ({"q": "a " * 100}, "mqt-" + "-".join("a" * 20) + ".csv"),
])
def test_export_file_names_are_safe(client, query, name):
    r = client.get("/export.csv", params=query)
    assert r.status_code == 200 and "x-evil" not in r.headers
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'


def test_export_head_and_errors(client):
    r = client.head("/export.csv", params={"q": "transport"})
    assert r.status_code == 200 and r.content == b"" and r.headers["x-result-count"] == "12"
    assert "content-length" not in r.headers
    for query, message in [({"q": "crime (knife"}, "unclosed bracket"),
                           ({"q": "x", "page": "2"}, "unknown parameter 'page'"),
                           ({"q": "x", "sort": "best"}, "sort must be one of"),
                           ({"q": "x", "from": "banana"}, "from='banana' is not a date")]:
        r = client.get("/export.csv", params=query)
        assert r.status_code == 400 and message in r.text, query
        assert r.headers["content-type"].startswith("text/plain") and "content-disposition" not in r.headers
    r = client.post("/export.csv")
    assert r.status_code == 405


# ---- streaming: slots, a client that goes away -------------------------------------------------

@pytest.fixture
def forever(monkeypatch):
    """``q=forever`` exports the first question again and again, without end (counted);
    ``q=hold`` waits, before its first row, until released."""
    real = SearchRequest.iter_results
    produced = [0]
    release = threading.Event()
    holding = threading.Semaphore(0)

    def iter_results(self, searcher):
        if self.query == "hold":
            holding.release()
            assert release.wait(30)
            return real(self.but(query="transport"), searcher)
        if self.query != "forever":
            return real(self, searcher)
        one = next(iter(real(self.but(query="transport"), searcher)))

        def rows():
            for _ in itertools.count():
                produced[0] += 1
                yield one
        return Results("forever", 10**9, "relevance", {}, rows())

    monkeypatch.setattr(SearchRequest, "iter_results", iter_results)
    return produced, release, holding


def test_a_download_is_streamed_and_stops_when_the_client_goes_away(client, forever):
    produced, _, _ = forever
    for _ in range(service_module.STREAMS + 2):  # more than the slots: each is freed again
        deadline = time.monotonic() + 20
        while True:
            with client.stream("GET", "/export.csv", params={"q": "forever"}) as r:
                if r.status_code == 200:
                    assert r.headers["transfer-encoding"] == "chunked"
                    received = 0
                    for chunk in r.iter_bytes():
                        received += len(chunk)
                        if received > 2_000_000:
                            break
                    break
            assert r.status_code == 503 and time.monotonic() < deadline  # a slot not yet freed
            time.sleep(0.1)
    deadline = time.monotonic() + 20
    while True:  # the writers have stopped: nothing more is produced
        before = produced[0]
        time.sleep(1.2)
        if produced[0] == before:
            break
        assert time.monotonic() < deadline, "the export went on after its client left"


def test_downloads_beyond_the_slots_are_refused_with_503(client, forever):
    _, release, holding = forever
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(client.get("/export.csv", params={"q": "hold"})))
               for _ in range(service_module.STREAMS)]
    for t in threads:
        t.start()
    try:
        for _ in threads:  # every slot holds an export
            assert holding.acquire(timeout=30)
        r = client.get("/export.jsonl", params={"q": "transport"})
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert "downloads are running already" in r.text
        assert client.get("/api/search", params={"q": "transport"}).status_code == 200  # searches go on
    finally:
        release.set()
        for t in threads:
            t.join(30)
    assert [len(rows_of(a.content, "csv")) for a in answers] == [12] * service_module.STREAMS
    r = client.get("/export.csv", params={"q": "transport"})  # freed before their last bytes were sent
    assert r.status_code == 200 and len(rows_of(r.content, "csv")) == 12


def test_a_stalled_client_holds_its_slot_until_the_stall_limit(client, forever, monkeypatch):
    """A client that stops reading (but stays connected) fills the buffers until its writer
    waits on a full queue: the slot stays taken meanwhile (others are refused, not hung), and
    after ``STALL_SECONDS`` the writer gives up and frees it, the connection still open."""
    produced, _, _ = forever
    monkeypatch.setattr(service_module, "STALL_SECONDS", 2.0)
    stalled = []
    try:
        for _ in range(service_module.STREAMS):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # small: fills at once
            s.settimeout(30)
            s.connect((client.base_url.host, client.base_url.port))
            s.sendall(b"GET /export.csv?q=forever HTTP/1.1\r\nHost: test\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200")
            stalled.append(s)  # and never read again
        r = client.get("/export.csv", params={"q": "transport"})
        assert r.status_code == 503 and "downloads are running already" in r.text
        assert client.get("/api/search", params={"q": "transport"}).status_code == 200
        deadline = time.monotonic() + 30
        while True:  # the writers give up on their stalled clients: the slots are free again
            r = client.get("/export.csv", params={"q": "transport"})
            if r.status_code == 200:
                break
            assert r.status_code == 503 and time.monotonic() < deadline, r.text
            time.sleep(0.2)
        assert len(rows_of(r.content, "csv")) == 12
        before = produced[0]
        time.sleep(1.0)
        assert produced[0] == before  # the stalled exports have stopped
    finally:
        for s in stalled:
            s.close()


class _SlowRelease:
    """A stream-slot semaphore whose ``release`` takes a while, as a busy machine's thread
    switch can: the slot must still be free by the time the client has the download's end."""

    def __init__(self, slots, delay: float):
        self.slots, self.delay = slots, delay

    def acquire(self, blocking: bool = True) -> bool:
        return self.slots.acquire(blocking=blocking)

    def release(self) -> None:
        time.sleep(self.delay)
        self.slots.release()


def test_a_finished_download_frees_its_slot_before_its_end_is_sent(client, monkeypatch):
    service = client.app.state.service
    monkeypatch.setattr(service, "_stream_slots", _SlowRelease(service._stream_slots, 0.3))
    for _ in range(service_module.STREAMS + 2):  # one after another, each right after the last
        r = client.get("/export.csv", params={"q": "transport"})
        assert r.status_code == 200, r.text
        assert len(rows_of(r.content, "csv")) == 12
        slots = service._stream_slots.slots
        free = [slots.acquire(blocking=False) for _ in range(service_module.STREAMS)]
        for taken in free:
            if taken:
                slots.release()
        assert free == [True] * service_module.STREAMS  # no slot still held


def test_an_export_reads_the_index_as_it_was_while_a_reindex_comes(tmp_path, library_corpus, monkeypatch):
    """An export paused after its first row while a reindex deletes and changes questions and
    searches move every search thread to the new index: it still gives the index it started on."""
    corpus = tmp_path / "corpus"
    shutil.copytree(library_corpus, corpus)
    ix = tmp_path / "ix"
    run_cli("index", corpus, "--index", ix)
    with Searcher(ix) as s:
        expected = [(r.question.id, r.question.question) for r in s.iter_results("transport OR crime")]
    real = SearchRequest.iter_results
    first_row, go_on = threading.Event(), threading.Event()

    def iter_results(self, searcher):
        results = real(self, searcher)

        def rows():
            for i, r in enumerate(results):
                yield r
                if i == 0:
                    first_row.set()
                    assert go_on.wait(30)
        return Results(results.query, results.total, results.sort, results.filters, rows())

    monkeypatch.setattr(SearchRequest, "iter_results", iter_results)
    with serve_app(create_app(ix, access_log_enabled=False)) as c:
        answer = []
        t = threading.Thread(target=lambda: answer.append(c.get("/export.jsonl", params={"q": "transport OR crime"})))
        t.start()
        try:
            assert first_row.wait(30)
            for name in ("transport_03.txt", "transport_04.txt", "knife.txt"):
                (corpus / name).unlink()
            add(corpus, "crime_stats", title="Crime Statistics in Harrow", date="2020-01-30",
                question="Rewritten: what are the crime figures?", asker="Navin Shah")
            run_cli("reindex", corpus, "--index", ix)
            for _ in range(8):  # every search thread moves to the new index
                now = c.get("/api/search", params={"q": "transport OR crime", "limit": 100}).json()
                assert now["total"] == len(expected) - 3
        finally:
            go_on.set()
            t.join(30)
    rows = rows_of(answer[0].content, "jsonl")
    assert [(row["id"], row["question"]) for row in rows] == expected  # the index it started on
    assert "knife" in [row["id"] for row in rows]
