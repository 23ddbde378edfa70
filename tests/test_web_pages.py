"""The HTML pages as served (uvicorn in a thread), read as HTML: results, facets and chips, the year
chart, pagination, the question page, error pages, escaping of hostile documents; and the view
helpers behind them."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searcher.params import SearchRequest
from searcher.results import ResultPage
from searcher.web import views
from searcher.web.app import create_app
from web_util import HOSTILE_ID, ODD_ID, XSS_GLOBAL, serve_app

SEED_ID = "000_f69fb07d1f8a9a60"


@pytest.fixture(scope="module")
def client(web_index):
    with serve_app(create_app(web_index, access_log_enabled=False)) as c:
        yield c


class Page(HTMLParser):
    """The links (href, text, attributes), form fields and text of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.links: list[dict] = []
        self.inputs: list[dict] = []
        self.tags: list[tuple[str, dict]] = []
        self._a: dict | None = None
        self.text_parts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "a":
            self._a = {**a, "text": ""}
            self.links.append(self._a)
        elif tag in ("input", "select"):
            self.inputs.append({"tag": tag, **a})

    def handle_endtag(self, tag):
        if tag == "a":
            self._a = None

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._a is not None:
            self._a["text"] += data

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def link(self, text: str, **attrs) -> str:
        for a in self.links:
            if text in " ".join(a["text"].split()) and all(a.get(k) == v for k, v in attrs.items()):
                return a["href"]
        raise AssertionError(f"no link {text!r} {attrs}")


def get(client, url, status=200) -> Page:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    return Page(r.text)


def params(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query))


def test_home_page(client):
    p = get(client, "/")
    assert "Search 24 questions to the Mayor" in p.text
    assert {"tag": "input", "id": "q", "name": "q"}.items() <= p.inputs[0].items()
    assert any(t == "label" and a.get("for") == "q" for t, a in p.tags)
    assert params(p.link("hate crime")) == {"q": "hate crime"}


def test_results_page(client):
    p = get(client, "/?q=crime")
    assert "1–4 of 4 results" in p.text
    assert p.link("Knife Crime in Croydon") == "/q/knife"
    html = client.get("/?q=crime").text
    assert "<mark>crime</mark>" in html.lower() or "<mark>Crime</mark>" in html
    assert 'value="crime"' in html  # the box keeps the query
    facets = {a["data-facet"] for a in p.links if "data-facet" in a}
    assert facets == {"party", "asker", "asked_of", "year", "status", "meeting"}
    assert params(p.link("Labour Group", **{"data-facet": "party"})) == {"q": "crime", "party": "Labour Group"}
    assert re.search(r"Labour Group\s*2", p.text)  # the count beside the value


def test_facet_click_chip_and_removal(client):
    p = get(client, "/?q=crime")
    filtered_url = p.link("Labour Group", **{"data-facet": "party"})
    f = get(client, filtered_url)
    assert "1–2 of 2 results" in f.text and "Party: Labour Group" in f.text
    remove = [a for a in f.links if a.get("aria-label", "").startswith("Remove filter Party")]
    assert len(remove) == 1 and params(remove[0]["href"]) == {"q": "crime"}
    active = [a for a in f.links if a.get("aria-current") == "true"]
    assert [a["data-facet"] for a in active] == ["party"]  # clicking it again removes it
    assert params(active[0]["href"]) == {"q": "crime"}
    # the search form carries the filter along, the date form too
    html = client.get(filtered_url).text
    assert html.count('<input type="hidden" name="party" value="Labour Group">') == 3


def test_year_chart_and_year_filter(client):
    html = client.get("/?q=transport").text
    svg = html[html.index("<svg"):html.index("</svg>")]
    bars = re.findall(r'<a href="([^"]+)" aria-label="(\d{4}): (\d+) results?"', svg)
    assert [y for _, y, _ in bars] == [str(y) for y in range(2010, 2022)]
    assert all(n == "1" for _, _, n in bars)
    url = bars[3][0].replace("&amp;", "&")
    assert params(url) == {"q": "transport", "from": "2013", "to": "2013"}
    p = get(client, url)
    assert "1–1 of 1 result" in p.text and "Year: 2013" in p.text


