#!/usr/bin/env python3
"""Pages per second of the cleaners, one core: ``html_to_text`` on HTML pages, ``clean_text``
on naive scrapes, this tree beside another (an export of an earlier commit).

    python benchmarks/page_speed.py [--against DIR] [--models] [--rounds 3] [--dir SET ...]

Pages are read into memory first; only the cleaning call is timed.  With ``--against`` the
two trees are measured in subprocesses, alternating round by round, so both see the same
machine load; the best round of each is reported, with the ratio.  The sets are
``../shared/bench/data/scrapinghub-dev`` and its text twin by default (any score.py-format
folder can be named with ``--dir``).  ``--models`` adds this tree with its learned models
switched on (``html.BLOCK_MODEL``, ``content.LINE_MODEL``: off by default) as a third row.
Without the data it says so and exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "bench" / "data"
DEFAULT_DIRS = (DATA / "scrapinghub-dev", DATA / "scrapinghub-text-dev")


def _pages(d: Path):
    man = json.loads((d / "manifest.json").read_text())
    sub, ext = ("html", "html") if man["input"] == "html" else ("input", "txt")
    ids = [json.loads(line)["id"] for line in (d / "meta.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return man["input"], [(d / sub / f"{i}.{ext}").read_bytes().decode("utf-8", errors="replace") for i in ids]


def measure(dirs) -> dict:
    """Seconds per set for one pass over its pages (dedupe first on sys.path)."""
    import warnings

    from dedupe import clean_text, html_to_text

    if os.environ.get("DEDUPE_BENCH_MODELS"):
        from dedupe.clean import content, html

        html.BLOCK_MODEL, content.LINE_MODEL = "html_blocks", "text_lines"
    warnings.simplefilter("ignore")
    out = {}
    for d in dirs:
        kind, pages = _pages(Path(d))
        fn = html_to_text if kind == "html" else clean_text
        fn(pages[0])  # imports, model load
        t = time.perf_counter()
        for page in pages:
            fn(page)
        out[Path(d).name] = (time.perf_counter() - t, len(pages))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", type=Path, help="another tree whose dedupe package to time beside this one")
    ap.add_argument("--models", action="store_true", help="also time this tree with its learned models on")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", action="append", type=Path, help="a score.py-format set (repeatable)")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    dirs = args.dir or [d for d in DEFAULT_DIRS if d.exists()]
    if not dirs:
        print(f"benchmark data not found under {DATA}: nothing to measure")
        return 0
    if args.json:
        print(json.dumps(measure(dirs)))
        return 0
    trees = {"this tree": (ROOT, False)}
    if args.against:
        trees[str(args.against)] = (args.against.resolve(), False)
    if args.models:
        trees["this tree, models on"] = (ROOT, True)
    best: dict = {}
    for _ in range(args.rounds):
        for name, (tree, models) in trees.items():
            env = dict(os.environ, PYTHONPATH=str(tree))
            env.pop("DEDUPE_BENCH_MODELS", None)
            if models:
                env["DEDUPE_BENCH_MODELS"] = "1"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--json"] + [a for d in dirs for a in ("--dir", str(d))]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                return 1
            for s, (sec, n) in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                key = (name, s)
                best[key] = min(best.get(key, (float("inf"), n)), (sec, n))
    print("| tree | set | pages | ms/page | pages/s |")
    print("|---|---|---|---|---|")
    for (name, s), (sec, n) in best.items():
        print(f"| {name} | {s} | {n} | {1000 * sec / n:.1f} | {n / sec:.1f} |")
    for d in dirs:
        for other in ([str(args.against)] if args.against else []) + (["this tree, models on"] if args.models else []):
            a, b = best[("this tree", d.name)], best[(other, d.name)]
            print(f"{d.name}: this tree runs at {b[0] / a[0]:.2f}x the pages per second of {other}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
