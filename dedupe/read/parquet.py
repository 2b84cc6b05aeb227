"""Parquet files in: one document per row, with the same field options as JSONL.

A row is read as a JSONL record is (``from_mapping``): the text column is ``--text-field``
(``text``), and ``--id-field``, ``--source-field``, ``--url-field`` and ``--title-field``
name the others; only those columns (and ``kind``) are read from the file, in batches, so a
wide table costs what its text costs.  A row's place is ``FILE: row N`` (counted from 1, in
file order), and a row without an id gets ``<path>:<N>``, as a JSONL line does.  Needs
pyarrow (the ``parquet`` extra).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..config import Config
from ..errors import InputError
from ..model import Document

#: Rows per batch read from the file.
BATCH_ROWS = 2048


def _pyarrow(origin: str):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{origin}: reading Parquet needs pyarrow: pip install 'wiredupe[parquet]'") from None
    return pq


def parquet_documents(path: Path, rel: str, origin: str, default_source: str, config: Config,
                      problems=None) -> Iterator[Document]:
    """The documents of the Parquet file ``path``; with ``problems`` (``on_error="skip"``) a
    bad row is recorded there and the next one read."""
    from . import from_mapping  # the package imports this module lazily

    pq = _pyarrow(origin)
    import pyarrow as pa

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{origin}: not a readable Parquet file ({err})") from None
    names = file.schema_arrow.names
    if config.text_field not in names:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise InputError(f"{origin}: no column {config.text_field!r} (columns: {shown or 'none'}); "
                         "--text-field names the text column")
    wanted = (config.text_field, config.id_field, config.source_field, config.url_field, config.title_field, "kind")
    columns = [c for c in dict.fromkeys(wanted) if c in names]
    row = 0
    try:
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            for record in batch.to_pylist():
                row += 1
                where = f"{origin}: row {row}"
                if record.get("kind") is None:
                    record.pop("kind", None)  # a null kind is the default, as a missing one is
                try:
                    doc = from_mapping(record, config, where, fallback_id=f"{rel}:{row}", fallback_source=default_source)
                except InputError as err:
                    if problems is None:
                        raise
                    problems.skip(where, err)
                    continue
                yield doc
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{origin}: cannot read from row {row + 1} on ({err})") from None
