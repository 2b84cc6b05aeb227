"""``dedupe run``, ``dedupe clean`` and ``dedupe rules``: the batch job and its one-document view."""
from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from pathlib import Path
from typing import List

import click

from ..clean.cleaner import clean_and_explain
from ..clean.rules import ALL_RULES
from ..errors import ConfigError, DedupeError, InputError, OutputError
from ..parallel import collector_paused
from ..pipeline import run as run_pipeline
from ..read import Problems, read_paths
from ..write import OUTPUT_FORMATS, check_output_folder, write_output
from .common import Failure, config_from_options, input_options, not_read_line, progress_for

log = logging.getLogger("dedupe.cli")


def _summary(report, out) -> str:
    rules = ", ".join(f"{name} {n}" for name, n in report.removals_by_rule) or "none"
    return (
        f"dedupe: {report.documents} documents, {report.paragraphs} paragraphs; "
        f"removed {sum(n for _, n in report.removals_by_rule)} noise lines ({rules}); "
        f"{report.clusters} near-duplicate clusters ({report.duplicate_paragraphs} duplicate paragraphs); "
        f"{report.stories} stories; {report.bytes_in:,} bytes in, {report.bytes_out:,} out; "
        f"{report.seconds:.2f} s" + (f"; wrote {out}" if out else "")
    )



def _output_inside_inputs(paths, out) -> List[Path]:
    """Input and output never overlap silently: an input inside OUT (or OUT itself) is an
    OutputError, since the run would replace what it reads; OUT inside an input folder is
    returned, to be left out of reading (an earlier run's output is not input)."""
    real_out = Path(out).resolve()
    inside = []
    for arg in paths:
        if arg == "-":
            continue
        real = Path(arg).resolve()
        if real == real_out or real_out in real.parents:
            raise OutputError(f"{arg}: is inside the output folder {out}, which the run replaces; "
                              "write the output somewhere else")
        if real.is_dir() and real in real_out.parents:
            log.info("%s: inside the input folder %s; its files are not read", out, arg)
            inside.append(real_out)
    return inside


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--out", required=True, type=click.Path(),
              help="Output folder. An existing one is replaced (atomically) only if it is an earlier dedupe output.")
@click.option("--force", is_flag=True, help="Replace OUT even if it is not an earlier dedupe output.")
@input_options
@click.option("--shingle-size", type=click.IntRange(1), help="Word n-gram size [3].")
@click.option("--num-perm", type=click.IntRange(1), help="MinHash permutations [128].")
@click.option("--bands", type=click.IntRange(1), help="LSH bands [32].")
@click.option("--rows", type=click.IntRange(1), help="LSH rows per band [4].")
@click.option("--seed", type=int, help="MinHash seed [1].")
@click.option("--jaccard", "jaccard_threshold", type=click.FloatRange(0, 1, min_open=True),
              help="Near-duplicate when exact Jaccard of shingle sets reaches this [0.5].")
@click.option("--containment", "containment_threshold", type=click.FloatRange(0, 1, min_open=True),
              help="... or when this share of the smaller paragraph is in the larger [0.8].")
@click.option("--canonical", "canonical_policy", type=click.Choice(["longest", "source-priority"]),
              help="How a cluster's canonical paragraph is chosen [longest].")
@click.option("--source-priority", multiple=True, metavar="SOURCE",
              help="Preferred sources, best first (repeatable; implies --canonical source-priority).")
@click.option("--story-min-shared", type=click.IntRange(1), help="Shared clusters that make two documents one story [2].")
@click.option("--story-min-share", type=click.FloatRange(0, 1, min_open=True),
              help="... or this share of the smaller document's paragraphs [0.5].")
@click.option("--story-min-shingles", type=click.IntRange(0),
              help="Only clusters of paragraphs with this many shingles link documents into stories [6].")
@click.option("--workers", type=click.IntRange(0), help="Worker processes [0: one per core]; output does not depend on it.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              help="Keep each input file's cleaning and fingerprints in this folder and reuse them for files "
                   "unchanged since the last run (same output; not for stdin).")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS),
              help="stories.jsonl + documents.jsonl, or Parquet folders stories/ + documents/ (needs pyarrow) "
                   "[jsonl; parquet with --engine spark].")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="Run here, or on Spark (needs pyspark and Java 17; see the README, \"On Spark\").")
