"""The Spark engine (``dedupe.spark``, ``dedupe run --engine spark``) against the local one,
on Spark ``local[2]``: the same records, on the samples and on a 100k-paragraph corpus of
real news paragraphs, and the same handling of bad records.

Skipped when pyspark or Java is missing -- except under CI (env ``CI`` set), where that is
a failure: ``.ci/run`` installs them and these tests must run.
"""
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from dedupe import Config
from dedupe.errors import InputError
from dedupe.pipeline import run as local_run
from dedupe.read import Problems, read_paths
from dedupe.write import result_records

from .conftest import SAMPLES, SHARED_BENCH, run_cli

NEWS = SHARED_BENCH / "data" / "news-paragraphs.jsonl"


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Spark tests (pip install 'wiredupe[spark]'; a Java 17 runtime)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark is not installed")
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        _missing("no Java runtime (java not on PATH, JAVA_HOME unset)")
    from dedupe.spark import session

    spark = session("local[2]", app="dedupe-tests")
    yield spark
    spark.stop()


def records(result) -> tuple:
    stories, documents, report = result_records(result)
    report = {k: v for k, v in report.items() if k != "seconds"}
    return stories, documents, report


def local(paths, config: Config, problems=None):
    return local_run(read_paths([str(p) for p in paths], config, problems=problems), config)


def test_samples_give_the_local_engines_records(spark):
    from dedupe.spark import run

    config = Config(keep_input_text=False)
    outcome = run(spark, [str(SAMPLES)], config)
    assert records(outcome.result) == records(local([SAMPLES], config))
    assert outcome.result.report.stories == 14 and outcome.skipped == ()


