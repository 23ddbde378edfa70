"""The search page in a real headless browser (Debian's chromium through chromium-driver and
Selenium) against ``mqt serve``: search, facets and chips, the year chart, pages, sort, a question
and its similar questions, a bad query, JavaScript off, a phone-sized window, the keyboard, hostile
documents that must run no script, an empty console, and the page weight.

Skipped only when ``MQT_BROWSER_TESTS=0``, or when Chromium is missing outside CI (``.ci/run``
installs it; under ``CI`` a missing browser is a failure, never a silent skip). With
``MQT_SCREENSHOT_DIR`` set, the results page's screenshot is also saved there (README's picture).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from web_util import HOSTILE_ID, XSS_GLOBAL, ServerProcess, build_web_index

CHROMIUM = os.environ.get("MQT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MQT_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync").split()

if os.environ.get("MQT_BROWSER_TESTS") == "0":
    pytest.skip("MQT_BROWSER_TESTS=0", allow_module_level=True)
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} or {CHROMEDRIVER} is missing: .ci/run installs Debian's "
                           "chromium and chromium-driver")
    pytest.skip("chromium/chromium-driver not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402  (after the skip: selenium is in the test extra)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, library_corpus):
    ix = build_web_index(tmp_path_factory, library_corpus)
    srv = ServerProcess(ix, "--no-access-log", log=ix.parent / "serve.log")
    with srv:
        yield srv


def start_browser(javascript: bool = True) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="mqt-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1280,900")
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.profile_dir = profile
    return driver


def quit_browser(driver) -> None:
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def _chrome():
    driver = start_browser()
    yield driver
    quit_browser(driver)


@pytest.fixture
def browser(_chrome, server):
    """The JavaScript-on browser; after each test, its console must hold no error (but the
    network's note of an error status a test asked for: ``browser.error_pages``)."""
    _chrome.set_window_size(1280, 900)
    _chrome.get_log("browser")  # clear
    _chrome.error_pages = []
    yield _chrome
    errors = [e for e in _chrome.get_log("browser") if e["level"] in ("SEVERE", "ERROR")
              and not (e["source"] == "network" and e["message"].split(" ")[0] in _chrome.error_pages)]
    assert errors == [], errors


@pytest.fixture(scope="module")
def nojs_browser(server):
    driver = start_browser(javascript=False)
    yield driver
    quit_browser(driver)


def open_(driver, server, path: str):
    driver.get(server.url + path)


def query(driver) -> dict:
    return dict(parse_qsl(urlsplit(driver.current_url).query))


def wait_url(driver, old: str):
    WebDriverWait(driver, 20).until(lambda d: d.current_url != old and d.execute_script(
        "return document.readyState") == "complete")


def click(driver, element):
    old = driver.current_url
    element.click()
    wait_url(driver, old)


def summary(driver) -> str:
    return " ".join(driver.find_element(By.ID, "summary").text.split())


def test_search_from_the_home_page(browser, server, tmp_path):
    open_(browser, server, "/")
    assert "Search 24 questions" in browser.find_element(By.TAG_NAME, "h1").text
    box = browser.find_element(By.ID, "q")
    box.send_keys("crime")
    old = browser.current_url
    box.send_keys(Keys.ENTER)
    wait_url(browser, old)
    assert query(browser) == {"q": "crime"}  # empty fields left out by the script
    assert summary(browser).startswith("1–4 of 4 results")
    marks = browser.find_elements(By.CSS_SELECTOR, ".hit mark")
    assert marks and all(m.text.lower().startswith("crime") for m in marks)
    titles = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".hit h2 a")]
    assert "Knife Crime in Croydon" in titles
    shot = tmp_path / "web-search.png"
    open_(browser, server, "/?q=crime OR transport")
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("MQT_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["MQT_SCREENSHOT_DIR"]) / "web-search.png")


def test_facet_chip_and_back_button(browser, server):
    open_(browser, server, "/?q=crime")
    link = browser.find_element(By.CSS_SELECTOR, 'a[data-facet="party"][href*="Labour"]')
    click(browser, link)
    assert query(browser) == {"q": "crime", "party": "Labour Group"}
    assert summary(browser).startswith("1–2 of 2 results")
    chip = browser.find_element(By.CSS_SELECTOR, ".chips li")
    assert "Party: Labour Group" in chip.text
    click(browser, chip.find_element(By.TAG_NAME, "a"))
    assert query(browser) == {"q": "crime"} and summary(browser).startswith("1–4 of 4")
    assert browser.find_elements(By.CSS_SELECTOR, ".chips") == []
    browser.back()
    WebDriverWait(browser, 20).until(lambda d: "party" in query(d))
    assert summary(browser).startswith("1–2 of 2 results")


def test_year_bar_filters(browser, server):
    open_(browser, server, "/?q=transport")
    bars = browser.find_elements(By.CSS_SELECTOR, ".chart svg a")
    assert len(bars) == 12
    click(browser, bars[2])
    assert query(browser) == {"q": "transport", "from": "2012", "to": "2012"}
    assert summary(browser).startswith("1–1 of 1 result")
    assert "Year: 2012" in browser.find_element(By.CSS_SELECTOR, ".chips").text


def test_date_range_form(browser, server):
    open_(browser, server, "/?q=transport")
    browser.find_element(By.ID, "from").send_keys("2015")
    to = browser.find_element(By.ID, "to")
    to.send_keys("2017-06")
    old = browser.current_url
    to.send_keys(Keys.ENTER)
    wait_url(browser, old)
    assert query(browser) == {"q": "transport", "from": "2015", "to": "2017-06"}
    assert summary(browser).startswith("1–3 of 3 results")


def test_paginate_and_sort(browser, server):
    open_(browser, server, "/?q=transport&limit=2")
    click(browser, browser.find_element(By.CSS_SELECTOR, 'a[rel="next"]'))
    assert query(browser)["page"] == "2" and summary(browser).startswith("3–4 of 12")
    click(browser, browser.find_element(By.CSS_SELECTOR, 'a[aria-label="Page 6"]'))
    assert summary(browser).startswith("11–12 of 12")
    assert browser.find_elements(By.CSS_SELECTOR, 'a[rel="next"]') == []
    old = browser.current_url
    Select(browser.find_element(By.ID, "sort")).select_by_value("newest")  # submits itself
    wait_url(browser, old)
    assert query(browser) == {"q": "transport", "sort": "newest", "limit": "2"}  # back to page 1
    first = browser.find_element(By.CSS_SELECTOR, ".hit h2 a").text
    assert first == "Transport Question 11"
    assert not browser.find_element(By.CSS_SELECTOR, ".sort button").is_displayed()


def test_question_and_similar(browser, server):
    open_(browser, server, "/?q=hate crime")
    title = browser.find_element(By.CSS_SELECTOR, ".hit h2 a")
    name = title.text
    click(browser, title)
    assert urlsplit(browser.current_url).path.startswith("/q/")
    assert browser.find_element(By.TAG_NAME, "h1").text == name
    assert browser.find_elements(By.CSS_SELECTOR, ".answer h2")
    similar = browser.find_elements(By.CSS_SELECTOR, ".similar li a")
    assert similar
    here = browser.current_url
    target = similar[0].text
    click(browser, similar[0])
    assert browser.current_url != here and browser.find_element(By.TAG_NAME, "h1").text == target


def test_did_you_mean(browser, server):
    open_(browser, server, "/?q=graffitti")
    click(browser, browser.find_element(By.CSS_SELECTOR, ".suggestion a"))
    assert query(browser) == {"q": "graffiti"} and summary(browser).startswith("1–1 of 1")


def test_bad_query_and_no_results(browser, server):
    open_(browser, server, "/?q=crime (knife")
    browser.error_pages.append(browser.current_url)  # a 400 page
    alert = browser.find_element(By.CSS_SELECTOR, '[role="alert"]')
    assert "unclosed bracket" in alert.text
    assert browser.find_element(By.CSS_SELECTOR, "mark.at").text == "("
    assert browser.find_element(By.ID, "q").get_attribute("value") == "crime (knife"
    open_(browser, server, "/?q=zebracrossingxyz")
    assert summary(browser).startswith("No results for")


def test_hostile_documents_run_no_script(browser, server):
    for bypass_csp in (True, False):  # with the CSP off: the escaping alone must hold; then on
        browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": bypass_csp})
        for path in ("/?q=hostile", f"/q/{HOSTILE_ID}", "/?q=hostile&party=Chaos"):
            open_(browser, server, path)
            browser.execute_script(  # what a mouse moving over every element would fire
                "document.querySelectorAll('body *').forEach(e => ['mouseover', 'mouseenter']"
                ".forEach(t => e.dispatchEvent(new MouseEvent(t, {bubbles: true}))))")
            assert browser.execute_script(f"return typeof window.{XSS_GLOBAL}") == "undefined", path
            assert browser.find_elements(By.CSS_SELECTOR, "main img, main iframe, main svg[onload]") == []
            assert "onerror" in browser.find_element(By.TAG_NAME, "main").text  # shown as text
    browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": False})
    open_(browser, server, f"/q/{HOSTILE_ID}")
    h1 = browser.find_element(By.TAG_NAME, "h1").text
    assert h1 == f'<img src=x onerror="window.{XSS_GLOBAL}=\'title\'"> Hostile "quotes" & <b>bold</b>'


def test_page_weight_and_nothing_from_elsewhere(browser, server):
    open_(browser, server, "/?q=transport")
    entries = browser.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.decodedBodySize])")
    assert all(name.startswith(server.url) for name, _ in entries), entries
    total = sum(size for _, size in entries)
    assert 5_000 < total < 100_000
    assert {urlsplit(n).path for n, _ in entries} >= {"/", "/static/mqt.css", "/static/mqt.js"}


