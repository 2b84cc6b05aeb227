"""Read stage: formats, ids, sources and every input error named with its file (and line)."""
from __future__ import annotations

import gzip
import io
import json

import pytest

from dedupe.config import Config
from dedupe.errors import InputError
from dedupe.read import as_documents, read_paths

CFG = Config()


def _write(path, text, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_folder_ids_sources_and_order(tmp_path):
    root = tmp_path / "corpus"
    _write(root / "reuters" / "b.txt", "B")
    _write(root / "reuters" / "a.txt", "A")
    _write(root / "ap" / "z.html", "<p>Z</p>")
    _write(root / "notes.md", "skipped")
    _write(root / "top.txt", "T")
    docs = list(read_paths([str(root)], CFG))
    assert [(d.id, d.source, d.kind) for d in docs] == [
        ("ap/z.html", "ap", "html"),
        ("reuters/a.txt", "reuters", "text"),
        ("reuters/b.txt", "reuters", "text"),
        ("top.txt", "corpus", "text"),
    ]


def test_jsonl_fields_url_host_and_line_ids(tmp_path):
    feed = _write(tmp_path / "feed" / "x.jsonl", "\n".join([
        json.dumps({"id": "r1", "source": "Reuters", "text": "one"}),
        "",
        json.dumps({"url": "https://www.example.com/a", "text": "two", "title": "T"}),
        json.dumps({"text": "three"}),
    ]))
    docs = list(read_paths([str(feed)], CFG))
    assert [(d.id, d.source, d.title) for d in docs] == [
        ("r1", "Reuters", None), ("x.jsonl:3", "example.com", "T"), ("x.jsonl:4", "feed", None)]


def test_custom_field_names(tmp_path):
    feed = _write(tmp_path / "f.jsonl", json.dumps({"body": "b", "key": "k1", "site": "s"}) + "\n")
    cfg = Config(text_field="body", id_field="key", source_field="site")
    (doc,) = read_paths([str(feed)], cfg)
    assert (doc.id, doc.source, doc.text) == ("k1", "s", "b")


def test_gzip_formats(tmp_path):
    _write(tmp_path / "a.txt.gz", gzip.compress("gz text".encode()), mode="wb")
    _write(tmp_path / "b.jsonl.gz", gzip.compress(b'{"id": "j", "text": "gz json"}\n'), mode="wb")
    docs = list(read_paths([str(tmp_path)], CFG))
    assert [(d.id, d.text) for d in docs] == [("a.txt.gz", "gz text"), ("j", "gz json")]


def test_stdin_sniffs_format():
    docs = list(read_paths(["-"], CFG, stdin=io.BytesIO(b"<html><p>x</p></html>")))
    assert docs[0].kind == "html" and docs[0].source == "stdin"


@pytest.mark.parametrize("content, message", [
    ('{"text": "ok"}\n{not json}\n', r"x\.jsonl:2: not valid JSON"),
    ('["a list"]\n', r"x\.jsonl:1: a JSONL record must be an object"),
    ('{"id": "a"}\n', r"x\.jsonl:1: record has no 'text' field"),
    ('{"text": 3}\n', r"x\.jsonl:1: record has a non-string 'text' field"),
    ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', r"x\.jsonl:2: document id 'a' already used by .*x\.jsonl:1"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, content, message):
    path = _write(tmp_path / "x.jsonl", content)
    with pytest.raises(InputError, match=message):
        list(read_paths([str(path)], CFG))


def test_undecodable_bytes_error_and_replace_fallback(tmp_path, caplog):
    path = _write(tmp_path / "bad.txt", b"caf\xe9 au lait", mode="wb")
    with pytest.raises(InputError, match=r"bad\.txt: not valid UTF-8 at byte 3"):
        list(read_paths([str(path)], CFG))
    (doc,) = read_paths([str(path)], Config(decode_errors="replace"))
    assert doc.text == "caf\ufffd au lait"
    assert "not valid UTF-8" in caplog.text


def test_lone_surrogate_error_and_replace_fallback(tmp_path, caplog):
    path = _write(tmp_path / "x.jsonl", '{"id": "a", "text": "broken \\ud800 pair"}\n')
    with pytest.raises(InputError, match=r"x\.jsonl:1: text holds a lone surrogate \(U\+D800\) at character 7"):
        list(read_paths([str(path)], CFG))
    (doc,) = read_paths([str(path)], Config(decode_errors="replace"))
    assert doc.text == "broken \ufffd pair" and "lone surrogate" in caplog.text
    with pytest.raises(InputError, match="item 0: text holds a lone surrogate"):
        list(as_documents([{"text": "x\udfff"}], CFG))
    from dedupe.model import Document
    (fixed,) = as_documents([Document(id="a", source="s", text="y\ud800")], Config(decode_errors="replace"))
    assert fixed.text == "y\ufffd"


@pytest.mark.parametrize("name, message", [
    ("missing.txt", "no such file or folder"),
    ("data.csv", "unknown format"),
])
def test_path_errors(tmp_path, name, message):
    if name.endswith(".csv"):
        _write(tmp_path / name, "a,b")
    with pytest.raises(InputError, match=message):
        list(read_paths([str(tmp_path / name)], CFG))


def test_bad_gzip(tmp_path):
    path = _write(tmp_path / "a.txt.gz", b"not gzip", mode="wb")
    with pytest.raises(InputError, match="not a valid gzip file"):
        list(read_paths([str(path)], CFG))


def test_library_items_dicts_and_errors():
    docs = list(as_documents([{"text": "a"}, {"text": "b", "url": "http://news.example.org/x"}], CFG))
    assert [(d.id, d.source) for d in docs] == [("doc-0", "unknown"), ("doc-1", "news.example.org")]
    with pytest.raises(InputError, match="item 1: expected a Document or a dict"):
        list(as_documents([{"text": "a"}, 42], CFG))
    with pytest.raises(InputError, match="item 1: document id 'x' is used twice"):
        list(as_documents([{"id": "x", "text": "a"}, {"id": "x", "text": "b"}], CFG))


def test_jsonl_is_read_line_by_line_with_line_numbers_in_errors(tmp_path):
    good = '{"id": "a", "text": "one"}\n'
    _write(tmp_path / "bom.jsonl", ("\ufeff" + good).encode("utf-8"), mode="wb")
    assert [d.id for d in read_paths([str(tmp_path / "bom.jsonl")], Config())] == ["a"]
    bad = _write(tmp_path / "bad.jsonl", good.encode() + b'{"id": "b", "text": "\xff"}\n', mode="wb")
    with pytest.raises(InputError, match=r"bad\.jsonl:2: not valid UTF-8"):
        list(read_paths([str(bad)], Config()))
    broken = _write(tmp_path / "broken.jsonl.gz", b"not gzip at all", mode="wb")
    with pytest.raises(InputError, match="not a valid gzip file"):
        list(read_paths([str(broken)], Config()))
