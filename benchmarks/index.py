"""Persistent index benchmark: add throughput and query latency, dedupe vs datasketch.

    python benchmarks/index.py                 # 10k documents, every engine, ~2 minutes
    python benchmarks/index.py --large         # also 100k documents (datasketch redis alone: ~8 min)
    python benchmarks/index.py --docs 100000 --only "dedupe sqlite,dedupe sqlite :memory:,datasketch dict"
    python benchmarks/index.py --no-redis      # without a Redis server

Corpus: the news rows of ``../shared/bench/data/news-paragraphs.jsonl`` grouped by
``doc`` into documents (15k of them); beyond that, seeded copies with ~2% word edits,
some with a paragraph from another story (wire copies).  Queries are single documents,
half edited copies of added ones, half not in the index.  Absent corpus: says so, exits 0.

Every engine gets the same ``Document`` objects (built before timing) and does the same
work: the same cleaner (``clean_document``), the same paragraphs and the same MinHash
signatures (``fingerprint_batch``), an LSH lookup of 32 bands x 4 rows, and per paragraph
a new/duplicate answer:

* ``dedupe sqlite`` (a file) / ``dedupe sqlite :memory:`` / ``dedupe redis``:
  ``dedupe.index.Index``.  It does more: verifies every candidate exactly
  (Jaccard/containment on shingle sets), names the earliest matching paragraph, stores
  the shingle sets to verify with, and (file) commits each batch durably in WAL mode;
* ``datasketch dict`` / ``datasketch redis``: ``MinHashLSH(num_perm=128, params=(32, 4))``
  with ``storage_config`` dict or redis; the signatures wrapped as ``LeanMinHash``,
  ``query`` then ``insert`` per paragraph (redis inserts through an ``insertion_session``);
* ``shared: clean + fingerprint``: that common work alone, for reference -- the floor
  under every engine's numbers.

Engines run in two groups, the in-process ones (with the shared-work row) and the Redis
ones.  In a group, add runs engine after engine; then the query phase interleaves them
(each document is asked of every engine in turn, in a rotating order), so a noisy
neighbour on the machine hits them alike, and no engine's query runs in caches another
group's slow Redis round trips have just cooled.  The pairing table compares like with like: datasketch dict lives in
process memory, as ``dedupe sqlite :memory:`` does; datasketch has no file backend, so
the default ``dedupe sqlite`` file is shown against datasketch dict too.  A ratio is how
many times faster dedupe is (add: docs/s over docs/s; query: ms over ms); >= 1 means
at least as fast.

The Redis server is started here on a unix socket in a temporary folder (``--save ''``).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedupe.clean.cleaner import clean_document  # noqa: E402
from dedupe.config import Config  # noqa: E402
from dedupe.fingerprint import fingerprint_batch  # noqa: E402
from dedupe.index import Index  # noqa: E402
from dedupe.model import Document  # noqa: E402
from dedupe.paragraphs import split_paragraphs  # noqa: E402

DATA = ROOT.parent / "shared" / "bench" / "data" / "news-paragraphs.jsonl"
CONFIG = Config(learn_min_documents=10**9)
#: Per-word edit probability of a copy (~1 edit in 50 words, an edited wire copy).
EDIT_RATE = 0.02
BATCH = 1000
SHARED = "shared: clean + fingerprint"
#: (dedupe engine, datasketch engine, what they share).
PAIRS = (
    ("dedupe sqlite :memory:", "datasketch dict", "same backend: process memory"),
    ("dedupe sqlite", "datasketch dict", "dedupe's default file (WAL, durable) vs datasketch in memory"),
    ("dedupe redis", "datasketch redis", "same backend: Redis on a unix socket"),
)


def load_documents() -> list[dict]:
    docs: dict = {}
    with DATA.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            doc = docs.setdefault(row["doc"], {"id": row["doc"], "source": row["source"], "parts": []})
            doc["parts"].append(row["text"])
    return [{"id": d["id"], "source": d["source"], "text": "\n\n".join(d["parts"])} for d in docs.values()]


def edited(doc: dict, rng: random.Random, ident: str, others: list[dict]) -> dict:
    """A copy with word edits; one in four also takes a paragraph from another story."""
    parts = []
    for para in doc["text"].split("\n\n"):
        words = [w if rng.random() > EDIT_RATE else rng.choice(("said", "reported", "officials", "on Monday"))
                 for w in para.split()]
        parts.append(" ".join(words))
    if rng.random() < 0.25:
        parts.append(rng.choice(others)["text"].split("\n\n")[0])
    return {"id": ident, "source": f"copy{rng.randrange(20)}", "text": "\n\n".join(parts)}


def corpus(n: int, queries: int, seed: int = 7) -> tuple[list[Document], list[Document]]:
    real = load_documents()
    rng = random.Random(seed)
    rng.shuffle(real)
    held_out, real = real[: queries // 2], real[queries // 2 :]
    docs = real[:n]
    k = 0
    while len(docs) < n:
        docs.append(edited(real[k % len(real)], rng, f"copy-{k}", real))
        k += 1
    asks = [edited(rng.choice(docs), rng, f"q-{i}", real) for i in range(queries - len(held_out))]
    asks += [dict(d, id="h-" + d["id"]) for d in held_out]
    as_doc = lambda d: Document(id=d["id"], source=d["source"], text=d["text"])  # noqa: E731
    return [as_doc(d) for d in docs], [as_doc(d) for d in asks]


# --- engines ---------------------------------------------------------------------------
def _paragraph_texts(docs):
    """What every engine starts from: the cleaned paragraphs of each document."""
    keys, texts = [], []
    for doc in docs:
        for i, text in enumerate(split_paragraphs(clean_document(doc, CONFIG).text)):
            keys.append(f"{doc.id}#{i}")
            texts.append(text)
    return keys, texts


class DedupeEngine:
    def __init__(self, location: str):
        self.index = Index.open(location, CONFIG)

    def add(self, docs):
        return sum(len(d.paragraphs) for d in self.index.iter_add(docs, batch_size=BATCH))

    def query(self, doc):
        return self.index.query([doc])

    def close(self):
        self.index.close()


class DatasketchEngine:
    def __init__(self, storage: dict):
        from datasketch import MinHashLSH

        self.lsh = MinHashLSH(num_perm=CONFIG.num_perm, params=(CONFIG.bands, CONFIG.rows), storage_config=storage)
        self.redis = storage["type"] == "redis"

    def _sketches(self, docs):
        from datasketch import LeanMinHash

        keys, texts = _paragraph_texts(docs)
        _, sigs = fingerprint_batch(texts, CONFIG)
        return keys, [LeanMinHash(seed=CONFIG.seed, hashvalues=s, scheme="affine32") for s in sigs]

    def add(self, docs):
        total = 0
        for lo in range(0, len(docs), BATCH):
            keys, sketches = self._sketches(docs[lo : lo + BATCH])
            verdicts = [bool(self.lsh.query(m)) for m in sketches]
            if self.redis:
                with self.lsh.insertion_session(buffer_size=50000) as session:
                    for key, m in zip(keys, sketches):
                        session.insert(key, m, check_duplication=False)
            else:
                for key, m in zip(keys, sketches):
                    self.lsh.insert(key, m, check_duplication=False)
            total += len(verdicts)
        return total

    def query(self, doc):
        _, sketches = self._sketches([doc])
        return [bool(self.lsh.query(m)) for m in sketches]

    def close(self):
        pass


class SharedWork:
    """Only the work every engine does before its index: clean, split, fingerprint."""

    def add(self, docs):
        total = 0
        for lo in range(0, len(docs), BATCH):
            _, texts = _paragraph_texts(docs[lo : lo + BATCH])
            fingerprint_batch(texts, CONFIG)
            total += len(texts)
        return total

    def query(self, doc):
        return fingerprint_batch(_paragraph_texts([doc])[1], CONFIG)

    def close(self):
        pass


def start_redis(folder: Path):
    server = shutil.which("redis-server")
    if server is None:
        return None, None
    sock = folder / "redis.sock"
    proc = subprocess.Popen([server, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(unix_socket_path=str(sock))
    for _ in range(200):
        try:
            if client.ping():
                break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    client.flushall()
    return proc, str(sock)


def measure(engines, docs, asks) -> list[dict]:
    """Add the corpus to each engine in turn, then ask every engine each query in a rotating order."""
    rows = []
    for name, engine in engines:
        started = time.perf_counter()
        paragraphs = engine.add(docs)
        add_s = time.perf_counter() - started
        rows.append({"engine": name, "docs": len(docs), "paragraphs": paragraphs, "add_s": add_s,
                     "docs_s": len(docs) / add_s, "paras_s": paragraphs / add_s, "lat": []})
        print(f"  {name} @ {len(docs)}: {len(docs) / add_s:.0f} docs/s", file=sys.stderr, flush=True)
    for i, doc in enumerate(asks):
        for k in range(len(engines)):
            j = (i + k) % len(engines)
            started = time.perf_counter()
            engines[j][1].query(doc)
            rows[j]["lat"].append(time.perf_counter() - started)
    for (_, engine), row in zip(engines, rows):
        engine.close()
        lat_ms = np.array(row.pop("lat")) * 1000
        row["p50_ms"], row["p99_ms"] = (float(np.percentile(lat_ms, q)) for q in (50, 99))
    return rows


def print_tables(rows: list[dict]) -> None:
    print(f"{'engine':<28} {'docs':>7} {'paras':>7} {'add s':>7} {'docs/s':>8} {'paras/s':>8} "
          f"{'query p50 ms':>12} {'p99 ms':>8}")
    for r in rows:
        print(f"{r['engine']:<28} {r['docs']:>7} {r['paragraphs']:>7} {r['add_s']:>7.1f} {r['docs_s']:>8.0f} "
              f"{r['paras_s']:>8.0f} {r['p50_ms']:>12.2f} {r['p99_ms']:>8.2f}")
    print()
    print("pairing (times faster: dedupe / datasketch; >= 1.00 means dedupe at least as fast)")
    print(f"{'dedupe':<24} {'vs':<18} {'docs':>7} {'add':>6} {'p50':>6} {'p99':>6}  note")
    by = {(r["engine"], r["docs"]): r for r in rows}
    for ours, theirs, note in PAIRS:
        for n in sorted({r["docs"] for r in rows}):
            a, b = by.get((ours, n)), by.get((theirs, n))
            if a and b:
                print(f"{ours:<24} {theirs:<18} {n:>7} {a['docs_s'] / b['docs_s']:>6.2f} "
                      f"{b['p50_ms'] / a['p50_ms']:>6.2f} {b['p99_ms'] / a['p99_ms']:>6.2f}  {note}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, action="append", help="corpus sizes (repeatable) [10000]")
    ap.add_argument("--large", action="store_true", help="also 100,000 documents")
    ap.add_argument("--queries", type=int, default=1000, help="single-document queries timed per engine [1000]")
    ap.add_argument("--no-redis", action="store_true", help="skip the Redis engines")
    ap.add_argument("--only", help="comma-separated engine names to run (e.g. 'dedupe redis,datasketch redis')")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"benchmark corpus {DATA} not found; nothing measured")
        return 0
    sizes = args.docs or [10_000]
    if args.large:
        sizes.append(100_000)
    wanted = set(args.only.split(",")) if args.only else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="dedupe-index-bench-") as tmp:
        folder = Path(tmp)
        use_redis = not args.no_redis and (wanted is None or any("redis" in w for w in wanted))
        proc, sock = start_redis(folder) if use_redis else (None, None)
        if sock is None and use_redis:
            print("redis-server not found: Redis engines skipped", file=sys.stderr)
        try:
            for n in sizes:
                docs, asks = corpus(n, args.queries)
                groups = [[
                    (SHARED, SharedWork),
                    ("dedupe sqlite", lambda: DedupeEngine(str(folder / f"i{n}.db"))),
                    ("dedupe sqlite :memory:", lambda: DedupeEngine(":memory:")),
                    ("datasketch dict", lambda: DatasketchEngine({"type": "dict"})),
                ]]
                if sock:
                    groups.append([
                        ("dedupe redis", lambda: DedupeEngine(f"unix://{sock}?db=0")),
                        ("datasketch redis", lambda: DatasketchEngine(
                            {"type": "redis", "basename": f"ds{n}".encode(), "redis": {"unix_socket_path": sock}})),
                    ])
                for makers in groups:
                    engines = [(name, make()) for name, make in makers if wanted is None or name in wanted]
                    if engines:
                        rows += measure(engines, docs, asks)
                if sock:
                    import redis

                    redis.Redis(unix_socket_path=sock).flushall()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
    print_tables(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
