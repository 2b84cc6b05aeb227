"""WARC archives (``.warc``, ``.warc.gz``) -> documents, streamed record by record.

What is a document (by default; ``Config.warc_*`` widen it): a ``response`` record whose
HTTP status is 200 and whose payload is HTML (``text/html``, ``application/xhtml+xml``).
Every other record is counted by reason (``request record``, ``revisit record``, ``HTTP
status 301``, ``content type application/pdf`` ...) in ``Problems.not_read``, which
``report.json`` carries as ``warc_skipped``.

A document's id is its ``WARC-Record-ID``, ``url`` its ``WARC-Target-URI``, ``source`` that
URL's host, ``date`` its ``WARC-Date``; its bytes are de-chunked, decompressed (gzip,
deflate, br) and decoded by ``encoding.decode_html`` with the HTTP header's charset.

Records are parsed by warcio (chosen over FastWARC by measurement: reading is a few per cent
of the time a record costs, and on damaged archives FastWARC returned truncated payloads
and dropped records without an error; see the README).  This module adds what a corpus job
needs on top: a payload is never held past ``max_document_bytes``; a record whose length is
wrong, a truncated record and a corrupt gzip member are an ``InputError`` naming the file
and the record's byte offset, or with ``on_error="skip"`` recorded in ``problems`` while
reading goes on at the next record found after it; a file gzipped as a whole (not one
member per record) is read too.
"""
from __future__ import annotations

import functools
import gzip
import itertools
import logging
import zlib
from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

from ..config import Config
from ..errors import InputError
from ..model import Document
from . import url_host
from .encoding import charset_of_content_type, decode_html, override

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b\x08"
_SCAN_BLOCK = 1 << 20


@functools.lru_cache(maxsize=None)
def _iterator_class():
    from warcio.archiveiterator import ArchiveIterator

    class Records(ArchiveIterator):
        """warcio's iterator, quiet: a record not followed by its blank lines (its length is
        wrong) is counted in ``err_count``, which the reader turns into an error."""

        INC_RECORD = ""

    return Records


