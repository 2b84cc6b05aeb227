"""The Spark engine: the local engine's stages run by Spark executors (``--engine spark``).

What runs where (see the README, "On Spark"):

* **Executors** read the input files (the local engine's readers: same ids, sources,
  validation and errors; files at URLs fetched by Spark, ``spark.files``), extract HTML
  pages and key each page's lines (pass 1: ``pipeline._page_job``), then clean each
  document and fingerprint its paragraphs (pass 2: ``pipeline._clean_job``), partition by
  partition, on texts that never leave them.
* **Learning** is a set of aggregations over pass 1's keys (``spark.learn``): the driver
  gets the lines that may be a source's template and the story keys of the lines that may
  be corpus boilerplate, and the local engine's rules decide.
* **The match stage** runs on the executors too (``spark.candidates``): band buckets,
  components of candidates (``spark.cluster``: large-star/small-star rounds), the local
  engine's ``pipeline.band_matches`` a partition of whole components at a time, the
  containment prefix filter as joins and per-partition sorts, verification on the shingle
  sets, and the components of every match.
* **The driver** lists the input files, gets each document's header (id, source, size, an
  HTML page's title and url) and, after pass 2, its removals and paragraphs with their
  shingle sets (not the band or containment keys), and builds the clusters and stories
  (``pipeline.run_prepared`` given the matches).

Documents keep the local engine's order (files in the walk's order, records in file
order), and every per-document result is the local engine's function of that document and
what was learned, so the records equal the local engine's (``tests/test_spark.py``).  Not
yet distributed: the clusters' stars and the stories, which bound a run by the driver's
memory.  Inputs: local paths (read by path on the executors: a
filesystem they all mount) and URLs of any Hadoop filesystem (``spark.files``).
"""
from __future__ import annotations

import itertools
import logging
import os
import sys
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..config import Config
from ..errors import DedupeError, EngineError, InputError
from ..model import Document, Result, Skipped
from .. import pipeline
from . import candidates
from . import learn as learning
from .files import is_url, list_url, local_copy, spark_paths
from .jobs import described, java_message
from ..clean.learned import corpus_learning_on, first_pass_plan
from ..read import Problems, first_use, iter_files, printable_path

log = logging.getLogger(__name__)

def _spill_level():
    """What is kept between stages may spill to disk (a corpus's texts do not fit a default heap)."""
    from pyspark import StorageLevel

    return StorageLevel.MEMORY_AND_DISK


