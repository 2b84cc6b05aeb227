"""Read stage: paths, stdin or Python objects -> ``Document`` stream.

Formats by extension, each optionally gzipped (``.gz``):

* ``.txt`` -- one article per file;
* ``.html`` / ``.htm`` -- one page per file (``kind="html"``, cleaned by the HTML stage);
* ``.jsonl`` -- one record per line; field names come from the Config
  (``text_field``, ``id_field``, ``source_field``, ``url_field``, ``title_field``).

Folders are walked recursively in sorted order; files with other extensions inside a
folder are skipped (logged), a file named explicitly with another extension is an error.

Document id: the file's path relative to the input argument it was found under (for a
file argument: its name); for JSONL the record's id field, else ``<path>:<line>``.
Document source (the outlet): the JSONL source field, else the URL's host (without
``www.``), else the name of the folder that holds the file.
"""
from __future__ import annotations

import gzip
import json
import logging
import os
import re
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from .config import Config
from .errors import InputError
from .model import OUTPUT_MARKER, Document

log = logging.getLogger(__name__)

FORMATS = ("txt", "html", "jsonl")
_EXTENSIONS = {".txt": "txt", ".html": "html", ".htm": "html", ".jsonl": "jsonl"}


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
    host = (urlsplit(url if "//" in url else "//" + url).hostname or "").lower()
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