def corpus(folder: Path, paragraphs: int, per_doc: int = 8, files: int = 5, seed: int = 1) -> Path:
    """``paragraphs`` real news paragraphs (the originals, then copies with ~2% of words
    edited) in documents of ``per_doc``, shuffled, spread over ``files`` JSONL files."""
    if not NEWS.is_file():
        pytest.skip(f"{NEWS} is missing")
    rows = [json.loads(line) for line in NEWS.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    texts = [r["text"] for r in rows][:paragraphs]
    sources = [r.get("source") or "wire" for r in rows][:paragraphs]
    vocab = [w for t in texts[:2000] for w in t.split()]
    while len(texts) < paragraphs:
        k = rng.randrange(len(rows))
        words = [w if rng.random() >= 0.02 else rng.choice(vocab) for w in rows[k]["text"].split()]
        texts.append(" ".join(words))
        sources.append(f"copy-{rng.randrange(50)}")
    order = list(range(len(texts)))
    rng.shuffle(order)
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / f"part-{i}.jsonl", "w", encoding="utf-8") for i in range(files)]
    try:
        for d in range(0, len(order), per_doc):
            chunk = order[d:d + per_doc]
            record = {"id": f"d{d // per_doc}", "source": sources[chunk[0]], "text": "\n\n".join(texts[i] for i in chunk)}
            handles[(d // per_doc) % files].write(json.dumps(record) + "\n")
    finally:
        for h in handles:
            h.close()
    return folder


def test_a_100k_paragraph_corpus_gives_the_local_engines_records(spark, tmp_path):
    from dedupe.spark import run

    folder = corpus(tmp_path / "news", 100_000)
    config = Config(keep_input_text=False)
    outcome = run(spark, [str(folder)], config, partitions=4)
    expected = local([folder], config)
    assert expected.report.paragraphs >= 99_000 and expected.report.clusters > 1000
    assert records(outcome.result) == records(expected)


def test_a_malformed_record_is_reported_as_the_local_engine_reports_it(spark, tmp_path):
    from dedupe.spark import run

    folder = tmp_path / "feed"
    shutil.copytree(SAMPLES / "jsonl", folder)
    with open(folder / "feed.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "broken", "text": \n')
        f.write('{"id": "fine", "source": "late", "text": "A council meeting was adjourned after a fire alarm sounded."}\n')
    config = Config(keep_input_text=False)
    with pytest.raises(InputError) as local_error:
        local([folder], config)
    with pytest.raises(InputError) as spark_error:
        run(spark, [str(folder)], config)
    assert str(spark_error.value) == str(local_error.value) and ":6: not valid JSON" in str(spark_error.value)
    skip = Config(keep_input_text=False, on_error="skip")
    problems = Problems()
    expected = local([folder], skip, problems)
    outcome = run(spark, [str(folder)], skip)
    assert outcome.skipped == tuple(problems.skipped) and len(outcome.skipped) == 1
    assert records(outcome.result) == records(expected)


def test_a_repeated_id_is_skipped_as_the_local_engine_skips_it(spark, tmp_path):
    from dedupe.spark import run

    folder = tmp_path / "feed"
    shutil.copytree(SAMPLES / "jsonl", folder)
    first = json.loads((folder / "feed.jsonl").read_text(encoding="utf-8").splitlines()[0])
    again = {"id": first["id"], "source": "late", "text": "A council meeting was adjourned after a fire alarm sounded."}
    (folder / "more.jsonl").write_text(json.dumps(again) + "\n" + json.dumps({**again, "id": "new"}) + "\n"
                                        + json.dumps({**again, "text": "Not this one either."}) + "\n", encoding="utf-8")
    config = Config(keep_input_text=False)
    with pytest.raises(InputError) as local_error:
        local([folder], config)
    with pytest.raises(InputError) as spark_error:
        run(spark, [str(folder)], config, partitions=2)
    assert str(spark_error.value) == str(local_error.value) and "already used by" in str(spark_error.value)
    skip = Config(keep_input_text=False, on_error="skip")
    problems = Problems()
    expected = local([folder], skip, problems)
    outcome = run(spark, [str(folder)], skip, partitions=2)
    assert outcome.skipped == tuple(problems.skipped) and len(outcome.skipped) == 2
    assert records(outcome.result) == records(expected)
    assert "new" in {d.document.id for d in outcome.result.documents}


def test_input_at_a_hadoop_url_gives_the_records_of_the_same_files_on_disk(spark, tmp_path):
    """A ``file://`` URL goes the way ``hdfs://`` and ``s3a://`` go: listed by Hadoop's
    FileSystem on the driver, read by Spark's binaryFiles, parsed by the local readers."""
    from dedupe.spark import run

    folder = tmp_path / "news"
    shutil.copytree(SAMPLES, folder)
    (folder / "jsonl" / "_SUCCESS").write_text("", encoding="utf-8")  # what a Spark job leaves: never read
    config = Config(keep_input_text=False)
    expected = local([folder / "html", folder / "jsonl", folder / "news"], config)
    # A URL, a local folder and a URL again, in that order: the local engine's order of files.
    outcome = run(spark, [(folder / "html").as_uri(), str(folder / "jsonl"), (folder / "news").as_uri()], config,
                  partitions=3)
    assert records(outcome.result) == records(expected) and expected.report.documents > 20
    with pytest.raises(InputError, match="no such file or folder"):
        run(spark, [(tmp_path / "missing").as_uri()], config)


def test_learning_as_aggregations_learns_what_the_local_rules_learn(spark):
    """Templates and corpus boilerplate counted by Spark (``dedupe.spark.learn``) against
    ``learn_template_keys`` and ``learn_corpus_keys`` on the same pass-1 keys: sources near
    the thresholds, pages sharing a page key, keys above 2**63 (Spark's longs are signed),
    story keys shared in part (one story), documents without candidates."""
    from dedupe.clean.learned import learn_corpus_keys, learn_template_keys
    from dedupe.spark import learn as learning

    rng = random.Random(5)
    top = [rng.getrandbits(64) | (1 << 63) for _ in range(6)]  # lines every page of a source may carry
    records, pages, corpus_docs = [], [], []
    for d in range(400):
        source = f"s{d % 9}" if d % 50 else "rare"
        lines = {rng.getrandbits(64) for _ in range(rng.randrange(1, 5))}
        lines |= {t for t in top if rng.random() < 0.4 + 0.1 * (d % 5)}
        page = rng.choice(sorted(lines)) if d % 7 else top[0]  # some pages share a page key
        keys = (page, frozenset(lines)) if d % 11 else None  # a source that may not learn: no page keys
        story = tuple(rng.getrandbits(64) for _ in range(4))
        if d % 3 == 0 and corpus_docs:
            story = (corpus_docs[-1][1][0], *story[1:])  # shares a MinHash with the one before: one story
        short = frozenset(t for t in top if rng.random() < 0.3) if d % 13 else frozenset()
        ckeys = (story, short) if d % 17 else None
        records.append((source, "", (None, keys, 1, None, ckeys)))
        if keys is not None:
            pages.append((source, *keys))
        if ckeys is not None:
            corpus_docs.append((source, *ckeys))
    passed = spark.sparkContext.parallelize(records, 3)
    for config in (Config(), Config(learn_min_documents=10, learn_min_fraction=0.7),
                   Config(corpus_min_documents=20, corpus_min_story_share=0.75, corpus_min_sources=10)):
        expected = learn_template_keys(pages, config)
        assert expected and learning.templates(spark, passed, config) == expected
        expected = learn_corpus_keys(corpus_docs, config)
        assert expected and learning.boilerplate(spark, passed, config) == expected


def test_components_on_spark_are_the_local_components(spark):
    """Large-star/small-star rounds against ``cluster.connected_components``: long chains
    in shuffled order (the most rounds), stars, a node with edges to two stars, repeated
    edges and self-loops, random sparse graphs."""
    import numpy as np

    from dedupe.cluster import connected_components
    from dedupe.spark.cluster import components

    rng = random.Random(9)
    chain = list(range(0, 300))
    rng.shuffle(chain)
    graphs = [
        [(chain[i], chain[i + 1]) for i in range(len(chain) - 1)],
        [(0, k) for k in range(1, 40)] + [(100, k) for k in range(101, 140)] + [(50, 0), (50, 100), (7, 7), (0, 1)],
        [(rng.randrange(2000), rng.randrange(2000)) for _ in range(1500)],
    ]
    for edges in graphs:
        n = 1 + max(max(e) for e in edges)
        expected = connected_components(n, np.array(edges))
        found = components(spark.createDataFrame(edges, "a long, b long"))
        labels = np.arange(n)
        for row in found.labels.collect():
            labels[row["node"]] = row["label"]
        assert labels.tolist() == expected.tolist()
        on_edges = {x for a, b in edges if a != b for x in (a, b)}
        assert found.labels.count() == len(on_edges) == found.labels.select("node").distinct().count()


def test_a_url_is_listed_as_a_local_folder_is(spark, tmp_path):
    """``spark.files.list_url`` against ``read.iter_files`` on one tree: nested folders in
    path order, unknown formats and an earlier dedupe output left out, a file argument,
    Hadoop's hidden names (``_SUCCESS``, ``.x.crc``) not read."""
    from dedupe.model import OUTPUT_MARKER
    from dedupe.read import iter_files
    from dedupe.spark.files import list_url

    root = tmp_path / "crawl"
    for rel in ("b/2.txt", "a/z/1.html", "a/10.jsonl.gz", "top.txt", "notes.md", "old/out/stories.jsonl",
                "a/_SUCCESS", "a/.10.jsonl.gz.crc", "c d/é.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    (root / "old" / "out" / OUTPUT_MARKER).write_text("", encoding="utf-8")
    sc = spark.sparkContext
    for arg in (root, root / "a" / "10.jsonl.gz"):
        local = [(rel, source) for _, rel, source in iter_files([str(arg)]) if not rel.rpartition("/")[2].startswith(("_", "."))]
        listed = list_url(sc, arg.as_uri())
        assert [(rel, source) for _, rel, source in listed] == local
        assert all(url.startswith("file:/") for url, _, _ in listed)
    assert [rel for _, rel, _ in list_url(sc, root.as_uri())] == ["a/10.jsonl.gz", "a/z/1.html", "b/2.txt", "c d/é.txt",
                                                                   "top.txt"]
    for url in ("s3a://bucket/news/", "nosuch://host/news/"):  # no connector on the classpath: say which to add
        with pytest.raises(InputError, match=r"cannot list: .*(S3AFileSystem not found|No FileSystem for scheme).*--packages"):
            list_url(sc, url)


def test_cli_engine_spark_writes_parquet_with_the_local_records(spark, tmp_path):
    from dedupe.write_parquet import read_table

    result = run_cli("run", SAMPLES, "-o", tmp_path / "local", "-q")
    assert result.exit_code == 0, result.output
    result = run_cli("run", SAMPLES, "-o", tmp_path / "spark", "-q", "--engine", "spark", "--master", "local[2]")
    assert result.exit_code == 0, result.output
    for name in ("stories", "documents"):
        expected = [json.loads(line) for line in (tmp_path / "local" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        assert list(read_table(tmp_path / "spark" / name)) == expected


def test_a_failed_spark_job_is_an_engine_error_with_what_to_change():
    """What Spark or py4j raise becomes an EngineError (exit 8) naming the cause, with the
    settings to change when memory ran out; an error of dedupe's own code on an executor
    stays a bug (shown with its traceback)."""
    from dedupe.errors import EngineError
    from dedupe.spark import _from_spark, _spark_failure

    def error(module: str, name: str, text: str) -> Exception:
        return type(name, (Exception,), {"__module__": module})(text)

    oom = error("py4j.protocol", "Py4JJavaError", "An error occurred while calling o997.count.\n: org.apache.spark."
                "SparkException: Job aborted due to stage failure: java.lang.OutOfMemoryError: Java heap space\n"
                "\tat java.base/java.nio.HeapByteBuffer.<init>(HeapByteBuffer.java:64)")
    assert _from_spark(oom)
    message = _spark_failure(oom)
    assert "SparkException: Job aborted" in message and "SPARK_DRIVER_MEMORY" in message and "\tat" not in message
    lost = error("pyspark.errors.exceptions.captured", "SparkConnectGrpcException", "executor lost")
    assert _from_spark(lost) and "SPARK_DRIVER_MEMORY" not in _spark_failure(lost)
    assert not _from_spark(error("pyspark.errors.exceptions.captured", "PythonException", "KeyError: 3"))
    assert _from_spark(error("pyspark.errors.exceptions.captured", "PythonException", "MemoryError"))
    assert not _from_spark(KeyError(3))

    class Gone:  # a session whose JVM has died
        @property
        def sparkContext(self):
            raise error("py4j.protocol", "Py4JNetworkError", "Answer from Java side is empty")

    from dedupe.spark import run

    with pytest.raises(EngineError, match="the Spark job failed: Answer from Java side is empty"):
        run(Gone(), [str(SAMPLES)])
    from dedupe.cli.common import exit_code

    assert exit_code(EngineError("x")) == 8


def test_the_main_file_runs_as_spark_submit_runs_it():
    """``spark-submit`` runs ``dedupe/spark/__main__.py`` as a script, outside its package
    (a relative import fails there): run it so, without Spark, for its help."""
    import subprocess
    import sys

    import dedupe.spark.__main__ as main_file

    done = subprocess.run([sys.executable, main_file.__file__, "--help"], capture_output=True, text=True, timeout=120,
                          cwd="/")
    assert done.returncode == 0, done.stderr
    assert "Usage: dedupe.spark" in done.stdout and "--engine" in done.stdout


def test_spark_options_without_the_engine_are_refused(tmp_path):
    result = run_cli("run", SAMPLES, "-o", tmp_path / "out", "--master", "local[2]")
    assert result.exit_code == 5 and "apply to --engine spark" in result.output
    result = run_cli("run", SAMPLES, "-o", tmp_path / "out", "--engine", "spark", "--cache", tmp_path / "c")
    assert result.exit_code == 5 and "not with --cache" in result.output
