"""Learning on Spark: per-source templates and corpus-wide boilerplate as aggregations.

Pass 1 leaves on the executors, per document, its page keys (``pipeline._page_job``: the
key of its longest line and of every line, for a source that may learn a template) and its
corpus keys (a story key and the short lines that may be boilerplate).  What the local
engine counts in ``clean.learned`` is counted here by DataFrame aggregations, and only
what the rules decide on reaches the driver:

* **templates**: per source, its distinct pages (page keys) and, per line, on how many of
  them it is; the driver receives the lines on at least ``learn_min_count`` pages of a
  source that has ``learn_min_documents`` pages, and ``learned.template_of`` decides;
* **corpus boilerplate**: per candidate line, its documents, sources and distinct story
  keys; the driver receives the distinct story keys of the lines that could pass (enough
  documents, sources and distinct story keys: each story is at least one story key), and
  ``learned.corpus_verdicts`` counts their stories and decides.

Both give what ``learn_template_keys`` and ``learn_corpus_keys`` give on the same pages.
Line and story keys are unsigned 64-bit; Spark's longs are signed, so they travel as the
signed long of the same bits (``_signed``) and come back unsigned.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Dict, FrozenSet, Iterable, Iterator, Tuple

from ..clean.learned import CorpusLine, corpus_verdicts, template_of
from ..config import Config

log = logging.getLogger(__name__)

_TOP = 1 << 63


def _signed(k: int) -> int:
    return k - (1 << 64) if k >= _TOP else k


def _unsigned(k: int) -> int:
    return k + (1 << 64) if k < 0 else k


def _template_rows(records: Iterable[tuple]) -> Iterator[tuple]:
    """``(source, page key, line key)`` for every line of every page with page keys."""
    for source, _, (_, keys, *_rest) in records:
        if keys is not None:
            page, lines = keys
            page = _signed(page)
            for line in lines:
                yield source, page, _signed(line)


def _corpus_rows(records: Iterable[tuple]) -> Iterator[tuple]:
    """``(line key, source, story key x 4)`` for every candidate line of every document with
    lines, and one row with a null line key per such document (the documents and their
    sources are counted on those)."""
    for source, _, (*_rest, ckeys) in records:
        if ckeys is not None:
            story, lines = ckeys
            story = tuple(_signed(h) for h in story)
            yield (None, source, *story)
            for line in lines:
                yield (_signed(line), source, *story)


def templates(spark, passed, config: Config) -> Dict[str, Tuple[FrozenSet[int], int]]:
    """``{source: (template line keys, distinct pages)}``, as ``learn_template_keys`` on
    every page of ``passed`` (pass 1's records: ``(source, text, page-job result)``)."""
    from pyspark.sql import functions as F

    col = F.col
    rows = spark.createDataFrame(passed.mapPartitions(_template_rows), "source string, page long, line long")
    pages = rows.distinct()
    n = pages.select("source", "page").distinct().groupBy("source").count().withColumnRenamed("count", "pages")
    counted = (pages.groupBy("source", "line").count().where(col("count") >= config.learn_min_count)
               .join(n.where(col("pages") >= config.learn_min_documents), "source"))
    counts: Dict[str, Dict[int, int]] = defaultdict(dict)
    sizes: Dict[str, int] = {}
    for row in counted.toLocalIterator():
        counts[row["source"]][_unsigned(row["line"])] = row["count"]
        sizes[row["source"]] = row["pages"]
    learned = {}
    for source in sorted(counts):
        template = template_of(counts[source], sizes[source], config)
        if template:
            learned[source] = (template, sizes[source])
            log.info("source %s: %d template lines learned from %d pages", source, len(template), sizes[source])
    return learned


def boilerplate(spark, passed, config: Config) -> Dict[int, CorpusLine]:
    """``{line key: CorpusLine}``, as ``learn_corpus_keys`` on every document of ``passed``."""
    if config.corpus_min_documents <= 0:
        return {}
    rows = spark.createDataFrame(passed.mapPartitions(_corpus_rows),
                                 "line long, source string, s0 long, s1 long, s2 long, s3 long").persist()
    try:
        return _boilerplate(rows, config)
    finally:
        rows.unpersist()


def _boilerplate(rows, config: Config) -> Dict[int, CorpusLine]:
    """``boilerplate`` on the rows of ``_corpus_rows`` (read several times: kept by the caller)."""
    from pyspark.sql import functions as F

    col = F.col
    story = ["s0", "s1", "s2", "s3"]
    documents = rows.where(col("line").isNull())  # one row per document with lines
    totals = documents.agg(F.count("*").alias("docs"), F.countDistinct("source").alias("sources")).first()
    docs, all_sources = totals["docs"], totals["sources"]
    if docs < config.corpus_min_documents:
        return {}
    need_sources = min(config.corpus_min_sources, all_sources)
    lines = rows.where(col("line").isNotNull())
    per_line = (lines.groupBy("line").agg(F.count("*").alias("documents"), F.countDistinct("source").alias("sources"),
                                          F.countDistinct(*story).alias("keys"))
                .where((col("documents") >= config.corpus_min_documents) & (col("sources") >= need_sources)
                       & (col("keys") >= config.corpus_min_stories)
                       & (col("keys") >= config.corpus_min_story_share * col("documents"))))
    frequent: Dict[int, int] = {}
    sources: Dict[int, int] = {}
    for row in per_line.toLocalIterator():
        k = _unsigned(row["line"])
        frequent[k], sources[k] = row["documents"], row["sources"]
    if not frequent:
        return {}
    stories: Dict[int, list] = defaultdict(list)
    chosen = lines.join(per_line.select("line"), "line").select("line", *story).distinct()
    for row in chosen.toLocalIterator():
        stories[_unsigned(row["line"])].append(tuple(row[s] for s in story))
    found = corpus_verdicts(frequent, stories, sources, all_sources, config)
    if found:
        log.info("corpus: %d boilerplate lines learned across %d documents", len(found), docs)
    return found


__all__ = ["templates", "boilerplate"]
