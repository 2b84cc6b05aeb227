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

    python benchmarks/quality.py --sets [--train ~/.cache/dedupe-bench] [--json FILE] [SET ...]

prints the per-set table of issue 12 instead: for each of the six training-pool sets and
scrapinghub-dev, HTML and the naive-scrape text twin, dedupe beside trafilatura,
readability-lxml and jusText (where installed), with ms per page, and each set's target
(HTML: trafilatura's F1, 0.965 on scrapinghub-dev; text: 70% of the way from keep-everything
to 1 on the article sets, keep-everything itself on CleanEval).  The shipped cleaner fits
nothing (its learned models are off), so its row on a set is already "not fitted on it";
``python -m dedupe.clean.training --loso`` gives the learned models' leave-one-set-out rows.
Unpack the pool first: ``python ../shared/bench/unpack_train.py ~/.cache/dedupe-bench``.
Peers' figures are cached under ``--train``/peer-scores (they do not change between runs).
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
from typing import Dict, List, Optional, Sequence

from dedupe.clean.training import SETS as TRAINING_SETS, set_dir

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


# --- the per-set table (--sets) ------------------------------------------------------------

#: The sets of the table, in its order; the article sets (the others are CleanEval's broad notion
#: of content, where the text target is not falling below keep-everything).
SETS = TRAINING_SETS
ARTICLE_SETS = ("dragnet", "l3s-gn1", "readability", "cleanportaleval", "scrapinghub-dev")
DEFAULT_TRAIN = Path.home() / ".cache" / "dedupe-bench"
#: (column, harness extractor, module needed) per input kind.
HTML_EXTRACTORS = (("dedupe", "py:benchmarks.quality:dedupe_html", None), ("trafilatura", "trafilatura", "trafilatura"),
                   ("readability", "readability", "readability"), ("jusText", "justext-all", "justext"))
TEXT_EXTRACTORS = (("dedupe", "py:benchmarks.quality:dedupe_clean", None), ("keep all", "identity", None),
                   ("trafilatura", "text-trafilatura", "trafilatura"), ("jusText", "text-justext", "justext"))


def set_folder(bench: Path, train: Path, name: str, text: bool) -> Path:
    """A set's folder: scrapinghub-dev (or its text twin) in the shared bench, the others in ``train``."""
    return set_dir(train, bench / "data", name, text)


_HARNESS = None


def _page_job(args):
    """One page through one extractor: (tp, fp, fn) and the extraction time (a worker process)."""
    global _HARNESS
    bench, folder, extractor, pid = args
    import time

    if _HARNESS is None:
        sys.path.insert(0, str(ROOT))
        _HARNESS = (load_harness(Path(bench)), {})
    score, fns = _HARNESS
    if extractor not in fns:
        fns[extractor] = score.get_extractor(extractor, 60, False)[0]
    folder = Path(folder)
    man = json.loads((folder / "manifest.json").read_text())
    raw = score.input_path(folder, man, pid).read_bytes()
    page = score.decode(raw)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        try:
            out = fns[extractor](page) or ""
        except Exception:  # a peer that fails on a page scores it empty, as the harness does
            out = ""
        dt = time.perf_counter() - t
    logging.disable(logging.NOTSET)
    return score.shingle_tp_fp_fn(score.load_gold(folder, man, pid), out), dt


def score_set(pool, score, bench: Path, folder: Path, extractor: str) -> dict:
    """F1 / P / R (the harness's per-page averages) and ms per page of one extractor on one set."""
    _, pages = score.load_dataset(folder)
    res = pool.map(_page_job, [(str(bench), str(folder), extractor, p["id"]) for p in pages], chunksize=4)
    m = score.shingle_metrics([r[0] for r in res])
    return {"f1": m["f1"], "precision": m["precision"], "recall": m["recall"], "pages": len(pages),
            "ms_per_page": 1000.0 * sum(r[1] for r in res) / max(1, len(pages))}


