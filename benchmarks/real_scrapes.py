#!/usr/bin/env python3
"""Noise left and article text removed on real scraped bodies, against hand labels.

    python benchmarks/real_scrapes.py [--against DIR] [--show]

The corpus is ``../shared/bench/data/fnc1-train-bodies.jsonl`` (1,683 real scraped article
bodies of many outlets, with their noise).  ``benchmarks/labels/fnc1_sample.json`` labels, by
hand, every line of 60 of them (every 28th row): which lines are scraper noise (captions,
credits, "Scroll down for video", related links, tweet metadata ...).  It holds line numbers
and 8-character hashes only, no publisher text; a line whose hash no longer matches is
reported and left out.

The whole corpus is cleaned as ``dedupe run`` cleans it (``clean_documents``: per-source
templates and corpus-wide boilerplate learned over all 1,683 bodies, one source, as the file
names none), then for the 60 labelled bodies it counts noise lines left and article lines
removed.  ``--against DIR`` runs the same count with the dedupe package under DIR (an export
of an earlier commit) in a subprocess, for a before/after table.  ``--show`` lists the
lines behind the counts.  Without the benchmark data it says so and exits 0.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "bench" / "data" / "fnc1-train-bodies.jsonl"
LABELS = ROOT / "benchmarks" / "labels" / "fnc1_sample.json"


def _lines(text: str):
    return [line.strip() for line in text.split("\n") if line.strip()]


def count(show: bool = False) -> dict:
    """Counts with whichever ``dedupe`` is first on sys.path."""
    from dedupe.config import Config
    from dedupe.model import Document
    from dedupe.pipeline import clean_documents

    rows = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    docs = [Document(id=str(r["id"]), source="fnc1", text=r["text"]) for r in rows]
    cleaned = {c.document.id: c for c in clean_documents(docs, Config())}
    out = Counter()
    shown = []
    for entry in labels["documents"]:
        row = rows[entry["row"]]
        lines = _lines(row["text"])
        kept = Counter(cleaned[str(row["id"])].paragraphs)
        noise = set(entry["noise"])
        for i, line in enumerate(lines):
            if hashlib.sha1(line.encode("utf-8")).hexdigest()[:8] != entry["line_sha1"][i]:
                out["stale"] += 1
                continue
            is_kept = kept[line] > 0
            if is_kept:
                kept[line] -= 1
            kind = "noise" if i in noise else "article"
            out[kind] += 1
            if kind == "noise" and is_kept:
                out["noise_left"] += 1
                shown.append(("noise left", row["id"], line))
            elif kind == "article" and not is_kept:
                out["article_removed"] += 1
                shown.append(("article removed", row["id"], line))
    if show:
        for what, doc, line in shown:
            print(f"  {what:16s} {doc:>6}  {line[:110]}")
    return dict(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", type=Path, help="a checkout or export whose dedupe package to count too")
    ap.add_argument("--show", action="store_true", help="list the noise lines left and article lines removed")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not DATA.exists():
        print(f"benchmark data not found at {DATA}: nothing to measure")
        return 0
    if args.json:
        print(json.dumps(count()))
        return 0
    results = {}
    if args.against:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json"], cwd=args.against,
                              env={"PYTHONPATH": str(args.against.resolve())}, capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return 1
        results[str(args.against)] = json.loads(proc.stdout.strip().splitlines()[-1])
    results["this tree"] = count(args.show)
    print("| tree | labelled lines (noise / article) | noise left | article lines removed |")
    print("|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r.get('noise', 0) + r.get('article', 0)} ({r.get('noise', 0)} / {r.get('article', 0)}) | "
              f"{r.get('noise_left', 0)} | {r.get('article_removed', 0)} |" + (f" ({r['stale']} stale)" if r.get("stale") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
