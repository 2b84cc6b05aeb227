"""Parquet in (``.parquet`` files, the JSONL field options naming their columns) and out
(``--output-format parquet``: ``OUT/stories/`` and ``OUT/documents/``, the JSONL records'
fields and values)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedupe.config import Config
from dedupe.errors import InputError
from dedupe.read import Problems, read_paths
from dedupe.write_parquet import read_table

from .conftest import SAMPLES, run_cli

FEED = SAMPLES / "jsonl" / "feed.jsonl"


def feed_records() -> list:
    return [json.loads(line) for line in FEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def renamed(records: list) -> list:
    """The feed with its text under ``body`` and a column dedupe does not read."""
    return [{**{k: v for k, v in r.items() if k != "text"}, "body": r["text"], "wordcount": len(r["text"].split())}
            for r in records]


def write_parquet(path: Path, rows: list, schema=None) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=2)
    return path


def docs_of(path: Path, **config) -> list:
    return list(read_paths([str(path)], Config(**config)))


def test_a_parquet_file_reads_as_the_same_jsonl(tmp_path):
    rows = renamed(feed_records())
    jsonl = tmp_path / "feed.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    table = write_parquet(tmp_path / "feed.parquet", rows)
    from_jsonl, from_parquet = docs_of(jsonl, text_field="body"), docs_of(table, text_field="body")
    assert len(from_parquet) == len(rows) > 2
    strip = lambda d: (d.id, d.source, d.text, d.url, d.title, d.kind)  # noqa: E731  (origin says file:line or row)
    assert list(map(strip, from_parquet)) == list(map(strip, from_jsonl))
    assert from_parquet[2].origin.endswith("feed.parquet: row 3")


def test_run_output_is_the_same_from_parquet_or_jsonl(tmp_path):
    rows = renamed(feed_records())
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    write_parquet(tmp_path / "b" / "feed.parquet", rows)
    for name in ("a", "b"):
        result = run_cli("run", tmp_path / name, "-o", tmp_path / f"out-{name}", "-q", "--text-field", "body")
        assert result.exit_code == 0, result.output
    assert (tmp_path / "out-a" / "stories.jsonl").read_bytes() == (tmp_path / "out-b" / "stories.jsonl").read_bytes()
    assert (tmp_path / "out-a" / "documents.jsonl").read_bytes() == (tmp_path / "out-b" / "documents.jsonl").read_bytes()


def test_rows_without_an_id_are_numbered_like_jsonl_lines(tmp_path):
    table = write_parquet(tmp_path / "t.parquet", [{"text": "One article about the harbour bridge."},
                                                   {"text": "Another about the ice rink.", "id": None}])
    assert [d.id for d in docs_of(table)] == ["t.parquet:1", "t.parquet:2"]


def test_parquet_output_holds_the_jsonl_records(tmp_path):
    for fmt in ("jsonl", "parquet"):
        result = run_cli("run", SAMPLES, "-o", tmp_path / fmt, "-q", "--output-format", fmt)
        assert result.exit_code == 0, result.output
    out = tmp_path / "parquet"
    assert sorted(p.name for p in out.iterdir()) == [".dedupe-output", "documents", "report.json", "stories"]
    for name in ("stories", "documents"):
        jsonl = [json.loads(line) for line in (tmp_path / "jsonl" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        assert list(read_table(out / name)) == jsonl
    # Nested fields stay nested, as Spark reads them.
    schema = pq.read_schema(out / "stories" / "part-00000.parquet")
    assert pa.types.is_list(schema.field("paragraphs").type)
    report = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}  # noqa: E731
    assert report(out / "report.json") == report(tmp_path / "jsonl" / "report.json")
    # A Parquet output is replaced by the next run like a JSONL one, and can be reviewed.
    assert run_cli("run", SAMPLES, "-o", out, "-q", "--output-format", "parquet", "--review").exit_code == 0
    assert "Halvorsen" in (out / "review.html").read_text(encoding="utf-8")


def test_bad_parquet_input(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"bad\.parquet: not a readable Parquet file"):
        docs_of(bad)
    table = write_parquet(tmp_path / "wide.parquet", renamed(feed_records()))
    with pytest.raises(InputError, match=r"wide\.parquet: no column 'text' \(columns: .*body.*\); --text-field"):
        docs_of(table)
    rows = [{"text": "A fine article about the council vote."}, {"text": None}, {"text": "And a third one."}]
    holes = write_parquet(tmp_path / "holes.parquet", rows)
    with pytest.raises(InputError, match=r"holes\.parquet: row 2: record has no 'text' field"):
        docs_of(holes)
    problems = Problems()
    docs = list(read_paths([str(holes)], Config(on_error="skip"), problems=problems))
    assert [d.text for d in docs] == [rows[0]["text"], rows[2]["text"]]
    assert [s.where for s in problems.skipped] == [f"{holes}: row 2"]
    typed = write_parquet(tmp_path / "typed.parquet", [{"text": "Text.", "title": [1, 2]}])
    with pytest.raises(InputError, match=r"row 1: field 'title' must be a string, not list"):
        docs_of(typed)


def test_parquet_on_stdin_and_gzipped_are_refused(tmp_path):
    import io

    data = write_parquet(tmp_path / "t.parquet", [{"text": "An article."}]).read_bytes()
    with pytest.raises(InputError, match="looks like a Parquet file; pass it as a file"):
        list(read_paths(["-"], Config(), stdin=io.BytesIO(data)))
    (tmp_path / "t.parquet.gz").write_bytes(data)
    with pytest.raises(InputError, match="gzipped Parquet file"):
        docs_of(tmp_path / "t.parquet.gz")


def test_without_pyarrow_the_message_says_what_to_install(tmp_path, monkeypatch):
    table = write_parquet(tmp_path / "t.parquet", [{"text": "An article."}])
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(__import__("sys").modules, name, None)  # import fails, as when not installed
    result = run_cli("run", SAMPLES, "-o", tmp_path / "out", "--output-format", "parquet")
    assert result.exit_code == 4 and "needs pyarrow: pip install 'wiredupe[parquet]'" in result.output
    assert not (tmp_path / "out").exists()  # said before the work, not after it
    result = run_cli("run", table, "-o", tmp_path / "out")
    assert result.exit_code == 3 and "reading Parquet needs pyarrow" in result.output
