"""The local engine and the Spark engine (``local[2]``) side by side: wall time, CPU and peak
memory of the whole process tree (driver, JVM, Python workers), on corpora of real news
paragraphs plus edited copies (``speed.py``'s), 8 paragraphs to a document, in 8 JSONL files.

    python benchmarks/spark.py                         # 100k and 1M paragraphs, one round
    python benchmarks/spark.py --sizes 100000 --rounds 2

Needs pyspark and Java 17 (``pip install -e '.[spark]'``).  Both engines run as
``dedupe run`` commands and write JSONL; the outputs are compared (they must be equal).
"""
from __future__ import annotations

import argparse
import filecmp
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from speed import EDIT_RATE, _watch, build_corpus, load_paragraphs  # noqa: E402

PER_DOC, FILES = 8, 8


def write_files(folder: Path, texts, sources, seed: int) -> None:
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    folder.mkdir()
    handles = [open(folder / f"part-{i:02d}.jsonl", "w", encoding="utf-8") for i in range(FILES)]
    for d in range(0, len(order), PER_DOC):
        chunk = order[d:d + PER_DOC]
        record = {"id": f"d{d // PER_DOC}", "source": sources[chunk[0]], "text": "\n\n".join(texts[i] for i in chunk)}
        handles[(d // PER_DOC) % FILES].write(json.dumps(record) + "\n")
    for h in handles:
        h.close()


def timed(cmd: list) -> tuple:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    peak, _ = _watch(proc)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}")
    return seconds, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = load_paragraphs()
    print("| paragraphs | engine | wall | CPU | peak memory (PSS, all processes) |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        texts, sources, _ = build_corpus(rows, n, EDIT_RATE, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "corpus"
            write_files(src, texts, sources, args.seed)
            outs = {}
            for round_ in range(args.rounds):
                for engine in ("local", "spark"):  # alternating, so both see the same machine load
                    out = Path(tmp) / f"out-{engine}"
                    cmd = [sys.executable, "-m", "dedupe", "run", str(src), "-o", str(out), "-q", "--output-format", "jsonl"]
                    if engine == "spark":
                        cmd += ["--engine", "spark", "--master", "local[2]"]
                    seconds, cpu, peak = timed(cmd)
                    outs[engine] = out
                    # The JVM and its Python workers are not this process's children: their CPU is not in
                    # RUSAGE_CHILDREN, so only the local engine's CPU is printed.
                    shown_cpu = f"{cpu:.1f} s" if engine == "local" else "not counted"
                    print(f"| {n:,} | {engine}{' local[2]' if engine == 'spark' else ''} (round {round_ + 1}) | "
                          f"{seconds:.1f} s | {shown_cpu} | {peak:,.0f} MB |", flush=True)
            same = all(filecmp.cmp(outs["local"] / f, outs["spark"] / f, shallow=False)
                       for f in ("stories.jsonl", "documents.jsonl"))
            print(f"| {n:,} | outputs equal: {same} | | | |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
