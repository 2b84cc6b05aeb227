"""The fixer: strip scraper noise from data files in place, changing nothing else.

Each file's fix depends on its own bytes and the Config only (the named line rules,
``repeated-headline``, ``related-articles`` and the content filter; never the per-source
learned template, which depends on the other files), so it is the same however
pre-commit splits the file list, and parallel calls cannot see each other's writes.

* ``.txt``: the noise lines are removed with their line endings; every other byte stays.
  Where a removal leaves a run of blank lines, the run keeps only its first group of
  blank lines (``A⏎⏎noise⏎⏎B`` -> ``A⏎⏎B``), and none at the start or end of the file, so
  paragraphs stay separated as they were.  The file keeps (or keeps lacking) its final
  line ending.
* ``.jsonl``: only the text field's JSON string of a record whose text changed is
  rewritten (in the same escaping style); every other byte of the line, and every other
  line, stays as it was.  The text is fixed as a ``.txt`` file is.
* ``.html``: never rewritten.  Page chrome is the HTML stage's business at run time, and
  removing an extracted line from markup cannot be done without restructuring the page;
  ``dedupe check`` still compares HTML pages for duplicates.
* ``.gz``: the same, inside the compression (recompressed with the original header's
  mtime and name).
* A UTF-8 BOM is kept.  Undecodable bytes are an InputError, unless
  ``decode_errors = "replace"``: then they are carried through byte for byte.

Writes are atomic: a temporary file in the same folder, the original's permission bits,
then a rename.  Nothing is ever deleted.  Fixing is idempotent (the cleaner runs to a
fixed point), so a second run changes nothing.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from json.decoder import scanstring
from pathlib import Path
from typing import List, Optional, Tuple

from ..clean.cleaner import clean_lines, text_lines
from ..config import Config
from ..errors import InputError, OutputError
from ..model import Removal
from ..read import detect_format, read_bytes

_BOM = b"\xef\xbb\xbf"
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class FixResult:
    """What fixing one file did: its removals (``where`` is ``line N`` of the file) and whether it changed."""

    path: str
    removals: Tuple[Removal, ...]
    changed: bool


def fix_text(text: str, config: Config) -> Tuple[str, List[Removal]]:
    """``text`` without its noise lines (see the module docstring); removals carry file line numbers.

    >>> fix_text("Title of it\\r\\n\\r\\nshow image\\r\\n\\r\\nThe mayor resigned on Monday.\\r\\n", Config())[0]
    'Title of it\\r\\n\\r\\nThe mayor resigned on Monday.\\r\\n'
    """
    # Lines break at \n, \r\n and \r only (str.splitlines also breaks at \f, \x85, U+2028...).
    pieces = text_lines(text, keepends=True)
    numbered = [(n, piece.strip()) for n, piece in enumerate(pieces, 1) if piece.strip()]
    kept, removals = clean_lines([line for _, line in numbered], config, numbers=[n for n, _ in numbered])
    if not removals:
        return text, []
    removed = {int(r.where.split()[1]) for r in removals}
    out: List[str] = []
    run: List[Tuple[bool, str]] = []  # (is removed, piece) of the current blank-or-removed run

    def flush(at_end: bool) -> None:
        if any(is_removed for is_removed, _ in run):
            blanks: List[str] = []
            for is_removed, piece in run:
                if is_removed:
                    if blanks:
                        break
                    continue
                blanks.append(piece)
            if out and not at_end:
                out.extend(blanks)
        else:
            out.extend(piece for _, piece in run)
        run.clear()

    for n, piece in enumerate(pieces, 1):
        if n in removed or not piece.strip():
            run.append((n in removed, piece))
        else:
            flush(at_end=False)
            out.append(piece)
    flush(at_end=True)
    result = "".join(out)
    if result and pieces and result[-1] in "\r\n" and not pieces[-1].endswith(("\n", "\r")):
        result = result.rstrip("\r\n")
    return result, removals


def _text_span(line: str, field: str, where: str) -> Optional[Tuple[int, int, str]]:
    """(start, end, value) of the last ``field`` string value of a top-level JSON object line."""
    idx = len(line) - len(line.lstrip())
    if line[idx:idx + 1] != "{":
        raise InputError(f"{where}: a JSONL record must be an object")
    found = None
    idx += 1
    try:
        while True:
            while line[idx:idx + 1].isspace():
                idx += 1
            if line[idx:idx + 1] == "}":
                return found
            if line[idx:idx + 1] == ",":
                idx += 1
                continue
            if line[idx:idx + 1] != '"':
                raise ValueError("expected a key")
            key, idx = scanstring(line, idx + 1)
            while line[idx:idx + 1].isspace():
                idx += 1
            if line[idx:idx + 1] != ":":
                raise ValueError("expected ':'")
            idx += 1
            while line[idx:idx + 1].isspace():
                idx += 1
            value, end = _DECODER.raw_decode(line, idx)
            if key == field:
                found = (idx, end, value) if isinstance(value, str) else None
            idx = end
    except ValueError as err:
        raise InputError(f"{where}: not valid JSON ({err})") from None


def fix_jsonl(text: str, config: Config, origin: str) -> Tuple[str, List[Removal]]:
    """JSONL with each record's text field fixed; removals' ``where`` is the record's ``line N``."""
    lines = text.split("\n")
    removals: List[Removal] = []
    for i, raw in enumerate(lines):
        body = raw.rstrip("\r")
        if not body.strip():
            continue
        where = f"{origin}:{i + 1}"
        span = _text_span(body, config.text_field, where)
        if span is None:
            continue
        start, end, value = span
        fixed, found = fix_text(value, config)
        if not found:
            continue
        token = body[start:end]
        ascii_style = token.isascii()
        encoded = json.dumps(fixed, ensure_ascii=ascii_style)
        lines[i] = body[:start] + encoded + body[end:] + raw[len(body):]
        removals.extend(Removal(r.rule, r.text, f"line {i + 1}", r.reason) for r in found)
    return "\n".join(lines), removals


