"""The trend view (issue 16) as served: ``/api/trend`` against ``mqt trend --json``; the ``/trend``
page's stacked bars (one ``<rect>`` per party and period with a count, heights proportional to the
counts), its table (the numbers of ``Trend.to_dict()``), its links and switches, hostile party
names; and the chart's view helpers."""

from __future__ import annotations

from html import unescape
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from searcher import Searcher
from searcher.params import SearchRequest
from searcher.trends import Trend, TrendBucket
from searcher.web import views
from searcher.web.app import create_app
from web_util import XSS_GLOBAL, cli_json, serve_app

HOSTILE_PARTY = f"Chaos <script>window.{XSS_GLOBAL}='party'</script> Party"


@pytest.fixture(scope="module")
def client(web_index):
    with serve_app(create_app(web_index, access_log_enabled=False)) as c:
        yield c


def params(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url.replace("&amp;", "&")).query))


# ---- the API -----------------------------------------------------------------------------------

TRENDS = [
    ({"q": "transport"}, ["transport"]),
    ({"q": "transport", "by": "party"}, ["transport", "--by", "party"]),
    ({"q": "crime OR hate", "interval": "month", "by": "asker"},
     ["crime OR hate", "--interval", "month", "--by", "asker"]),
    ({"q": "transport", "from": "2012", "to": "2016-06", "interval": "month", "by": "party"},
     ["transport", "--from", "2012", "--to", "2016-06", "--interval", "month", "--by", "party"]),
    ({"status": "unanswered", "by": "asked_of"}, ["--status", "unanswered", "--by", "asked_of"]),
    ({"q": "TfL", "synonyms": "false", "party": "labour"}, ["TfL", "--no-synonyms", "--party", "labour"]),
    ({"meeting": "plenary", "asker": "Berry"}, ["--meeting", "plenary", "--asker", "Berry"]),
    ({"q": "hostile", "by": "party"}, ["hostile", "--by", "party"]),
    ({"q": "nomatchwhatsoever", "by": "party"}, ["nomatchwhatsoever", "--by", "party"]),
]


@pytest.mark.parametrize("query,args", TRENDS, ids=[str(p) for p, _ in TRENDS])
def test_api_trend_is_what_mqt_trend_prints(client, web_index, query, args):
    r = client.get("/api/trend", params=query)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "public, max-age=5"
    assert r.json() == cli_json("trend", *args, "--json", "--index", web_index)


def test_api_trend_cases_are_not_trivial(client):
    d = client.get("/api/trend", params={"q": "transport", "by": "party"}).json()
    assert [b["period"] for b in d["buckets"]] == [str(y) for y in range(2010, 2022)]
    assert d["total"] == 12 and all(b["count"] == 1 for b in d["buckets"])
    d = client.get("/api/trend", params={"q": "transport", "from": "2012", "to": "2016-06",
                                         "interval": "month"}).json()
    assert len(d["buckets"]) == 54 and sum(b["count"] for b in d["buckets"]) == 5  # zeros included
    d = client.get("/api/trend", params={"q": "hostile", "by": "party"}).json()
    assert d["buckets"][0]["groups"] == {HOSTILE_PARTY: 1, "Conservative Group": 1}


def test_the_real_mqt_trend_prints_what_the_api_returns(client, web_index):
    out = subprocess.run([sys.executable, "-m", "searcher.cli", "trend", "transport", "--by", "party",
                          "--interval", "month", "--json", "--index", str(web_index)],
                         capture_output=True, text=True, check=True).stdout
    api = client.get("/api/trend", params={"q": "transport", "by": "party", "interval": "month"})
    assert api.json() == json.loads(out)


@pytest.mark.parametrize("query,message", [
    ({"q": "x", "interval": "week"}, "interval must be one of year, month"),
    ({"q": "x", "by": "colour"}, "by must be one of party, asker, asked_of"),
    ({"q": "x", "sort": "newest"}, "unknown parameter 'sort'"),
    ({"q": "x", "page": "2"}, "unknown parameter 'page'"),
    ({"q": '"x'}, "unclosed quote (at position 1)"),
    ({"q": "x", "from": "2019", "to": "2017"}, "is after date_to"),
])
def test_api_trend_errors(client, query, message):
    r = client.get("/api/trend", params=query)
    assert r.status_code == 400 and message in r.json()["error"]["message"]


# ---- the page ----------------------------------------------------------------------------------

