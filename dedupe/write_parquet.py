"""The write stage's Parquet form (``dedupe run --output-format parquet``).

The same records as ``stories.jsonl`` and ``documents.jsonl`` (``write.story_records``,
``write.document_records``: same fields, same values, same order), as Parquet part files
in ``OUT/stories/`` and ``OUT/documents/``, the layout Spark writes and reads
(``spark.read.parquet("OUT/stories")``, ``pyarrow.dataset.dataset("OUT/stories")``).  Nested
fields stay nested (a story's ``paragraphs`` is a list of structs).  Needs pyarrow (the
``parquet`` extra); the files are written in row groups of ``ROWS`` records, so memory stays
that of one group.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from .errors import OutputError

#: Records per row group.
ROWS = 10_000
#: The part file each folder holds (one: the local engine writes one stream per table).
PART = "part-00000.parquet"


def require_pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise OutputError("--output-format parquet needs pyarrow: pip install 'wiredupe[parquet]'") from None
    return pa, pq


def schemas() -> dict:
    """The two tables' schemas; field order as in the JSON records (sorted keys)."""
    pa, _ = require_pyarrow()
    strings = pa.list_(pa.string())
    story = pa.schema([
        ("documents", strings),
        ("id", pa.string()),
        ("paragraphs", pa.list_(pa.struct([("chosen_from", pa.string()), ("cluster", pa.string()),
                                           ("documents", strings), ("sources", strings)]))),
        ("sources", strings),
        ("text", pa.string()),
        ("title", pa.string()),
        ("titles", pa.list_(pa.struct([("documents", strings), ("text", pa.string())]))),
    ])
    duplicate = pa.struct([("containment", pa.float64()), ("document", pa.string()), ("jaccard", pa.float64()),
                           ("paragraph", pa.int64()), ("source", pa.string())])
    document = pa.schema([
        ("date", pa.string()),
        ("encoding", pa.string()),
        ("encoding_source", pa.string()),
        ("id", pa.string()),
        ("paragraphs", pa.list_(pa.struct([("cluster", pa.string()), ("duplicate_of", duplicate),
                                           ("index", pa.int64())]))),
        ("removed", pa.list_(pa.struct([("reason", pa.string()), ("rule", pa.string()), ("text", pa.string()),
                                        ("where", pa.string())]))),
        ("source", pa.string()),
        ("story", pa.string()),
        ("text", pa.string()),
        ("title", pa.string()),
        ("url", pa.string()),
    ])
    return {"stories": story, "documents": document}


def write_table(folder: Path, records: Iterable[dict], schema, progress: Optional[Callable[[int], None]] = None) -> None:
    """``records`` as ``folder/part-00000.parquet`` in row groups of ``ROWS``."""
    pa, pq = require_pyarrow()
    folder.mkdir()
    it = iter(records)
    chunk = list(itertools.islice(it, ROWS))
    done = 0
    with pq.ParquetWriter(folder / PART, schema, compression="zstd") as writer:
        while True:  # at least once: a table without records still has its schema
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            done += len(chunk)
            if progress is not None:
                progress(done)
            chunk = list(itertools.islice(it, ROWS))
            if not chunk:
                break


def write_tables(folder: Path, result, progress: Optional[Callable[[str, int, Optional[int]], None]] = None) -> None:
    """``folder/stories/`` and ``folder/documents/`` of a Result (``progress``: documents written)."""
    from .write import document_records, story_records

    tables = schemas()
    write_table(folder / "stories", story_records(result), tables["stories"])
    total = len(result.documents)
    write_table(folder / "documents", document_records(result), tables["documents"],
                None if progress is None else (lambda n: progress("write", n, total)))


def read_table(folder: Path) -> Iterator[dict]:
    """The records of a table folder written here or by Spark (its part files in name order)."""
    pa, pq = require_pyarrow()
    for part in sorted(folder.glob("*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=ROWS):
            yield from batch.to_pylist()
