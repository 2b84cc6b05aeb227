"""The review page at scale: a 100k-document run, its page's size, the time to write it and
the time headless Chromium takes to load it.

The corpus is ``speed.py``'s (real news paragraphs of ``../shared/bench/data/news-paragraphs.jsonl``
plus edited copies), grouped 8 paragraphs to a document: 100,000 documents are 800,000
paragraphs.  ``dedupe run`` writes the output once; then, for each set of limits,
``dedupe report`` is timed (wall, peak RSS) and the page is loaded ``--loads`` times from
``file://`` in headless Chromium (Debian's ``chromium`` + ``chromium-driver``, via Selenium),
reading the Navigation Timing entry: DOM loaded (``domContentLoadedEventEnd``) and load
(``loadEventEnd``), plus the first search keystroke's filter time.

    python benchmarks/review.py                       # 100k documents, default limits and two larger ones
    python benchmarks/review.py --documents 20000 --limits 200,2000,1000
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from speed import EDIT_RATE, build_corpus, load_paragraphs, write_documents  # noqa: E402

PER_DOC = 8


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


#: Runs the CLI in-process and prints its own peak RSS (``VmHWM``, KB) last on stderr.  Not
#: ``ru_maxrss``: Linux carries it over fork and exec, so a child would report this
#: benchmark's own size (the corpus it built) whenever that is larger.
_WRAPPER = ("import atexit, re, sys; from dedupe.cli import main; "
            "atexit.register(lambda: print('maxrss', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1), "
            "file=sys.stderr)); sys.argv = ['dedupe'] + sys.argv[1:]; main()")


def _timed_cli(args: list) -> tuple:
    """``(wall s, peak RSS MB, CPU s)`` of ``dedupe ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"dedupe {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    rss = int(proc.stderr.strip().splitlines()[-1].split()[1]) / 1024
    return seconds, rss, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _load(driver, page: Path) -> dict:
    driver.get("about:blank")
    driver.get(page.resolve().as_uri())
    timing = driver.execute_script(
        "var t = performance.getEntriesByType('navigation')[0];"
        "return {dom: t.domContentLoadedEventEnd, load: t.loadEventEnd};")
    search = driver.execute_script(
        "var s = document.getElementById('story-search'); var t0 = performance.now();"
        "s.value = 'the'; s.dispatchEvent(new Event('input')); return performance.now() - t0;")
    return {"dom": timing["dom"] / 1000, "load": timing["load"] / 1000, "search": search / 1000,
            "nodes": driver.execute_script("return document.getElementsByTagName('*').length")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--limits", nargs="+", default=["100,2000,500", "200,2000,1000", "1000,10000,5000"],
                        help="stories,listed,documents per page (dedupe report --stories --listed --documents)")
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.documents * PER_DOC
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "corpus.jsonl", Path(tmp) / "out"
        texts, sources, _ = build_corpus(load_paragraphs(), n, EDIT_RATE, args.seed)
        write_documents(src, texts, sources, per_doc=PER_DOC, seed=args.seed)
        seconds, _, _ = _timed_cli(["run", str(src), "-o", str(out), "-q"])
        stories = sum(1 for _ in (out / "stories.jsonl").open(encoding="utf-8"))
        print(f"run: {args.documents:,} documents, {n:,} paragraphs, {stories:,} stories in {seconds:.1f} s; "
              f"documents.jsonl {(out / 'documents.jsonl').stat().st_size / 1e6:,.0f} MB, "
              f"stories.jsonl {(out / 'stories.jsonl').stat().st_size / 1e6:,.0f} MB", flush=True)
        driver = _browser()
        try:
            print("| stories shown / listed / documents shown | page size | `dedupe report` wall (CPU) | peak RSS "
                  "| DOM loaded, median (max) | load event | first search | elements |")
            print("|---|---|---|---|---|---|---|---|")
            for limits in args.limits:
                shown, listed, docs = (int(x) for x in limits.split(","))
                page = Path(tmp) / f"review-{shown}.html"
                wall, rss, cpu = _timed_cli(["report", str(out), "-o", str(page), "--stories", str(shown),
                                             "--listed", str(listed), "--documents", str(docs)])
                loads = [_load(driver, page) for _ in range(args.loads)]
                dom = [x["dom"] for x in loads]
                print(f"| {shown:,} / {listed:,} / {docs:,} | {page.stat().st_size / 1e6:.1f} MB | {wall:.1f} s "
                      f"({cpu:.1f} s) | {rss:,.0f} MB | {statistics.median(dom):.2f} s ({max(dom):.2f} s) "
                      f"| {statistics.median(x['load'] for x in loads):.2f} s "
                      f"| {statistics.median(x['search'] for x in loads):.2f} s | {loads[0]['nodes']:,} |", flush=True)
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