class TrendPage(HTMLParser):
    """The trend page's rects, legend, table (head, body rows, foot) and links."""

    def __init__(self, text: str):
        super().__init__()
        self.rects: list[dict] = []
        self.svgs = 0
        self.legend: list[str] = []
        self.head: list[str] = []
        self.rows: list[list[str]] = []
        self.foot: list[str] = []
        self.links: list[dict] = []
        self.text_parts: list[str] = []
        self.caption = ""
        self._where: list[str] = []
        self._cell: list[str] | None = None
        self._a: dict | None = None
        self._legend_item: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        elif tag == "rect":
            self.rects.append(a)
            self._where.append("rect")
        elif tag == "title" and self._where[-1:] == ["rect"]:
            self._where.append("title")
        elif tag in ("thead", "tbody", "tfoot", "caption"):
            self._where.append(tag)
        elif tag == "tr" and self._where and self._where[-1] == "tbody":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "a":
            self._a = {**a, "text": ""}
            self.links.append(self._a)
        elif tag == "li" and "legend" in self._where:
            self._legend_item = []
        elif tag == "ul" and a.get("class") == "legend":
            self._where.append("legend")

    def handle_endtag(self, tag):
        if tag in ("thead", "tbody", "tfoot", "caption", "rect") or \
                (tag in ("ul", "title") and self._where[-1:] == [{"ul": "legend"}.get(tag, tag)]):
            self._where.pop()
            if tag == "title":  # a bar's title, "PERIOD · GROUP: COUNT", says what it shows
                r = self.rects[-1]
                period, rest = r["title"].split(" · ", 1)
                group, count = rest.rsplit(": ", 1)
                r.update({"data-period": period, "data-group": group, "data-count": count.replace(",", "")})
        elif tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            where = self._where[-1] if self._where else ""
            {"thead": self.head, "tfoot": self.foot}.get(where, self.rows[-1] if where == "tbody" else []).append(text)
            self._cell = None
        elif tag == "a":
            self._a = None
        elif tag == "li" and self._legend_item is not None:
            self.legend.append(" ".join("".join(self._legend_item).split()))
            self._legend_item = None

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._where[-1:] == ["title"]:
            self.rects[-1]["title"] = self.rects[-1].get("title", "") + data
        if self._cell is not None:
            self._cell.append(data)
        if self._a is not None:
            self._a["text"] += data
        if self._legend_item is not None:
            self._legend_item.append(data)
        if self._where and self._where[-1] == "caption":
            self.caption += data

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def link(self, text: str) -> str:
        for a in self.links:
            if " ".join(a["text"].split()) == text:
                return a["href"]
        raise AssertionError(f"no link {text!r}")


def page(client, url: str, status: int = 200) -> tuple[TrendPage, str]:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    return TrendPage(r.text), r.text


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


def expected_trend(index, query: str, interval: str = "year", **filters) -> dict:
    with Searcher(index) as s:
        return s.trend(query, interval=interval, by="party", **filters).to_dict()


CASES = [("/trend?q=transport", "transport", "year", {}),
         ("/trend?q=crime+OR+hate+OR+transport", "crime OR hate OR transport", "year", {}),
         ("/trend?q=transport&interval=month&from=2012&to=2016-06", "transport", "month",
          {"date_from": "2012", "date_to": "2016-06"}),
         ("/trend", "", "year", {}),
         ("/trend?party=labour&interval=month", "", "month", {"party": "labour"})]


@pytest.mark.parametrize("url,query,interval,filters", CASES, ids=[c[0] for c in CASES])
def test_stacked_bars_one_rect_per_party_and_period_heights_proportional(client, web_index, url, query,
                                                                        interval, filters):
    p, html = page(client, url)
    d = expected_trend(web_index, query, interval, **filters)
    assert p.svgs == 1 and html.count("<rect") == len(p.rects)
    pairs = {(b["period"], g, n) for b in d["buckets"] for g, n in b["groups"].items() if n}
    drawn = {(r["data-period"], r["data-group"], int(r["data-count"])) for r in p.rects}
    assert len(p.rects) == len(pairs) and drawn == pairs  # one per non-zero (period, party)
    unit = {round(float(r["height"]) / int(r["data-count"]), 1) for r in p.rects}
    assert len(unit) == 1, unit  # height proportional to count
    scale = unit.pop()
    for r in p.rects:
        assert abs(float(r["height"]) - scale * int(r["data-count"])) < 0.05
    # stacked: each period's parts touch, from the same baseline; the tallest bar fits the plot
    by_period: dict[str, list[dict]] = {}
    for r in p.rects:
        by_period.setdefault(r["data-period"], []).append(r)
    bottoms = set()
    for parts in by_period.values():
        assert len({r["x"] for r in parts}) == 1
        parts.sort(key=lambda r: -float(r["y"]))
        bottoms.add(round(float(parts[0]["y"]) + float(parts[0]["height"]), 1))
        for below, above in zip(parts, parts[1:]):
            assert abs(float(above["y"]) + float(above["height"]) - float(below["y"])) < 0.02
    assert len(bottoms) == 1
    # every period has its column (zeros: no rect, but a place), left to right in order
    xs = sorted({float(r["x"]) for r in p.rects})
    assert xs == [float(by_period[b["period"]][0]["x"]) for b in d["buckets"] if b["count"]]


