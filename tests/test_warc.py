"""WARC archives in: real WARCs written with warcio's writer from the samples' pages (several
encodings, a revisit, a redirect, a PDF, request and metadata records), and damaged ones."""
from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from pathlib import Path

import pytest

from dedupe import run as dedupe_run
from dedupe.config import Config
from dedupe.errors import InputError
from dedupe.read import Problems, read_paths
from dedupe.read.warc import warc_documents
from dedupe.write import story_records

from .conftest import SAMPLES
from .encoded_pages import ARTICLES, page

warcio = pytest.importorskip("warcio")
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402


def sample_pages():
    """(host, name, html bytes): every sample article as a page of its outlet, plus the
    sample HTML pages and the encoded pages (one per legacy encoding)."""
    pages = []
    for txt in sorted((SAMPLES / "news").rglob("*.txt")):
        lines = [x for x in txt.read_text(encoding="utf-8").split("\n") if x.strip()]
        body = "".join(f"<p>{x}</p>\n" for x in lines)
        html = f"<html><head><meta charset=utf-8><title>{lines[0]}</title></head><body><article>{body}</article></body></html>"
        pages.append((f"{txt.parent.name}.example", txt.stem, html.encode("utf-8")))
    for html in sorted((SAMPLES / "html").rglob("*.html")):
        pages.append((f"{html.parent.name}.example", html.stem, html.read_bytes()))
    for lang in ARTICLES:
        pages.append((f"{lang.lower()}.example", f"budget-{lang}", page(lang, declare=None)))
    return sorted(pages, key=lambda p: f"{p[0]}/{p[1]}.html")  # the order a folder of them is read in


def write_warc(path: Path, pages, gz=True, extras=True, http_charset=True):
    """A crawl of ``pages``: per page a request and its response (HTTP 200, the page's
    charset in Content-Type where known), and, with ``extras``, what real crawls hold too."""
    offsets, ids = [], {}
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        w.write_record(w.create_warcinfo_record("crawl.warc", {"software": "test"}))
        for n, (host, name, body) in enumerate(pages):
            url = f"https://{host}/{name}"
            w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"),
                                                http_headers=StatusAndHeaders("GET /" + name + " HTTP/1.1", [],
                                                                              is_http_request=True)))
            ctype = "text/html"
            lang = name.split("-", 1)[1] if name.startswith("budget-") else None
            if lang and http_charset:
                ctype += f"; charset={ARTICLES[lang][0]}"
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            date = f"2026-11-{1 + n % 28:02d}T10:00:00Z"
            rec = w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                       warc_headers_dict={"WARC-Date": date})
            offsets.append(fh.tell())
            w.write_record(rec)
            ids[url] = (rec.rec_headers.get_header("WARC-Record-ID"), date)
        if extras:
            first = f"https://{pages[0][0]}/{pages[0][1]}"
            revisit = w.create_revisit_record(first, digest="sha1:AAAA", refers_to_uri=first, refers_to_date="2026")
            w.write_record(revisit)
            w.write_record(w.create_warc_record("https://a.example/old", "response", payload=io.BytesIO(b""),
                                                http_headers=StatusAndHeaders("301 Moved Permanently",
                                                                              [("Location", "/new")],
                                                                              protocol="HTTP/1.1")))
            w.write_record(w.create_warc_record("https://a.example/report.pdf", "response",
                                                payload=io.BytesIO(b"%PDF-1.4 ..."),
                                                http_headers=StatusAndHeaders("200 OK", [("Content-Type", "application/pdf")],
                                                                              protocol="HTTP/1.1")))
            w.write_record(w.create_warc_record("https://a.example/x", "metadata", payload=io.BytesIO(b"via: x"),
                                                warc_content_type="application/warc-fields"))
    return ids, offsets


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    root = tmp_path_factory.mktemp("crawl")
    pages = sample_pages()
    ids, offsets = write_warc(root / "crawl.warc.gz", pages)
    return root, pages, ids, offsets


def test_documents_ids_urls_dates_and_decoded_text(crawl):
    root, pages, ids, _ = crawl
    notes = Problems()
    docs = list(warc_documents(root / "crawl.warc.gz", Config(), notes=notes))
    assert [d.url for d in docs] == [f"https://{h}/{n}" for h, n, _ in pages]
    for doc, (host, name, body) in zip(docs, pages):
        assert (doc.id, doc.date) == ids[doc.url]
        assert doc.source == host and doc.kind == "html"
        lang = name.split("-", 1)[1] if name.startswith("budget-") else None
        if lang:
            encoding, headline, paragraphs = ARTICLES[lang]
            assert (doc.encoding, doc.encoding_source) == (encoding, "http")
            assert headline in doc.text and paragraphs[-1] in doc.text
        else:
            assert doc.encoding == "utf-8"
    assert dict(notes.not_read) == {"warcinfo record": 1, "request record": len(pages), "revisit record": 1,
                                    "metadata record": 1, "HTTP status 301": 1, "content type application/pdf": 1}


