"""Speed benchmark of fingerprinting and LSH, with a recall check on planted near-duplicates.

    python benchmarks/speed.py                      # default run, ~1-2 minutes
    python benchmarks/speed.py --paragraphs 1000000 # more paragraphs for the dedupe rows
    python benchmarks/speed.py --end-to-end         # also `dedupe run` at 100k and 1M paragraphs
    python benchmarks/speed.py --skip-measure --end-to-end --end-to-end-sizes 1000000 \
        --against ../old-checkout --rounds 2          # `dedupe run` here and in another tree, alternating

The corpus is the real news paragraphs of ``../shared/bench/data/news-paragraphs.jsonl``
(relative to the repository root), repeated with small random word edits at a known rate
(seeded) up to N paragraphs: every copy is a planted near-duplicate of its original.
The benchmark material is not part of the project; when it is absent this script says so
and exits 0 without measuring.

Peers run on a subsample (they are slow) and every rate is paragraphs per second of the
same work: raw paragraph text in, a 128-permutation MinHash signature out, with the same
shingles (word 3-grams of ``dedupe.normalize.tokens``).  Ratios are measured side by
side in one run, which matters on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedupe.candidates import (Matches, band_keys, buckets, candidate_pairs, cross_matches, earliest_matches,
                               verify)
from dedupe.cluster import connected_components
from dedupe.config import Config
from dedupe.fingerprint import fingerprint_batch, signatures
from dedupe.normalize import tokens

BENCH = ROOT.parent / "shared" / "bench"
DATA = BENCH / "data" / "news-paragraphs.jsonl"
#: Probability that a word of a copy is edited (replaced, dropped or a word inserted after
#: it): ~1 edit per 50 words, like a wire copy with an edited attribution or lede.
EDIT_RATE = 0.02
#: Peer subsample sizes: big enough for a stable rate, small enough for a ~2 minute run.
SUB_UPDATE, SUB_BULK, SUB_RENSA, SUB_LSH = 300, 2000, 20000, 20000


def load_paragraphs() -> list[dict]:
    with DATA.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def build_corpus(rows: list[dict], n: int, rate: float, seed: int) -> tuple[list[str], list[str], np.ndarray]:
    """n texts: the originals first, then edited copies; returns texts, sources, planted pairs."""
    rng = random.Random(seed)
    originals = [r["text"] for r in rows][:n]
    texts, sources = list(originals), [r.get("source", "") for r in rows][:n]
    vocab = [w for t in originals[:2000] for w in t.split()]
    planted = []
    while len(texts) < n:
        k = rng.randrange(len(originals))
        words = originals[k].split()
        out = []
        for w in words:
            if rng.random() >= rate:
                out.append(w)
                continue
            op = rng.randrange(3)
            if op == 0:
                out.append(rng.choice(vocab))
            elif op == 2:
                out.extend((w, rng.choice(vocab)))
        planted.append((k, len(texts)))
        texts.append(" ".join(out))
        sources.append(f"copy-{rng.randrange(50)}")
    return texts, sources, np.array(planted, dtype=np.int64).reshape(-1, 2)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def shingle_strings(text: str, n: int) -> list[str]:
    """The peers' shingles: the same word n-grams (short paragraphs: one of all tokens)."""
    toks = tokens(text)
    if not toks:
        return []
    if len(toks) < n:
        return [" ".join(toks)]
    return [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def peer_datasketch_update(texts, cfg):
    from datasketch import MinHash

    out = []
    for text in texts:
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        for s in shingle_strings(text, cfg.shingle_size):
            m.update(s.encode("utf-8"))
        out.append(m.hashvalues)
    return out


def peer_datasketch_bulk(texts, cfg):
    from datasketch import MinHash

    sets = [[s.encode("utf-8") for s in shingle_strings(t, cfg.shingle_size)] for t in texts]
    return MinHash.bulk(sets, num_perm=cfg.num_perm, seed=cfg.seed)


def peer_rensa_loop(texts, cfg):
    import rensa

    out = []
    for text in texts:
        m = rensa.RMinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        m.update(shingle_strings(text, cfg.shingle_size))
        out.append(m.digest())
    return out


def peer_rensa_matrix(texts, cfg):
    import rensa

    sets = [shingle_strings(t, cfg.shingle_size) for t in texts]
    return rensa.RMinHash.digest_matrix_from_token_sets(sets, cfg.num_perm, cfg.seed)


def peer_lsh(sigs, cfg):
    """datasketch MinHashLSH with the same bands x rows: insert all, query all."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
    sketches = [MinHash(seed=cfg.seed, hashvalues=row, scheme="affine32") for row in sigs]
    for i, m in enumerate(sketches):
        lsh.insert(i, m)
    return sum(len(lsh.query(m)) for m in sketches)


def measure(args) -> None:
    cfg = Config()
    rows = load_paragraphs()
    texts, _, planted = build_corpus(rows, args.paragraphs, EDIT_RATE, args.seed)
    n = len(texts)
    print(f"corpus: {n} paragraphs ({len(rows)} real, {len(planted)} edited copies, edit rate {EDIT_RATE})")

    (sets, sigs), t_fp = timed(fingerprint_batch, texts, cfg)
    (_, t_sig) = timed(signatures, sets, cfg)
    table = [("dedupe fingerprint_batch (text -> shingles + signatures)", n, t_fp)]
    table.append(("  of which signatures() from shingle sets", n, t_sig))
    sub = texts[: max(SUB_RENSA, SUB_BULK, SUB_UPDATE)]
    _, t_ded_sub = timed(fingerprint_batch, sub, cfg)
    table.append((f"dedupe fingerprint_batch on the {len(sub)}-paragraph subsample", len(sub), t_ded_sub))
    peers = [
        ("datasketch MinHash.update per shingle", peer_datasketch_update, SUB_UPDATE),
        ("datasketch MinHash.bulk", peer_datasketch_bulk, SUB_BULK),
    ]
    try:
        import rensa  # noqa: F401

        peers += [
            ("rensa RMinHash.update per paragraph", peer_rensa_loop, SUB_RENSA),
            ("rensa digest_matrix_from_token_sets", peer_rensa_matrix, SUB_RENSA),
        ]
    except ImportError:
        print("rensa not installed: its rows are skipped (pip install rensa)")
    for name, fn, size in peers:
        _, t = timed(fn, texts[:size], cfg)
        table.append((name, size, t))

    pairs, t_lsh = timed(candidate_pairs, sigs, cfg)
    table.append(("dedupe candidate_pairs (LSH banding)", n, t_lsh))
    lsh_sub = min(SUB_LSH, n)
    _, t_lsh_sub = timed(candidate_pairs, sigs[:lsh_sub], cfg)
    table.append((f"dedupe candidate_pairs on {lsh_sub}", lsh_sub, t_lsh_sub))
    _, t_dlsh = timed(peer_lsh, sigs[:lsh_sub], cfg)
    table.append(("datasketch MinHashLSH insert+query", lsh_sub, t_dlsh))
    matches, t_ver = timed(verify, pairs, sets, cfg)
    table.append((f"dedupe verify ({len(pairs)} candidate pairs)", n, t_ver))
    labels, t_cc = timed(connected_components, n, np.array([(m.a, m.b) for m in matches]).reshape(-1, 2))
    table.append((f"dedupe connected_components ({len(matches)} edges)", n, t_cc))
    # What `dedupe run` does instead of verifying every candidate pair (dedupe.candidates).
    values = np.concatenate(sets)
    offsets = np.concatenate(([0], np.cumsum([len(x) for x in sets]))).astype(np.int64)
    start = time.perf_counter()
    keys, live = band_keys(sigs, cfg)
    shared = buckets(keys, live)
    first = earliest_matches(shared, n, values, offsets, cfg)
    run_labels = connected_components(n, first.pairs)
    more = cross_matches(shared, run_labels, values, offsets, cfg, first)
    run_matches = Matches.join(first, more)
    run_labels = connected_components(n, run_matches.pairs)
    t_run = time.perf_counter() - start
    table.append((f"dedupe run's matching (buckets, earliest + cross-component: {len(run_matches)} verified)", n, t_run))

    # Ratios: dedupe's rate on the same subsample over the peer's rate, measured in this run.
    ref_fp, ref_lsh = rate(len(sub), t_ded_sub), rate(lsh_sub, t_lsh_sub)
    print(f"\n{'what':<62} {'paragraphs':>10} {'seconds':>8} {'para/s':>11} {'dedupe is':>10}")
    for name, count, seconds in table:
        r = rate(count, seconds)
        base = ref_lsh if "LSH" in name else ref_fp
        ratio = "" if name.lstrip().startswith(("dedupe", "of which")) else f"{base / r:9.1f}x"
        print(f"{name:<62} {count:>10} {seconds:>8.2f} {r:>11,.0f} {ratio:>10}")

    # Peak memory of the fingerprint + LSH stages (numpy reports its buffers to tracemalloc).
    tracemalloc.start()
    s2, g2 = fingerprint_batch(texts, cfg)
    candidate_pairs(g2, cfg)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del s2, g2
    print(f"\npeak traced memory, fingerprint + LSH of {n} paragraphs: {peak / 2**20:,.0f} MB;"
          f" process max RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")

    # Recall: planted pairs that pass the exact rule must end in one cluster.
    qualifying = verify(planted, sets, cfg)
    same = sum(run_labels[m.a] == run_labels[m.b] for m in qualifying)
    recall = same / len(qualifying) if qualifying else 1.0
    print(f"recall of planted near-duplicates (dedupe run's clusters): {same}/{len(qualifying)} = {recall:.4f}"
          f" ({len(planted) - len(qualifying)} planted copies edited below the thresholds)")
    identical = np.array_equal(run_labels, labels)
    print(f"dedupe run's clusters equal those of all {len(matches)} verified candidate pairs: {identical}")
    # Precision of merges: every verified edge passes the rule, rechecked with Python sets.
    bad = 0
    run_list = list(run_matches)
    for m in random.Random(1).sample(run_list, min(2000, len(run_list))):
        a, b = set(sets[m.a].tolist()), set(sets[m.b].tolist())
        inter, small = len(a & b), min(len(a), len(b))
        ok = inter / len(a | b) >= cfg.jaccard_threshold or (
            inter / small >= cfg.containment_threshold and small >= cfg.min_containment_shingles
        )
        bad += not ok
    print(f"merged pairs below the verification rule: {bad} of {min(2000, len(run_list))} rechecked")
    if recall < 0.99 or bad or not identical:
        print("FAIL: recall below 0.99 or a merge below the threshold")


def write_documents(path: Path, texts: list[str], sources: list[str], per_doc: int, seed: int) -> None:
    """Paragraphs grouped into documents of ``per_doc`` (shuffled, seeded) as JSONL."""
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    with path.open("w", encoding="utf-8") as fh:
        for d in range(0, len(order), per_doc):
            chunk = order[d : d + per_doc]
            body = "\n\n".join(texts[i] for i in chunk)
            fh.write(json.dumps({"id": f"d{d // per_doc}", "source": sources[chunk[0]], "text": body}) + "\n")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc, for the samplers), the children of every
    thread included (a JVM starts Spark's Python workers from other threads than its main one)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
            except OSError:
                pass
    return out


def _proc_mb(pids: list[int], name: str, field: str) -> dict[int, float]:
    """``field`` (in kB) of ``/proc/<pid>/<name>`` for each live pid, in MB."""
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/{name}") as fh:
                for line in fh:
                    if line.startswith(field):
                        out[p] = int(line.split()[1]) / 1024
                        break
        except OSError:
            pass
    return out


#: Seconds between samples of the summed PSS.  Reading ``smaps_rollup`` makes the kernel
#: walk the page tables, ~20 ms of CPU for a 1.5 GB process: every 50 ms it took a third
#: of a core from the run it measured (py-spy, 1M paragraphs).
PSS_EVERY = 0.25
#: Seconds between reads of the main process's own peak RSS (``VmHWM``: cheap, and exact).
HWM_EVERY = 0.05


def _watch(proc: subprocess.Popen) -> tuple[float, float]:
    """Until ``proc`` ends: the peak of the summed PSS of its process tree (sampled every
    ``PSS_EVERY`` s; pages shared by forked processes counted once), and the main
    process's own peak RSS (exact, kept by the kernel).  A sum of every process's peak
    RSS would count the pages a forked child shares with its parent once per child."""
    pss_peak, hwm, last_pss = 0.0, 0.0, 0.0
    while proc.poll() is None:
        hwm = max(hwm, _proc_mb([proc.pid], "status", "VmHWM:").get(proc.pid, 0.0))
        now = time.perf_counter()
        if now - last_pss >= PSS_EVERY:
            pss_peak = max(pss_peak, sum(_proc_mb(_tree(proc.pid), "smaps_rollup", "Pss:").values()))
            last_pss = now
        time.sleep(HWM_EVERY)
    return pss_peak, hwm


def end_to_end(args) -> list[tuple[int, float, float, float]]:
    """`dedupe run` through the CLI: wall time, peak memory of the whole process tree
    (``_watch``) and CPU.  Returns ``(paragraphs, seconds, peak PSS MB, main peak RSS MB)``."""
    log = subprocess.run(["git", "-C", str(ROOT), "ls-files", "dedupe/pipeline.py", "dedupe/cli/__init__.py"],
                         check=False, capture_output=True, text=True).stdout.split()
    if len(log) < 2:
        print("end-to-end: dedupe/pipeline.py and dedupe/cli/__init__.py are not committed yet; skipped")
        return []
    rows = load_paragraphs()
    out = []
    trees = [("this tree", ROOT)] + ([(str(args.against), args.against)] if args.against else [])
    for n in args.end_to_end_sizes:
        texts, sources, _ = build_corpus(rows, n, EDIT_RATE, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "corpus.jsonl"
            write_documents(src, texts, sources, per_doc=8, seed=args.seed)
            for round_ in range(args.rounds):
                for name, tree in trees:  # alternating, so both trees see the same machine load
                    cmd = [sys.executable, "-m", "dedupe", "run", str(src), "-o", str(Path(tmp) / "out"), "-q",
                           "--workers", str(args.workers)]
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    start = time.perf_counter()
                    proc = subprocess.Popen(cmd, cwd=tree)  # `-m dedupe` imports the tree it runs in
                    peak, hwm = _watch(proc)
                    seconds = time.perf_counter() - start
                    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = (usage.ru_utime + usage.ru_stime) - (before.ru_utime + before.ru_stime)
                    print(f"end-to-end [{name}, round {round_ + 1}] `dedupe run --workers {args.workers}` {n:>9,} "
                          f"paragraphs: {seconds:7.1f} s, {rate(n, seconds):9,.0f} para/s, peak memory (PSS, all "
                          f"processes) {peak:,.0f} MB (main process peak RSS {hwm:,.0f} MB), CPU {cpu:.1f} s "
                          f"(all processes), exit {proc.returncode}", flush=True)
                    if tree == ROOT and round_ == 0:
                        out.append((n, seconds, peak, hwm))
    if len(out) >= 2:
        (n0, t0, *_), (n1, t1, *_) = out[0], out[-1]
        print(f"growth {n0:,} -> {n1:,} paragraphs: {t1 / t0:.1f}x the time for {n1 / n0:.0f}x the paragraphs")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=200_000, help="corpus size for the dedupe rows [200000]")
    parser.add_argument("--seed", type=int, default=7, help="seed of the edits [7]")
    parser.add_argument("--end-to-end", action="store_true", help="also time `dedupe run` (slow)")
    parser.add_argument("--end-to-end-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2, help="`dedupe run --workers` for the end-to-end rows [2]")
    parser.add_argument("--skip-measure", action="store_true", help="only the end-to-end run")
    parser.add_argument("--against", type=Path, help="also run the end-to-end rows in this tree (a checkout of an "
                        "earlier commit), alternating with this one")
    parser.add_argument("--rounds", type=int, default=1, help="end-to-end rounds per tree [1]")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"benchmark data not found at {DATA} (../shared/bench relative to the repository root): skipped")
        return 0
    if not args.skip_measure:
        measure(args)
    if args.end_to_end:
        end_to_end(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
