"""Command line: a thin layer over the library (argument parsing, progress, exit codes).

Exit codes (documented in the README):

==== =====================================================
0    success
1    internal error (a bug: please report the traceback)
2    usage error (bad option or argument; click's own code)
3    input error (unreadable path, malformed JSONL, undecodable bytes)
4    output error (cannot write the output folder)
5    configuration error (out-of-range or inconsistent setting)
6    index settings differ from the ones the index was built with
7    index unusable (corrupt, other format version, unreachable server)
==== =====================================================
"""
from __future__ import annotations

import logging
import sys
from dataclasses import replace
from typing import Optional

import click

from . import __version__
from .clean.cleaner import clean_and_explain
from .clean.rules import ALL_RULES
from .config import Config
from .errors import ConfigError, DedupeError, IndexSettingsError, IndexStoreError, InputError, OutputError
from .parallel import collector_paused
from .pipeline import run as run_pipeline
from .read import FORMATS, detect_format, read_paths
from .write import write_output

EXIT_CODES = {InputError: 3, OutputError: 4, ConfigError: 5, IndexSettingsError: 6, IndexStoreError: 7}


def exit_code(err: DedupeError) -> int:
    for cls, code in EXIT_CODES.items():
        if isinstance(err, cls):
            return code
    return 1


class Failure(click.ClickException):
    """A library error shown as one line on stderr, with its documented exit code."""

    def __init__(self, err: DedupeError):
        super().__init__(str(err))
        self.exit_code = exit_code(err)

    def show(self, file=None) -> None:
        click.echo(f"dedupe: error: {self.format_message()}", err=True)


class StageProgress:
    """Progress bars on stderr, one per stage; shown on a terminal only."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.stage: Optional[str] = None
        self.bar = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: Optional[int]) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=total, label=f"{stage:<12}", file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _config_from_options(**opts) -> Config:
    values = {k: v for k, v in opts.items() if v is not None and v != ()}
    try:
        return replace(Config(), **values)
    except TypeError as err:  # pragma: no cover - option names are ours
        raise ConfigError(str(err)) from None


def _summary(report, out) -> str:
    rules = ", ".join(f"{name} {n}" for name, n in report.removals_by_rule) or "none"
    return (
        f"dedupe: {report.documents} documents, {report.paragraphs} paragraphs; "
        f"removed {sum(n for _, n in report.removals_by_rule)} noise lines ({rules}); "
        f"{report.clusters} near-duplicate clusters ({report.duplicate_paragraphs} duplicate paragraphs); "
        f"{report.stories} stories; {report.bytes_in:,} bytes in, {report.bytes_out:,} out; "
        f"{report.seconds:.2f} s" + (f"; wrote {out}" if out else "")
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dedupe")
@click.option("-v", "--verbose", count=True, help="Log what is done (-vv for debug).")
def main(verbose: int) -> None:
    """Strip scraper noise from news articles and collapse near-duplicate paragraphs across sources."""
    logging.basicConfig(level={0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG),
                        format="dedupe: %(levelname)s: %(message)s", stream=sys.stderr)


def _input_options(f):
    f = click.option("--format", "fmt", type=click.Choice(FORMATS), help="Format of stdin (default: sniffed).")(f)
    f = click.option("--text-field", help="JSONL field holding the text [text].")(f)
    f = click.option("--id-field", help="JSONL field holding the document id [id].")(f)
    f = click.option("--source-field", help="JSONL field holding the source/outlet [source].")(f)
    f = click.option("--url-field", help="JSONL field holding the URL [url].")(f)
    f = click.option("--title-field", help="JSONL field holding the title [title].")(f)
    f = click.option("--decode-errors", type=click.Choice(["strict", "replace"]),
                     help="strict: undecodable UTF-8 is an error (exit 3) [default]; replace: read with U+FFFD and warn.")(f)
    f = click.option("--disable-rule", "disabled_rules", multiple=True, metavar="NAME",
                     help="Switch a cleaning rule off (repeatable; see `dedupe rules`).")(f)
    f = click.option("--no-content-filter", "content_filter", flag_value=False, default=None,
                     help="Keep lines the content filter would drop (named rules still run).")(f)
    return f


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--out", required=True, type=click.Path(), help="Output folder (replaced atomically).")
@_input_options
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
@click.option("--workers", type=click.IntRange(0), help="Worker processes [0: one per core]; output does not depend on it.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary.")
def run(paths, out, fmt, quiet, **opts) -> None:
    """Clean PATHS (files, folders, - for stdin) and write stories, documents and a report to OUT."""
    if opts.get("source_priority") and not opts.get("canonical_policy"):
        opts["canonical_policy"] = "source-priority"
    progress = StageProgress(enabled=not quiet and sys.stderr.isatty())
    try:
        config = replace(_config_from_options(**opts), keep_input_text=False)  # the input text is never written

        def read():  # a generator: the pipeline starts its workers before the corpus is in memory
            for n, doc in enumerate(read_paths(paths, config, stdin_format=fmt), 1):
                progress("read", n, None)
                yield doc

        # No cyclic collection between run and write either: it would rescan the run's
        # millions of objects once (the library pauses it inside each of the two calls).
        with collector_paused():
            result = run_pipeline(read(), config, progress=progress)
            summary = _summary(result.report, write_output(result, out))
            del result  # freed while the collector is off: nothing left for it to scan
    except DedupeError as err:
        progress.close()
        raise Failure(err) from None
    progress.close()
    if not quiet:
        click.echo(summary, err=True)


@main.command()
@click.argument("path", default="-")
@_input_options
@click.option("--explain", is_flag=True, help="List every removal (line, rule, reason, text) on stderr.")
def clean(path, fmt, explain, **opts) -> None:
    """Print one document's cleaned text (PATH: a .txt or .html file, or - for stdin)."""
    try:
        config = _config_from_options(**opts)
        if fmt == "jsonl" or (path != "-" and detect_format(path) == "jsonl"):
            raise InputError(f"{path}: `dedupe clean` takes one .txt or .html document; use `dedupe run` for JSONL")
        docs = list(read_paths([path], config, stdin_format=fmt or None))
        doc = docs[0]
        text, removals = clean_and_explain(doc.text, config, kind=doc.kind)
    except DedupeError as err:
        raise Failure(err) from None
    if text:
        click.echo(text)
    if explain:
        for r in removals:
            click.echo(f"{r.where}\t{r.rule}\t{r.reason}\t{r.text}", err=True)


@main.command()
def rules() -> None:
    """List the cleaning rules with their reasons."""
    for rule in ALL_RULES:
        click.echo(f"{rule.name:<20} {rule.reason}")


# pre-commit hooks (dedupe.hook): `dedupe fix` and `dedupe check`.
from .hook.commands import check as _hook_check, fix as _hook_fix  # noqa: E402 - registered after main exists

main.add_command(_hook_fix, "fix")
main.add_command(_hook_check, "check")

# persistent index (dedupe.index): `dedupe index add|query|remove|prune|stats`.
from .index.cli import index as _index_group  # noqa: E402 - registered after main exists

main.add_command(_index_group)


if __name__ == "__main__":  # pragma: no cover
    main()
