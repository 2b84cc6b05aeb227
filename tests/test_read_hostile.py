"""Hostile input to the read stage, through ``dedupe run`` (issue 11 items 3, 4a, 6, 10).

Cases are data: a file name and its bytes, the exit code under ``--on-error fail``, and a
fragment of the message; under ``--on-error skip`` the same input exits 0 and lists the
bad item in ``OUT/errors.jsonl`` (``report.json``'s ``skipped`` counts it).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from dedupe import read as read_mod
from dedupe.cli import main
from dedupe.config import Config
from dedupe.errors import InputError
from dedupe.read import as_documents

GOOD = b"A good article about the harbour that stays whatever else happens.\n"

# (case id, file name, bytes, fail exit code, message fragment)
CASES = [
    ("surrogate-in-title", "a.jsonl", b'{"id": "x", "title": "\\ud800", "text": "t"}\n', 3, "a.jsonl:1"),
    ("surrogate-in-id", "a.jsonl", b'{"id": "\\udfff", "text": "t"}\n', 3, "surrogate"),
    ("surrogate-in-source", "a.jsonl", b'{"source": "\\ud800", "text": "t"}\n', 3, "source"),
    ("surrogate-in-url", "a.jsonl", b'{"url": "http://\\ud800", "text": "t"}\n', 3, "url"),
    ("deep-json", "a.jsonl", b"[" * 100_000 + b"\n", 3, "nested too deeply"),
    ("null-text", "a.jsonl", b'{"text": null}\n', 3, "a.jsonl:1"),
    ("dict-title", "a.jsonl", b'{"title": {"a": 1}, "text": "t"}\n', 3, "'title'"),
    ("list-id", "a.jsonl", b'{"id": [1], "text": "t"}\n', 3, "'id'"),
    ("bad-json", "a.jsonl", b"{nope\n", 3, "not valid JSON"),
    ("bad-utf8", "a.txt", b"caf\xe9\n", 3, "not valid UTF-8"),
    ("bad-gzip", "a.txt.gz", b"not gzip at all", 3, "gzip"),
    ("duplicate-ids", "a.jsonl", b'{"id": "d", "text": "one"}\n{"id": "d", "text": "two"}\n', 3, "d"),
]


def _run(tmp: Path, name: str, data: bytes, mode: str):
    inp = tmp / "in"
    inp.mkdir(exist_ok=True)
    (inp / "good.txt").write_bytes(GOOD)
    (inp / name).write_bytes(data)
    out = tmp / "out"
    return CliRunner().invoke(main, ["run", str(inp), "-o", str(out), "--on-error", mode, "-q"]), out


@pytest.mark.parametrize("name,data,code,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fail_mode_is_an_input_error(tmp_path, name, data, code, fragment):
    result, _ = _run(tmp_path, name, data, "fail")
    assert result.exit_code == code, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name,data,code,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_skip_mode_lists_the_bad_input(tmp_path, name, data, code, fragment):
    result, out = _run(tmp_path, name, data, "skip")
    assert result.exit_code == 0, result.stderr
    assert "dedupe: skipped" in result.stderr
    errors = [json.loads(l) for l in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert errors and all(name in e["where"] for e in errors)
    assert json.loads((out / "report.json").read_text())["skipped"] == len(errors)


def test_oversize_file_and_gzip_member_and_line(tmp_path, monkeypatch):
    import gzip
    for name, data in [("big.txt", b"x" * 2000), ("big.txt.gz", gzip.compress(b"x" * 2000)),
                       ("big.jsonl", b'{"text": "' + b"x" * 2000 + b'"}\n')]:
        d = tmp_path / name.replace(".", "-")
        d.mkdir()
        (d / name).write_bytes(data)
        with pytest.raises(InputError, match="max_document_bytes"):
            list(read_mod.read_paths([str(d)], Config(max_document_bytes=1000)))


def test_malformed_url_keeps_the_document(tmp_path, caplog):
    docs = list(as_documents([{"id": "a", "url": "http://[::1", "text": "t"}], Config()))
    assert len(docs) == 1 and docs[0].text == "t"


def test_library_input_surrogates_are_checked():
    with pytest.raises(InputError, match="title"):
        list(as_documents([{"id": "a", "title": "\ud800", "text": "t"}], Config()))
    docs = list(as_documents([{"id": "a", "title": "\ud800", "text": "t"}], Config(decode_errors="replace")))
    assert docs[0].title == "\ufffd"


def test_non_utf8_file_name(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "good.txt").write_bytes(GOOD)
    try:
        open(bytes(inp) + b"/bad\xff.txt", "wb").write(GOOD)
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    result = CliRunner().invoke(main, ["run", str(inp), "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 3 and "\\xff" in result.stderr
    result = CliRunner().invoke(main, ["run", str(inp), "-o", str(tmp_path / "out2"), "-q",
                                       "--decode-errors", "replace"])
    assert result.exit_code == 0, result.stderr


def test_overlapping_arguments_are_read_once(tmp_path):
    inp = tmp_path / "in"
    (inp / "news").mkdir(parents=True)
    (inp / "news" / "a.txt").write_bytes(GOOD)
    (inp / "b.jsonl").write_bytes(b'{"id": "b", "text": "another text"}\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(inp), str(inp / "news"), str(inp / "b.jsonl"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / "report.json").read_text())["documents"] == 2


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=300), ext=st.sampled_from([".txt", ".jsonl"]),
       mode=st.sampled_from(["fail", "skip"]))
def test_random_bytes_never_traceback(tmp_path_factory, data, ext, mode):
    tmp = tmp_path_factory.mktemp("fuzz")
    result, _ = _run(tmp, "x" + ext, data, mode)
    assert result.exit_code in (0, 3), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                     max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=st.lists(st.dictionaries(st.sampled_from(["id", "text", "title", "source", "url"]), _json),
                        min_size=1, max_size=4))
def test_random_json_records_never_traceback(tmp_path_factory, records):
    tmp = tmp_path_factory.mktemp("fuzzj")
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    result, _ = _run(tmp, "x.jsonl", data, "fail")
    assert result.exit_code in (0, 3), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