def test_phone_layout(browser, server):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    open_(browser, server, "/?q=crime")
    assert browser.execute_script("return window.innerWidth") == 390
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    box = browser.find_element(By.ID, "q")
    assert box.is_displayed() and box.rect["x"] + box.rect["width"] <= 390
    results = browser.find_element(By.CSS_SELECTOR, ".results").rect
    filters = browser.find_element(By.CSS_SELECTOR, ".filters").rect
    assert filters["y"] > results["y"]  # the sidebar goes below the results
    for path in (f"/q/{HOSTILE_ID}", "/?q=hostile", "/q/knife", "/"):
        open_(browser, server, path)
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"), path
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_keyboard_and_labels(browser, server):
    open_(browser, server, "/?q=crime")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    active = browser.switch_to.active_element
    assert active.get_attribute("class") == "skip" and active.is_displayed()
    active.send_keys(Keys.ENTER)
    WebDriverWait(browser, 5).until(lambda d: d.switch_to.active_element.get_attribute("id") == "main")
    order = []
    open_(browser, server, "/?q=crime")
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(5):
        body = browser.switch_to.active_element
        body.send_keys(Keys.TAB)
        order.append(browser.switch_to.active_element.get_attribute("id") or
                     browser.switch_to.active_element.text)
    assert "q" in order[:4]  # skip link, brand, then the search box
    browser.find_element(By.CSS_SELECTOR, ".hit h2 a").send_keys("/")
    assert browser.switch_to.active_element.get_attribute("id") == "q"
    unlabelled = browser.execute_script("""
        return [...document.querySelectorAll('input:not([type=hidden]), select')]
          .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
          .map(e => e.name)""")
    assert unlabelled == []
    assert browser.execute_script("return document.documentElement.lang") == "en"