def _needs(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise InputError(f"reading WARC archives needs {module}: pip install 'wiredupe[warc]'") from None


class _Bad(Exception):
    """A damaged record: the reason, for an InputError at its offset."""


def _read_bounded(stream, limit: int, what: str) -> bytes:
    chunks, size = [], 0
    while True:
        block = stream.read(min(1 << 16, limit + 1 - size))
        if not block:
            return b"".join(chunks)
        chunks.append(block)
        size += len(block)
        if size > limit:
            raise _Bad(f"{what} larger than the {limit:,}-byte limit for one document (max_document_bytes)")


def _decompressed(data: bytes, coding: str, limit: int) -> bytes:
    """``data`` without its Content-Encoding, never more than ``limit`` bytes of output."""
    too_large = _Bad(f"payload larger than the {limit:,}-byte limit for one document once decompressed "
                     "(max_document_bytes)")
    if coding in ("gzip", "x-gzip", "deflate"):
        attempts = (31,) if coding != "deflate" else (15, -15)  # "deflate" is zlib-wrapped, or raw in the wild
        for n, wbits in enumerate(attempts):
            d = zlib.decompressobj(wbits)
            try:
                out = d.decompress(data, limit + 1)
            except zlib.error as err:
                if n + 1 < len(attempts):
                    continue
                raise _Bad(f"payload is not valid {coding} data ({err})") from None
            if len(out) > limit or d.unconsumed_tail:
                raise too_large
            return out
    if coding == "br":
        brotli = _needs("brotli")
        d = brotli.Decompressor()
        try:
            out = d.process(data, output_buffer_limit=limit + 1)
        except brotli.error as err:
            raise _Bad(f"payload is not valid brotli data ({err})") from None
        if len(out) > limit or not d.can_accept_more_data():
            raise too_large
        return out
    raise AssertionError(coding)


_CODINGS = ("", "identity", "gzip", "x-gzip", "deflate", "br")


def _media_type(value: Optional[str]) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _document(record, config: Config, origin: str, offset: int, fallback_id: str
              ) -> Tuple[Optional[Document], Optional[str]]:
    """(the record's document, None), or (None, why it is not one)."""
    kind = record.rec_type
    if kind not in config.warc_record_types:
        return None, f"{kind} record"
    http = record.http_headers if record.content_type and "application/http" in record.content_type else None
    if http is not None:
        status = http.get_statuscode() or ""
        if "any" not in config.warc_statuses and status not in config.warc_statuses:
            return None, f"HTTP status {status or 'missing'}"
        content_type = http.get_header("Content-Type")
    else:
        content_type = record.rec_headers.get_header("Content-Type")
    media = _media_type(content_type)
    if media not in config.warc_content_types:
        return None, f"content type {media or 'missing'}"
    coding = (http.get_header("Content-Encoding") or "").strip().lower() if http is not None else ""
    if coding not in _CODINGS:
        return None, f"content encoding {coding}"
    limit = config.max_document_bytes
    stream = record.raw_stream
    if http is not None and "chunked" in (http.get_header("Transfer-Encoding") or "").lower():
        from warcio.bufferedreaders import ChunkedDataReader

        stream = ChunkedDataReader(stream)
    data = _read_bounded(stream, limit, "payload")
    if coding not in ("", "identity"):
        data = _decompressed(data, coding, limit)
    where = f"{origin}@{offset}"
    decoded = decode_html(data, where, http_charset=charset_of_content_type(content_type),
                          given=override(config.encoding))
    url = record.rec_headers.get_header("WARC-Target-URI")
    return Document(
        id=record.rec_headers.get_header("WARC-Record-ID") or fallback_id,
        source=url_host(url) or "unknown",
        text=decoded.text,
        url=url,
        kind="text" if media == "text/plain" else "html",
        origin=where,
        date=record.rec_headers.get_header("WARC-Date"),
        encoding=decoded.encoding,
        encoding_source=decoded.source,
    ), None


def _next_start(path: Path, after: int, gz: bool) -> Optional[int]:
    """The offset of the first record that seems to start after byte ``after`` (a gzip
    member that opens with ``WARC/``, or a ``WARC/1.`` line), or None; read in blocks."""
    mark = _GZIP_MAGIC if gz else b"\nWARC/1."
    with open(path, "rb") as fh:
        pos = after + 1
        while True:
            fh.seek(pos)
            block = fh.read(_SCAN_BLOCK + len(mark))
            if len(block) < len(mark):
                return None
            i = block.find(mark)
            while i >= 0:
                start = pos + i + (0 if gz else 1)
                if not gz:
                    return start
                fh.seek(start)
                head = fh.read(4096)
                try:
                    if zlib.decompressobj(31).decompress(head, 16).startswith(b"WARC/"):
                        return start
                except zlib.error:
                    pass
                i = block.find(mark, i + 1)
            pos += _SCAN_BLOCK


def warc_documents(path: Union[str, Path], config: Optional[Config] = None, *, origin: Optional[str] = None,
                   problems=None, notes=None) -> Iterator[Document]:
    """The documents of one WARC file, in record order.

    ``problems`` (a ``dedupe.read.Problems``, ``on_error="skip"``): a damaged record is
    recorded there and reading goes on after it; without one it is an InputError.
    ``notes``: a ``Problems`` whose ``not_read`` counts the records that are not documents.
    """
    _needs("warcio")
    config = config or Config()
    path = Path(path)
    origin = origin or str(path)
    with open(path, "rb") as fh:
        head = fh.read(3)
    gz = head == _GZIP_MAGIC
    start: Optional[int] = 0
    whole_gzip = False
    given = 0  # documents given out
    again = 0  # ... of which a second pass (a whole-file gzip) must not give out again
    while start is not None:
        counts_before = dict(notes.not_read) if notes is not None else {}
        try:
            for doc in itertools.islice(_records(path, start, gz, whole_gzip, config, origin, notes), again, None):
                given += 1
                yield doc
            return
        except _WholeGzip:  # found at the second record: read again as one stream, the first once
            whole_gzip, start, again = True, 0, given
            if notes is not None:
                notes.not_read.clear()
                notes.not_read.update(counts_before)
            continue
        except _Damaged as err:
            error = InputError(f"{origin}: record at byte {err.offset}"
                               f"{' of the decompressed stream' if whole_gzip else ''}: {err.reason}")
            if problems is None:
                raise error from None
            problems.skip(f"{origin}@{err.offset}", error)
            start = None if whole_gzip else _next_start(path, err.offset, gz)
            if start is not None:
                log.info("%s: reading on at byte %d", origin, start)


class _WholeGzip(Exception):
    """The file is one gzip stream holding many records (warcio reads one member per record)."""


class _Damaged(Exception):
    def __init__(self, offset: int, reason: str):
        super().__init__(reason)
        self.offset, self.reason = offset, reason


def _records(path: Path, start: int, gz: bool, whole_gzip: bool, config: Config, origin: str,
             notes) -> Iterator[Document]:
    """Documents of the records from byte ``start``; each document is given out only once
    the record after it has been found, so a record whose length is wrong is never one."""
    Records = _iterator_class()
    with (gzip.open(path, "rb") if whole_gzip else open(path, "rb")) as fh:
        if start:
            fh.seek(start)
        records = Records(fh)
        held: Optional[Document] = None
        held_offset = start
        counted: dict = {}
        prev = None
        while True:
            if prev is not None:  # the end of the record before (warcio reads it on; the offset of the next)
                try:
                    records.read_to_end()
                except Exception as err:
                    raise _Damaged(held_offset, _reason(err, str(err).strip())) from None
                if records.err_count:
                    raise _Damaged(held_offset, "its Content-Length does not match the bytes that follow it")
                if prev.raw_stream.limit > 0:
                    raise _Damaged(held_offset, f"truncated: {prev.raw_stream.limit:,} bytes of its content are missing")
            if held is not None:  # its record ended where it should: it is whole
                yield held
                held = None
            if notes is not None:
                notes.not_read.update(counted)
            counted = {}
            offset = records.offset
            try:
                record = next(records)
            except StopIteration:
                record = None
            except Exception as err:  # warcio's parse errors, zlib's, EOF inside a member ...
                text = str(err).strip()
                if "non-chunked gzip" in text:
                    raise _WholeGzip() from None
                raise _Damaged(offset, _reason(err, text)) from None
            if record is None and _rest(fh, offset, whole_gzip):
                raise _Damaged(offset, "truncated: the file ends inside this record")
            if record is None:
                break
            try:
                doc, why = _document(record, config, origin, offset, f"{origin}@{offset}")
            except _Bad as err:
                raise _Damaged(offset, str(err)) from None
            if doc is None:
                counted[why] = 1
            held, held_offset, prev = doc, offset, record


def _rest(fh, offset: int, whole_gzip: bool) -> bool:
    """Whether anything but blank lines follows ``offset`` (where warcio found no record)."""
    if whole_gzip:
        return False  # warcio read the stream to its end
    fh.seek(offset)
    while True:
        block = fh.read(1 << 16)
        if not block:
            return False
        if block.strip():
            return True


def _reason(err: Exception, text: str) -> str:
    first = text.splitlines()[0] if text else ""
    if isinstance(err, (EOFError, AttributeError)) or "end-of-stream" in text or "Compressed file ended" in text:
        return "truncated: the file ends inside this record"
    if isinstance(err, zlib.error):
        return f"not valid gzip data ({first})"
    return f"not a valid WARC record ({first[:200]})" if first else f"not a valid WARC record ({type(err).__name__})"
