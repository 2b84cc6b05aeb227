"""Pre-commit check benchmark: ``dedupe check`` on a growing data folder, cold and warm.

    python benchmarks/check.py                    # 10k articles (100k paragraphs), ~3 minutes
    python benchmarks/check.py --docs 10000 100000
    python benchmarks/check.py --rounds 3         # best of 3 for every row
    python benchmarks/check.py --against ../old   # also the check of another checkout, side by side

Setup, as a user meets it: a git repository whose ``data/`` folder holds one .txt file per
article, one folder per source, all committed.  Articles are 10 consecutive real news
paragraphs of ``../shared/bench/data/news-paragraphs.jsonl`` (its own source); beyond
those, republished copies of a random article with 2% word edits, one in four with a
paragraph of another article, in 50 copy sources (wire copy as outlets carry it).  Rows:

* ``before`` (with ``--against DIR``): the check of another checkout, e.g. the release before the cache;
* ``cold``: ``dedupe check --no-cache`` with the new article staged (all the work, every call);
* ``build``: the first cached call, on the committed folder (cold, and writes the cache);
* ``new``: the call after a new article is staged (what the pre-commit hook meets);
* ``warm``: the next call, nothing changed;
* ``edit``: the call after one committed article was edited and committed.

Each for one file (``dedupe check data/new/new.txt``) and/or all files (``dedupe check``).
Wall time and the peak RSS of the process (``VmHWM``, kept by the kernel) are measured.
Absent corpus: says so, exits 0.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from speed import DATA, _watch, load_paragraphs  # noqa: E402

PER_DOC = 10
DEDUPE = str(Path(sys.executable).parent / "dedupe")
#: As a user's install runs: with compiled bytecode (some sandboxes set PYTHONDONTWRITEBYTECODE,
#: which makes every start compile every module: 0.3 s more a call).  The cold rows run first
#: and write the bytecode of everything.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def articles(docs: int, seed: int, rate: float = 0.02) -> list[tuple[str, str]]:
    """``docs`` (source, text) articles: real ones first, then edited copies (see the module doc)."""
    rows = load_paragraphs()
    real = []
    for k in range(0, len(rows) - PER_DOC + 1, PER_DOC):
        part = rows[k:k + PER_DOC]
        real.append((part[0].get("source", "real"), [r["text"] for r in part]))
    rng = random.Random(seed)
    vocab = [w for _, parts in real[:300] for p in parts for w in p.split()]
    out = [(source, "\n\n".join(parts)) for source, parts in real[:docs]]
    while len(out) < docs:
        _, parts = real[rng.randrange(len(real))]
        copy = [" ".join(w if rng.random() >= rate else rng.choice(vocab) for w in p.split()) for p in parts]
        if rng.random() < 0.25:
            copy.insert(rng.randrange(len(copy) + 1), rng.choice(real)[1][0])
        out.append((f"copy-{rng.randrange(50)}", "\n\n".join(copy)))
    return out


def build_repo(repo: Path, docs: int, seed: int, rate: float = 0.02) -> str:
    """The committed folder; returns the new article's text (not yet in the repository)."""
    made = articles(docs + 1, seed, rate)
    data = repo / "data"
    for d, (source, text) in enumerate(made[:docs]):
        folder = data / source
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"a{d:06d}.txt").write_text(text + "\n", encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "bench@example.invalid")
    git(repo, "config", "user.name", "bench")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "data")
    return made[docs][1] + "\n"


def stage_new(repo: Path, text: str) -> None:
    (repo / "data" / "new").mkdir(exist_ok=True)
    (repo / "data" / "new" / "new.txt").write_text(text, encoding="utf-8")
    git(repo, "add", "data/new/new.txt")


def unstage_new(repo: Path) -> None:
    git(repo, "rm", "-q", "--cached", "--ignore-unmatch", "data/new/new.txt")
    (repo / "data" / "new" / "new.txt").unlink(missing_ok=True)