def local_memory() -> str:
    """The driver's heap when this module starts a local Spark (``SPARK_DRIVER_MEMORY``
    overrides): half the machine's memory, between 4 and 32 GB.  A local master runs the
    executors in the driver's JVM, and at a million paragraphs 4 GB ran out in the match
    stage; the JVM takes the heap as it needs it, not at start."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return f"{max(4, min(32, total // 2 >> 30))}g"


#: Files per partition when the caller does not say: small enough that both cores of a
#: small machine get work, large enough that a partition amortises its Python worker.
FILES_PER_PARTITION = 64


@dataclass(frozen=True)
class SparkRun:
    """What ``run`` returns: the Result (as ``dedupe.run`` returns it, input texts dropped),
    the inputs skipped under ``on_error="skip"`` and the WARC records not read, by reason."""
    result: Result
    skipped: Tuple[Skipped, ...]
    not_read: Dict[str, int]


# --- on the executors ------------------------------------------------------------------------


def _read_files(items: Iterable[Tuple[int, Tuple[str, str, str]]], config: Config) -> Iterator[tuple]:
    """Per input file, in order: ``("doc", Document)`` for each document, ``("skip", where,
    reason)`` for each record skipped (``on_error="skip"``) where it was met, ``("error",
    origin, message)`` for a file that cannot be read, ``("note", reason, count)`` for WARC
    records not read."""
    from ..read import _file_documents

    for _, (path, rel, source, data) in items:
        origin = path if data is not None else printable_path(path)  # data: the bytes Spark read at a URL
        problems = Problems() if config.on_error == "skip" else None
        notes = Problems()
        seen = 0
        try:
            with local_copy(path, data) if data is not None else nullcontext(Path(path)) as local:
                for doc in _file_documents(local, rel, origin, source, config, None, None, problems, notes):
                    if problems is not None:
                        for s in problems.skipped[seen:]:
                            yield ("skip", s.where, s.reason)
                        seen = len(problems.skipped)
                    yield ("doc", doc)
        except InputError as err:
            yield ("error", origin, str(err))
        if problems is not None:
            for s in problems.skipped[seen:]:
                yield ("skip", s.where, s.reason)
        for reason, n in notes.not_read.items():
            yield ("note", reason, n)


def _first_pass(docs: Iterable[Document], learn: FrozenSet[str], corpus: bool) -> Iterator[tuple]:
    """One partition's pass 1, a record per document: ``(source, text for pass 2, page-job
    result without the extracted text)``; the texts stay on the executors for pass 2."""
    for chunk in pipeline.chunked(docs, lambda d: len(d.text)):
        result = pipeline._page_job((None, [(d.source, d.kind, d.text) for d in chunk], learn, corpus))
        for d, (extracted, *rest) in zip(chunk, result):
            yield d.source, d.text if extracted is None else extracted, ("" if extracted is not None else None, *rest)


def _second_pass(index: int, items: Iterable[Tuple[str, str, Optional[tuple]]], starts: Sequence[int], learned,
                 boilerplate, config: Config) -> Iterator[tuple]:
    """One partition's pass 2, chunk by chunk: ``(start, end, _clean_job result)``.  Items:
    ``(source, text, pass 1's corpus keys or None)``; a document whose keys hold a learned
    boilerplate line is split and keyed again (``pipeline._clean_job``'s ``corpus_at``)."""
    a = starts[index]
    learned_lines = boilerplate.value.keys()
    for chunk in pipeline.chunked(items, lambda item: len(item[1])):
        b = a + len(chunk)
        sources = {s for s, _, _ in chunk}
        carriers = frozenset(j for j, (_, _, ck) in enumerate(chunk) if ck is not None and not learned_lines.isdisjoint(ck[1]))
        job = (None, [(s, t) for s, t, _ in chunk], {s: learned.value[s] for s in sources if s in learned.value},
               boilerplate.value, carriers, config, True)
        yield a, b, pipeline._clean_job(job)
        a = b


# --- on the driver ---------------------------------------------------------------------------


def _input_files(sc, inputs: Sequence[str], exclude: Iterable[Path], skipping: Optional[Problems]
                 ) -> List[Tuple[str, str, str, bool]]:
    """``(path or URL, document id prefix, default source, whether a URL)`` of every input
    file, in the local engine's order: local paths by ``read.iter_files``, URLs by Hadoop's
    filesystems (``spark.files``); a file reached through two arguments once."""
    files: List[Tuple[str, str, str, bool]] = []
    taken: set = set()
    for arg in inputs:
        if arg == "-":
            raise InputError("-: the Spark engine reads files and folders, not standard input")
        if is_url(arg):
            for url, rel, source in list_url(sc, arg):
                if url not in taken:
                    taken.add(url)
                    files.append((url, rel, source, True))
        else:
            files.extend((str(path), rel, source, False)
                         for path, rel, source in iter_files([arg], exclude, skipping, taken))
    return files


def _file_items(sc, files: Sequence[Tuple[str, str, str, bool]], n: int):
    """The RDD of ``(file number, (path, id prefix, source, bytes or None))`` in ``n``
    partitions of consecutive files: local files are read by path on the executors, files
    at URLs are read by Spark (``binaryFiles``) and brought into their place in the order
    (one shuffle of their bytes)."""
    numbered = [(k, f[:3]) for k, f in enumerate(files)]
    urls = [(k, f) for (k, f), (*_, remote) in zip(numbered, files) if remote]
    if not urls:
        return sc.parallelize([(k, (*f, None)) for k, f in numbered], n)
    where = sc.broadcast({f[0]: k for k, f in urls})
    listed = sc.broadcast(dict(numbered))
    total = len(files)

    def number(record):
        url, data = record
        k = where.value.get(url)
        if k is None:
            raise InputError(f"{url}: read by Spark but not listed (a path Hadoop spells differently?)")
        return k, data

    fetched = sc.binaryFiles(spark_paths([f[0] for _, f in urls]), max(1, min(n, len(urls)))).map(number)
    remote = {k for k, _ in urls}
    local_files = sc.parallelize([(k, None) for k, _ in numbered if k not in remote], max(1, n))
    ordered = local_files.union(fetched).repartitionAndSortWithinPartitions(n, lambda k: k * n // total)
    return ordered.map(lambda kv: (kv[0], (*listed.value[kv[0]], kv[1])))


def run(spark, inputs: Sequence[str], config: Optional[Config] = None, partitions: Optional[int] = None,
        progress: Optional[pipeline.Progress] = None, exclude: Iterable[Path] = ()) -> SparkRun:
    """Clean and collapse the files and folders ``inputs`` with the SparkSession ``spark``.

    ``partitions``: how many partitions the input files are read in (default: one per
    ``FILES_PER_PARTITION`` files, at least four times Spark's default parallelism when there
    are that many files: a partition's results travel to the driver in one piece);
    ``exclude``: folders not to read (``read.iter_files``).  The records equal ``dedupe.run``'s
    on the same input.  A failed Spark job is an ``EngineError`` saying what Spark reported.
    """
    try:
        return _run(spark, inputs, config, partitions, progress, exclude)
    except Exception as err:
        if isinstance(err, DedupeError) or not _from_spark(err):
            raise
        raise EngineError(_spark_failure(err)) from err


def _from_spark(err: BaseException) -> bool:
    """Whether ``err`` is Spark's or py4j's (a failed job, a JVM gone); an error in dedupe's
    own code on an executor (``PythonException``) is a bug, shown as one, unless it is a
    MemoryError."""
    if type(err).__name__ == "PythonException":
        return "MemoryError" in str(err)
    return type(err).__module__.split(".")[0] in ("py4j", "pyspark")


def _spark_failure(err: BaseException) -> str:
    """One paragraph for a failed Spark job: its cause as Spark words it, and for memory what to change."""
    text = str(err)
    cause = java_message(err)
    memory = any("OutOfMemoryError" in t or "Java heap space" in t for t in (text, cause))
    message = f"the Spark job failed: {cause[:300]}"
    if memory:
        message += (" -- Spark ran out of memory: give it more (SPARK_DRIVER_MEMORY=16g for a local master, "
                    "--conf spark.executor.memory=... on a cluster) or spread the work (--partitions, "
                    "spark.sql.shuffle.partitions)")
    return message


def _run(spark, inputs: Sequence[str], config: Optional[Config] = None, partitions: Optional[int] = None,
         progress: Optional[pipeline.Progress] = None, exclude: Iterable[Path] = ()) -> SparkRun:
    config = replace(config or Config(), keep_input_text=False)
    progress = progress or pipeline._no_progress
    started = time.perf_counter()
    problems = Problems()
    skipping = problems if config.on_error == "skip" else None
    sc = spark.sparkContext
    files = _input_files(sc, inputs, exclude, skipping)
    spill = _spill_level()
    n = partitions or max(1, min(len(files), max(4 * sc.defaultParallelism, -(-len(files) // FILES_PER_PARTITION))))
    events = _file_items(sc, files, n).mapPartitions(partial(_read_files, config=config))
    events.persist(spill)
    docs: List[Document] = []
    seen: dict = {}
    counts: List[int] = []
    repeated: List[Tuple[int, int]] = []  # (partition, its k-th document): a repeated id, skipped
    with described(sc, "read the input files"):
        parts = events.mapPartitions(lambda it: [list(_headers(it))]).collect()
    for p, part in enumerate(parts):
        kept = k = 0
        for event in part:
            if event[0] == "doc":
                doc = event[1]
                if first_use(doc, seen, skipping):  # raises on a repeated id unless skipping
                    docs.append(doc)
                    kept += 1
                else:
                    repeated.append((p, k))
                k += 1
            elif event[0] == "skip":
                problems.skipped.append(Skipped(event[1], event[2]))
            elif event[0] == "error":
                if skipping is None:
                    raise InputError(event[2])
                skipping.skip(event[1], InputError(event[2]))
            else:
                problems.not_read[event[1]] += event[2]
        counts.append(kept)
    del parts
    progress("read", len(docs), len(docs))
    starts = [0, *itertools.accumulate(counts)][:-1]  # each partition's first document number
    texts = events.mapPartitionsWithIndex(partial(_documents, repeated=sc.broadcast(frozenset(repeated))))

    learn, first_pass = first_pass_plan(Counter(doc.source for doc in docs), any(d.kind == "html" for d in docs), config)
    corpus = corpus_learning_on(config)
    sizes, metas, learned, boilerplate = None, {}, {}, {}
    if first_pass:
        passed = texts.mapPartitions(partial(_first_pass, learn=learn, corpus=corpus))
        passed.persist(spill)
        with described(sc, "learn: extract pages, count line keys"):  # each document's size, an HTML page's (title, url)
            sent = passed.map(lambda record: (record[2][2], record[2][3])).collect()
        sizes = [size for size, _ in sent]
        metas = {n: meta for n, (_, meta) in enumerate(sent) if meta is not None}
        del sent
        with described(sc, "learn: templates, an aggregation"):
            learned = learning.templates(spark, passed, config)
        if corpus:
            with described(sc, "learn: corpus boilerplate, an aggregation"):
                boilerplate = learning.boilerplate(spark, passed, config)
        progress("learn", len(docs), len(docs))
        second = passed.map(lambda record: (record[0], record[1], record[2][4]))
    else:
        second = texts.map(lambda d: (d.source, d.text, None))
    job = partial(_second_pass, starts=starts, learned=sc.broadcast(learned), boilerplate=sc.broadcast(boilerplate),
                  config=config)
    outputs = second.mapPartitionsWithIndex(job).persist(spill)
    with described(sc, "clean and fingerprint"):
        fingerprints = candidates.chunks(spark, outputs, spill)  # they stay on the executors
    events.unpersist()
    if first_pass:
        passed.unpersist()
    with described(sc, "send paragraphs and shingle sets to the driver"):
        prepared = pipeline.assemble(docs, metas, sizes, outputs.map(_without_keys).toLocalIterator(), config,
                                     progress)
    outputs.unpersist()
    log.info("spark: %d documents read and cleaned in %d partitions in %.1f s", len(docs), len(counts),
             time.perf_counter() - started)
    matched = candidates.match(spark, fingerprints.frame, fingerprints.total, config, n, spill)
    fingerprints.unpersist()
    result = pipeline.run_prepared(prepared, config, progress, started, matched=(matched.matches, matched.labels))
    return SparkRun(result=result, skipped=tuple(problems.skipped), not_read=dict(problems.not_read))


def _without_keys(record: tuple) -> tuple:
    """A pass-2 output without its band and containment keys: the match stage reads those
    on the executors (``spark.candidates``); the driver keeps the shingle sets, which the
    clusters and stories check pairs on."""
    a, b, (docs_out, (values, offsets, _, live, _)) = record
    return a, b, (docs_out, (values, offsets, (), live, (np.zeros(0, np.uint64), np.zeros(0, np.int32))))


def _documents(index: int, events: Iterable[tuple], repeated) -> Iterator[Document]:
    """A partition's documents, without those the driver skipped for a repeated id
    (``repeated``: a broadcast set of ``(partition, k-th document)``)."""
    skipped = {k for p, k in repeated.value if p == index}
    k = 0
    for event in events:
        if event[0] == "doc":
            if k not in skipped:
                yield event[1]
            k += 1


def _headers(events: Iterable[tuple]) -> Iterator[tuple]:
    """A partition's events with each document's text dropped: what the driver needs of them."""
    for event in events:
        yield ("doc", pipeline._without_text(event[1])) if event[0] == "doc" else event


def _local_cores(master: str) -> int:
    """The cores a ``local``, ``local[N]`` or ``local[*]`` master runs on."""
    inside = master.partition("[")[2].partition("]")[0].split(",")[0].strip()
    return int(inside) if inside.isdigit() and int(inside) > 0 else 1 if master == "local" else (os.cpu_count() or 1)


def session(master: Optional[str] = None, app: str = "dedupe"):
    """A SparkSession: the one ``spark-submit`` configured, else one on ``master`` (default
    ``local[*]``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError("--engine spark needs pyspark (and Java 17): pip install 'wiredupe[spark]'") from None
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # started by spark-submit, which set the master
    local = (master or ("" if submitted else "local")).startswith("local")
    if local:  # before the JVM starts: local workers run this Python (its venv)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app).config("spark.ui.showConsoleProgress", "false")
    if master or not submitted:
        builder = builder.master(master or "local[*]")
    if local and not submitted:  # a Spark this module starts on one machine
        if "SPARK_DRIVER_MEMORY" not in os.environ:
            # local[*] runs the executors in the driver's JVM, whose default heap (1 GB) a corpus's
            # texts outgrow; what does not fit spills to disk (MEMORY_AND_DISK).
            builder = builder.config("spark.driver.memory", local_memory())
        if not {"SPARK_CONF_DIR", "SPARK_HOME"} & os.environ.keys():
            # Errors only from the JVM's first line on (setLogLevel below comes after Spark's
            # start-up INFO and WARN lines); a Spark installation of the user's keeps its own
            # configuration (log4j2.properties, spark-defaults.conf's java options).
            quiet = Path(__file__).with_name("log4j2.properties").as_uri()
            builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={quiet}")
        # Spark's 200 shuffle partitions are for clusters: on one machine each is a task with
        # its own start-up (and a Python worker's, for dedupe's Arrow functions), most of them empty.
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * _local_cores(master or "local[*]")))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # dedupe says what it does; Spark's INFO and WARN lines drown it
    return spark


__all__ = ["run", "session", "SparkRun", "FILES_PER_PARTITION"]