def test_sort_and_pagination(client):
    p = get(client, "/?q=transport&limit=2&sort=newest")
    assert "1–2 of 12 results" in p.text
    assert [a["text"] for a in p.links if a.get("href", "").startswith("/q/")][:2] == \
        ["Transport Question 11", "Transport Question 10"]
    nxt = p.link("Next")
    assert params(nxt) == {"q": "transport", "sort": "newest", "limit": "2", "page": "2"}
    p2 = get(client, nxt)
    assert "3–4 of 12 results" in p2.text and p2.link("Previous")
    assert params(p2.link("6")) ["page"] == "6"
    html = client.get("/?q=transport&sort=newest").text
    assert '<option value="newest" selected>' in html and 'name="sort"' in html


def test_did_you_mean_is_a_link(client):
    p = get(client, "/?q=graffitti")
    assert params(p.link("graffiti")) == {"q": "graffiti"}


def test_no_results_page(client):
    p = get(client, "/?q=zebracrossingxyz")
    assert "No results for zebracrossingxyz" in p.text and "Nothing matched" in p.text


def test_bad_query_page_shows_the_error_and_where(client):
    r = client.get("/?q=crime (knife")
    assert r.status_code == 400
    assert "unclosed bracket" in r.text and "That query cannot be searched" in r.text
    assert '<code class="query">crime <mark class="at">(</mark>knife</code>' in r.text
    r = client.get("/?q=crime&page=0")
    assert r.status_code == 400 and "page must be a whole number" in r.text
    assert 'value="crime"' in r.text  # the box keeps the query


def test_question_page(client):
    p = get(client, f"/q/{SEED_ID}")
    assert "Hate Crime (1)" in p.text and "Navin Shah" in p.text and "Labour Group" in p.text
    assert "Answer by The Mayor" in p.text and "Similar questions" in p.text
    similar = [a["href"] for a in p.links if a["href"].startswith("/q/")]
    assert similar and SEED_ID not in " ".join(similar)
    assert params(p.link("Navin Shah")) == {"asker": "Navin Shah"}


def test_question_page_errors(client):
    r = client.get("/q/nope")
    assert r.status_code == 404 and "no question with id" in r.text
    r = client.get("/q/%00x")
    assert r.status_code == 400 and "not a question id" in r.text
    r = client.get("/nothing/here")
    assert r.status_code == 404 and "There is no page at this address" in r.text


def test_odd_ids_link_correctly(client):
    p = get(client, "/?q=identifiers")
    href = p.link("Odd identifiers")
    assert href == "/q/odd%20%26%20%27quoted%27%20%3Cid%3E"
    assert "Does a hostile file name break the links" in get(client, href).text
    assert client.get(f"/api/questions/{href[3:]}").json()["id"] == ODD_ID


def test_hostile_documents_are_text(client):
    for url in ("/?q=hostile", f"/q/{HOSTILE_ID}", "/?q=hostile&party=Chaos"):
        html = client.get(url).text
        assert XSS_GLOBAL in html, url  # the payload is on the page...
        for raw in ("<img src=x", "<img src=y", "<script>window", "<svg onload", "<iframe",
                    "<b onmouseover", "<b>bold"):
            assert raw not in html, (url, raw)  # ...but only as text
        p = Page(html)
        assert "Eve <img src=y onerror=window.__mqt_xss='asker'>" in p.text
        scripts = [a for t, a in p.tags if t == "script"]
        assert scripts == [{"src": scripts[0]["src"], "defer": None}]  # only our own
    p = Page(client.get("/?q=hostile").text)
    assert '<img src=x onerror="window.__mqt_xss=\'title\'"> Hostile "quotes" & <b>bold</b>' in p.text


def test_page_weight_on_a_results_page(client):
    r = client.get("/?q=transport")
    total = len(r.content)
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', r.text):
        total += len(client.get(url.replace("&amp;", "&")).content)
    assert total < 100_000
    assert not re.search(r'(?:href|src)="(?:https?:)?//', r.text)  # nothing from elsewhere


# ---- views -------------------------------------------------------------------------------------

def result_page(total=0, facets=None, page=1, limit=10) -> ResultPage:
    return ResultPage(query="q", total=total, page=page, limit=limit, hits=[], facets=facets or {},
                      suggestion=None, took_ms=1.0)


