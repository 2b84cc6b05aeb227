"""Which detector decodes undeclared pages right more often: charset-normalizer (what
``dedupe.read.encoding.detect`` uses) or bs4's ``UnicodeDammit`` (with and without a
detector library behind it).

Pages: the seven articles of ``tests/encoded_pages.py`` (windows-1252, ISO-8859-2, KOI8-R,
Shift_JIS, EUC-KR, GBK, Big5), each whole and cut to its first one, two and three
paragraphs, with no declaration; and the 88 ScrapingHub dev pages (English news, UTF-8 on
disk) with their charset declarations removed and re-encoded as windows-1252.  A page is
right when the decoded text equals the text it was encoded from.

    python benchmarks/encodings.py
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.encoded_pages import ARTICLES  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench" / "data" / "scrapinghub-dev" / "html"
_DECLARATION = re.compile(r"<meta[^>]*charset[^>]*>", re.I)


def pages():
    out = []
    for lang, (encoding, headline, paragraphs) in ARTICLES.items():
        for n in (1, 2, 3, len(paragraphs)):
            body = "".join(f"<p>{p}</p>" for p in paragraphs[:n])
            html = f"<html><head><title>{headline}</title></head><body><h1>{headline}</h1>{body}</body></html>"
            out.append((encoding, encoding, html))
    if BENCH.is_dir():
        for path in sorted(BENCH.glob("*.html")):
            html = _DECLARATION.sub("", path.read_text(encoding="utf-8"))
            try:
                html.encode("windows-1252")
            except UnicodeEncodeError:
                html = html.encode("windows-1252", "ignore").decode("windows-1252")
            if html.isascii():
                continue  # every method gets ASCII right
            out.append(("ScrapingHub (windows-1252)", "windows-1252", html))
    return out


def dedupe_detect(data: bytes) -> str:
    from dedupe.read.encoding import decode_html

    return decode_html(data, "bench").text


def charset_normalizer_alone(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else data.decode("utf-8", "replace")


def dammit(data: bytes) -> str:
    from bs4 import UnicodeDammit

    return UnicodeDammit(data, is_html=True).unicode_markup or ""


def dammit_without_detector(data: bytes) -> str:
    import bs4.dammit as d

    saved = d._chardet_dammit
    d._chardet_dammit = lambda s: None
    try:
        return d.UnicodeDammit(data, is_html=True).unicode_markup or ""
    finally:
        d._chardet_dammit = saved


METHODS = {
    "dedupe (UTF-8, else charset-normalizer)": dedupe_detect,
    "charset-normalizer alone": charset_normalizer_alone,
    "bs4 UnicodeDammit (+ charset-normalizer, as installed)": dammit,
    "bs4 UnicodeDammit, no detector library": dammit_without_detector,
}


def main() -> None:
    import logging

    logging.disable(logging.WARNING)
    todo = pages()
    kinds = sorted({k for k, _, _ in todo})
    print(f"{len(todo)} pages\n")
    print("| method | " + " | ".join(kinds) + " | all | ms/page |")
    print("|---|" + "---|" * (len(kinds) + 2))
    for name, fn in METHODS.items():
        right = {k: [0, 0] for k in kinds}
        t = time.perf_counter()
        for kind, encoding, html in todo:
            got = fn(html.encode(encoding))
            right[kind][1] += 1
            right[kind][0] += got == html
        ms = (time.perf_counter() - t) / len(todo) * 1000
        total = sum(r for r, _ in right.values())
        cells = " | ".join(f"{right[k][0]}/{right[k][1]}" for k in kinds)
        print(f"| {name} | {cells} | {total}/{len(todo)} | {ms:.1f} |")


if __name__ == "__main__":
    main()
