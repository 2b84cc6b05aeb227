#!/usr/bin/env python3
"""Speed of the cleaner alone, on one core: paragraphs per second of ``clean_document``.

    python benchmarks/clean_speed.py [--docs 2500] [--repeat 5]
    python benchmarks/clean_speed.py --against DIR    # also time the dedupe package under DIR

Documents are 8 real news paragraphs each (``../shared/bench/data/news-paragraphs.jsonl``,
shuffled with a fixed seed), cleaned with the per-source template lines learned from all of
them, as the pipeline does; only the cleaning is timed (not reading, learning or the worker
pool).  ``--against`` runs the same measurement on another checkout (e.g. an export of
``HEAD``) in a subprocess, alternating with this one, so a before/after comparison on a
shared machine sees the same load.  When the benchmark data is absent the script says so and
exits 0.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "bench" / "data" / "news-paragraphs.jsonl"
#: Paragraphs per document: a typical news article after cleaning.
PARAGRAPHS_PER_DOC = 8


def measure(n_docs: int, repeat: int) -> float:
    """Best-of-``repeat`` paragraphs per second of cleaning ``n_docs`` documents (dedupe on sys.path)."""
    from dedupe.clean.cleaner import clean_document, split_lines
    from dedupe.clean.learned import learn_templates
    from dedupe.config import Config
    from dedupe.model import Document

    with DATA.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    random.Random(1).shuffle(rows)
    k = PARAGRAPHS_PER_DOC
    docs = [Document(id=f"d{i}", source=rows[i * k]["source"], text="\n\n".join(r["text"] for r in rows[i * k:(i + 1) * k]))
            for i in range(min(n_docs, len(rows) // k))]
    config = Config()
    learned = learn_templates(((d.source, split_lines(d.text)) for d in docs), config)
    jobs = [(d, *learned.get(d.source, (frozenset(), 0))) for d in docs]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for doc, template, pages in jobs:
            clean_document(doc, config, template, f"{pages} pages", text=doc.text)
        best = min(best, time.perf_counter() - t)
    return len(docs) * k / best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=2500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--against", type=Path, help="another checkout whose dedupe package is timed too")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds with --against")
    ap.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)  # subprocess: print the figure only
    ap.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)  # subprocess: whose dedupe
    args = ap.parse_args(argv)
    if not DATA.is_file():
        print(f"benchmark data absent: {DATA} not found; nothing measured")
        return 0
    if args.raw or args.against is None:
        sys.path.insert(0, str(args.tree))
        rate = measure(args.docs, args.repeat)
        print(f"{rate:.0f}" if args.raw else f"{rate:,.0f} paragraphs/s cleaning (one core, {args.docs} docs of {PARAGRAPHS_PER_DOC} paragraphs)")
        return 0

    def run(tree: Path) -> float:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--raw", "--tree", str(tree),
               "--docs", str(args.docs), "--repeat", str(args.repeat)]
        return float(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=str(tree)).stdout)

    rates = {"this": [], "against": []}
    for _ in range(args.rounds):
        rates["against"].append(run(args.against.resolve()))
        rates["this"].append(run(ROOT))
    for label, tree in (("against", args.against.resolve()), ("this", ROOT)):
        print(f"{label:8s} {max(rates[label]):>9,.0f} paragraphs/s  (rounds: {', '.join(f'{r:,.0f}' for r in rates[label])})  {tree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