def read_bytes(path: Path, origin: str) -> bytes:
    """The file's bytes, gunzipped when the name ends in .gz."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{origin}: cannot read: {err.strerror or err}") from None
    if str(path).lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise InputError(f"{origin}: not a valid gzip file: {err}") from None
    return data


def iter_files(paths: Iterable[str], exclude: Iterable[Path] = ()) -> Iterator[Tuple[Path, str, str]]:
    """(file, document id prefix, default source) for every input file, in stable order.

    ``-`` yields (Path('-'), '-', 'stdin').  Files under an ``exclude`` folder (resolved:
    the run's own output folder inside an input folder) are not read.
    """
    excluded = [Path(p).resolve() for p in exclude]

    def kept(path: Path) -> bool:
        real = path.resolve()
        return not any(real == e or e in real.parents or real.parent == e.parent and
                       real.name.startswith(f".{e.name}.") for e in excluded)

    for arg in paths:
        if arg == "-":
            yield Path("-"), "-", "stdin"
            continue
        root = Path(arg)
        if root.is_dir():
            outputs = [m.parent for m in root.rglob(OUTPUT_MARKER)]
            for folder in outputs:
                log.info("%s: an earlier dedupe output; not read", folder)
            found = sorted(
                (p for p in root.rglob("*") if p.is_file() and kept(p) and not any(o in p.parents for o in outputs)),
                key=lambda p: p.relative_to(root).as_posix(),
            )
            for path in found:
                if detect_format(path) is None:
                    log.debug("%s: skipped (not .txt, .html, .htm or .jsonl)", path)
                    continue
                rel = path.relative_to(root).as_posix()
                yield path, rel, path.parent.name if path.parent != root else root.resolve().name
        elif root.is_file():
            if detect_format(root) is None:
                raise InputError(f"{arg}: unknown format (expected .txt, .html, .htm or .jsonl, optionally .gz)")
            yield root, root.name, root.resolve().parent.name
        elif root.exists():
            raise InputError(f"{arg}: not a regular file or folder")
        else:
            raise InputError(f"{arg}: no such file or folder")


def _jsonl_file_lines(path: Path, origin: str, config: Config) -> Iterator[str]:
    """A JSONL file's lines, decoded one at a time: a corpus never sits in memory twice."""
    try:
        fh = gzip.open(path, "rb") if str(path).lower().endswith(".gz") else open(path, "rb")
    except OSError as err:
        raise InputError(f"{origin}: cannot read: {err.strerror or err}") from None
    with fh:
        try:
            for lineno, raw in enumerate(fh, 1):
                yield decode(raw, f"{origin}:{lineno}", config)
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise InputError(f"{origin}: not a valid gzip file: {err}") from None
        except OSError as err:
            raise InputError(f"{origin}: cannot read: {err.strerror or err}") from None


def _jsonl_documents(lines: Iterable[str], origin: str, id_prefix: str, default_source: str, config: Config) -> Iterator[Document]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{origin}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(record, dict):
            raise InputError(f"{where}: a JSONL record must be an object, not {type(record).__name__}")
        # json.loads makes a lone surrogate only out of a \\ud800-\\udfff escape: the raw line shows it.
        yield from_mapping(record, config, where, fallback_id=f"{id_prefix}:{lineno}", fallback_source=default_source,
                           check_text="\\ud" in line or "\\uD" in line)


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str, where: str, config: Config) -> str:
    """``text``, unless it holds a lone surrogate (JSON input may: ``"\\ud800"``), which no
    UTF-8 output can carry: an InputError, or with ``decode_errors='replace'`` U+FFFD and a warning."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError as err:
        if config.decode_errors == "replace":
            log.warning("%s: lone surrogate at character %d replaced by U+FFFD", where, err.start)
            return _SURROGATE.sub("\ufffd", text)
        raise InputError(
            f"{where}: text holds a lone surrogate (U+{ord(text[err.start]):04X}) at character {err.start}, "
            "which is not Unicode text (use --decode-errors replace to read it anyway)"
        ) from None


def from_mapping(
    record: Mapping[str, Any],
    config: Config,
    where: str,
    fallback_id: str,
    fallback_source: str = "unknown",
    check_text: bool = True,
) -> Document:
    """A Document from a dict-like record using the Config's field names (its text checked
    by ``valid_text`` unless ``check_text`` is False)."""
    text = record.get(config.text_field)
    if not isinstance(text, str):
        problem = "has no" if text is None else "has a non-string"
        raise InputError(f"{where}: record {problem} {config.text_field!r} field")
    if check_text:
        text = valid_text(text, where, config)

    def opt(field: str) -> Optional[str]:
        value = record.get(field)
        return None if value is None else str(value)

    url = opt(config.url_field)
    doc_id = opt(config.id_field) or fallback_id
    source = opt(config.source_field) or url_host(url) or fallback_source
    kind = record.get("kind", "text")
    if kind not in ("text", "html"):
        raise InputError(f"{where}: 'kind' must be 'text' or 'html', not {kind!r}")
    return Document(id=doc_id, source=source, text=text, url=url, title=opt(config.title_field), kind=kind, origin=where)


def read_paths(paths: Iterable[str], config: Config, stdin_format: Optional[str] = None, stdin=None,
               exclude: Iterable[Path] = ()) -> Iterator[Document]:
    """Documents from paths (files, folders, ``-``) in stable sorted order; ids must be unique.
    Nothing under an ``exclude`` folder is read (see ``iter_files``)."""
    seen = {}
    for path, rel, default_source in iter_files(paths, exclude):
        if str(path) == "-":
            origin = "<stdin>"
            stream = stdin if stdin is not None else sys.stdin.buffer
            text = decode(stream.read(), origin, config)
            fmt = stdin_format or sniff_format(text)
        else:
            origin = str(path)
            fmt = detect_format(path)
            text = "" if fmt == "jsonl" else decode(read_bytes(path, origin), origin, config)
        if fmt == "jsonl":
            lines = text.splitlines() if str(path) == "-" else _jsonl_file_lines(path, origin, config)
            docs: Iterable[Document] = _jsonl_documents(lines, origin, rel, default_source, config)
        else:
            docs = [Document(id=rel, source=default_source, text=text, kind="html" if fmt == "html" else "text", origin=origin)]
        for doc in docs:
            if doc.id in seen:
                raise InputError(f"{doc.origin}: document id {doc.id!r} already used by {seen[doc.id]}")
            seen[doc.id] = doc.origin
            yield doc


def as_documents(items: Iterable[Union[Document, Mapping[str, Any]]], config: Config,
                 check_text: bool = True) -> Iterator[Document]:
    """Library input: Documents pass through, dicts are converted; ids must be unique.
    Text that is not Unicode is handled by ``valid_text`` (unless the caller checks it:
    ``check_text=False``)."""
    seen = set()
    for n, item in enumerate(items):
        if isinstance(item, Document):
            doc = item
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

