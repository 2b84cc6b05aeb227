#!/usr/bin/env python3
"""Records per second from a WARC to cleaned text, one core, side by side in one run:

* dedupe: ``dedupe.read.warc_documents`` (warcio, decoding) + ``clean_document`` per record,
  one core; and the whole ``dedupe run`` job (collapse and output included) with its
  default workers, one per core;
* warcio + trafilatura (``trafilatura.extract`` on each HTML payload), the pipeline
  trafilatura's users write, where trafilatura is installed;
* FastWARC + resiliparse (``extract_plain_text(main_content=True)``), where installed;
* reading alone, warcio against FastWARC (the measurement behind the library choice).

    python benchmarks/warc.py [--pages N] [--rounds 3]

The WARC is written to a temporary folder (never into the project) with warcio's writer,
CC-NEWS-shaped: one gzip member per record, a request and a response (HTTP 200,
text/html) per page, from the ScrapingHub dev pages and, when unpacked
(``~/.cache/dedupe-bench``), the training pool's HTML pages.  Methods alternate round by
round, so all see the same machine load; the best round of each is reported.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.quality import available  # noqa: E402

DATA = ROOT.parent / "shared" / "bench" / "data"
POOL = Path(os.environ.get("DEDUPE_BENCH_POOL", Path.home() / ".cache" / "dedupe-bench"))


def pages(limit: int):
    out = []
    for d in [DATA / "scrapinghub-dev", *sorted(p for p in POOL.glob("*") if (p / "html").is_dir())]:
        meta = {}
        if (d / "meta.jsonl").exists():
            for line in (d / "meta.jsonl").read_text(encoding="utf-8").splitlines():
                if line.strip():
                    m = json.loads(line)
                    meta[m["id"]] = m.get("url")
        for path in sorted((d / "html").glob("*.html")):
            url = meta.get(path.stem) or f"https://{d.name}.example/{path.stem}"
            out.append((url, path.read_bytes()))
            if len(out) >= limit:
                return out
    return out


def build(path: Path, items) -> int:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "benchmarks/warc.py"}))
        for url, body in items:
            w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
    return len(items)


def run_dedupe(path: Path) -> int:
    from dedupe.clean.cleaner import clean_document
    from dedupe.config import Config
    from dedupe.read.warc import warc_documents

    config = Config()
    n = 0
    for doc in warc_documents(path, config):
        clean_document(doc, config)
        n += 1
    return n


def _warcio_html(path: Path):
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type != "response" or rec.http_headers.get_statuscode() != "200":
                continue
            if "html" not in (rec.http_headers.get_header("Content-Type") or ""):
                continue
            yield rec.content_stream().read()


def run_trafilatura(path: Path) -> int:
    import trafilatura

    n = 0
    for data in _warcio_html(path):
        trafilatura.extract(data)
        n += 1
    return n


def _fastwarc_html(path: Path):
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            if rec.http_headers.status_code != 200 or "html" not in (rec.http_content_type or ""):
                continue
            yield rec.reader.read(), rec.http_charset


def run_resiliparse(path: Path) -> int:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    n = 0
    for data, charset in _fastwarc_html(path):
        extract_plain_text(bytes_to_str(data, charset or detect_encoding(data)), main_content=True)
        n += 1
    return n


def run_cli(path: Path) -> int:
    """The whole ``dedupe run`` job (read, clean, collapse, write), its default workers (one
    per core); the CPU of its processes is counted by ``main`` through RUSAGE_CHILDREN."""
    import subprocess

    out = path.parent / "out"
    subprocess.run([str(Path(sys.executable).parent / "dedupe"), "run", str(path), "-o", str(out), "-q"], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    return json.loads((out / "report.json").read_text())["documents"]


def read_warcio(path: Path) -> int:
    return sum(1 for _ in _warcio_html(path))


def read_fastwarc(path: Path) -> int:
    return sum(1 for _ in _fastwarc_html(path))


METHODS = [
    ("dedupe (warcio + decoding + clean)", run_dedupe, "warcio"),
    ("dedupe run (the whole job, every core)", run_cli, "warcio"),
    ("warcio + trafilatura.extract", run_trafilatura, "trafilatura"),
    ("FastWARC + resiliparse", run_resiliparse, "resiliparse"),
    ("read only: warcio", read_warcio, "warcio"),
    ("read only: FastWARC", read_fastwarc, "fastwarc"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    items = pages(args.pages)
    if not items:
        print(f"benchmark pages not found under {DATA}: nothing to measure")
        return 0
    methods = [(n, f) for n, f, mod in METHODS if available(mod)]
    skipped = [n for n, f, mod in METHODS if not available(mod)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crawl.warc.gz"
        n = build(path, items)
        print(f"{path.name}: {n} pages, {2 * n + 1} records, {path.stat().st_size / 1e6:.1f} MB; "
              f"best of {args.rounds} rounds; one core but for `dedupe run`\n")
        best = {}
        read_warcio(path)  # the file into the page cache, warcio imported
        for _ in range(args.rounds):
            for name, fn in methods:
                r0 = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
                t = time.perf_counter()
                done = fn(path)
                wall = time.perf_counter() - t
                r1 = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
                cpu = sum(b.ru_utime - a.ru_utime + b.ru_stime - a.ru_stime for a, b in zip(r0, r1))
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, cpu, done)
    base = best[methods[0][0]][0]
    print("| method | records read | wall | CPU | records/s | vs dedupe |")
    print("|---|---|---|---|---|---|")
    for name, _ in methods:
        wall, cpu, done = best[name]
        print(f"| {name} | {done} | {wall:.2f} s | {cpu:.2f} s | {done / wall:,.0f} | {base / wall:.2f}x |")
    if skipped:
        print(f"\nnot installed, not measured: {', '.join(skipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
