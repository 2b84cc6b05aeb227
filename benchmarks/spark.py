"""The local engine and the Spark engine (``local[2]``) side by side: wall time, CPU and peak
memory of the whole process tree (driver, JVM, Python workers), on corpora of real news
paragraphs plus edited copies (``speed.py``'s), 8 paragraphs to a document, in 8 JSONL files;
then, from Spark's event log, each of dedupe's stages on Spark (the jobs it describes as
``dedupe: ...``, ``dedupe.spark.jobs``): its wall time and the bytes it shuffled per
paragraph, and the rounds of connected components.

    python benchmarks/spark.py                         # 100k and 1M paragraphs, one round
    python benchmarks/spark.py --sizes 100000 --rounds 2

Needs pyspark and Java 17 (``pip install -e '.[spark]'``).  Both engines run as
``dedupe run`` commands and write JSONL; the outputs are compared (they must be equal).
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from speed import EDIT_RATE, HWM_EVERY, PSS_EVERY, _proc_mb, _tree, build_corpus, load_paragraphs  # noqa: E402

PER_DOC, FILES = 8, 8
_TICK = os.sysconf("SC_CLK_TCK")


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


def _cpu(pids) -> dict:
    """utime + stime (s) of each live pid, from /proc."""
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
            out[p] = (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            pass
    return out


def timed(cmd: list, env=None, log=None) -> tuple:
    """``(wall s, CPU s, peak PSS MB)`` of ``cmd``'s whole process tree: CPU is each
    process's last sampled utime + stime (every ``HWM_EVERY`` s; a JVM and its Python
    workers are not waited for, so ``RUSAGE_CHILDREN`` would miss them)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=log)
    cpu: dict = {}
    peaks = defaultdict(float)  # "all", "driver" (the dedupe process), "JVM", "workers" (the rest)
    last = 0.0
    while proc.poll() is None:
        pids = _tree(proc.pid)
        cpu.update(_cpu(pids))
        now = time.perf_counter()
        if now - last >= PSS_EVERY:
            pss = _proc_mb(pids, "smaps_rollup", "Pss:")
            parts = defaultdict(float)
            for pid, mb in pss.items():
                parts["driver" if pid == proc.pid else "JVM" if _comm(pid) == "java" else "workers"] += mb
            parts["all"] = sum(pss.values())
            for k, v in parts.items():
                peaks[k] = max(peaks[k], v)
            last = now
        time.sleep(HWM_EVERY)
    seconds = time.perf_counter() - start
    if proc.returncode:
        said = ""
        if log is not None:
            log.seek(0)
            said = "".join(log.readlines()[-40:])
        raise SystemExit(f"{said}\n{' '.join(cmd)}: exit {proc.returncode}")
    return seconds, sum(cpu.values()), dict(peaks)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def stages(event_log: Path) -> dict:
    """Per job description (``dedupe: ...``): wall seconds of its jobs, shuffle bytes
    written and read, and tasks, from a Spark event log."""
    described, out = {}, defaultdict(lambda: {"seconds": 0.0, "written": 0, "read": 0, "tasks": 0})
    started, spans = {}, defaultdict(list)
    with open(event_log, encoding="utf-8") as fh:
        for line in fh:
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerJobStart":
                what = (event.get("Properties") or {}).get("spark.job.description") or "(not described)"
                started[event["Job ID"]] = (what, event["Submission Time"])
                for stage in event["Stage IDs"]:
                    described.setdefault(stage, what)
            elif kind == "SparkListenerJobEnd" and event["Job ID"] in started:
                what, at = started[event["Job ID"]]
                spans[what].append((at, event["Completion Time"]))
            elif kind == "SparkListenerTaskEnd":
                metrics = event.get("Task Metrics") or {}
                what = described.get(event["Stage ID"], "(not described)")
                read = metrics.get("Shuffle Read Metrics") or {}
                out[what]["written"] += (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
                out[what]["read"] += read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0)
                out[what]["tasks"] += 1
    for what, intervals in spans.items():  # jobs of one stage overlap (adaptive execution runs some at once)
        end = None
        for a, b in sorted(intervals):
            a = a if end is None else max(a, end)
            if b > a:
                out[what]["seconds"] += (b - a) / 1000
            end = b if end is None else max(end, b)
    return dict(out)


