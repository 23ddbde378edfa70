"""The HTTP API served by uvicorn in a thread of the test process: each endpoint against the CLI's ``--json`` for
the same arguments on the same index, every error status, headers, and the OpenAPI description."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import SEED
from searcher.cli import cli
from searcher.params import EXPORT_PARAMS, FEED_PARAMS, MATCH_PARAMS, PARAM_NAMES, SearchRequest
from searcher.query import QueryError
from searcher.web.api import openapi_paths
from searcher.web.app import create_app
from web_util import cli_json, serve_app

SEED_ID = "000_f69fb07d1f8a9a60"


@pytest.fixture(scope="module")
def client(library_index):
    app = create_app(library_index, access_log_enabled=False)
    with serve_app(app) as c:
        c.app = app
        yield c


def without_took(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "took_ms"}


# (API query string, the same search as mqt search arguments)
SEARCHES = [
    ({"q": "crime"}, ["crime"]),
    ({"q": "hate crime", "party": "labour"}, ["hate crime", "--party", "labour"]),
    ({"q": "transport", "limit": "2", "page": "2"}, ["transport", "--limit", "2", "--page", "2"]),
    ({"q": "TfL", "sort": "newest", "synonyms": "false"}, ["TfL", "--sort", "newest", "--no-synonyms"]),
    ({"status": "unanswered", "from": "2012", "to": "2020-06"},
     ["--status", "unanswered", "--from", "2012", "--to", "2020-06"]),
    ({"q": "graffitti"}, ["graffitti"]),
    ({"q": '"knife crime" -county', "asker": "Susan Hall"}, ['"knife crime" -county', "--asker", "Susan Hall"]),
    ({"q": "crime", "sort": "relevance_recent", "asked_of": "The Mayor", "meeting": "MQT"},
     ["crime", "--sort", "relevance_recent", "--asked-of", "The Mayor", "--meeting", "MQT"]),
    ({"q": "nomatchwhatsoever"}, ["nomatchwhatsoever"]),
    ({"q": "transport", "page": "50"}, ["transport", "--page", "50"]),
    ({"q": "What will TfL do about bus routes and transport in the outer London boroughs this year"},
     ["What will TfL do about bus routes and transport in the outer London boroughs this year"]),
    ({"q": "website security", "sort": "oldest"}, ["website security", "--sort", "oldest"]),
]


@pytest.mark.parametrize("params,args", SEARCHES, ids=[str(p) for p, _ in SEARCHES])
def test_search_is_exactly_what_the_cli_prints(client, library_index, params, args):
    r = client.get("/api/search", params=params)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    api = r.json()
    expected = cli_json("search", *args, "--json", "--index", library_index)
    assert without_took(api) == without_took(expected)
    assert isinstance(api["took_ms"], float)


def test_search_cases_are_not_trivial(client):
    """The comparisons above cover hits, several pages, facets and a suggestion."""
    assert client.get("/api/search", params={"q": "crime"}).json()["total"] >= 3
    assert client.get("/api/search", params={"q": "graffitti"}).json()["suggestion"] == "graffiti"
    d = client.get("/api/search", params={"q": "transport", "limit": 2, "page": 2}).json()
    assert d["pages"] == 6 and [h["rank"] for h in d["hits"]] == [3, 4]
    d = client.get("/api/search", params={"q": "crime", "meeting": "plenary"}).json()
    assert d["total"] == 0 and client.get("/api/search", params={"meeting": "plenary"}).json()["total"] == 1


def test_the_real_cli_process_prints_what_the_api_returns(client, library_index):
    out = subprocess.run([sys.executable, "-m", "searcher.cli", "search", "hate", "crime", "--party",
                          "labour", "--json", "--index", str(library_index)],
                         capture_output=True, text=True, check=True).stdout
    api = client.get("/api/search", params={"q": "hate crime", "party": "labour"})
    assert without_took(api.json()) == without_took(json.loads(out))
    assert "\\u003cmark\\u003e" in api.text and "<mark>" not in api.text  # the same HTML-safe JSON text


def test_question_similar_and_stats_are_what_the_cli_prints(client, library_index):
    assert client.get(f"/api/questions/{SEED_ID}").json() == \
        cli_json("show", SEED_ID, "--json", "--index", library_index)
    api = client.get(f"/api/questions/{SEED_ID}/similar", params={"limit": 3}).json()
    cli_page = cli_json("similar", SEED_ID, "--limit", "3", "--json", "--index", library_index)
    assert without_took(api) == without_took(cli_page) and len(api["hits"]) == 3
    assert without_took(client.get(f"/api/questions/{SEED_ID}/similar").json()) == \
        without_took(cli_json("similar", SEED_ID, "--json", "--index", library_index))
    assert client.get("/api/stats").json() == cli_json("stats", "--json", "--index", library_index)


def test_healthz(client):
    r = client.get("/healthz")
    d = r.json()
    assert r.status_code == 200 and d["status"] == "ok" and d["documents"] == 22
    assert d["generation"] >= 1 and d["built_at"] and isinstance(d["pid"], int)
    assert r.headers["cache-control"] == "no-store"


# ---- errors ------------------------------------------------------------------------------------

def cli_error(*args) -> str:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert r.exit_code in (1, 2)
    return r.stderr


@pytest.mark.parametrize("params,message,position", [
    ({"q": '"hate crime'}, "unclosed quote (at position 1)", 1),
    ({"q": "crime (knife"}, "unclosed bracket", None),
    ({"q": "colour:red"}, "unknown field", None),
    ({"q": "x", "from": "banana"}, "from='banana' is not a date", None),
    ({"q": "x", "to": "2017-13"}, "to='2017-13' is not a date", None),
    ({"q": "x", "from": "2019", "to": "2017"}, "is after date_to", None),
    ({"q": "x", "sort": "best"}, "sort must be one of", None),
    ({"q": "x", "status": "lost"}, "status must be one of", None),
    ({"q": "x", "limit": "0"}, "limit must be a whole number from 1 to 1000", None),
    ({"q": "x", "limit": "5000"}, "limit must be a whole number from 1 to 1000", None),
    ({"q": "x", "page": "abc"}, "page must be a whole number from 1 to 10000", None),
    ({"q": "x", "page": "10001"}, "page must be a whole number from 1 to 10000", None),
    ({"q": "x", "synonyms": "maybe"}, "synonyms must be true or false", None),
    ({"q": "x", "parti": "labour"}, "unknown parameter 'parti'", None),
    ({"q": "x" * 10_001}, "10,000", None),
])
def test_bad_arguments_are_400_in_one_json_shape(client, params, message, position):
    r = client.get("/api/search", params=params)
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert set(err) == {"status", "code", "message", "position"}
    assert err["status"] == 400 and err["code"] == "bad_request" and message in err["message"]
    if position is not None:
        assert err["position"] == position
    assert r.headers["cache-control"] == "no-store"


def test_syntax_errors_carry_their_position(client):
    err = client.get("/api/search", params={"q": "crime (knife"}).json()["error"]
    assert err["position"] == 7 and err["message"].endswith("(at position 7)")


def test_api_errors_match_the_cli_message(client, library_index):
    message = client.get("/api/search", params={"q": '"hate crime'}).json()["error"]["message"]
    assert message in cli_error("search", '"hate crime', "--index", library_index)
    # a bad date: each names its own parameter (from=…, --from), the rest is the same
    message = client.get("/api/search", params={"q": "x", "from": "banana"}).json()["error"]["message"]
    assert message.startswith("from=")
    assert message.removeprefix("from=") in cli_error("search", "x", "--from", "banana", "--index", library_index)


def test_repeated_parameter_is_400(client):
    r = client.get("/api/search?q=x&party=labour&party=green")
    assert r.status_code == 400 and "more than once" in r.json()["error"]["message"]


def test_unknown_id_is_404(client):
    for path in ("/api/questions/nope", "/api/questions/nope/similar"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found" and "nope" in r.json()["error"]["message"]


@pytest.mark.parametrize("raw", ["%2E%2E", "a%00b", "a%5Cb", "x" * 300, "a%0Ab"])
def test_malformed_ids_are_refused(client, raw):
    r = client.get(f"/api/questions/{raw}")
    assert r.status_code == 400 and "not a question id" in r.json()["error"]["message"]


def test_path_tricks_never_reach_a_file(client):
    for path in ("/api/questions/..%2F..%2Fetc%2Fpasswd", "/api/questions/%2E%2E%2Fsecret",
                 "/static/..%2F..%2Fapi.py", "/static/../app.py"):
        r = client.get(path)
        assert r.status_code in (400, 404), path
        assert "root:" not in r.text and "import" not in r.text


def test_unknown_paths_and_methods_under_api_are_json(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.post("/api/search", data={"q": "x"})
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    r = client.head("/api/search", params={"q": "crime"})
    assert r.status_code == 200 and r.content == b"" and int(r.headers["content-length"]) > 100
    r = client.get("/api/stats", params={"top": "3"})
    assert r.status_code == 400 and "unknown parameter 'top'" in r.json()["error"]["message"]
    r = client.get(f"/api/questions/{SEED_ID}/similar", params={"limit": "x"})
    assert r.status_code == 400 and "limit must be" in r.json()["error"]["message"]


def test_missing_index_is_503_until_it_is_built(tmp_path):
    ix = tmp_path / "ix"
    with serve_app(create_app(ix, access_log_enabled=False)) as c:
        for path in ("/api/search?q=x", "/api/stats", f"/api/questions/{SEED_ID}", "/healthz"):
            r = c.get(path)
            assert r.status_code == 503, path
            assert r.json()["error"]["code"] == "index_unavailable" and "no index" in r.json()["error"]["message"]
        assert c.get("/healthz").json()["status"] == "unavailable"
        page = c.get("/", params={"q": "hate"})
        assert page.status_code == 503 and "The search index is not available" in page.text
        from index_data import build_index
        build_index(SEED.parent, ix)
        assert c.get("/api/search", params={"q": "hate"}).json()["total"] == 1  # no restart
        assert c.get("/healthz").status_code == 200


# Whoosh leaves the damaged file open when unpickling it fails: its leak, not ours.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_damaged_index_is_503(tmp_path):
    from index_data import build_index

    build_index(SEED.parent, tmp_path / "ix")
    for p in (tmp_path / "ix").iterdir():
        if p.suffix == ".seg" or p.name.endswith(".toc"):
            p.write_bytes(p.read_bytes()[:40])
    with serve_app(create_app(tmp_path / "ix", access_log_enabled=False)) as c:
        for path in ("/api/search?q=hate", "/healthz"):
            r = c.get(path)
            assert r.status_code == 503 and "damaged" in r.json()["error"]["message"], path
            assert "Traceback" not in r.text


def test_a_bug_is_a_500_without_details(library_index, monkeypatch, caplog):
    import searcher.search

    def boom(self, *a, **kw):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(searcher.search.Searcher, "search", boom)
    with serve_app(create_app(library_index, access_log_enabled=False)) as c:
        r = c.get("/api/search", params={"q": "x"})
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
        assert "secret" not in r.text and "Traceback" not in r.text
        page = c.get("/", params={"q": "x"})
        assert page.status_code == 500 and "secret" not in page.text
    assert "secret internals" in caplog.text  # logged on the server


# ---- headers, OpenAPI --------------------------------------------------------------------------

def test_security_headers_everywhere(client):
    for path in ("/", "/?q=crime", f"/q/{SEED_ID}", "/api/search?q=crime", "/api/nothing", "/nothing",
                 "/healthz", "/api/openapi.json"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"


def test_static_files_are_versioned_and_cached(client):
    page = client.get("/?q=crime").text
    import re
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        r = client.get(url)
        assert r.status_code == 200 and "immutable" in r.headers["cache-control"], url
    assert client.get("/favicon.ico").status_code == 200


#: The routes that are pages for people, not endpoints for programs.
PAGES = {"/", "/trend", "/q/{id}", "/favicon.ico"}


def test_openapi_lists_every_endpoint(client):
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    routes = {r.path for r in client.app.routes if hasattr(r, "methods")} - PAGES
    assert {"/api/trend", "/search.atom", "/watch/{name}.atom", "/export.csv", "/export.jsonl"} <= routes
    assert routes == openapi_paths() == set(spec["paths"])

    def params(path):
        out = set()
        for p in spec["paths"][path]["get"].get("parameters", []):
            if "$ref" in p:
                p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
            out.add(p["name"])
        return out

    assert params("/api/search") == set(PARAM_NAMES.values())
    assert params("/api/trend") == {*MATCH_PARAMS, "interval", "by"}
    assert params("/search.atom") == set(FEED_PARAMS)
    assert params("/export.csv") == params("/export.jsonl") == set(EXPORT_PARAMS)
    assert params("/watch/{name}.atom") == {"name"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert "200" in op["responses"], (method, path)


# ---- one function behind both ------------------------------------------------------------------

def test_search_request_round_trips_and_checks():
    req = SearchRequest.from_params({"q": "knife", "party": "labour", "from": "2016", "page": "3",
                                     "synonyms": "0", "to": ""})
    assert req == SearchRequest("knife", party="labour", date_from="2016", page=3, synonyms=False)
    assert SearchRequest.from_params(req.to_params()) == req
    assert req.to_params() == {"q": "knife", "party": "labour", "from": "2016", "page": "3",
                               "synonyms": "0"}
    assert SearchRequest().to_params() == {}
    assert SearchRequest.from_params([("q", "x"), ("utm", "y")], strict=False) == SearchRequest("x")
    with pytest.raises(QueryError, match="unknown parameter"):
        SearchRequest.from_params([("q", "x"), ("utm", "y")])


def test_the_cli_builds_its_search_from_the_same_request(monkeypatch, library_index):
    seen = []
    real = SearchRequest.run

    def spy(self, searcher, **kw):
        seen.append(self)
        return real(self, searcher, **kw)

    monkeypatch.setattr(SearchRequest, "run", spy)
    cli_json("search", "crime", "--party", "labour", "--page", "1", "--json", "--index", library_index)
    assert seen == [SearchRequest("crime", party="labour")]


def test_other_commands_do_not_import_the_web_stack(library_index):
    code = ("import sys; from searcher.cli import main; sys.argv = ['mqt', 'search', 'crime', '--index', "
            f"{str(library_index)!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('WEB', sorted(m for m in sys.modules if m.split('.')[0] in "
            "('starlette', 'uvicorn', 'jinja2', 'orjson', 'anyio', 'httpx') or m.startswith('searcher.web')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "WEB []" in out, out


def test_json_bytes_are_to_json_once_parsed(library_index):
    """The API writes its JSON with orjson (json_bytes): the same values as results.to_json
    (what --json prints) for every kind of value it meets, and no markup characters."""
    import datetime as dt

    import numpy as np

    from searcher import Searcher
    from searcher.results import to_json
    from searcher.web.api import json_bytes

    with Searcher(library_index) as s:
        objects = [s.search(q).to_dict() for q in ("crime", "website injection", "graffitti", "")]
        objects += [s.stats().to_dict(), s.get(SEED_ID).to_dict(), s.trend("crime", by="party").to_dict()]
    objects.append({"date": dt.date(2020, 1, 2), "at": dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                    "markup": "<script>a & b</script>", "text": "é\u2028\u00a0—", "big": 2 ** 70,
                    "np": np.float64(0.25), "npint": np.int64(3), "floats": [1e16, 1e-7, -0.0, 0.1 + 0.2],
                    "keys": {1: "one"}, "none": None, "empty": [[], {}]})
    for obj in objects:
        data = json_bytes(obj)
        assert json.loads(data) == json.loads(to_json(obj, indent=None))
        assert not {b"<", b">", b"&"} & {bytes([c]) for c in data}
    assert b"\\u003cscript\\u003ea \\u0026 b" in json_bytes(objects[-1])