@click.option("--master", help="With --engine spark: the Spark master URL [spark-submit's, else local[*]].")
@click.option("--partitions", type=click.IntRange(1), help="With --engine spark: partitions the input files are read in.")
@click.option("--review", is_flag=True, help="Also write OUT/review.html, the run's review page (see `dedupe report`).")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
def run(paths, out, force, fmt, quiet, cache_dir, output_format, engine, master, partitions, review, **opts) -> None:
    """Clean PATHS (files, folders, - for stdin) and write stories, documents and a report to OUT."""
    if opts.get("source_priority") and not opts.get("canonical_policy"):
        opts["canonical_policy"] = "source-priority"
    progress = progress_for(quiet)
    output_format = output_format or ("parquet" if engine == "spark" else "jsonl")
    try:
        config = replace(config_from_options(**opts), keep_input_text=False)  # the input text is never written
        if engine != "spark" and (master or partitions):
            raise ConfigError("--master and --partitions apply to --engine spark")
        if engine == "spark" and (cache_dir or fmt):
            raise ConfigError("--engine spark reads files and folders afresh: not with --cache or --format (stdin)")
        check_output_folder(out, force)  # before the work, not after it
        if output_format == "parquet":
            from ..write_parquet import require_pyarrow

            require_pyarrow()  # before the work too
        exclude = _output_inside_inputs(paths, out)
        problems = Problems()

        def read():  # a generator: the pipeline starts its workers before the corpus is in memory
            for n, doc in enumerate(read_paths(paths, config, stdin_format=fmt, exclude=exclude,
                                               problems=problems), 1):
                progress("read", n, None)
                yield doc

        # No cyclic collection between run and write either: it would rescan the run's
        # millions of objects once (the library pauses it inside each of the two calls).
        with collector_paused():
            if engine == "spark":
                from ..spark import run as spark_run, session

                outcome = spark_run(session(master), paths, config, partitions, progress, exclude)
                result = outcome.result
                problems.skipped.extend(outcome.skipped)
                problems.not_read.update(outcome.not_read)
            elif cache_dir:
                from ..cache import run_cached

                if fmt:
                    raise ConfigError("--format applies to stdin, which --cache cannot read")
                result = run_cached(paths, config, Path(cache_dir), progress, exclude, problems)
            else:
                result = run_pipeline(read(), config, progress=progress)
            summary = _summary(result.report, write_output(result, out, force=force, errors=problems.skipped, progress=progress,
                                                         not_read=problems.not_read, config=config,
                                                         output_format=output_format))
            del result  # freed while the collector is off: nothing left for it to scan
        if review:
            from ..review import write_review

            summary += f"; review {write_review(out, progress=progress)}"
    except DedupeError as err:
        raise Failure(err) from None
    finally:  # on an error or Ctrl-C too, so the message starts on a line of its own
        progress.close()
    if not quiet:
        click.echo(summary, err=True)
    if problems.not_read and not quiet:
        click.echo(f"dedupe: {not_read_line(problems.not_read)} (counted in report.json)", err=True)
    if problems.skipped:
        n = len(problems.skipped)
        click.echo(f"dedupe: skipped {n} input{'s' if n != 1 else ''} (listed in {Path(out) / 'errors.jsonl'})", err=True)


@click.command()
@click.argument("path", default="-")
@input_options
@click.option("--explain", is_flag=True, help="List every removal (line, rule, reason, text) on stderr.")
def clean(path, fmt, explain, **opts) -> None:
    """Print one document's cleaned text (PATH: a .txt or .html file, or - for stdin)."""
    try:
        config = config_from_options(**opts)
        if path != "-" and Path(path).is_dir():
            raise InputError(f"{path}: is a folder; `dedupe clean` takes one document (use `dedupe run {path} -o OUT`)")
        docs = list(itertools.islice(read_paths([path], config, stdin_format=fmt or None), 2))
        if len(docs) != 1:
            what = "no document" if not docs else "more than one document"
            raise InputError(f"{path}: holds {what}; `dedupe clean` takes one (use `dedupe run {path} -o OUT` for many)")
        doc = docs[0]
        text, removals = clean_and_explain(doc.text, config, kind=doc.kind)
    except DedupeError as err:
        raise Failure(err) from None
    if text:
        click.echo(text)
    if explain:
        for r in removals:
            click.echo(f"{r.where}\t{r.rule}\t{r.reason}\t{r.text}", err=True)


@click.command()
def rules() -> None:
    """List the cleaning rules with their reasons."""
    for rule in ALL_RULES:
        click.echo(f"{rule.name:<20} {rule.reason}")
