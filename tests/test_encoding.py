"""HTML bytes decoded as a browser does, text as the user says: table-driven over pages
written in seven legacy encodings, and the pages that lie."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dedupe.cli import main
from dedupe.config import Config
from dedupe.errors import ConfigError, InputError
from dedupe.read import read_paths
from dedupe.read.encoding import decode_html, decode_text, lookup, prescan

from .encoded_pages import ARTICLES, page

LANGS = sorted(ARTICLES)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("declare", ["meta", "http-equiv"])
def test_declared_in_the_page(lang, declare):
    encoding, headline, paragraphs = ARTICLES[lang]
    got = decode_html(page(lang, declare), "p.html")
    assert (got.encoding, got.source) == (encoding, "meta")
    assert headline in got.text and all(p in got.text for p in paragraphs)


@pytest.mark.parametrize("lang", LANGS)
def test_http_header_beats_the_page(lang):
    encoding, headline, _ = ARTICLES[lang]
    # The page says windows-1252 (a common server template mistake); the HTTP header is right.
    got = decode_html(page(lang, "meta", label="windows-1252"), "p.html", http_charset=encoding)
    assert (got.encoding, got.source) == (encoding, "http") and headline in got.text


@pytest.mark.parametrize("lang", [x for x in LANGS if x != "cs"])
def test_detected_when_nothing_is_declared(lang):
    encoding, headline, paragraphs = ARTICLES[lang]
    got = decode_html(page(lang, declare=None), "p.html")
    assert got.source == "detected"
    assert headline in got.text and all(p in got.text for p in paragraphs)


def test_undeclared_latin2_is_one_of_its_twins():
    # ISO-8859-2 and windows-1250 differ in a few letters only; the detector scores them alike
    # and picks windows-1250, the one the web uses more (benchmarks/encodings.py measures it).
    got = decode_html(page("cs", declare=None), "p.html")
    assert got.source == "detected" and got.encoding in ("iso-8859-2", "windows-1250")


@pytest.mark.parametrize("lang", ["ru", "zh", "fr"])
def test_a_page_that_says_utf8_but_is_not_is_detected_with_a_warning(lang, caplog):
    encoding, headline, _ = ARTICLES[lang]
    got = decode_html(page(lang, "meta", label="utf-8"), "liar.html")
    assert got.source == "detected" and headline in got.text
    assert "declared UTF-8" in caplog.text and "liar.html" in caplog.text


def test_a_page_that_lies_the_other_way_is_decoded_as_it_says():
    # Declared windows-1251, really UTF-8: a browser believes the page, and so do we.
    html = '<meta charset="windows-1251"><p>Привет</p>'.encode("utf-8")
    got = decode_html(html, "p.html")
    assert (got.encoding, got.source) == ("windows-1251", "meta") and "Привет" not in got.text


@pytest.mark.parametrize("data, encoding", [
    ("\ufeff<p>Grüße</p>".encode("utf-8"), "utf-8"),
    ("\ufeff<p>Grüße</p>".encode("utf-16-le"), "utf-16le"),
    ("\ufeff<p>Grüße</p>".encode("utf-16-be"), "utf-16be"),
])
def test_bom_wins_over_everything(data, encoding):
    got = decode_html(data, "p.html", http_charset="koi8-r")
    assert (got.encoding, got.source, got.text) == (encoding, "bom", "<p>Grüße</p>")


@pytest.mark.parametrize("label, name", [
    ("iso-8859-1", "windows-1252"), ("ascii", "windows-1252"), ("latin1", "windows-1252"),
    ("gb2312", "gbk"), ("x-sjis", "shift_jis"), ("ks_c_5601-1987", "euc-kr"), ("utf8", "utf-8"),
    (" KOI8-R ", "koi8-r"), ("no-such-thing", None), ("replacement", None), ("iso-2022-kr", None),
])
def test_labels_map_the_whatwg_way(label, name):
    found = lookup(label)
    assert (found[0] if found else None) == name


def test_gbk_is_decoded_as_its_superset():
    text = "𠀀 and 欧元€"  # outside GBK proper, inside GB18030
    got = decode_html(b'<meta charset="gb2312">' + text.encode("gb18030"), "p.html")
    assert text in got.text and got.encoding == "gbk"


@pytest.mark.parametrize("html, found", [
    (b'<!-- <meta charset="big5"> --><meta charset="koi8-r">', "koi8-r"),
    (b'<meta content="text/html; charset=euc-kr" http-equiv="Content-Type">', "euc-kr"),
    (b'<meta content="text/html; charset=euc-kr">', None),  # content without the pragma
    (b'<div title="<meta charset=big5>"><meta charset=\'windows-1251\'>', "windows-1251"),
    (b'<meta charset="utf-16">', "utf-8"),
    (b"x" * 1100 + b'<meta charset="koi8-r">', None),  # past the first 1,024 bytes
    (b'<meta charset="bogus"><meta charset="shift_jis">', "shift_jis"),
])
def test_prescan(html, found):
    assert prescan(html) == found


def test_undecodable_bytes_in_the_declared_encoding_become_replacement_characters(caplog):
    caplog.set_level("INFO")
    got = decode_html(b'<meta charset="shift_jis"><p>\x82\xa0\x85\x40</p>', "p.html")
    assert "\ufffd" in got.text and "not valid shift_jis" in caplog.text


def test_windows_1252_bytes_python_leaves_undefined_are_c1_controls_as_in_a_browser():
    got = decode_html(b'<meta charset="iso-8859-1"><p>caf\xe9 \x81\x9d \x80</p>', "p.html")
    assert got.text.endswith("<p>café \x81\x9d €</p>")


def test_text_is_utf8_unless_told(tmp_path):
    text = ARTICLES["ru"][2][0]
    path = tmp_path / "a.txt"
    path.write_bytes(text.encode("koi8-r"))
    with pytest.raises(InputError, match="not valid UTF-8"):
        list(read_paths([str(path)], Config()))
    for encoding, source in (("auto", "detected"), ("koi8-r", "given"), ("cskoi8r", "given")):
        doc, = read_paths([str(path)], Config(encoding=encoding))
        assert (doc.text, doc.encoding, doc.encoding_source) == (text, "koi8-r", source)
    path.write_text(text, encoding="utf-8")
    doc, = read_paths([str(path)], Config())
    assert (doc.encoding, doc.encoding_source) == ("utf-8", "default")
    assert decode_text("\ufeffabc".encode("utf-8"), "x", "auto").source == "bom"


def test_unknown_encoding_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown encoding"):
        Config(encoding="klingon-8")


def test_given_encoding_overrides_a_pages_declaration():
    got = decode_html(page("ru", "meta", label="windows-1252"), "p.html", given="koi8-r")
    assert (got.encoding, got.source) == ("koi8-r", "given") and ARTICLES["ru"][1] in got.text


def test_cli_reads_a_gb2312_page_and_says_how(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "zh.html").write_bytes(page("zh", "meta", label="gb2312"))
    (folder / "ja.html").write_bytes(page("ja", declare=None))
    res = CliRunner().invoke(main, ["run", str(folder), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0, res.output
    docs = {d["id"]: d for d in map(json.loads, (tmp_path / "out" / "documents.jsonl").read_text().splitlines())}
    assert (docs["zh.html"]["encoding"], docs["zh.html"]["encoding_source"]) == ("gbk", "meta")
    assert (docs["ja.html"]["encoding"], docs["ja.html"]["encoding_source"]) == ("shift_jis", "detected")
    assert ARTICLES["zh"][2][0][:20] in docs["zh.html"]["text"]
    assert ARTICLES["ja"][2][0][:20] in docs["ja.html"]["text"]
    res = CliRunner().invoke(main, ["run", str(folder), "-o", str(tmp_path / "out2"), "-q", "--encoding", "nope"])
    assert res.exit_code == 5 and "unknown encoding" in res.output
