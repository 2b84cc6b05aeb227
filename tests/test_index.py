"""Persistent index (SQLite): incremental equals batch, settings checks, lifecycle, CLI."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

import dedupe
from dedupe.cli import main
from dedupe.config import Config
from dedupe.errors import IndexSettingsError, IndexStoreError, InputError
from dedupe.index import Index
from dedupe.index.settings import FORMAT_VERSION, settings_record
from dedupe.read import read_paths

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
BENCH = ROOT.parent / "shared" / "bench" / "data" / "news-paragraphs.jsonl"
#: Learned templates need the whole corpus; the index cleans one document at a time.
NO_LEARN = Config(learn_min_documents=10**9)

P1 = ("Officials in the northern province said on Tuesday that flood waters had begun to recede "
      "after three days of heavy rain, allowing thousands of residents to return to their homes.")
P2 = ("The central bank left its benchmark interest rate unchanged at its monthly meeting, citing "
      "persistent inflation in food and energy prices and a weaker currency.")
P3 = "Analysts had expected the decision, which was announced after markets closed in the capital."


def batch_verdicts(docs, config):
    """(doc, index, duplicate_of) per paragraph of one batch run, as documents.jsonl has it:
    the earliest verified band match before it."""
    from dedupe.write import document_records

    out = []
    for record in document_records(dedupe.run(docs, config)):
        for p in record["paragraphs"]:
            d = p["duplicate_of"]
            out.append((record["id"], p["index"],
                        None if d is None else (d["document"], d["paragraph"], d["jaccard"], d["containment"])))
    return out


def index_verdicts(statuses):
    out = []
    for doc in statuses:
        for p in doc.paragraphs:
            d = p.duplicate_of
            out.append((doc.doc_id, p.index, None if d is None else (d.doc_id, d.index, d.jaccard, d.containment)))
    return out


def sample_docs():
    return list(read_paths([str(SAMPLES)], NO_LEARN))


def test_samples_one_at_a_time_equal_batch(tmp_path):
    docs = sample_docs()
    expected = batch_verdicts(docs, NO_LEARN)
    assert any(of for _, _, of in expected), "samples should hold near-duplicates"
    with Index.open(tmp_path / "i.db", NO_LEARN) as index:
        got = [s for d in docs for s in index.add([d])]
    assert index_verdicts(got) == expected


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_samples_batches_equal_batch(tmp_path, batch_size):
    docs = sample_docs()
    with Index.open(tmp_path / "i.db", NO_LEARN) as index:
        got = index.add(docs, batch_size=batch_size)
        assert index.stats().documents == len(docs)
    assert index_verdicts(got) == batch_verdicts(docs, NO_LEARN)


def test_query_answers_like_add_and_stores_nothing(tmp_path):
    docs = sample_docs()
    half = len(docs) // 2
    with Index.open(tmp_path / "i.db", NO_LEARN) as index:
        index.add(docs[:half])
        before = index.stats()
        asked = index.query(docs[half:])
        assert index.stats() == before
        added = index.add(docs[half:])
    assert asked == added


def test_one_document_queries_answer_like_adding_it(tmp_path):
    """The one-document query path (one statement, earliest candidate first) against add."""
    docs = sample_docs() + [{"id": f"n{i}", "source": "wire", "text": t} for i, t in enumerate(
        [P1, P1 + " Reuters", P2 + "\n\n" + P1, P3, P3 + "\n\n" + P3, "", P2])]
    with Index.open(tmp_path / "i.db", NO_LEARN) as index:
        for doc in docs:
            asked = index.query([doc])
            assert asked == index.add([doc]), doc["id"] if isinstance(doc, dict) else doc.id
        again = [index.query([d])[0] for d in docs]
    assert all(r.replaced for r in again) and any(p.duplicate_of for r in again for p in r.paragraphs)


def read_news(limit):
    """Documents built from the bench rows: rows grouped by ``doc``, paragraphs in file order."""
    groups = {}
    with open(BENCH, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            doc = groups.setdefault(row["doc"], {"id": row["doc"], "source": row["source"], "parts": []})
            doc["parts"].append(row["text"])
            if len(groups) > limit:
                del groups[row["doc"]]
                break
    return [{"id": d["id"], "source": d["source"], "text": "\n\n".join(d["parts"])} for d in groups.values()]


@pytest.mark.skipif(not BENCH.exists(), reason=f"bench corpus {BENCH} not present (needs ../shared/bench)")
def test_10k_news_incremental_equals_batch(tmp_path):
    docs = read_news(10_000)
    assert len(docs) == 10_000
    config = replace(NO_LEARN, content_filter=False)  # keeps the test fast; cleaning is not under test
    expected = batch_verdicts(docs, config)
    assert sum(1 for *_, of in expected if of) > 100
    with Index.open(tmp_path / "i.db", config) as index:
        got = index.add(docs[:5000], batch_size=997)
        got += [s for d in docs[5000:5300] for s in index.add([d])]  # one at a time too
        got += index.add(docs[5300:], batch_size=1500)
    assert index_verdicts(got) == expected


def test_duplicate_of_is_earliest_added_and_survives_removal(tmp_path):
    with Index.open(tmp_path / "i.db") as index:
        index.add([{"id": "a", "source": "s1", "text": P1}])
        index.add([{"id": "b", "source": "s2", "text": P1 + " Reuters"}])
        r = index.query([{"id": "c", "source": "s3", "text": P1}])[0].paragraphs[0]
        assert (r.status, r.duplicate_of.doc_id, r.duplicate_of.source) == ("duplicate", "a", "s1")
        assert r.duplicate_of.jaccard == 1.0
        assert index.remove(["a", "missing"]) == 1
        r = index.query([{"id": "c", "source": "s3", "text": P1}])[0].paragraphs[0]
        assert r.duplicate_of.doc_id == "b" and r.duplicate_of.jaccard < 1.0
        index.remove(["b"])
        assert index.query([{"id": "c", "source": "s3", "text": P1}])[0].paragraphs[0].status == "new"
        assert index.stats().paragraphs == 0 and index.stats().band_keys == 0


def test_readding_an_id_replaces_it(tmp_path):
    with Index.open(tmp_path / "i.db") as index:
        index.add([{"id": "a", "source": "s", "text": P1}])
        again = index.add([{"id": "a", "source": "s", "text": P1 + "\n\n" + P2}])[0]
        assert again.replaced and [p.status for p in again.paragraphs] == ["new", "new"]
        assert index.stats().documents == 1 and index.stats().paragraphs == 2
        with pytest.raises(InputError, match="'x' (appears|is used) twice"):
            index.add([{"id": "x", "text": P1}, {"id": "x", "text": P2}])


def test_within_document_and_batch_duplicates(tmp_path):
    with Index.open(tmp_path / "i.db") as index:
        [doc] = index.add([{"id": "a", "source": "s", "text": "\n\n".join([P1, P2, P3, P2])}])
        assert [p.status for p in doc.paragraphs] == ["new", "new", "new", "duplicate"]
        assert (doc.paragraphs[3].duplicate_of.doc_id, doc.paragraphs[3].duplicate_of.index) == ("a", 1)
        [x, y] = index.add([{"id": "b", "source": "t", "text": P3}, {"id": "c", "source": "u", "text": P3}])
        assert (x.paragraphs[0].duplicate_of.doc_id, y.paragraphs[0].duplicate_of.doc_id) == ("a", "a")


def test_prune_by_time(tmp_path):
    old = datetime(2020, 1, 1, tzinfo=timezone.utc)
    with Index.open(tmp_path / "i.db") as index:
        index.add([{"id": "old", "source": "s", "text": P1}], added_at=old)
        index.add([{"id": "new", "source": "s", "text": P2}], added_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
        assert index.prune(datetime(2021, 1, 1, tzinfo=timezone.utc)) == 1
        st = index.stats()
        assert (st.documents, st.oldest) == (1, datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp())
        assert index.query([{"id": "q", "text": P1}])[0].paragraphs[0].status == "new"
        assert index.query([{"id": "q", "text": P2}])[0].paragraphs[0].status == "duplicate"


def test_removals_are_reported(tmp_path):
    with Index.open(tmp_path / "i.db") as index:
        [doc] = index.add([{"id": "a", "source": "s", "text": "Advertisement\n\n" + P1}])
    assert [r.rule for r in doc.removals] == ["advertisement"] and len(doc.paragraphs) == 1


def test_reopen_keeps_data(tmp_path):
    with Index.open(tmp_path / "i.db") as index:
        index.add([{"id": "a", "text": P1}])
    with Index.open(tmp_path / "i.db") as index:
        assert index.query([{"id": "b", "text": P1}])[0].paragraphs[0].duplicate_of.doc_id == "a"


# --- settings and corruption -----------------------------------------------------------
CONFIG_CHANGES = {
    "num_perm": {"num_perm": 64, "bands": 16},
    "seed": {"seed": 2},
    "shingle_size": {"shingle_size": 4},
    "bands": {"bands": 16, "rows": 8},
    "rows": {"bands": 16, "rows": 8},
    "jaccard_threshold": {"jaccard_threshold": 0.6},
    "containment_threshold": {"containment_threshold": 0.9},
    "min_containment_shingles": {"min_containment_shingles": 5},
}
TAMPERED = {"datasketch_major": 1, "minhash_scheme": "affine64", "hash_scheme_probe": "0000000000000000"}


def test_every_compared_setting_is_covered():
    compared = set(settings_record(Config())) - {"datasketch_version"}
    assert compared == set(CONFIG_CHANGES) | set(TAMPERED)


@pytest.mark.parametrize("setting", sorted(CONFIG_CHANGES))
def test_config_mismatch_names_the_setting(tmp_path, setting):
    Index.open(tmp_path / "i.db").close()
    requested = replace(Config(), **CONFIG_CHANGES[setting])
    with pytest.raises(IndexSettingsError) as err:
        Index.open(tmp_path / "i.db", requested)
    stored, wanted = getattr(Config(), setting), getattr(requested, setting)
    assert f"{setting}: stored {stored!r}, requested {wanted!r}" in str(err.value)


def _tamper(path, **changes):
    db = sqlite3.connect(path)
    meta = json.loads(db.execute("SELECT value FROM meta").fetchone()[0])
    for key, value in changes.items():
        if key == "format_version":
            meta[key] = value
        else:
            meta["settings"][key] = value
    db.execute("UPDATE meta SET value = ?", (json.dumps(meta),))
    db.commit()
    db.close()


@pytest.mark.parametrize("setting", sorted(TAMPERED))
def test_stored_scheme_mismatch_names_the_setting(tmp_path, setting):
    Index.open(tmp_path / "i.db").close()
    _tamper(tmp_path / "i.db", **{setting: TAMPERED[setting]})
    with pytest.raises(IndexSettingsError, match=f"{setting}: stored {TAMPERED[setting]!r}, requested "):
        Index.open(tmp_path / "i.db")


def test_datasketch_patch_version_is_informational(tmp_path):
    Index.open(tmp_path / "i.db").close()
    _tamper(tmp_path / "i.db", datasketch_version="2.9.9")
    Index.open(tmp_path / "i.db").close()


def test_other_format_version_is_a_store_error(tmp_path):
    Index.open(tmp_path / "i.db").close()
    _tamper(tmp_path / "i.db", format_version=FORMAT_VERSION + 1)
    with pytest.raises(IndexStoreError, match="format version"):
        Index.open(tmp_path / "i.db")


@pytest.mark.parametrize("content", [b"this is not a database at all" * 200, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_corrupt_file_is_a_store_error(tmp_path, content):
    (tmp_path / "i.db").write_bytes(content)
    with pytest.raises(IndexStoreError):
        Index.open(tmp_path / "i.db")


def test_foreign_sqlite_file_is_a_store_error(tmp_path):
    db = sqlite3.connect(tmp_path / "other.db")
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    with pytest.raises(IndexStoreError, match="not a dedupe index"):
        Index.open(tmp_path / "other.db")


def test_missing_folder_is_a_store_error(tmp_path):
    with pytest.raises(IndexStoreError, match="does not exist"):
        Index.open(tmp_path / "nope" / "i.db")


# --- CLI -------------------------------------------------------------------------------
def test_cli_add_query_remove_prune_stats(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "i.db")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps({"id": i, "source": s, "text": P1 + "\n\n" + t})
                              for i, s, t in [("a", "x", P2), ("b", "y", P3)]) + "\n")
    res = runner.invoke(main, ["index", "add", "--index", db, str(feed)])
    assert res.exit_code == 0, res.output
    lines = [json.loads(l) for l in res.stdout.splitlines()]
    assert [p["status"] for p in lines[1]["paragraphs"]] == ["duplicate", "new"]
    assert lines[1]["paragraphs"][0]["duplicate_of"]["doc"] == "a"
    res = runner.invoke(main, ["index", "query", "--index", db, str(feed)])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 2
    res = runner.invoke(main, ["index", "stats", "--index", db])
    assert json.loads(res.stdout)["documents"] == 2
    res = runner.invoke(main, ["index", "remove", "--index", db, "a"])
    assert json.loads(res.stdout) == {"removed": 1}
    res = runner.invoke(main, ["index", "prune", "--index", db, "--older-than", "2100-01-01T00:00:00+00:00"])
    assert json.loads(res.stdout) == {"removed": 1}
    res = runner.invoke(main, ["index", "stats", "--index", db, "--num-perm", "64", "--bands", "16"])
    assert res.exit_code == 6 and "num_perm: stored 128, requested 64" in res.stderr
    (tmp_path / "bad.db").write_bytes(b"garbage" * 1000)
    res = runner.invoke(main, ["index", "stats", "--index", str(tmp_path / "bad.db")])
    assert res.exit_code == 7


# --- the in-memory buckets and the two matching paths ----------------------------------
def test_connections_see_each_others_adds_and_removals(tmp_path):
    path = tmp_path / "i.db"
    with Index.open(path) as a, Index.open(path) as b:
        assert a.query([{"id": "q", "text": P1}])[0].paragraphs[0].status == "new"  # a's buckets loaded
        b.add([{"id": "x", "source": "s", "text": P1 + "\n\n" + P2}])
        hit = a.query([{"id": "q", "text": P1}])[0].paragraphs[0].duplicate_of
        assert (hit.doc_id, hit.index) == ("x", 0)
        b.add([{"id": "x", "source": "s", "text": P3}])  # replaced: P1 and P2 are gone
        assert [p.status for p in a.query([{"id": "q", "text": P1 + "\n\n" + P3}])[0].paragraphs] == ["new", "duplicate"]
        a.add([{"id": "y", "text": P2}])
        assert b.query([{"id": "q", "text": P2}])[0].paragraphs[0].duplicate_of.doc_id == "y"
        b.remove(["x"])
        assert a.stats().band_keys == b.stats().band_keys == Config().bands  # y's paragraph only
        assert a.query([{"id": "q", "text": P3}])[0].paragraphs[0].status == "new"


def test_a_query_is_one_statement(tmp_path):
    """One document asked about: one SQL statement (the id, the version, the earliest candidates)."""
    with Index.open(tmp_path / "i.db") as index:
        index.add([{"id": "a", "text": P1 + "\n\n" + P2}])
        index.query([{"id": "q", "text": P3}])  # loads the buckets
        statements = []
        index._store.db.set_trace_callback(statements.append)
        copy = index.query([{"id": "q", "text": P1}])[0]
        fresh = index.query([{"id": "a", "text": P3}])[0]
        index._store.db.set_trace_callback(None)
    assert copy.paragraphs[0].duplicate_of.doc_id == "a" and fresh.replaced and fresh.paragraphs[0].status == "new"
    assert len([s for s in statements if not s.startswith("--")]) == 2, statements


def test_a_query_that_races_a_commit_reads_again(tmp_path, monkeypatch):
    """A one-document query reads without a transaction; another connection's commit
    between its bucket lookup and its candidate fetch makes it read again, in one snapshot."""
    path = tmp_path / "i.db"
    with Index.open(path) as a, Index.open(path) as b:
        b.add([{"id": "x", "text": P1}])
        assert a.query([{"id": "q", "text": P1}])[0].paragraphs[0].duplicate_of.doc_id == "x"
        store, calls = a._store, []
        real = store.lookup

        def lookup_then_replace(keys):
            found = real(keys)
            calls.append(len(found[1]))
            if len(calls) == 1:
                b.add([{"id": "x", "text": P3}])  # replaces x: P1 is gone
            return found

        monkeypatch.setattr(store, "lookup", lookup_then_replace)
        assert a.query([{"id": "q", "text": P1}])[0].paragraphs[0].status == "new"
        assert len(calls) == 2 and calls[0] > 0 and calls[1] == 0  # stale read found P1; the retry nothing


def test_connection_behind_a_trimmed_removal_log_reloads(tmp_path, monkeypatch):
    from dedupe.index import sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "REMOVED_LOG_ROWS", 2)
    path = tmp_path / "i.db"
    with Index.open(path) as a, Index.open(path) as b:
        a.add([{"id": f"d{i}", "text": f"Item {i}. " + P1} for i in range(6)], batch_size=1)
        for i in range(5):
            b.remove([f"d{i}"])
        hit = a.query([{"id": "q", "text": "Item 5. " + P1}])[0].paragraphs[0].duplicate_of
        assert hit.doc_id == "d5" and hit.jaccard == 1.0
        assert a._store._buckets.segments == 1 and len(a._store._buckets) == Config().bands  # reloaded


def test_a_failed_write_leaves_the_buckets_as_committed(tmp_path, monkeypatch):
    """An add that fails after its rows are written rolls back, and the buckets forget it too."""
    from dedupe.index.sqlite import SqliteStore

    real = SqliteStore.insert

    def insert_then_fail(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise sqlite3.OperationalError("disk I/O error")

    with Index.open(tmp_path / "i.db") as index:
        index.add([{"id": "a", "text": P1}])
        monkeypatch.setattr(SqliteStore, "insert", insert_then_fail)
        with pytest.raises(IndexStoreError, match="disk I/O"):
            index.add([{"id": "b", "text": P2}])
        monkeypatch.setattr(SqliteStore, "insert", real)
        assert index.query([{"id": "q", "text": P2}])[0].paragraphs[0].status == "new"
        assert index.query([{"id": "q", "text": P1}])[0].paragraphs[0].status == "duplicate"
        assert index.stats().documents == 1 and index.stats().band_keys == Config().bands


def _verdicts_with(monkeypatch, path, docs, **limits):
    from dedupe.index import matching

    for name, value in limits.items():
        monkeypatch.setattr(matching, name, value)
    with Index.open(path, NO_LEARN) as index:
        added = index.add(docs[: len(docs) // 2], batch_size=5)
        asked = [s for d in docs[len(docs) // 2 :] for s in index.query([d])]
    return index_verdicts(added), index_verdicts(asked)


def test_small_and_large_matching_paths_agree(monkeypatch, tmp_path):
    docs = sample_docs()
    small = _verdicts_with(monkeypatch, tmp_path / "small.db", docs, SMALL_HITS=10**9, SMALL_CANDIDATES=10**9)
    large = _verdicts_with(monkeypatch, tmp_path / "large.db", docs, SMALL_HITS=0, SMALL_CANDIDATES=0)
    assert small == large and any(of for _, _, of in small[1])


def test_plain_python_check_equals_candidates_verify():
    import numpy as np

    from dedupe import candidates
    from dedupe.index.matching import _as_duplicates, _check

    rng = np.random.default_rng(5)
    config = Config(min_containment_shingles=3)
    sets = [np.unique(rng.integers(0, 40, rng.integers(0, 30))).astype(np.uint32) for _ in range(300)]
    pairs = np.array([(i, j) for i in range(0, 300, 3) for j in range(i + 1, 300, 7)])
    expected = {(m.a, m.b): (m.jaccard, m.containment) for m in candidates.verify(pairs, sets, config)}
    got = {}
    for a, b in pairs.tolist():
        verdict = _check(set(sets[a].tolist()), sets[b], config)
        if verdict is not None:
            dup = _as_duplicates({0: (("d", 0, "s", sets[b]), *verdict)})[0]
            got[(a, b)] = (dup.jaccard, dup.containment)
    assert got == expected and len(expected) > 20


def test_buckets_equal_a_dict_of_sets(monkeypatch):
    import numpy as np

    from dedupe.index import buckets as bucket_module

    rng = np.random.default_rng(9)
    for directory_min in (8, 10**9):  # every segment with a directory, and none
        monkeypatch.setattr(bucket_module, "DIRECTORY_MIN", directory_min)
        index, truth, alive = bucket_module.Buckets(), {}, set()
        pool = rng.integers(0, 2**64 - 1, 500, dtype=np.uint64)  # shared keys: wide slots too
        next_pid = 1
        for step in range(60):
            n = int(rng.integers(1, 50))
            keys = np.where(rng.random((n, 4)) < 0.3, pool[rng.integers(0, pool.size, (n, 4))],
                            rng.integers(0, 2**64 - 1, (n, 4), dtype=np.uint64))
            pids = np.arange(next_pid, next_pid + n)
            next_pid += n
            index.add(keys, pids)
            for pid, row in zip(pids.tolist(), keys.tolist()):
                alive.add(pid)
                for k in row:
                    truth.setdefault(k, set()).add(pid)
            if step % 5 == 4:
                gone = rng.choice(sorted(alive), size=min(len(alive), 20), replace=False)
                index.discard(gone)
                alive -= set(gone.tolist())
            probe = np.concatenate([pool, keys.ravel(), rng.integers(0, 2**64 - 1, 20, dtype=np.uint64), [0]]).astype(np.uint64)
            pos, found = index.lookup(probe)
            got = {}
            for at, pid in zip(pos.tolist(), found.tolist()):
                got.setdefault(at, set()).add(pid)
            for at, key in enumerate(probe.tolist()):
                assert got.get(at, set()) == truth.get(key, set()) & alive, (directory_min, step, at)
        assert index.distinct_keys() == sum(1 for pids in truth.values() if pids & alive)


def test_band_keys_are_the_documented_fold():
    """Stored format 3: key = (((b+1)*SALT*M + v0)*M + ... + v_last)*M mod 2**64, per band b."""
    import numpy as np

    from dedupe.index.bands import _BAND_SALT, _FOLD_MULT, band_keys

    rng = np.random.default_rng(1)
    for config in (Config(), Config(num_perm=9, bands=3, rows=3), Config(bands=128, rows=1)):
        sigs = rng.integers(0, 2**32, (5, config.num_perm), dtype=np.uint64).astype(np.uint32)
        keys = band_keys(sigs, config)
        for i in range(5):
            for b in range(config.bands):
                value = (b + 1) * _BAND_SALT % 2**64
                for r in range(config.rows):
                    value = (value * _FOLD_MULT + int(sigs[i, b * config.rows + r])) % 2**64
                assert int(keys[i, b]) == value * _FOLD_MULT % 2**64


def test_one_vocabulary_for_duplicate_of(tmp_path):
    """documents.jsonl and `dedupe index` JSON name a duplicate's paragraph the same way, from 0."""
    from dedupe.index import Index

    text_a = "First paragraph about the harbour bridge repairs and the money they will cost the town.\n\n" \
             "Second paragraph says the council voted on Tuesday to close the bridge for three months."
    with Index.open(str(tmp_path / "v.db")) as idx:
        idx.add([{"id": "a", "text": text_a}])
        (status,) = idx.query([{"id": "b", "text": text_a.split("\n\n")[1]}])
    dup = status.paragraphs[0].duplicate_of
    assert (dup.document, dup.paragraph) == (dup.doc_id, dup.index) == ("a", 1)
    record = status.to_record()["paragraphs"][0]["duplicate_of"]
    assert (record["document"], record["paragraph"]) == ("a", 1)
    assert (record["doc"], record["index"]) == ("a", 1)  # the names before 0.2, for one release
