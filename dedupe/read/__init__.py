"""Read stage: paths, stdin or Python objects -> ``Document`` stream.

Formats by extension, each optionally gzipped (``.gz``):

* ``.txt`` -- one article per file;
* ``.html`` / ``.htm`` -- one page per file (``kind="html"``, cleaned by the HTML stage);
* ``.jsonl`` -- one record per line; field names come from the Config
  (``text_field``, ``id_field``, ``source_field``, ``url_field``, ``title_field``);
* ``.warc`` -- a crawl archive (``dedupe.read.warc``): each HTML response is a document;
* ``.parquet`` (not gzipped) -- one row per document, the JSONL field names naming its
  columns (``dedupe.read.parquet``).

HTML bytes are decoded as a browser does, text as ``Config.encoding`` says
(``dedupe.read.encoding``); JSONL is UTF-8.

Folders are walked recursively in sorted order; files with other extensions inside a
folder are skipped (logged), a file named explicitly with another extension is an error.

Document id: the file's path relative to the input argument it was found under (for a
file argument: its name); for JSONL the record's id field, else ``<path>:<line>`` (Parquet:
``<path>:<row>``); for
WARC the ``WARC-Record-ID``.  Document source (the outlet): the JSONL source field, else
the URL's host (without ``www.``), else the name of the folder that holds the file.
"""
from __future__ import annotations

import gzip
import json
import logging
import os
import re
import sys
import zlib
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from ..config import Config
from ..errors import InputError
from ..model import OUTPUT_MARKER, Document, Skipped
from .encoding import Decoded, decode_html, decode_text, override

log = logging.getLogger(__name__)

#: Formats stdin can be read as (``--format``).
FORMATS = ("txt", "html", "jsonl")
_EXTENSIONS = {".txt": "txt", ".html": "html", ".htm": "html", ".jsonl": "jsonl", ".warc": "warc", ".parquet": "parquet"}
_KNOWN = ".txt, .html, .htm, .jsonl, .warc or .parquet"
#: Lower-case endings of every readable file name (a fast first test for ``detect_format``).
DATA_SUFFIXES = tuple(e + gz for e in _EXTENSIONS for gz in ("", ".gz"))


def detect_format(path: Union[str, Path]) -> Optional[str]:
    """Format of a path by its extension (``.gz`` looked through), or None."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return _EXTENSIONS.get(os.path.splitext(name)[1])


def sniff_format(text: str) -> str:
    """Format of unnamed input (stdin): '<' starts HTML, '{' JSONL, anything else is text."""
    head = text.lstrip()[:1]
    return {"<": "html", "{": "jsonl"}.get(head, "txt")


def url_host(url: Optional[str]) -> Optional[str]:
    """Host of a URL without ``www.``, lower-cased; None when there is none.

    >>> url_host("https://www.Reuters.com/article/x")
    'reuters.com'
    """
    if not url:
        return None
    try:
        host = (urlsplit(url if "//" in url else "//" + url).hostname or "").lower()
    except ValueError:  # "http://[::1": not a URL one can take a host from
        log.warning("%r: not a valid URL; the source falls back to the folder name", url)
        return None
    if host.startswith("www."):
        host = host[4:]
    return host or None


def decode(data: bytes, origin: str, config: Config) -> str:
    """UTF-8 (a BOM is dropped); undecodable bytes are an InputError unless decode_errors='replace'."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if config.decode_errors == "replace":
            log.warning("%s: not valid UTF-8 at byte %d; undecodable bytes replaced by U+FFFD", origin, err.start)
            return data.decode("utf-8-sig", errors="replace")
        raise InputError(
            f"{origin}: not valid UTF-8 at byte {err.start} (use --decode-errors replace to read it anyway)"
        ) from None