_ROUNDS = re.compile(r"components: (\d+) and (\d+) rounds")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = load_paragraphs()
    print("| paragraphs | engine | wall | CPU (all processes) | peak memory (PSS): all | driver | JVM | Python workers |")
    print("|---|---|---|---|---|---|---|---|")
    profiles = {}
    for n in args.sizes:
        texts, sources, _ = build_corpus(rows, n, EDIT_RATE, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "corpus"
            write_files(src, texts, sources, args.seed)
            outs = {}
            for round_ in range(args.rounds):
                for engine in ("local", "spark"):  # alternating, so both see the same machine load
                    out = Path(tmp) / f"out-{engine}"
                    cmd = [sys.executable, "-m", "dedupe", "run", str(src), "-o", str(out), "-q", "--output-format",
                           "jsonl"]
                    env, events = None, Path(tmp) / f"events-{round_}"
                    if engine == "spark":
                        cmd += ["--engine", "spark", "--master", "local[2]", "-v"]
                        events.mkdir()
                        env = {**os.environ, "PYSPARK_SUBMIT_ARGS": "--conf spark.eventLog.enabled=true "
                               f"--conf spark.eventLog.dir={events.as_uri()} --conf spark.eventLog.rolling.enabled=false "
                               "--conf spark.eventLog.compress=false pyspark-shell"}
                    with open(Path(tmp) / "log", "w+", encoding="utf-8") as log:
                        seconds, cpu, peak = timed(cmd, env, log if engine == "spark" else None)
                        log.seek(0)
                        said = log.read()
                    outs[engine] = out
                    mem = [f"{peak.get(k, 0):,.0f} MB" for k in ("all", "driver", "JVM", "workers")]
                    print(f"| {n:,} | {engine}{' local[2]' if engine == 'spark' else ''} (round {round_ + 1}) | "
                          f"{seconds:.1f} s | {cpu:.1f} s | {' | '.join(mem)} |", flush=True)
                    if engine == "spark":
                        found = _ROUNDS.search(said)
                        logs = sorted(f for f in events.rglob("*") if f.is_file())
                        profiles[n] = (stages(logs[0]) if logs else {}, found.groups() if found else ("?", "?"))
            same = all(filecmp.cmp(outs["local"] / f, outs["spark"] / f, shallow=False)
                       for f in ("stories.jsonl", "documents.jsonl"))
            print(f"| {n:,} | outputs equal: {same} | | | | | | |", flush=True)
    print()
    print("Spark's stages (last round): wall time of the jobs each started, and shuffle bytes per paragraph")
    print()
    print("| stage | " + " | ".join(f"{n:,}: wall | written/para | read/para" for n in profiles) + " |")
    print("|---|" + "---|---|---|" * len(profiles))
    names = []
    for table, _ in profiles.values():
        names += [k for k in table if k not in names]
    for name in names:
        cells = []
        for n, (table, _) in profiles.items():
            row = table.get(name)
            cells += ([f"{row['seconds']:.1f} s", f"{row['written'] / n:,.0f} B", f"{row['read'] / n:,.0f} B"]
                      if row else ["", "", ""])
        print(f"| {name} | " + " | ".join(cells) + " |")
    for n, (table, (first, second)) in profiles.items():
        written = sum(r["written"] for r in table.values())
        print(f"\n{n:,} paragraphs: {written / n:,.0f} B shuffled (written) per paragraph in all; "
              f"connected components: {first} rounds (candidates), {second} rounds (matches)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
