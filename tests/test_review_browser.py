"""The review page in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium.

Skipped when Chromium, its driver or Selenium is missing -- except under CI (env ``CI``
set), where that is a failure: ``.ci/run`` installs them and these tests must run.
With ``DEDUPE_SCREENSHOTS=FOLDER`` the screenshots the README shows are written there
(``DEDUPE_SCREENSHOTS=tests/screenshots python -m pytest tests/test_review_browser.py``).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests (apt-get install chromium chromium-driver; pip install selenium)")
    pytest.skip(reason)


def _driver_path() -> str:
    return os.environ.get("DEDUPE_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    driver_path = _driver_path()
    if not Path(driver_path).is_file():
        _missing("chromedriver is not installed")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    binary = os.environ.get("DEDUPE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser, path: Path):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get_log("performance")
    browser.get(path.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"


def _requests(browser) -> list:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _console_errors(browser) -> list:
    return [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]


def test_page_loads_from_file_without_errors_or_requests(browser, samples_out):
    page = samples_out / "review.html"
    _open(browser, page)
    assert browser.title.startswith("dedupe review")
    assert _console_errors(browser) == []
    requests = _requests(browser)
    assert requests and all(url == page.resolve().as_uri() for url in requests), requests
    # The script ran (Content-Security-Policy allowed it): the story count is live.
    browser.execute_script("document.getElementById('story-search').value = 'x'; "
                           "document.getElementById('story-search').dispatchEvent(new Event('input'))")
    assert " of " in browser.find_element("id", "story-count").text
    assert _console_errors(browser) == []


def test_stories_chips_diffs_and_removals_are_in_the_dom(browser, samples_out):
    _open(browser, samples_out / "review.html")
    stories = browser.find_elements("css selector", "details.story")
    assert len(stories) == 14
    first = stories[0]
    assert first.get_attribute("open") is not None
    assert len(first.find_elements("css selector", "summary .chip")) >= 4
    assert first.find_elements("css selector", ".variant del") or first.find_elements("css selector", ".variant ins")
    rules = {e.get_attribute("textContent") for e in browser.find_elements("css selector", "#documents td.rule")}
    assert {"advertisement", "learned-template"} <= rules
    # Following a duplicate's link opens its document and lands on the paragraph.
    link = browser.find_element("css selector", "#documents .kept-para a[href^='#d']")
    target = link.get_attribute("href").split("#", 1)[1]
    browser.execute_script("location.hash = arguments[0]", target)
    opened = browser.execute_script("var n = document.getElementById(arguments[0]); while (n && n.tagName !== 'DETAILS')"
                                    " n = n.parentElement; return n && n.open", target)
    assert opened is True


def _visible_titles(browser) -> list:
    return [s.find_element("css selector", ".story-title").get_attribute("textContent")
            for s in browser.find_elements("css selector", "details.story") if s.is_displayed()]


def test_search_and_source_filter_the_list(browser, samples_out):
    from selenium.webdriver.support.ui import Select

    _open(browser, samples_out / "review.html")
    search = browser.find_element("id", "story-search")
    search.send_keys("earthquake")
    titles = _visible_titles(browser)
    assert 1 <= len(titles) < 14 and any("quake" in t.lower() or "earthquake" in t.lower() for t in titles)
    assert browser.find_element("id", "story-count").text == f"{len(titles)} of 14 stories"
    search.clear()
    search.send_keys("no such words anywhere zzzq")
    assert _visible_titles(browser) == [] and browser.find_element("id", "no-story").is_displayed()
    search.clear()
    browser.execute_script("document.getElementById('story-search').dispatchEvent(new Event('input'))")
    assert len(_visible_titles(browser)) == 14
    Select(browser.find_element("id", "story-source")).select_by_value("coastal-courier")
    shown = [s for s in browser.find_elements("css selector", "details.story") if s.is_displayed()]
    assert shown and len(shown) < 14
    assert all("coastal-courier" in json.loads(s.get_attribute("data-sources")) for s in shown)


def test_script_in_the_input_does_not_run(browser, hostile_out):
    _open(browser, hostile_out / "review.html")
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    body = browser.find_element("tag name", "body").get_attribute("textContent")
    assert "<script>window.__pwned = 1</script>" in body
    assert browser.find_elements("css selector", "img") == []
    assert _console_errors(browser) == []


def test_screenshots(browser, samples_out):
    """The README's screenshots, when asked for (DEDUPE_SCREENSHOTS=FOLDER); else the page is
    only checked to draw at all."""
    _open(browser, samples_out / "review.html")
    folder = os.environ.get("DEDUPE_SCREENSHOTS")
    png = browser.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    if not folder:
        return
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1280, 1240)
    browser.execute_script("window.scrollTo(0, 0)")
    (out / "review-overview.png").write_bytes(browser.get_screenshot_as_png())
    browser.set_window_size(1280, 1000)
    browser.execute_script("""
        var story = document.querySelector('details.story');
        story.open = true;
        var variants = story.querySelector('details.variants');
        variants.open = true;
        story.scrollIntoView();
        window.scrollBy(0, -60);""")
    (out / "review-story.png").write_bytes(browser.get_screenshot_as_png())