@pytest.mark.parametrize("url,query,interval,filters", CASES, ids=[c[0] for c in CASES])
def test_table_has_the_numbers_of_trend_to_dict(client, web_index, url, query, interval, filters):
    p, _ = page(client, url)
    d = expected_trend(web_index, query, interval, **filters)
    groups = p.head[2:]
    assert p.head[:2] == [interval.capitalize(), "All"]
    with Searcher(web_index) as s:
        assert groups == list(s.trend(query, interval=interval, by="party", **filters).groups)
    assert [row[0] for row in p.rows] == [b["period"] for b in d["buckets"]]  # every period
    for row, b in zip(p.rows, d["buckets"]):
        assert number(row[1]) == b["count"]
        assert [number(c) for c in row[2:]] == [b["groups"].get(g, 0) for g in groups]
    assert p.foot[0] == "Total" and number(p.foot[1]) == d["total"]
    assert [number(c) for c in p.foot[2:]] == [sum(b["groups"].get(g, 0) for b in d["buckets"])
                                               for g in groups]
    assert "per " + interval in p.caption and "by party" in p.caption


def test_every_period_in_the_range_zeros_included(client):
    p, _ = page(client, "/trend?q=transport&from=2008&to=2023")
    assert [r[0] for r in p.rows] == [str(y) for y in range(2008, 2024)]
    assert [number(r[1]) for r in p.rows] == [0, 0] + [1] * 12 + [0, 0]
    p, _ = page(client, "/trend?q=transport&interval=month&from=2019-01&to=2020-12")
    assert len(p.rows) == 24 and p.rows[0][0] == "2019-01" and p.rows[-1][0] == "2020-12"
    assert [r[0] for r in p.rows if number(r[1])] == ["2019-04", "2020-04"]


def test_hostile_party_names_are_text_in_svg_legend_and_table(client):
    p, html = page(client, "/trend?q=hostile")
    assert XSS_GLOBAL in html and "<script>window" not in html
    assert sorted(r["data-group"] for r in p.rects) == [HOSTILE_PARTY, "Conservative Group"]
    assert HOSTILE_PARTY in p.head and any(HOSTILE_PARTY in item for item in p.legend)
    assert f"2020 · {HOSTILE_PARTY}: 1" in p.text  # the bar's <title>
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 1 and 'src="/static/mqt.js' in scripts[0]  # only our own, external
    assert not re.search(r"\son\w+=", html)  # no event-handler attribute anywhere
    assert "style=" not in html  # the CSP allows no inline style


def test_trend_is_reachable_from_the_results_page_and_back(client):
    r = client.get("/?q=transport&party=labour&sort=newest&page=2&limit=2")
    results = TrendPage(r.text)
    trend_url = results.link("Trend")
    assert urlsplit(trend_url).path == "/trend"
    assert params(trend_url) == {"q": "transport", "party": "labour", "sort": "newest", "limit": "2"}
    p, _ = page(client, trend_url)
    assert re.search(r"4 questions matching transport per year, by party", p.text)
    back = p.link("Results")
    assert urlsplit(back).path == "/" and params(back) == {"q": "transport", "party": "labour",
                                                           "sort": "newest", "limit": "2"}
    month = p.link("Month")
    assert params(month)["interval"] == "month"
    pm, html = page(client, month)
    assert 'aria-current="page">Month</a>' in html and pm.head[0] == "Month"
    assert params(pm.link("Year")).get("interval") is None
    # the search box stays on the trend view, keeping the interval and the filters
    assert '<form class="searchbox" role="search" action="/trend"' in html
    assert '<input type="hidden" name="interval" value="month">' in html
    assert '<input type="hidden" name="party" value="labour">' in html
    # a chip removes a filter and stays on the trend
    chip = [a for a in pm.links if a.get("aria-label", "").startswith("Remove filter Party")][0]
    assert urlsplit(chip["href"]).path == "/trend"
    assert params(chip["href"]) == {"q": "transport", "sort": "newest", "limit": "2", "interval": "month"}


