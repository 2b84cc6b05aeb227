"""The review page (``dedupe report``, ``dedupe run --review``), read as HTML.

These tests parse the page with BeautifulSoup; ``tests/test_review_browser.py`` loads it in
headless Chromium.  ``tests/gold/review-samples.html`` is the page of ``samples/``: when the
page or the run's output changes on purpose, rewrite it with
``DEDUPE_UPDATE_GOLD=1 python -m pytest tests/test_review.py``.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from dedupe.errors import InputError
from dedupe.review import build, render, word_diff, write_review

from .conftest import SAMPLES, run_cli

GOLD = Path(__file__).resolve().parent / "gold" / "review-samples.html"
ACTUAL = Path(__file__).resolve().parent / "actual"


def page(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def test_word_diff_marks_insertions_and_deletions():
    ops = word_diff("Shares rose 3.2 percent in late trading.", "Shares rose 3 percent in early trading on Friday.")
    assert ("del", "3.2") in ops and ("ins", "3") in ops
    assert ("del", "late") in ops and ("ins", "early") in ops
    assert "".join(t for op, t in ops if op != "ins") == "Shares rose 3.2 percent in late trading."
    assert "".join(t for op, t in ops if op != "del") == "Shares rose 3 percent in early trading on Friday."
    assert word_diff("same words", "same words") == [("same", "same words")]


def test_samples_page_shows_stories_chips_diffs_and_removals(samples_out):
    soup = page(samples_out / "review.html")
    stories = soup.select("details.story")
    report = json.loads((samples_out / "report.json").read_text())
    assert len(stories) == report["stories"] == 14
    # Sorted by number of sources: the three multi-source stories first.
    counts = [len(json.loads(s["data-sources"])) for s in stories]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 4
    titles = " ".join(s.select_one(".story-title").get_text() for s in stories[:3])
    assert "Halvorsen" in titles and "Corvane" in titles
    halvorsen = next(s for s in stories if "Halvorsen" in s.select_one(".story-title").get_text())
    chips = {c.get_text() for c in halvorsen.select("summary .chip")}
    assert {"wire-service", "daily-herald", "tech-ledger", "northern-star", "regional-briefs"} <= chips
    # A paragraph carried by several outlets lists each variant with its diff against the canonical.
    shared = [p for p in halvorsen.select(".para.shared") if p.select(".variant del, .variant ins")]
    assert shared, "no variant with a word-level diff"
    first = halvorsen.select(".para.shared")[0]
    canonical = first.select_one(".para-text").get_text()
    diffs = [v.select_one(".diff") for v in first.select(".variant") if v.select_one(".diff")]
    assert diffs
    for diff in diffs:
        kept = "".join(n.get_text() if n.name != "ins" else "" for n in diff.children)
        assert kept == canonical  # deletions + unchanged words spell the canonical paragraph
    canon = first.select_one(".variant.canonical")
    assert canon is not None and canon.select_one(".diff") is None  # its text is the paragraph's, not repeated
    # A paragraph whose cluster other stories carry too names them: in the samples, the stock
    # "did not respond to a request for comment" of two stories that must stay apart.
    elsewhere = soup.select(".elsewhere a[href^='#story-']")
    assert len(elsewhere) == 2 and all(soup.find(id=a["href"][1:]) is not None for a in elsewhere)
    assert {a.find_parent("details", class_="story")["id"] for a in elsewhere} == {a["href"][1:] for a in elsewhere}
    # Removals: the --explain view of each document.
    rules = {td.get_text() for td in soup.select("#documents td.rule")}
    assert {"advertisement", "share-prompt", "learned-template"} <= rules
    # A duplicate paragraph links to the paragraph it was verified against, which is on the page.
    links = soup.select("#documents .kept-para a[href^='#d']")
    assert links and all(soup.find(id=a["href"][1:]) is not None for a in links)
    # Overview: removals by rule and the threshold lines on the similarity histograms.
    assert "learned-template" in soup.select_one("#overview svg").get_text()
    assert len(soup.select("#overview line.threshold")) == 2
    assert report["thresholds"] == {"jaccard": 0.5, "containment": 0.8}


def test_page_is_self_contained_and_allows_only_its_own_script(samples_out):
    html = (samples_out / "review.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "lxml")
    scripts = soup.find_all("script")
    assert len(scripts) == 1 and not scripts[0].get("src")
    assert not soup.select("link[href], img[src], iframe, object, embed")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    digest = base64.b64encode(hashlib.sha256(scripts[0].string.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_input_text_is_escaped(hostile_out):
    html = (hostile_out / "review.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "lxml")
    assert len(soup.find_all("script")) == 1  # only the page's own
    assert not soup.find_all("img") and not soup.find_all("b")
    assert "window.__pwned = 1" in soup.get_text() and "<script>window.__pwned = 1</script>" in soup.get_text()
    assert "&lt;script&gt;" in html
    chips = {c.get_text() for c in soup.select(".chip")}
    assert "<b>bold</b>-wire" in chips
    assert any("evil-2\"'><script>" in n.get_text() for n in soup.select(".docname"))


def test_limits_bound_the_page_and_say_what_is_left_out(samples_out, tmp_path):
    data = build(samples_out, max_stories=2, max_listed=3, max_documents=4)
    assert len(data["stories"]) == 2 and len(data["listed"]) == 3 and data["unlisted"] == 14 - 5
    assert len(data["documents"]) == 4 and data["documents_cut"]
    soup = BeautifulSoup(render(samples_out, max_stories=2, max_listed=3, max_documents=4), "lxml")
    note = soup.select_one("#limits").get_text(" ", strip=True)
    assert "the 2 stories with the most sources" in note and "next 3" in note and "other 9" in note
    assert "the first 4 documents of the stories shown" in note and "of 25 in the run" in note and "--stories N" in note
    assert len(soup.select("details.story")) == 2 and len(soup.select("table.listed tbody tr")) == 3
    # Variants in documents beyond the limit are counted, not shown.
    assert any(p.more_variants for s in data["stories"] for p in s.paragraphs)
    assert "more not shown" in soup.select_one(".variants").get_text()
    # The overview still counts the whole run.
    assert soup.select_one("#count-documents").get_text() == "25"


def test_same_output_same_page(samples_out, tmp_path):
    first = write_review(samples_out, tmp_path / "a.html").read_bytes()
    second = write_review(samples_out, tmp_path / "b.html").read_bytes()
    assert first == second == (samples_out / "review.html").read_bytes()


def _scrubbed(html: str) -> str:
    """The page without what may differ between runs (time, version) and without its CSS and
    script, which are the package's own files (and would only copy them into the gold page)."""
    html = re.sub(r"<dd>[0-9.]+ s</dd>", "<dd>SECONDS s</dd>", html)
    html = re.sub(r"<style>.*?</style>", "<style>STYLE</style>", html, flags=re.S)
    html = re.sub(r"<script>.*?</script>", "<script>SCRIPT</script>", html, flags=re.S)
    html = re.sub(r"'sha256-[^']+'", "'sha256-HASH'", html)
    return re.sub(r"dedupe [0-9][^\s<\"]*", "dedupe VERSION", html)