def timed(repo: Path, args: list[str], tree: Path | None = None) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, exit code) of ``dedupe check ARGS`` in ``repo`` (``tree``: the
    dedupe of another checkout, run with this interpreter)."""
    started = time.perf_counter()
    cmd = [DEDUPE, "check", *args] if tree is None else [sys.executable, "-m", "dedupe", "check", *args]
    env = ENV if tree is None else dict(ENV, PYTHONPATH=str(tree))
    proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, hwm = _watch(proc)
    err = proc.stderr.read().decode()
    proc.wait()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dedupe check {' '.join(args)} failed ({proc.returncode}):\n{err}")
    return time.perf_counter() - started, hwm, proc.returncode


def edit_one(repo: Path, k: int) -> None:
    files = sorted((repo / "data").rglob("a*.txt"))
    path = files[(k * 7919) % len(files)]
    path.write_text(path.read_text(encoding="utf-8") + f"\nAn added closing line number {k} of this edited article.\n",
                    encoding="utf-8")
    git(repo, "commit", "-qam", f"edit {k}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000], help="articles in the data folder [10000]")
    parser.add_argument("--rounds", type=int, default=1, help="runs per row; the best is shown [1]")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--edit-rate", type=float, default=0.02,
                        help="word edit rate of the copies [0.02: wire copy]; 0.5 makes them distinct articles, "
                             "for folders larger than the real text (25k paragraphs) without 40 copies of each")
    parser.add_argument("--against", type=Path, help="also time the check of this checkout (e.g. the previous "
                        "release), side by side: the 'before' rows")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"benchmark corpus not found ({DATA}); nothing measured")
        return 0
    rows = []
    one = ["data/new/new.txt"]
    plan = [("cold", "one file"), ("cold", "all files"), ("build", "all files"), ("new", "one file"),
            ("warm", "one file"), ("warm", "all files"), ("edit", "one file"), ("edit", "all files")]
    for docs in args.docs:
        tmp = Path(tempfile.mkdtemp(prefix="dedupe-check-bench-"))
        try:
            new_text = build_repo(tmp, docs, args.seed, args.edit_rate)
            best: dict = {}

            def row(name, what, argv, tree=None):
                seconds, mb, code = timed(tmp, argv, tree)
                prev = best.get((name, what))
                if prev is None or seconds < prev[0]:
                    best[(name, what)] = (seconds, mb, code)

            for r in range(args.rounds):
                stage_new(tmp, new_text)
                if args.against:
                    row("before", "one file", one, args.against)
                    row("before", "all files", [], args.against)
                row("cold", "one file", ["--no-cache", *one])
                row("cold", "all files", ["--no-cache"])
                unstage_new(tmp)
                shutil.rmtree(tmp / ".git" / "dedupe", ignore_errors=True)
                row("build", "all files", [])
                stage_new(tmp, new_text)
                row("new", "one file", one)
                row("warm", "one file", one)
                row("warm", "all files", [])
                edit_one(tmp, 2 * r)
                row("edit", "one file", one)
                edit_one(tmp, 2 * r + 1)
                row("edit", "all files", [])
                unstage_new(tmp)
            size = sum(p.stat().st_size for p in (tmp / ".git" / "dedupe").iterdir())
            for name, what in ([("before", "one file"), ("before", "all files")] if args.against else []) + plan:
                seconds, mb, code = best[(name, what)]
                rows.append((docs, name, what, seconds, mb, code))
                print(f"{docs:>7} articles  {name:<5} {what:<9} {seconds:7.2f} s  {mb:7.0f} MB  exit {code}", flush=True)
            print(f"{docs:>7} articles  cache on disk: {size / 1e6:.0f} MB", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n| articles (paragraphs) | call | files | wall | peak RSS |\n|---|---|---|---|---|")
    for docs, row, what, seconds, mb, _ in rows:
        print(f"| {docs:,} ({docs * PER_DOC:,}) | {row} | {what} | {seconds:.2f} s | {mb:.0f} MB |")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