def _gzip(data: bytes, original: bytes) -> bytes:
    """``data`` gzipped with the original header's mtime and file name."""
    mtime = int.from_bytes(original[4:8], "little") if len(original) >= 10 else 0
    name = ""
    flags = original[3] if len(original) >= 10 else 0
    if flags & 0x08:  # FNAME, after the optional FEXTRA field
        pos = 10
        if flags & 0x04:
            pos += 2 + int.from_bytes(original[10:12], "little")
        end = original.find(b"\0", pos)
        if end > pos:
            name = original[pos:end].decode("latin-1")
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buf, mtime=mtime) as gz:
        gz.write(data)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data``: a temporary file beside it with its permissions, then a rename."""
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from None


def fix_file(path: str, config: Config, write: bool = True) -> FixResult:
    """Fix one data file in place (``write=False``: only say what would change)."""
    fmt = detect_format(path)
    if fmt not in ("txt", "jsonl"):
        return FixResult(path, (), False)
    file = Path(path)
    try:
        original = file.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
    data = read_bytes(file, path) if path.lower().endswith(".gz") else original
    bom = _BOM if data.startswith(_BOM) else b""
    body = data[len(bom):]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        if config.decode_errors != "replace":
            raise InputError(f"{path}: not valid UTF-8 at byte {err.start + len(bom)}") from None
        text = body.decode("utf-8", "surrogateescape")
    if fmt == "txt":
        fixed, removals = fix_text(text, config)
    else:
        fixed, removals = fix_jsonl(text, config, path)
    if fixed == text:
        return FixResult(path, tuple(removals), False)
    out = bom + fixed.encode("utf-8", "surrogateescape")
    if path.lower().endswith(".gz"):
        out = _gzip(out, original)
    if write:
        write_atomic(file, out)
    return FixResult(path, tuple(removals), True)