def test_pagination_window():
    req = SearchRequest("x", page=7)
    links = views.pagination(req, result_page(total=200, page=7))
    assert [l.number for l in links] == [1, None, 5, 6, 7, 8, 9, None, 20]
    assert [l.current for l in links].index(True) == 4
    assert views.pagination(SearchRequest("x"), result_page(total=5)) == []
    huge = views.pagination(SearchRequest("x", page=1), result_page(total=10**9))
    assert huge[-1].number == 10_000  # the library's page cap


def test_chips():
    req = SearchRequest("x", party="labour", date_from="2017", date_to="2017", synonyms=False)
    chips = {c.label: c for c in views.chips(req)}
    assert set(chips) == {"Party", "Year", "Synonyms"}
    assert views.search_url(req, party=None) == chips["Party"].remove_url
    assert "from" not in chips["Year"].remove_url and "synonyms" not in chips["Synonyms"].remove_url
    chips = [c.label for c in views.chips(SearchRequest(date_from="2016-05", date_to="2018"))]
    assert chips == ["From", "To"]


_TEXT = st.one_of(st.none(), st.sampled_from(["", "labour", "Susan Hall", "2017", "2016-05-01"]),
                  st.text(max_size=12))
_REQUESTS = st.builds(SearchRequest, query=st.one_of(st.just(""), st.text(max_size=20)), asker=_TEXT,
                      party=_TEXT, asked_of=_TEXT, meeting=_TEXT, status=_TEXT, date_from=_TEXT,
                      date_to=_TEXT, sort=st.sampled_from(["relevance", "newest", "relevance_recent"]),
                      page=st.integers(1, 10_000), limit=st.sampled_from([10, 1, 50]), synonyms=st.booleans())
_CHANGES = st.dictionaries(st.sampled_from(["query", "party", "asker", "date_from", "date_to", "page",
                                            "limit", "sort", "synonyms", "status"]),
                           st.one_of(st.none(), st.text(max_size=8), st.integers(1, 20), st.booleans()),
                           max_size=3)


@settings(max_examples=300, deadline=None)
@given(_REQUESTS, _CHANGES)
def test_search_url_is_the_request_changed_and_urlencoded(req, changes):
    """search_url builds its links from pairs encoded once per request: the same text as
    encoding the changed request's parameters."""
    from urllib.parse import urlencode

    expected = req.but(**{"page": 1, **changes}).to_params()
    assert views.search_url(req, **changes) == ("/?" + urlencode(expected) if expected else "/")


@settings(max_examples=300, deadline=None)
@given(_REQUESTS, _CHANGES)
def test_linker_makes_the_links_search_url_makes(req, changes):
    names = tuple(n for n in changes if n != "page")
    link = views.linker(req, *names)
    assert link(*(changes[n] for n in names)) == views.search_url(req, **{n: changes[n] for n in names})


def test_search_url_refuses_unknown_arguments():
    with pytest.raises(TypeError, match="colour"):
        views.search_url(SearchRequest("x"), colour="red")
    with pytest.raises(TypeError, match="colour"):
        views.linker(SearchRequest("x"), "colour")


def test_year_chart_fills_gaps_and_links():
    req = SearchRequest("x")
    chart = views.year_chart(req, result_page(total=5, facets={"year": {"2019": 3, "2016": 2}}))
    assert [(b.year, b.count) for b in chart.bars] == [("2016", 2), ("2017", 0), ("2018", 0), ("2019", 3)]
    assert chart.bars[3].height > chart.bars[0].height > 0 == chart.bars[1].height
    assert params(chart.bars[0].url) == {"q": "x", "from": "2016", "to": "2016"}
    assert views.year_chart(req, result_page(total=1, facets={"year": {"2019": 1}})) is None


def test_marked_lets_only_mark_through():
    s = "a &lt;b&gt; <mark>crime</mark> <script>x</script> &amp; <mark onclick=x>y</mark>"
    out = str(views.marked(s))
    assert out == ("a &lt;b&gt; <mark>crime</mark> &lt;script&gt;x&lt;/script&gt; &amp; "
                   "&lt;mark onclick=x&gt;y</mark>")


def test_error_parts():
    assert views.error_parts('"hate crime', 0) == ("", '"', "hate crime")
    assert views.error_parts("crime (", 7) == ("crime (", " ", "")
    assert views.error_parts("x", None) is None