def decode_document(data: bytes, fmt: str, origin: str, config: Config) -> Decoded:
    """A file's (or stdin's) bytes as text: HTML as a browser decodes it, text by
    ``config.encoding`` (UTF-8 that is not valid follows ``decode_errors``)."""
    if fmt == "html":
        return decode_html(data, origin, given=override(config.encoding))
    found = decode_text(data, origin, config.encoding)
    if found is None:
        return Decoded(decode(data, origin, config), "utf-8", "default")
    return found


def _too_large(origin: str, limit: int) -> InputError:
    return InputError(f"{origin}: larger than the {limit:,}-byte limit for one document (max_document_bytes)")


def read_bytes(path: Path, origin: str, limit: Optional[int] = None) -> bytes:
    """The file's bytes, gunzipped when the name ends in .gz; more than ``limit`` bytes
    (after decompression) is an InputError raised before they are all in memory."""
    limit = limit or Config.max_document_bytes
    gz = str(path).lower().endswith(".gz")
    try:
        if not gz and path.stat().st_size > limit:
            raise _too_large(origin, limit)
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            data = fh.read(limit + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise InputError(f"{origin}: not a valid gzip file: {err}") from None
    except OSError as err:
        raise InputError(f"{origin}: cannot read: {err.strerror or err}") from None
    if len(data) > limit:
        raise _too_large(origin, limit)
    return data


class Problems:
    """Where ``on_error="skip"`` puts what it skipped: ``Skipped(where, reason)`` records in
    input order, each also logged as a warning.  ``read_paths`` takes one (None: fail).
    ``not_read`` counts, by reason, the WARC records that are not documents by design
    (``report.json``'s ``warc_skipped``)."""

    def __init__(self) -> None:
        self.skipped: List[Skipped] = []
        self.not_read: Counter = Counter()

    def skip(self, where: str, err: InputError) -> None:
        message = str(err)
        reason = message[len(where) + 2:] if message.startswith(where + ": ") else message
        log.warning("skipped %s: %s", where, reason)
        self.skipped.append(Skipped(where, reason))


def printable_path(path: Union[str, Path]) -> str:
    """A path as text that can be shown and written: bytes that are not UTF-8 in a file
    name (Linux allows them) appear as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _walk(root: Path, problems: Optional[Problems]) -> Iterator[Path]:
    """Every file below ``root`` (symbolic links to folders followed, each real folder once,
    so a link loop ends); an unreadable folder is an InputError, or skipped and recorded."""
    seen = set()

    def unreadable(err: OSError) -> None:
        where = printable_path(err.filename or root)
        error = InputError(f"{where}: cannot read folder: {err.strerror or err}")
        if problems is None:
            raise error
        problems.skip(where, error)

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        if OUTPUT_MARKER in files:
            log.info("%s: an earlier dedupe output; not read", printable_path(folder))
            dirs[:] = []
            continue
        for name in files:
            path = Path(folder, name)
            if path.is_file():
                yield path


def _checked_name(path: Path, rel: str, config: Config) -> str:
    """``rel`` when it is text; a name with bytes that are not UTF-8 is an InputError, or
    with ``decode_errors="replace"`` U+FFFD in the document id and a warning."""
    if not _SURROGATE.search(rel):
        return rel
    shown = printable_path(path)
    if config.decode_errors == "replace":
        log.warning("%s: file name is not valid UTF-8; its document id has U+FFFD instead", shown)
        return _SURROGATE.sub("\ufffd", rel)
    raise InputError(f"{shown}: file name is not valid UTF-8 (rename it, or use --decode-errors replace)")


def iter_files(paths: Iterable[str], exclude: Iterable[Path] = (),
               problems: Optional[Problems] = None, taken: Optional[set] = None) -> Iterator[Tuple[Path, str, str]]:
    """(file, document id prefix, default source) for every input file, in stable order.

    ``-`` yields (Path('-'), '-', 'stdin').  Not read: files under an ``exclude`` folder
    (resolved: the run's own output folder inside an input folder), folders holding an
    earlier run's output (``OUTPUT_MARKER``), and a file already found through an earlier
    argument (``dedupe run data data/wire`` reads ``data/wire`` once; ``taken``: the files
    found so far, for a caller that lists its arguments one call at a time).
    """
    excluded = [Path(p).resolve() for p in exclude]
    taken = set() if taken is None else taken

    def kept(path: Path) -> bool:
        real = path.resolve()
        if real in taken:
            log.info("%s: already read through an earlier argument", printable_path(path))
            return False
        taken.add(real)
        return not any(real == e or e in real.parents or real.parent == e.parent and
                       real.name.startswith(f".{e.name}.") for e in excluded)

    for arg in paths:
        if arg == "-":
            yield Path("-"), "-", "stdin"
            continue
        root = Path(arg)
        if root.is_dir():
            found = sorted(_walk(root, problems), key=lambda p: p.relative_to(root).as_posix())
            for path in found:
                if detect_format(path) is None:
                    log.debug("%s: skipped (not %s)", printable_path(path), _KNOWN)
                    continue
                if not kept(path):
                    continue
                rel = path.relative_to(root).as_posix()
                yield path, rel, path.parent.name if path.parent != root else root.resolve().name
        elif root.is_file():
            if detect_format(root) is None:
                raise InputError(f"{printable_path(arg)}: unknown format (expected {_KNOWN}, optionally .gz)")
            if kept(root):
                yield root, root.name, root.resolve().parent.name
        elif root.exists():
            raise InputError(f"{printable_path(arg)}: not a regular file or folder")
        else:
            raise InputError(f"{printable_path(arg)}: no such file or folder")


#: Stands for a JSONL line longer than max_document_bytes (its bytes are never held).
_OVERSIZE = object()


def _jsonl_file_lines(path: Path, origin: str, config: Config) -> Iterator[bytes]:
    """A JSONL file's raw lines, one at a time: a corpus never sits in memory twice, and a
    line is never held past ``max_document_bytes`` (``_OVERSIZE`` stands for it)."""
    limit = config.max_document_bytes
    try:
        fh = gzip.open(path, "rb") if str(path).lower().endswith(".gz") else open(path, "rb")
    except OSError as err:
        raise InputError(f"{origin}: cannot read: {err.strerror or err}") from None
    with fh:
        try:
            while True:
                raw = fh.readline(limit + 1)
                if not raw:
                    return
                if len(raw) > limit and not raw.endswith(b"\n"):
                    while raw and not raw.endswith(b"\n"):  # the rest of the line, in bounded pieces
                        raw = fh.readline(limit + 1)
                    yield _OVERSIZE
                    continue
                yield raw
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise InputError(f"{origin}: not a valid gzip file: {err}") from None
        except OSError as err:
            raise InputError(f"{origin}: cannot read: {err.strerror or err}") from None


def _jsonl_record(line: Union[str, bytes], where: str, fallback_id: str, default_source: str,
                  config: Config) -> Optional[Document]:
    """One JSONL line as a Document (None for a blank line); InputError naming ``where``."""
    if line is _OVERSIZE:
        raise _too_large(where, config.max_document_bytes)
    if isinstance(line, bytes):
        line = decode(line, where, config)
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: a JSONL record must be an object, not {type(record).__name__}")
    # json.loads makes a lone surrogate only out of a \\ud800-\\udfff escape: the raw line shows it.
    return from_mapping(record, config, where, fallback_id=fallback_id, fallback_source=default_source,
                        check_text="\\ud" in line or "\\uD" in line)


def _jsonl_documents(lines: Iterable[Union[str, bytes]], origin: str, id_prefix: str, default_source: str,
                     config: Config, problems: Optional["Problems"] = None) -> Iterator[Document]:
    """Documents of JSONL lines (raw bytes are decoded line by line); with ``problems``
    (``on_error="skip"``) a bad record is recorded there and the next one read."""
    for lineno, line in enumerate(lines, 1):
        where = f"{origin}:{lineno}"
        try:
            doc = _jsonl_record(line, where, f"{id_prefix}:{lineno}", default_source, config)
        except InputError as err:
            if problems is None:
                raise
            problems.skip(where, err)
            continue
        if doc is not None:
            yield doc


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str, where: str, config: Config, field: str = "text") -> str:
    """``text``, unless it holds a lone surrogate (JSON input may: ``"\\ud800"``), which no
    UTF-8 output can carry: an InputError naming ``where`` and the ``field``, or with
    ``decode_errors='replace'`` U+FFFD and a warning."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError as err:
        if config.decode_errors == "replace":
            log.warning("%s: lone surrogate in %s at character %d replaced by U+FFFD", where, field, err.start)
            return _SURROGATE.sub("\ufffd", text)
        raise InputError(
            f"{where}: {field} holds a lone surrogate (U+{ord(text[err.start]):04X}) at character {err.start}, "
            "which is not Unicode text (use --decode-errors replace to read it anyway)"
        ) from None


def _valid_fields(doc: Document, where: str, config: Config) -> Document:
    """``doc`` with its id, source, url and title checked by ``valid_text`` (the text is
    checked by the caller, or by the spool while it encodes)."""
    changed = {}
    for name in ("id", "source", "url", "title"):
        value = getattr(doc, name)
        if value is not None and not value.isascii():
            fixed = valid_text(value, where, config, name)
            if fixed is not value:
                changed[name] = fixed
    return replace(doc, **changed) if changed else doc


def from_mapping(
    record: Mapping[str, Any],
    config: Config,
    where: str,
    fallback_id: str,
    fallback_source: str = "unknown",
    check_text: bool = True,
) -> Document:
    """A Document from a dict-like record using the Config's field names.  Every field's
    text is checked by ``valid_text`` (the text field unless ``check_text`` is False);
    an optional field may be a string or a number, nothing else."""
    text = record.get(config.text_field)
    if not isinstance(text, str):
        problem = "has no" if text is None else "has a non-string"
        raise InputError(f"{where}: record {problem} {config.text_field!r} field")
    if len(text) > config.max_document_bytes:  # characters: a cheap bound that never undercounts bytes/4
        raise _too_large(where, config.max_document_bytes)
    if check_text:
        text = valid_text(text, where, config, config.text_field)

    def opt(field: str) -> Optional[str]:
        value = record.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputError(f"{where}: field {field!r} must be a string, not {type(value).__name__}")
        return valid_text(value if isinstance(value, str) else str(value), where, config, field)

    url = opt(config.url_field)
    doc_id = opt(config.id_field) or fallback_id
    source = opt(config.source_field) or url_host(url) or fallback_source
    kind = record.get("kind", "text")
    if kind not in ("text", "html"):
        raise InputError(f"{where}: 'kind' must be 'text' or 'html', not {kind!r}")
    return Document(id=doc_id, source=source, text=text, url=url, title=opt(config.title_field), kind=kind, origin=where)


def read_paths(paths: Iterable[str], config: Config, stdin_format: Optional[str] = None, stdin=None,
               exclude: Iterable[Path] = (), problems: Optional[Problems] = None) -> Iterator[Document]:
    """Documents from paths (files, folders, ``-``) in stable sorted order; ids must be unique.

    Nothing under an ``exclude`` folder is read (see ``iter_files``).  With
    ``config.on_error == "skip"`` an unreadable file or folder and an invalid record are
    recorded in ``problems`` (made here when not given: pass one to see them) and skipped.
    """
    if config.on_error == "skip" and problems is None:
        problems = Problems()
    skipping = problems if config.on_error == "skip" else None
    seen = {}
    for path, rel, default_source in iter_files(paths, exclude, skipping):
        origin = "<stdin>" if str(path) == "-" else printable_path(path)
        try:  # streamed: a JSONL file (or stdin) record by record
            for doc in _file_documents(path, rel, origin, default_source, config, stdin_format, stdin, skipping,
                                       problems):
                if first_use(doc, seen, skipping):
                    yield doc
        except InputError as err:  # the file as a whole (unreadable, undecodable, a corrupt gzip stream)
            if skipping is None:
                raise
            skipping.skip(origin, err)


def first_use(doc: Document, seen: dict, skipping: Optional[Problems]) -> bool:
    """Whether ``doc``'s id is new (then ``seen`` records it); a repeated id is an
    InputError, or skipped and recorded with ``skipping``."""
    if doc.id in seen:
        err = InputError(f"{doc.origin}: document id {doc.id!r} already used by {seen[doc.id]}")
        if skipping is None:
            raise err
        skipping.skip(doc.origin, err)
        return False
    seen[doc.id] = doc.origin
    return True


def _file_documents(path: Path, rel: str, origin: str, default_source: str, config: Config,
                    stdin_format: Optional[str], stdin, problems: Optional[Problems],
                    notes: Optional[Problems] = None) -> Iterator[Document]:
    """The documents of one input file (or stdin).  ``problems``: where skipped records go
    (``on_error="skip"``), ``notes``: where WARC records that are not documents are counted."""
    if str(path) == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read()
        if data.startswith((b"WARC/", b"\x1f\x8b", b"PAR1")):
            what = {b"WARC": "a WARC archive", b"PAR1": "a Parquet file"}.get(data[:4], "gzip data")
            raise InputError(f"{origin}: looks like {what}; pass it as a file (.warc, .warc.gz, .parquet, .gz are "
                             "read from files only)")
        fmt = stdin_format or sniff_format(data[:4096].decode("utf-8", "replace").lstrip("\ufeff"))
        if fmt == "jsonl":
            text = decode(data, origin, config)
        else:
            if len(data) > config.max_document_bytes:
                raise _too_large(origin, config.max_document_bytes)
            decoded = decode_document(data, fmt, origin, config)
    else:
        fmt = detect_format(path)
        rel = _checked_name(path, rel, config)
        if fmt == "warc":
            from .warc import warc_documents

            yield from warc_documents(path, config, origin=origin, problems=problems, notes=notes)
            return
        if fmt == "parquet":
            if str(path).lower().endswith(".gz"):
                raise InputError(f"{origin}: a gzipped Parquet file; Parquet compresses its own columns: "
                                 "give the .parquet file")
            from .parquet import parquet_documents

            yield from parquet_documents(path, rel, origin, default_source, config, problems)
            return
        if fmt != "jsonl":
            decoded = decode_document(read_bytes(path, origin, config.max_document_bytes), fmt, origin, config)
    if fmt == "jsonl":
        # JSON strings may hold U+2028 and other characters str.splitlines breaks at: split at \n only.
        lines = text.split("\n") if str(path) == "-" else _jsonl_file_lines(path, origin, config)
        yield from _jsonl_documents(lines, origin, rel, default_source, config, problems)
    else:
        yield Document(id=rel, source=default_source, text=decoded.text, kind="html" if fmt == "html" else "text",
                       origin=origin, encoding=decoded.encoding, encoding_source=decoded.source)


def as_documents(items: Iterable[Union[Document, Mapping[str, Any]]], config: Config,
                 check_text: bool = True) -> Iterator[Document]:
    """Library input: Documents pass through, dicts are converted; ids must be unique.
    Every field's text is checked by ``valid_text`` (the text itself unless the caller
    checks it: ``check_text=False``)."""
    seen = set()
    for n, item in enumerate(items):
        if isinstance(item, Document):
            doc = _valid_fields(item, f"item {n}", config)
            if check_text:
                text = valid_text(doc.text, f"item {n}", config)
                if text is not doc.text:
                    doc = replace(doc, text=text)
        elif isinstance(item, Mapping):
            doc = from_mapping(item, config, where=f"item {n}", fallback_id=f"doc-{n}", check_text=check_text)
        else:
            raise InputError(f"item {n}: expected a Document or a dict, not {type(item).__name__}")
        if doc.id in seen:
            raise InputError(f"item {n}: document id {doc.id!r} is used twice")
        seen.add(doc.id)
        yield doc