def test_javascript_off(nojs_browser, server):
    b = nojs_browser
    open_(b, server, "/")
    assert "js" not in (b.find_element(By.TAG_NAME, "html").get_attribute("class") or "")
    box = b.find_element(By.ID, "q")
    box.send_keys("transport")
    click(b, b.find_element(By.CSS_SELECTOR, ".searchbox button"))
    assert query(b) == {"q": "transport"} and summary(b).startswith("1–10 of 12")
    sort_button = b.find_element(By.CSS_SELECTOR, ".sort button")
    assert sort_button.is_displayed()
    Select(b.find_element(By.ID, "sort")).select_by_value("oldest")
    assert query(b) == {"q": "transport"}  # nothing submits by itself
    click(b, sort_button)
    assert query(b) == {"q": "transport", "sort": "oldest"}
    assert b.find_element(By.CSS_SELECTOR, ".hit h2 a").text == "Transport Question 0"
    click(b, b.find_element(By.CSS_SELECTOR, 'a[data-facet="asker"][href*="Keith"]'))
    assert query(b) == {"q": "transport", "sort": "oldest", "asker": "Keith Prince"}
    assert summary(b).startswith("1–4 of 4")
    click(b, b.find_element(By.CSS_SELECTOR, ".chips a"))  # remove the filter again
    assert query(b) == {"q": "transport", "sort": "oldest"}
    click(b, b.find_element(By.CSS_SELECTOR, ".hit h2 a"))
    assert b.find_element(By.TAG_NAME, "h1").text == "Transport Question 0"


# ---- the trend view (issue 16) -----------------------------------------------------------------

def rect_fills(driver) -> list[tuple[str, str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('.trend-chart svg rect')]"
        ".map(r => [r.querySelector('title').textContent.split(' · ')[1].replace(/: [0-9,]+$/, ''),"
        " getComputedStyle(r).fill, r.getBBox().height])")


