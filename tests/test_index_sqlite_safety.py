"""SQLite index under concurrent writers and a SIGKILL mid-add: nothing lost, always consistent."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from dedupe.config import Config
from dedupe.fingerprint import signatures
from dedupe.index import Index
from dedupe.index.bands import band_keys, live_rows, unpack_shingles

ROOT = Path(__file__).resolve().parent.parent

WORKER = textwrap.dedent("""
    import json, sys
    from dedupe.index import Index
    path, prefix, count, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    import random
    def text(i):
        # paragraph i is the same for every prefix: workers add copies of each other's text
        rng = random.Random(i)
        return f"Story {i} opens here. " + " ".join(f"w{rng.randrange(5000)}" for _ in range(40)) + "."
    docs = ({"id": f"{prefix}-{i}", "source": prefix, "text": text(i)} for i in range(count))
    with Index.open(path) as index:
        for status in index.iter_add(docs, batch_size=batch):
            print(json.dumps([status.doc_id, [p.status for p in status.paragraphs]]), flush=True)
""")


def spawn(path, prefix, count, batch):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", WORKER, str(path), prefix, str(count), str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def assert_consistent(path, config=Config()):
    """Documents, paragraphs and stored band keys agree with each other exactly, and a
    fresh connection's buckets hold exactly the live paragraphs' keys."""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    docs = {d: (first, n) for d, first, n in db.execute("SELECT doc_id, first_pid, paragraphs FROM documents")}
    rows = db.execute("SELECT pid, doc_id, shingles FROM paragraphs ORDER BY pid").fetchall()
    assert sorted(pid for pid, _, _ in rows) == sorted(p for first, n in docs.values() for p in range(first, first + n))
    assert all(first <= pid < first + n for pid, doc_id, _ in rows for first, n in [docs[doc_id]])
    expected = {}
    if rows:
        sigs = signatures([unpack_shingles(r[2]) for r in rows], config)
        live = live_rows(sigs)
        keys = band_keys(sigs, config)
        for (pid, _, _), ok, ks in zip(rows, live, keys):
            if ok:
                expected[pid] = ks.tolist()
    stored = {pid: np.frombuffer(blob, "<u8").tolist() for pid, blob in db.execute("SELECT pid, keys FROM bands")}
    assert stored == expected
    db.close()
    buckets = {}
    for pid, ks in expected.items():
        for k in ks:
            buckets.setdefault(k, set()).add(pid)
    with Index.open(path, config) as index:
        store = index._store
        with store.reading():
            probe = np.array(sorted(buckets), dtype=np.uint64)
            pos, pids = store.lookup(probe)
        assert index.stats().band_keys == len(buckets)
    got = {}
    for at, pid in zip(pos.tolist(), pids.tolist()):
        got.setdefault(int(probe[at]), set()).add(pid)
    assert got == buckets
    return len(docs), len(rows)


def test_two_processes_adding_at_once_lose_nothing_and_serialise(tmp_path):
    path = tmp_path / "i.db"
    Index.open(path).close()
    procs = [spawn(path, p, 150, 10) for p in ("a", "b")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert assert_consistent(path) == (300, 300)
    # Both added the same texts: for each one exactly one copy was new (adds are serialised).
    import json
    verdict = {}
    for out, _ in outs:
        for line in out.splitlines():
            doc_id, statuses = json.loads(line)
            verdict[doc_id] = statuses[0]
    for i in range(150):
        assert sorted([verdict[f"a-{i}"], verdict[f"b-{i}"]]) == ["duplicate", "new"], i


def test_sigkill_mid_add_leaves_a_consistent_index(tmp_path):
    path = tmp_path / "i.db"
    Index.open(path).close()
    for round_, delay in enumerate((1.0, 1.6)):
        proc = spawn(path, f"k{round_}", 100000, 40)
        # Wait until at least one batch is committed, then kill during a later one.
        deadline = time.time() + 60
        while time.time() < deadline:
            line = proc.stdout.readline()
            if line:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        docs, paras = assert_consistent(path)
        assert docs > 0 and docs % 40 == 0, docs  # whole batches only
    with Index.open(path) as index:
        index.add([{"id": "after", "text": "A paragraph added after the crash, to show the index still works."}])
        assert index.stats().documents == docs + 1
    assert_consistent(path)