def target(name: str, text: bool, row: Dict[str, dict]) -> Optional[float]:
    """The issue-12 target F1 for dedupe on a set (None when the peer it is set by is absent)."""
    if not text:
        if name == "scrapinghub-dev":
            return 0.965
        return row["trafilatura"]["f1"] if "trafilatura" in row else None
    k = row["keep all"]["f1"]
    return k + 0.7 * (1.0 - k) if name in ARTICLE_SETS else k


def _peer_cache(train: Path, folder: Path, label: str, extractor: str, module: Optional[str]) -> Path:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version({"readability": "readability-lxml"}.get(module, module)) if module else ""
    except PackageNotFoundError:
        ver = ""
    return train / "peer-scores" / f"{folder.name}--{extractor.replace(':', '_')}--{ver}.json"


def sets_table(bench: Path, train: Path, names: Sequence[str], peers: bool, json_out: Optional[Path]) -> int:
    from multiprocessing import Pool

    score = load_harness(bench)
    if score is None:
        print(f"benchmark harness not found at {bench}/score.py: nothing to measure (skipped)")
        return 0
    results: Dict[str, Dict[str, Dict[str, dict]]] = {"html": {}, "text": {}}
    with Pool(2) as pool:
        for kind, extractors in (("html", HTML_EXTRACTORS), ("text", TEXT_EXTRACTORS)):
            text = kind == "text"
            for name in names:
                folder = set_folder(bench, train, name, text)
                if not (folder / "manifest.json").is_file():
                    print(f"{name} ({kind}): absent at {folder} (unpack: python {bench}/unpack_train.py {train})")
                    continue
                row = results[kind].setdefault(name, {})
                for label, extractor, module in extractors:
                    if (label not in ("dedupe", "keep all") and not peers) or not available(module):
                        continue
                    cache = _peer_cache(train, folder, label, extractor, module) if label != "dedupe" else None
                    if cache is not None and cache.is_file():
                        row[label] = json.loads(cache.read_text())
                        continue
                    row[label] = score_set(pool, score, bench, folder, extractor)
                    if cache is not None:
                        cache.parent.mkdir(parents=True, exist_ok=True)
                        cache.write_text(json.dumps(row[label]))
                print(_table_line(name, kind, row), flush=True)
    print()
    for kind, extractors in (("html", HTML_EXTRACTORS), ("text", TEXT_EXTRACTORS)):
        cols = [label for label, _, _ in extractors if any(label in r for r in results[kind].values())]
        print(f"| {kind} set | pages | " + " | ".join(f"{c} F1 (ms/page)" for c in cols) + " | target | met |")
        print("|---|---|" + "---|" * (len(cols) + 2))
        for name, row in results[kind].items():
            t = target(name, kind == "text", row)
            cells = [f"{row[c]['f1']:.3f} ({row[c]['ms_per_page']:.1f})" if c in row else "-" for c in cols]
            met = "-" if t is None else ("yes" if row["dedupe"]["f1"] >= t - 5e-4 else f"no ({row['dedupe']['f1'] - t:+.3f})")
            print(f"| {name} | {row['dedupe']['pages']} | " + " | ".join(cells) + f" | {'-' if t is None else f'{t:.3f}'} | {met} |")
        print()
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return 0


def _table_line(name: str, kind: str, row: Dict[str, dict]) -> str:
    return f"{name:16s} {kind}: " + "  ".join(f"{label} {m['f1']:.3f} P {m['precision']:.3f} R {m['recall']:.3f} "
                                               f"{m['ms_per_page']:.1f} ms" for label, m in row.items())


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="the shared bench folder (default ../shared/bench)")
    ap.add_argument("--no-peers", action="store_true", help="only dedupe's own rows")
    ap.add_argument("--n-bootstrap", type=int, default=200)
    ap.add_argument("--sets", action="store_true", help="the per-set table over the training pool and scrapinghub-dev")
    ap.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="where the training pool is unpacked")
    ap.add_argument("--json", type=Path, default=None, help="with --sets: write the figures as JSON")
    ap.add_argument("names", nargs="*", help="with --sets: only these sets")
    a = ap.parse_args(argv)
    if a.sets:
        return sets_table(a.bench, a.train.expanduser(), a.names or SETS, not a.no_peers, a.json)

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