def test_trend_view(browser, server):
    open_(browser, server, "/?q=transport")
    click(browser, browser.find_element(By.LINK_TEXT, "Trend"))
    assert urlsplit(browser.current_url).path == "/trend" and query(browser) == {"q": "transport"}
    assert browser.find_element(By.CSS_SELECTOR, ".views a[aria-current]").text == "Trend"
    fills = rect_fills(browser)
    assert len(fills) == 12 and all(h > 0 for _, _, h in fills)  # drawn, one bar a year
    colours = {group: fill for group, fill, _ in fills}
    assert colours["Labour Group"] == "rgb(198, 40, 40)"  # the stylesheet's colours reach the SVG
    assert colours["Conservative Group"] == "rgb(21, 101, 192)"
    swatches = browser.execute_script(
        "return [...document.querySelectorAll('.legend li')].map(li => [li.textContent.trim(),"
        " getComputedStyle(li.querySelector('.swatch')).backgroundColor])")
    assert {name.split(" ")[0]: c for name, c in swatches}["Labour"] == "rgb(198, 40, 40)"
    rows = browser.find_elements(By.CSS_SELECTOR, ".trend-table tbody tr")
    assert len(rows) == 12 and rows[0].find_element(By.TAG_NAME, "th").text == "2010"
    assert browser.find_element(By.CSS_SELECTOR, ".trend-table caption").text.startswith("Questions matching")
    click(browser, browser.find_element(By.LINK_TEXT, "Month"))
    assert query(browser) == {"q": "transport", "interval": "month"}
    assert len(browser.find_elements(By.CSS_SELECTOR, ".trend-table tbody tr")) == 133  # 2010-04..2021-04
    assert len(rect_fills(browser)) == 12
    box = browser.find_element(By.ID, "q")  # a new query stays on the trend, by month
    box.clear()
    box.send_keys("crime")
    old = browser.current_url
    box.send_keys(Keys.ENTER)
    wait_url(browser, old)
    assert urlsplit(browser.current_url).path == "/trend" and query(browser) == {"q": "crime", "interval": "month"}
    click(browser, browser.find_element(By.LINK_TEXT, "Results"))
    assert urlsplit(browser.current_url).path == "/" and summary(browser).startswith("1–4 of 4")


def test_trend_view_hostile_party_runs_no_script(browser, server):
    for bypass_csp in (True, False):
        browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": bypass_csp})
        open_(browser, server, "/trend?q=hostile")
        browser.execute_script(
            "document.querySelectorAll('body *').forEach(e => ['mouseover', 'mouseenter']"
            ".forEach(t => e.dispatchEvent(new MouseEvent(t, {bubbles: true}))))")
        assert browser.execute_script(f"return typeof window.{XSS_GLOBAL}") == "undefined"
        legend = browser.find_element(By.CSS_SELECTOR, ".legend").text
        assert f"<script>window.{XSS_GLOBAL}='party'</script>" in legend  # shown as text
    browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": False})


def test_trend_view_on_a_phone(browser, server):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        for path in ("/trend?q=transport", "/trend?interval=month", "/trend?q=hostile"):
            open_(browser, server, path)
            assert browser.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth"), path
            svg = browser.find_element(By.CSS_SELECTOR, ".trend-chart svg").rect
            assert 0 < svg["width"] <= 390
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_trend_view_javascript_off(nojs_browser, server):
    b = nojs_browser
    open_(b, server, "/?q=transport")
    feed = b.find_element(By.LINK_TEXT, "Atom feed").get_attribute("href")
    assert urlsplit(feed).path == "/search.atom"
    click(b, b.find_element(By.LINK_TEXT, "Trend"))
    assert len(b.find_elements(By.CSS_SELECTOR, ".trend-chart svg rect")) == 12
    assert b.find_element(By.CSS_SELECTOR, ".trend-chart svg rect").size["height"] > 0
    click(b, b.find_element(By.LINK_TEXT, "Month"))
    assert query(b) == {"q": "transport", "interval": "month"}
    assert len(b.find_elements(By.CSS_SELECTOR, ".trend-table tbody tr")) == 133
    click(b, b.find_element(By.LINK_TEXT, "2013-04"))  # a period's results
    assert query(b) == {"q": "transport", "from": "2013-04", "to": "2013-04"}
    assert summary(b).startswith("1–1 of 1 result")
