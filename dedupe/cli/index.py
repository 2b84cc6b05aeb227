"""``dedupe index add|query|remove|prune|stats``: the persistent index from the shell.

Results are JSON lines on stdout (one per document for add/query, one object for the
others); errors are the library's typed errors with the exit codes of ``dedupe.cli``.
"""
from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone

import click

from ..errors import ConfigError, DedupeError, IndexSettingsError, IndexStoreError
from ..index.core import BATCH_DOCUMENTS, Index
from ..read import Problems, read_paths
from .common import Failure, config_from_options, input_options, not_read_line, progress_for


@click.group()
def index() -> None:
    """Incremental dedup against a persistent index (SQLite file or redis:// / unix:// URL)."""


#: Settings an index is built with: (option, Config field, type, help).
_SETTINGS = (
    ("--shingle-size", "shingle_size", click.IntRange(1), "Word n-gram size [3]."),
    ("--num-perm", "num_perm", click.IntRange(1), "MinHash permutations [128]."),
    ("--bands", "bands", click.IntRange(1), "LSH bands [32]."),
    ("--rows", "rows", click.IntRange(1), "LSH rows per band [4]."),
    ("--seed", "seed", int, "MinHash seed [1]."),
    ("--jaccard", "jaccard_threshold", click.FloatRange(0, 1, min_open=True), "Jaccard threshold [0.5]."),
    ("--containment", "containment_threshold", click.FloatRange(0, 1, min_open=True), "Containment threshold [0.8]."),
)


def _index_options(f):
    for flag, field, kind, text in reversed(_SETTINGS):
        f = click.option(flag, field, type=kind, help=text + " Must equal the index's own.")(f)
    f = click.option("--name", default="default", show_default=True, help="Index name (Redis key namespace).")(f)
    return click.option("--index", "location", required=True, metavar="LOCATION",
                        help="SQLite file path, or redis://host:port/db or unix:///path/redis.sock.")(f)


def _open(location, name, opts, create: bool = False) -> Index:
    """Open the index with the settings it stores; settings flags given must equal them.

    Only ``index add`` (``create``) makes a new index: the other commands on a missing
    one are an IndexStoreError (exit 7), never an empty index left behind.
    """
    given = {field: opts[field] for _, field, _, _ in _SETTINGS if opts.get(field) is not None}
    config = config_from_options(**{k: v for k, v in opts.items() if k not in given})
    try:  # the flags given, for a new index (``--num-perm 64`` alone may not be a whole Config)
        full, invalid = replace(config, **given), None
    except ConfigError as err:
        full, invalid = None, err
    try:
        idx = Index.open(location, full or config, name=name, create=create and full is not None, adopt=True)
    except IndexStoreError:
        if invalid is not None:
            raise invalid from None
        raise
    differences = [f"{field}: stored {getattr(idx.config, field)!r}, requested {value!r}"
                   for field, value in sorted(given.items()) if getattr(idx.config, field) != value]
    if differences:
        idx.close()
        raise IndexSettingsError(f"{idx.location}: index was built with other settings ({'; '.join(differences)}); "
                                 "open it with the stored settings or build a new index")
    return idx


def _emit(record) -> None:
    click.echo(json.dumps(record, ensure_ascii=False, sort_keys=False))


def _add_or_query(store: bool):
    @click.argument("paths", nargs=-1, required=True)
    @_index_options
    @input_options
    @click.option("--batch-size", type=click.IntRange(1), default=BATCH_DOCUMENTS, show_default=True,
                  help="Documents per batch (one transaction each).")
    @click.option("-q", "--quiet", is_flag=True, help="No progress display.")
    def command(paths, location, name, fmt, batch_size, quiet, **opts) -> None:
        progress = progress_for(quiet or sys.stdout.isatty())  # the JSON lines own the terminal then
        try:
            with _open(location, name, opts, create=store) as idx:
                problems = Problems()
                docs = read_paths(paths, idx.config, stdin_format=fmt, problems=problems)
                results = idx.iter_add(docs, batch_size) if store else idx.iter_query(docs, batch_size)
                for n, status in enumerate(results, 1):
                    _emit(status.to_record())
                    progress("add" if store else "query", n, None)
        except DedupeError as err:
            raise Failure(err) from None
        finally:
            progress.close()
        if problems.not_read:
            click.echo(f"dedupe index: {not_read_line(problems.not_read)}", err=True)
        if problems.skipped:
            click.echo(f"dedupe index: skipped {len(problems.skipped)} inputs (each logged above)", err=True)

    command.__doc__ = (
        "Clean PATHS, report each paragraph as new or duplicate, and store them."
        if store else "Report each paragraph of PATHS as new or duplicate, storing nothing."
    )
    return command


index.command("add")(_add_or_query(store=True))
index.command("query")(_add_or_query(store=False))


@index.command()
@click.argument("doc_ids", nargs=-1, required=True)
@_index_options
def remove(doc_ids, location, name, **opts) -> None:
    """Remove documents by id (- reads ids from stdin, one a line)."""
    if "-" in doc_ids:
        doc_ids = [i for i in doc_ids if i != "-"] + [line.strip() for line in sys.stdin if line.strip()]
    try:
        with _open(location, name, opts) as idx:
            _emit({"removed": idx.remove(doc_ids)})
    except DedupeError as err:
        raise Failure(err) from None


_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: float) -> float:
    """A Unix timestamp from an ISO 8601 time (naive = UTC), Unix seconds, or an age like ``30d``.

    >>> parse_time("2024-01-01", 0), parse_time("1700000000", 0), parse_time("2h", 10000)
    (1704067200.0, 1700000000.0, 2800.0)
    """
    age = _AGE.fullmatch(text.strip())
    if age:
        return now - float(age.group(1)) * _UNIT[age.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--older-than: {text!r} is not an ISO 8601 time, Unix seconds or an age like 30d") from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


@index.command()
@click.option("--older-than", required=True, metavar="TIME",
              help="Remove documents added before TIME: ISO 8601 (naive = UTC), Unix seconds, or an age (30d, 12h).")
@_index_options
def prune(older_than, location, name, **opts) -> None:
    """Remove every document added before a time (retention)."""
    try:
        stamp = parse_time(older_than, time.time())
        with _open(location, name, opts) as idx:
            _emit({"removed": idx.prune(stamp)})
    except DedupeError as err:
        raise Failure(err) from None


@index.command()
@_index_options
def stats(location, name, **opts) -> None:
    """Print the index's counts and settings as one JSON object."""
    try:
        with _open(location, name, opts) as idx:
            _emit(idx.stats().to_record())
    except DedupeError as err:
        raise Failure(err) from None