def test_options_widen_what_is_read(crawl):
    root, pages, _, _ = crawl
    notes = Problems()
    config = Config(warc_statuses=("any",), warc_content_types=("text/html", "application/pdf", ""))
    docs = list(warc_documents(root / "crawl.warc.gz", config, notes=notes))
    assert len(docs) == len(pages) + 2  # the redirect (no content type) and the PDF
    assert "HTTP status 301" not in notes.not_read


def _stories(result, key):
    out = []
    for s in story_records(result):
        out.append((s["text"], s.get("title"), tuple(sorted(key[d] for d in s["documents"]))))
    return sorted(out)


def test_stories_equal_those_of_the_same_pages_in_a_folder(crawl, tmp_path):
    root, pages, _, _ = crawl
    folder = tmp_path / "pages"
    for host, name, body in pages:
        (folder / host).mkdir(parents=True, exist_ok=True)
        if name.startswith("budget-"):  # what the WARC's HTTP header says, said by the page itself
            body = page(name.split("-", 1)[1], declare="meta")
        (folder / host / f"{name}.html").write_bytes(body)
    config = Config(workers=1)
    from_warc = dedupe_run(read_paths([str(root / "crawl.warc.gz")], config), config)
    from_folder = dedupe_run(read_paths([str(folder)], config), config)
    warc_key = {d.document.id: d.document.url.split("//", 1)[1] for d in from_warc.documents}
    folder_key = {d.document.id: d.document.id[:-len(".html")] for d in from_folder.documents}
    assert len(from_warc.stories) == len(from_folder.stories)
    assert _stories(from_warc, warc_key) == _stories(from_folder, folder_key)
    assert any(len(s.documents) > 1 for s in from_warc.stories)


def test_cli_run_counts_what_it_skipped(crawl, tmp_path):
    from click.testing import CliRunner

    from dedupe.cli import main

    root, pages, ids, _ = crawl
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", str(root / "crawl.warc.gz"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    assert report["documents"] == len(pages)
    assert report["warc_skipped"]["request record"] == len(pages)
    docs = [json.loads(x) for x in (out / "documents.jsonl").read_text().splitlines()]
    assert {(d["id"], d["date"]) for d in docs} == set(ids.values())
    assert {d["encoding_source"] for d in docs} == {"http", "meta"}


def _archive(pages, gz: bool):
    """A WARC of one 200 HTML response per page, and each record's offset."""
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    offsets = []
    for host, name, body in pages:
        offsets.append(buf.tell())
        w.write_record(w.create_warc_record(f"https://{host}/{name}", "response", payload=io.BytesIO(body),
                                            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                                                          protocol="HTTP/1.1")))
    return buf.getvalue(), offsets


FIVE = [("a.example", f"p{i}", f"<html><body><p>Page {i}: the council met on Tuesday.</p></body></html>".encode())
        for i in range(5)]


def _with_length(data: bytes, start: int, end: int, delta: int) -> bytes:
    seg = data[start:end]
    m = re.search(rb"Content-Length: (\d+)", seg)
    return data[:start] + seg.replace(m.group(0), b"Content-Length: %d" % (int(m.group(1)) + delta), 1) + data[end:]


def _damaged():
    raw, ro = _archive(FIVE, gz=False)
    gz, go = _archive(FIVE, gz=True)
    corrupt = bytearray(gz)
    corrupt[go[2] + 30] ^= 0xFF
    corrupt[go[2] + 40] ^= 0xFF
    return {
        # name: (file name, bytes, offset named, pages read with --on-error skip)
        "truncated gzip": ("t.warc.gz", gz[:go[3] + 100], go[3], [0, 1, 2]),
        "truncated": ("t.warc", raw[:ro[3] + 200], ro[3], [0, 1, 2]),
        "corrupt gzip member": ("t.warc.gz", bytes(corrupt), go[2], [0, 1, 3, 4]),
        "length too long": ("t.warc", _with_length(raw, ro[2], ro[3], +30), ro[2], [0, 1, 3, 4]),
        "length too short": ("t.warc", _with_length(raw, ro[2], ro[3], -20), ro[2], [0, 1, 3, 4]),
    }


