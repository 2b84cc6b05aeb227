"""Persistent index on a real Redis server (started per module on a unix socket).

Skipped when redis-server or the redis client is missing -- except under CI (env CI
set), where a missing server is a failure: CI installs it and must run these.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dedupe.config import Config
from dedupe.errors import IndexSettingsError, IndexStoreError
from dedupe.fingerprint import signatures
from dedupe.index import Index
from dedupe.index.bands import band_keys, live_rows
from .test_index import NO_LEARN, P1, P2, P3, batch_verdicts, index_verdicts, sample_docs



def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Redis tests (apt-get install redis-server; pip install redis)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A throw-away redis-server on a unix socket, stopped after the module."""
    server = shutil.which("redis-server")
    if server is None:
        _unavailable("redis-server is not installed")
    try:
        import redis  # noqa: F401
    except ImportError:
        _unavailable("the redis Python client is not installed")
    folder = tmp_path_factory.mktemp("redis")
    sock = folder / "redis.sock"
    proc = subprocess.Popen([server, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                             "--save", "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    import redis

    client = redis.Redis(unix_socket_path=str(sock))
    deadline = time.time() + 10
    while True:
        try:
            if sock.exists() and client.ping():
                break
        except redis.exceptions.ConnectionError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"redis-server did not start: {proc.stdout.read().decode(errors='replace')[-2000:]}")
        time.sleep(0.05)
    client.close()
    yield f"unix://{sock}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def name(request):
    """A fresh index name per test (keys are namespaced by it)."""
    return request.node.name.replace("[", "-").replace("]", "")


def assert_redis_consistent(url, name, config=Config()):
    import redis

    r = redis.Redis.from_url(url)
    p = f"dedupe:{{{name}}}:".encode()
    docs = r.hgetall(p + b"docs")
    paras = r.hgetall(p + b"para")
    doc_pids = {int(x) for rec in docs.values() for x in np.frombuffer(rec[8:], "<i8")}
    assert doc_pids == {int(k) for k in paras}
    assert set(r.zrange(p + b"added", 0, -1)) == set(docs)
    with Index.open(url, config, name=name) as index:
        store = index._store
        pids = np.array(sorted(doc_pids), dtype=np.int64)
        sets = [rec[3] for rec in store.fetch(pids)]
    expected = {}
    if sets:
        sigs = signatures(sets, config)
        keys = band_keys(sigs, config)
        for pid, ok, ks in zip(pids.tolist(), live_rows(sigs), keys):
            if ok:
                for k in ks.tolist():
                    expected.setdefault(k, set()).add(pid)
    stored = {}
    for key in r.scan_iter(match=p + b"b:*", count=1000):
        k = int(np.frombuffer(key[len(p) + 2:], "<u8")[0])
        stored[k] = {int(np.frombuffer(m, "<i8")[0]) for m in r.smembers(key)}
    assert stored == expected
    assert int(r.get(p + b"nkeys") or 0) == len(stored)
    r.close()
    return len(docs), len(paras)


def test_samples_one_at_a_time_equal_batch(redis_url, name):
    docs = sample_docs()
    with Index.open(redis_url, NO_LEARN, name=name) as index:
        got = [s for d in docs for s in index.add([d])]
        assert index.stats().documents == len(docs)
    assert index_verdicts(got) == batch_verdicts(docs, NO_LEARN)
    assert_redis_consistent(redis_url, name, NO_LEARN)


def test_samples_batch_and_query(redis_url, name):
    docs = sample_docs()
    half = len(docs) // 2
    with Index.open(redis_url, NO_LEARN, name=name) as index:
        first = index.add(docs[:half], batch_size=5)
        asked = index.query(docs[half:])
        assert index.stats().documents == half
        rest = index.add(docs[half:])
    assert asked == rest
    assert index_verdicts(first + rest) == batch_verdicts(docs, NO_LEARN)


def test_remove_prune_stats_and_namespaces(redis_url, name):
    with Index.open(redis_url, name=name) as index, Index.open(redis_url, name=name + "-other") as other:
        index.add([{"id": "a", "source": "s1", "text": P1 + "\n\n" + P2}], added_at=1000.0)
        index.add([{"id": "b", "source": "s2", "text": P1}], added_at=2000.0)
        assert other.query([{"id": "q", "text": P1}])[0].paragraphs[0].status == "new"
        hit = index.query([{"id": "q", "text": P1}])[0].paragraphs[0].duplicate_of
        assert (hit.doc_id, hit.index, hit.source, hit.jaccard) == ("a", 0, "s1", 1.0)
        st = index.stats()
        assert (st.backend, st.documents, st.paragraphs, st.oldest, st.newest) == ("redis", 2, 3, 1000.0, 2000.0)
        assert index.prune(1500.0) == 1
        assert index.query([{"id": "q", "text": P1}])[0].paragraphs[0].duplicate_of.doc_id == "b"
        again = index.add([{"id": "b", "source": "s2", "text": P3}])[0]
        assert again.replaced and again.paragraphs[0].status == "new"
        assert index.remove(["b", "nope"]) == 1
        st = index.stats()
        assert (st.documents, st.paragraphs, st.band_keys) == (0, 0, 0)
    assert_redis_consistent(redis_url, name)


def test_settings_mismatch_on_redis(redis_url, name):
    Index.open(redis_url, name=name).close()
    with pytest.raises(IndexSettingsError, match="seed: stored 1, requested 7"):
        Index.open(redis_url, Config(seed=7), name=name)
    import redis

    r = redis.Redis.from_url(redis_url)
    r.set(f"dedupe:{{{name}}}:meta", b"\x80\x04not json")
    r.close()
    with pytest.raises(IndexStoreError, match="unreadable index metadata"):
        Index.open(redis_url, name=name)


def test_unreachable_server_and_missing_client(tmp_path, monkeypatch):
    with pytest.raises(IndexStoreError, match="cannot reach Redis"):
        Index.open(f"unix://{tmp_path}/no.sock")
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(IndexStoreError, match="pip install"):
        Index.open("redis://localhost:1/0")


def test_two_processes_share_one_index(redis_url, name):
    Index.open(redis_url, name=name).close()
    procs = [spawn_named(redis_url, name, p) for p in ("a", "b")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    verdict = {}
    for out, _ in outs:
        for line in out.splitlines():
            doc_id, statuses = json.loads(line)
            verdict[doc_id] = statuses[0]
    assert len(verdict) == 200
    for i in range(100):
        assert sorted([verdict[f"a-{i}"], verdict[f"b-{i}"]]) == ["duplicate", "new"], i
    assert assert_redis_consistent(redis_url, name) == (200, 200)


def spawn_named(url, name, prefix, count=100, batch=10):
    """The SQLite safety worker, pointed at a named Redis index."""
    from .test_index_sqlite_safety import WORKER

    code = WORKER.replace("Index.open(path)", f"Index.open(path, name={name!r})")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.Popen([sys.executable, "-c", code, url, prefix, str(count), str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_sigkill_mid_add_leaves_redis_consistent(redis_url, name):
    Index.open(redis_url, name=name).close()
    proc = spawn_named(redis_url, name, "k", count=100000, batch=40)
    assert proc.stdout.readline()  # one batch committed
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    docs, _ = assert_redis_consistent(redis_url, name)
    assert docs > 0 and docs % 40 == 0
    import redis

    r = redis.Redis.from_url(redis_url)
    r.delete(f"dedupe:{{{name}}}:lock")  # a killed writer's lock would expire after LOCK_TTL_MS
    r.close()
    with Index.open(redis_url, name=name) as index:
        index.add([{"id": "after", "text": P2}])
    assert assert_redis_consistent(redis_url, name)[0] == docs + 1


def test_cli_on_redis(redis_url, name, tmp_path):
    from click.testing import CliRunner

    from dedupe.cli import main

    feed = tmp_path / "f.jsonl"
    feed.write_text(json.dumps({"id": "a", "text": P1}) + "\n" + json.dumps({"id": "b", "text": P1}) + "\n")
    res = CliRunner().invoke(main, ["index", "add", "--index", redis_url, "--name", name, str(feed)])
    assert res.exit_code == 0, res.output
    assert [json.loads(l)["paragraphs"][0]["status"] for l in res.stdout.splitlines()] == ["new", "duplicate"]
    res = CliRunner().invoke(main, ["index", "stats", "--index", redis_url, "--name", name])
    assert json.loads(res.stdout)["documents"] == 2


def test_redis_stats_on_a_missing_index_creates_nothing(redis_url, name):
    from click.testing import CliRunner

    from dedupe.cli import main

    result = CliRunner().invoke(main, ["index", "stats", "--index", redis_url, "--name", name])
    assert result.exit_code == 7 and "no index at" in result.output
    with pytest.raises(IndexStoreError, match="no index at"):
        Index.open(redis_url, name=name, create=False)