def test_a_period_links_to_its_results(client):
    p, _ = page(client, "/trend?q=transport&from=2013-06")
    link = p.link("2014")
    assert params(link) == {"q": "transport", "from": "2014", "to": "2014"}
    first = p.link("2013")
    assert params(first) == {"q": "transport", "from": "2013-06", "to": "2013"}  # the range kept
    r = client.get(link.replace("&amp;", "&"))
    assert "1–1 of 1 result" in " ".join(TrendPage(r.text).text.split())


def test_no_match_bad_query_and_bad_interval(client):
    p, html = page(client, "/trend?q=zebracrossingxyz")
    assert "No questions match zebracrossingxyz" in p.text and "<svg" not in html.split("<main")[1]
    p, html = page(client, '/trend?q="knife', status=400)
    assert "unclosed quote" in p.text and 'value="&#34;knife"' in html
    p, _ = page(client, "/trend?q=x&interval=week", status=400)
    assert "interval must be one of year, month" in p.text


def test_results_page_has_the_feed_and_downloads(client):
    r = client.get("/?q=transport&party=labour&sort=newest&page=2&limit=2")
    head = r.text.split("</head>")[0]
    m = re.search(r'<link rel="alternate" type="application/atom\+xml" title="([^"]*)" href="([^"]+)">', head)
    assert m and params(m.group(2)) == {"q": "transport", "party": "labour", "limit": "2"}
    p = TrendPage(r.text)
    assert p.link("Atom feed") == unescape(m.group(2))
    assert params(p.link("Download CSV")) == {"q": "transport", "party": "labour", "sort": "newest"}
    assert urlsplit(p.link("Download CSV")).path == "/export.csv"
    assert urlsplit(p.link("JSON Lines")).path == "/export.jsonl"
    p = TrendPage(client.get("/?q=zebracrossingxyz").text)
    assert p.link("Atom feed")  # a feed of nothing yet is still worth subscribing to
    assert not any(a["text"].strip() == "Download CSV" for a in p.links)


# ---- view helpers ------------------------------------------------------------------------------

def test_series_take_party_colours_and_merge_past_eight():
    groups = {f"Group {i}": 100 - i for i in range(10)}
    groups = {"Labour Group": 500, "Conservative Group": 400, "GLA Conservatives": 300, **groups}
    series, drawn_as = views.series_of(groups)
    assert len(series) == views.SERIES and series[-1].name == views.OTHER
    colours = {s.name: s.colour for s in series}
    assert colours["Labour Group"] == 1 and colours["Conservative Group"] == 0
    assert colours["GLA Conservatives"] not in (0, 1) and len(set(colours.values())) == views.SERIES
    assert series[-1].total == sum(t for g, t in groups.items() if drawn_as[g] == views.OTHER)
    assert sum(s.total for s in series) == sum(groups.values())


def test_chart_merges_small_parties_into_other():
    groups = {f"P{i}": 10 - i for i in range(10)}
    trend = Trend("x", "year", "party", [TrendBucket("2020", sum(groups.values()), dict(groups)),
                                         TrendBucket("2021", 0, {})],
                  None, None, sum(groups.values()), groups=groups)
    chart = views.trend_chart(trend)
    seg = chart.columns[0].segments
    assert [s.group for s in seg] == [f"P{i}" for i in range(7)] + [views.OTHER]
    assert seg[-1].count == 3 + 2 + 1 and chart.columns[1].segments == []
    assert abs(sum(s.height for s in seg) - chart.unit * trend.total) < 0.05


def test_axis_steps_are_round():
    assert [views._step(n) for n in (1, 5, 6, 7, 12, 37, 43179)] == [1, 1, 2, 2, 5, 10, 10000]


def test_series_colours_have_contrast_against_white():
    css = (Path(views.__file__).parent / "static" / "mqt.css").read_text()
    colours = dict(re.findall(r"\.series-(\d) \{ fill: (#[0-9a-f]{6});", css))
    assert sorted(colours) == [str(i) for i in range(views.SERIES)]

    def luminance(hex_colour):
        c = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    for i, colour in colours.items():
        assert 1.05 / (luminance(colour) + 0.05) >= 3.0, (i, colour)  # WCAG 1.4.11
    assert len(set(colours.values())) == views.SERIES


def test_period_url_keeps_the_narrower_dates():
    req = SearchRequest("x", date_from="2016-05-03", date_to="2018-02")
    assert params(views.period_url(req, "2016")) == {"q": "x", "from": "2016-05-03", "to": "2016"}
    assert params(views.period_url(req, "2017")) == {"q": "x", "from": "2017", "to": "2017"}
    assert params(views.period_url(req, "2018")) == {"q": "x", "from": "2018", "to": "2018-02"}
    assert params(views.period_url(req, "2017-04")) == {"q": "x", "from": "2017-04", "to": "2017-04"}
