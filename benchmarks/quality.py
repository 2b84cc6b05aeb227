#!/usr/bin/env python3
"""Cleaning quality on the shared dev benchmarks: dedupe against its peers, one table.

    python benchmarks/quality.py [--bench DIR] [--no-peers] [--n-bootstrap N]

Runs the shared harness (``../shared/bench/score.py`` relative to the repository root,
the ScrapingHub article-extraction metric: word 4-gram precision/recall per page) on

* ``scrapinghub-dev`` (HTML pages): ``dedupe.html_to_text`` and, when installed (the
  optional ``bench`` extra: trafilatura, readability-lxml, justext), those extractors;
* ``scrapinghub-text-dev`` (naive scrapes, one line per page block): ``dedupe.clean_text``
  (named rules + content filter), the content filter alone, and the "keep everything"
  floor plus jusText / trafilatura run on the lines when installed.

Prints F1, precision, recall and speed (ms and pages per second of extraction time).
When the benchmark folder is absent it says so and exits 0: the data is not part of
the product.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import sys
import tempfile
import warnings
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BENCH = ROOT.parent / "shared" / "bench"
HTML_SET = "scrapinghub-dev"
TEXT_SET = "scrapinghub-text-dev"

#: (label, extractor spec for score.py, dataset, python module needed or None)
RUNS = (
    ("dedupe.html_to_text", "py:benchmarks.quality:dedupe_html", HTML_SET, None),
    ("trafilatura", "trafilatura", HTML_SET, "trafilatura"),
    ("readability-lxml", "readability", HTML_SET, "readability"),
    ("jusText (all stoplists)", "justext-all", HTML_SET, "justext"),
    ("dedupe.clean_text", "py:benchmarks.quality:dedupe_clean", TEXT_SET, None),
    ("dedupe content filter only", "py:benchmarks.quality:dedupe_content_only", TEXT_SET, None),
    ("identity (keep all)", "identity", TEXT_SET, None),
    ("jusText on lines", "text-justext", TEXT_SET, "justext"),
    ("trafilatura on lines", "text-trafilatura", TEXT_SET, "trafilatura"),
)


# Adapters the harness imports as py:benchmarks.quality:<name> (str -> str).
def dedupe_html(html: str) -> str:
    from dedupe import html_to_text

    return html_to_text(html)


def dedupe_clean(text: str) -> str:
    from dedupe import clean_text

    return clean_text(text)


def dedupe_content_only(text: str) -> str:
    """The content filter without the named rules: what ``filter_lines`` alone keeps."""
    from dedupe.clean.content import filter_lines

    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return "\n\n".join(l for l, why in zip(lines, filter_lines(lines)) if why is None)


def load_harness(bench: Path):
    """The shared score.py as a module, or None when the benchmark folder is absent."""
    script = bench / "score.py"
    if not script.is_file():
        return None
    spec = importlib.util.spec_from_file_location("bench_score", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_one(score, dataset: Path, extractor: str, n_bootstrap: int) -> dict:
    """One harness run; returns its JSON summary (F1/P/R, pages, extract_s)."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        out = Path(tmp) / "summary.json"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                score.main(["--dataset", str(dataset), "--extractor", extractor,
                            "--n-bootstrap", str(n_bootstrap), "--json", str(out)])
        finally:
            logging.disable(logging.NOTSET)  # the harness silences logging process-wide
        return json.loads(out.read_text())


def available(module: Optional[str]) -> bool:
    return module is None or importlib.util.find_spec(module) is not None


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="the shared bench folder (default ../shared/bench)")
    ap.add_argument("--no-peers", action="store_true", help="only dedupe's own rows")
    ap.add_argument("--n-bootstrap", type=int, default=200)
    a = ap.parse_args(argv)

    score = load_harness(a.bench)
    if score is None:
        print(f"benchmark harness not found at {a.bench}/score.py: nothing to measure (skipped)")
        return 0
    sys.path.insert(0, str(ROOT))  # so the harness can import benchmarks.quality and dedupe
    rows = []
    for label, extractor, ds, module in RUNS:
        dataset = a.bench / "data" / ds
        if not (dataset / "manifest.json").is_file():
            rows.append((label, ds, None, "dataset absent"))
            continue
        if a.no_peers and not label.startswith("dedupe"):
            continue
        if not available(module):
            rows.append((label, ds, None, f"not installed ({module}); pip install '.[bench]'"))
            continue
        rows.append((label, ds, run_one(score, dataset, extractor, a.n_bootstrap), ""))

    print(f"{'extractor':30s} {'dataset':22s} {'F1':>6s} {'P':>6s} {'R':>6s} {'ms/page':>8s} {'pages/s':>8s}")
    for label, ds, m, note in rows:
        if m is None:
            print(f"{label:30s} {ds:22s} {'-':>6s} {'-':>6s} {'-':>6s} {'-':>8s} {'-':>8s}  {note}")
            continue
        ms = 1000.0 * m["extract_s"] / max(1, m["pages"])
        pps = m["pages"] / m["extract_s"] if m["extract_s"] > 0 else float("inf")
        print(f"{label:30s} {ds:22s} {m['f1']:6.3f} {m['precision']:6.3f} {m['recall']:6.3f} {ms:8.1f} {pps:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