@pytest.mark.parametrize("case", sorted(_damaged()))
def test_damaged_archives_name_file_and_offset_or_skip_the_record(case, tmp_path):
    name, data, offset, kept = _damaged()[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        list(read_paths([str(path)], Config()))
    assert str(path) in str(err.value)
    found = int(re.search(r"record at byte (\d+)", str(err.value)).group(1))
    assert abs(found - offset) <= 4, (found, offset)  # warcio counts the blank lines before it
    problems = Problems()
    docs = list(read_paths([str(path)], Config(on_error="skip"), problems=problems))
    assert [d.url for d in docs] == [f"https://a.example/p{i}" for i in kept]
    assert len(problems.skipped) == 1 and "record at byte" in problems.skipped[0].reason


def test_damaged_record_in_cli_exit_3_or_errors_jsonl(tmp_path):
    from click.testing import CliRunner

    from dedupe.cli import main

    name, data, offset, kept = _damaged()["corrupt gzip member"]
    path = tmp_path / name
    path.write_bytes(data)
    res = CliRunner().invoke(main, ["run", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 3 and "record at byte" in res.output
    assert not (tmp_path / "out").exists()
    res = CliRunner().invoke(main, ["run", str(path), "-o", str(tmp_path / "out"), "-q", "--on-error", "skip"])
    assert res.exit_code == 0, res.output
    errors = [json.loads(x) for x in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 1 and errors[0]["where"].startswith(str(path) + "@")
    assert json.loads((tmp_path / "out" / "report.json").read_text())["documents"] == len(kept)


def test_whole_file_gzip_and_uncompressed_read_alike(tmp_path):
    raw, _ = _archive(FIVE, gz=False)
    (tmp_path / "a.warc").write_bytes(raw)
    (tmp_path / "b.warc.gz").write_bytes(gzip.compress(raw))
    a = [(d.url, d.text) for d in warc_documents(tmp_path / "a.warc")]
    b = [(d.url, d.text) for d in warc_documents(tmp_path / "b.warc.gz")]
    assert a == b and len(a) == 5


def _payload_record(body: bytes, headers):
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    w.write_record(w.create_warc_record("https://a.example/x", "response", payload=io.BytesIO(body),
                                        http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")))
    return buf.getvalue()


PAGE = "<html><body><p>Le conseil a adopté le budget après un débat.</p></body></html>".encode("utf-8")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "chunked", "chunked+gzip"])
def test_chunked_and_compressed_payloads_are_decoded(coding, tmp_path):
    body, headers = PAGE, [("Content-Type", "text/html; charset=utf-8")]
    if "gzip" in coding:
        body = gzip.compress(body)
        headers.append(("Content-Encoding", "gzip"))
    if coding == "deflate":
        body = zlib.compress(body)
        headers.append(("Content-Encoding", "deflate"))
    if coding == "br":
        brotli = pytest.importorskip("brotli")
        body = brotli.compress(body)
        headers.append(("Content-Encoding", "br"))
    if coding.startswith("chunked"):
        body = b"%x\r\n" % 10 + body[:10] + b"\r\n" + b"%x\r\n" % (len(body) - 10) + body[10:] + b"\r\n0\r\n\r\n"
        headers.append(("Transfer-Encoding", "chunked"))
    path = tmp_path / "p.warc.gz"
    path.write_bytes(_payload_record(body, headers) * 2)  # the same record twice: the second still read
    docs = list(warc_documents(path))
    assert len(docs) == 2 and "adopté le budget" in docs[0].text


def test_payload_over_the_size_limit_is_an_input_error_and_a_bomb_stops(tmp_path):
    bomb = gzip.compress(b"<p>" + b"a" * 5_000_000 + b"</p>")
    path = tmp_path / "p.warc.gz"
    path.write_bytes(_payload_record(bomb, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]))
    with pytest.raises(InputError, match="max_document_bytes"):
        list(warc_documents(path, Config(max_document_bytes=1_000_000)))
    assert len(list(warc_documents(path, Config(max_document_bytes=6_000_000)))) == 1


def test_index_add_reads_warc(crawl, tmp_path):
    from click.testing import CliRunner

    from dedupe.cli import main

    root, pages, _, _ = crawl
    res = CliRunner().invoke(main, ["index", "add", "--index", str(tmp_path / "i.sqlite3"),
                                    str(root / "crawl.warc.gz"), "-q"])
    assert res.exit_code == 0, res.output
    assert len([x for x in res.stdout.splitlines() if x.startswith("{")]) == len(pages)
    assert "WARC records not read" in res.stderr


def test_an_archive_on_stdin_is_refused_with_a_reason():
    from click.testing import CliRunner

    from dedupe.cli import main

    raw, _ = _archive(FIVE, gz=False)
    for data, what in ((raw, "WARC archive"), (gzip.compress(raw), "gzip data")):
        res = CliRunner().invoke(main, ["clean", "-"], input=data)
        assert res.exit_code == 3 and what in res.output


def test_run_cache_replays_what_a_warc_did_not_read(crawl, tmp_path):
    from click.testing import CliRunner

    from dedupe.cli import main

    root, pages, _, _ = crawl
    reports = []
    for n in range(2):  # the second run reads nothing: the counts come from the cache
        out = tmp_path / f"out{n}"
        res = CliRunner().invoke(main, ["run", str(root / "crawl.warc.gz"), "-o", str(out), "-q",
                                        "--cache", str(tmp_path / "cache")])
        assert res.exit_code == 0, res.output
        report = json.loads((out / "report.json").read_text())
        reports.append({k: v for k, v in report.items() if k != "seconds"})
        assert (out / "documents.jsonl").read_bytes() == (tmp_path / "out0" / "documents.jsonl").read_bytes()
    assert reports[0] == reports[1] and reports[0]["warc_skipped"]["request record"] == len(pages)