def test_gold_page_of_the_samples(samples_out):
    actual = _scrubbed((samples_out / "review.html").read_text(encoding="utf-8"))
    if os.environ.get("DEDUPE_UPDATE_GOLD"):
        GOLD.parent.mkdir(exist_ok=True)
        GOLD.write_text(actual, encoding="utf-8")
    expected = GOLD.read_text(encoding="utf-8")
    if actual != expected:
        ACTUAL.mkdir(exist_ok=True)
        (ACTUAL / GOLD.name).write_text(actual, encoding="utf-8")
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "gold", "actual"))[:60])
        pytest.fail(f"the samples' review page differs from {GOLD} (actual in {ACTUAL / GOLD.name}; "
                    f"DEDUPE_UPDATE_GOLD=1 rewrites the gold page):\n{diff}")


def test_report_command_errors(tmp_path):
    result = run_cli("report", tmp_path / "missing")
    assert result.exit_code != 0 and "no such folder" in result.output
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "report.json").write_text("{}")
    result = run_cli("report", tmp_path / "half")
    assert result.exit_code != 0 and "not a dedupe output folder (no stories.jsonl, documents.jsonl)" in result.output
    with pytest.raises(InputError, match=r"documents.jsonl:2: not valid JSON"):
        bad = tmp_path / "bad"
        bad.mkdir()
        (bad / "report.json").write_text('{"documents": 2}')
        (bad / "stories.jsonl").write_text("")
        (bad / "documents.jsonl").write_text('{"id": "a", "paragraphs": [], "text": ""}\n{oops\n')
        build(bad)


def test_report_command_writes_where_asked(samples_out, tmp_path):
    dest = tmp_path / "sub" / "page.html"
    result = run_cli("report", samples_out, "-o", dest, "--stories", "1")
    assert result.exit_code == 0, result.output
    assert len(page(dest).select("details.story")) == 1
    result = run_cli("report", samples_out, "-o", tmp_path)
    assert result.exit_code == 2 and "is a directory" in result.output  # a usage error (click)
    (tmp_path / "plain").write_text("a file")
    result = run_cli("report", samples_out, "-o", tmp_path / "plain" / "page.html")
    assert result.exit_code == 4 and "cannot write the review page" in result.output
    result = run_cli("report", tmp_path / "plain")
    assert result.exit_code == 3 and "is a file, not a folder" in result.output


def test_an_output_with_its_review_is_still_replaced(samples_out, tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", SAMPLES, "-o", out, "-q", "--review").exit_code == 0
    assert (out / "review.html").is_file()
    assert run_cli("run", SAMPLES, "-o", out, "-q").exit_code == 0  # replaced: review.html is ours
    assert not (out / "review.html").exists()


def test_a_hand_edited_output_is_shown_not_a_traceback(tmp_path):
    out = tmp_path / "edited"
    out.mkdir()
    (out / "report.json").write_text('{"documents": "many", "removals_by_rule": [1, 2], "thresholds": "high"}')
    (out / "stories.jsonl").write_text('{"id": 7, "sources": ["a"], "documents": ["x"], "paragraphs": [{"cluster": null}], '
                                       '"text": "Only text."}\n')
    (out / "documents.jsonl").write_text(
        '{"id": "x", "source": null, "text": "Only text.", "removed": [{"rule": "ad", "text": null}],'
        ' "paragraphs": [{"index": 0, "cluster": "c1", "duplicate_of": {"jaccard": "high", "containment": NaN}}]}\n')
    soup = BeautifulSoup(render(out), "lxml")
    assert soup.select_one("#count-documents").get_text() == "many"
    assert "Only text." in soup.select_one("#stories").get_text()
