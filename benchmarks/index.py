"""Persistent index benchmark: add throughput and query latency, dedupe vs datasketch.

    python benchmarks/index.py                 # 10k documents, SQLite + Redis, ~2-3 minutes
    python benchmarks/index.py --large         # also 100k documents (opt-in: ~10x longer)
    python benchmarks/index.py --no-redis      # without a Redis server

Corpus: the news rows of ``../shared/bench/data/news-paragraphs.jsonl`` grouped by
``doc`` into documents (15k of them); beyond that, seeded copies with ~2% word edits,
some with a paragraph from another story (wire copies).  Queries are single documents,
half edited copies of added ones, half not in the index.  Absent corpus: says so, exits 0.

Engines doing the same work, documents in, per-paragraph new/duplicate out:

* ``dedupe sqlite`` / ``dedupe sqlite :memory:`` / ``dedupe redis``: ``dedupe.index.Index``;
  stores shingle sets and verifies candidates exactly (Jaccard/containment);
* ``datasketch dict`` / ``datasketch redis``: ``MinHashLSH(num_perm=128, params=(32, 4))``
  with ``storage_config`` dict or redis; same cleaner and ``fingerprint_batch`` signatures
  (wrapped as ``LeanMinHash``), ``query`` then ``insert`` per paragraph (redis inserts
  through an ``insertion_session``).  It does less: no exact verification, nothing stored
  to verify with.

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


def corpus(n: int, queries: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
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
    return docs, asks + [dict(d, id="h-" + d["id"]) for d in held_out]


# --- engines ---------------------------------------------------------------------------
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

        keys, texts = [], []
        for doc in docs:
            cleaned = clean_document(Document(id=doc["id"], source=doc["source"], text=doc["text"]), CONFIG)
            for i, text in enumerate(split_paragraphs(cleaned.text)):
                keys.append(f"{doc['id']}#{i}")
                texts.append(text)
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


def measure(name, engine, docs, asks):
    started = time.perf_counter()
    paragraphs = engine.add(docs)
    add_s = time.perf_counter() - started
    lat = []
    for doc in asks:
        t = time.perf_counter()
        engine.query(doc)
        lat.append(time.perf_counter() - t)
    engine.close()
    lat_ms = np.array(lat) * 1000
    return {"engine": name, "docs": len(docs), "paragraphs": paragraphs, "add_s": add_s,
            "docs_s": len(docs) / add_s, "paras_s": paragraphs / add_s,
            "p50_ms": float(np.percentile(lat_ms, 50)), "p99_ms": float(np.percentile(lat_ms, 99))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, action="append", help="corpus sizes (repeatable) [10000]")
    ap.add_argument("--large", action="store_true", help="also 100,000 documents")
    ap.add_argument("--queries", type=int, default=200, help="single-document queries timed [200]")
    ap.add_argument("--no-redis", action="store_true", help="skip the Redis engines")
    ap.add_argument("--only", help="comma-separated engine names to run (e.g. 'dedupe redis,datasketch redis')")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"benchmark corpus {DATA} not found; nothing measured")
        return 0
    sizes = args.docs or [10_000]
    if args.large:
        sizes.append(100_000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dedupe-index-bench-") as tmp:
        folder = Path(tmp)
        proc, sock = (None, None) if args.no_redis else start_redis(folder)
        if sock is None and not args.no_redis:
            print("redis-server not found: Redis engines skipped", file=sys.stderr)
        try:
            for n in sizes:
                docs, asks = corpus(n, args.queries)
                engines = [
                    ("dedupe sqlite", lambda: DedupeEngine(str(folder / f"i{n}.db"))),
                    ("dedupe sqlite :memory:", lambda: DedupeEngine(":memory:")),
                    ("datasketch dict", lambda: DatasketchEngine({"type": "dict"})),
                ]
                if sock:
                    engines += [
                        ("dedupe redis", lambda: DedupeEngine(f"unix://{sock}?db=0")),
                        ("datasketch redis", lambda: DatasketchEngine(
                            {"type": "redis", "basename": f"ds{n}".encode(), "redis": {"unix_socket_path": sock}})),
                    ]
                wanted = set(args.only.split(",")) if args.only else None
                for name, make in engines:
                    if wanted and name not in wanted:
                        continue
                    row = measure(name, make(), docs, asks)
                    rows.append(row)
                    print(f"  {name} @ {n}: {row['docs_s']:.0f} docs/s", file=sys.stderr, flush=True)
                if sock:
                    import redis

                    redis.Redis(unix_socket_path=sock).flushall()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
    print(f"{'engine':<24} {'docs':>7} {'paras':>7} {'add s':>7} {'docs/s':>8} {'paras/s':>8} "
          f"{'query p50 ms':>12} {'p99 ms':>8}")
    for r in rows:
        print(f"{r['engine']:<24} {r['docs']:>7} {r['paragraphs']:>7} {r['add_s']:>7.1f} {r['docs_s']:>8.0f} "
              f"{r['paras_s']:>8.0f} {r['p50_ms']:>12.2f} {r['p99_ms']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
