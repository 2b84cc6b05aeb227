"""Bytes -> text the way a browser does it (HTML), or as the user says (text).

HTML (``decode_html``), first rule that gives an encoding wins, as in the WHATWG
Encoding and HTML standards:

==========  ===============================================================================
source      rule
==========  ===============================================================================
``bom``     a UTF-8 or UTF-16 byte order mark
``given``   ``--encoding NAME`` (Config.encoding other than ``utf-8``/``auto``): the user's
            override, like a browser's *Text encoding* menu
``http``    the ``charset`` of the HTTP ``Content-Type`` (a WARC record's HTTP headers)
``meta``    ``<meta charset>`` / ``<meta http-equiv="Content-Type" content="...charset=">``
            found by the WHATWG prescan of the first 1,024 bytes
``detected``none of those: valid UTF-8 is UTF-8; anything else is charset-normalizer's guess
==========  ===============================================================================

Labels map the WHATWG way (``webencodings``): ``iso-8859-1`` and ``ascii`` mean
windows-1252, ``gb2312`` means GBK (decoded as GB18030, its superset, as browsers do),
``shift_jis`` is decoded as windows-31J, ``euc-kr`` as windows-949, ``big5`` as Big5-HKSCS.
A page whose declaration says UTF-8 but whose bytes are not is detected instead, with a
warning; bytes the chosen encoding cannot map become U+FFFD, as in a browser.

Text (``decode_text``): UTF-8 by default (``.txt`` and JSONL; ``default``); ``--encoding
NAME`` decodes with that encoding (``given``); ``--encoding auto`` uses a BOM, else UTF-8
when valid, else the detector (``bom``/``detected``).

The prescan is written here rather than taken from a library: bs4's ``EncodingDetector``
searches with a regular expression (it matches inside comments and scripts and takes
``charset=`` from any tag), and html5lib, which has the algorithm, keeps it private.
"""
from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ..config import NO_IMPOSED_ENCODING

log = logging.getLogger(__name__)

#: Encoding sources, as written in a document record's ``encoding_source``.
SOURCES = ("bom", "given", "http", "meta", "detected", "default")

#: WHATWG encodings whose browser decoder is a superset of the codec webencodings names.
_SUPERSETS = {"gbk": "gb18030"}
#: Labels that name no usable decoder for a page's text (the WHATWG "replacement" encoding
#: stands for ISO-2022-KR, HZ and the like, which it decodes to one U+FFFD).
_UNUSABLE = {"replacement"}

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16le"), (codecs.BOM_UTF16_BE, "utf-16be"))


@dataclass(frozen=True)
class Decoded:
    """A document's text, the WHATWG name of the encoding it was decoded with, and the
    rule that chose it (one of ``SOURCES``)."""

    text: str
    encoding: str
    source: str


def lookup(label: Optional[str]) -> Optional[Tuple[str, str]]:
    """``(WHATWG name, Python codec)`` of an encoding label, or None for an unknown or
    unusable one.

    >>> lookup(" ISO-8859-1 ")
    ('windows-1252', 'cp1252')
    >>> lookup("gb2312")
    ('gbk', 'gb18030')
    """
    if not label:
        return None
    import webencodings

    found = webencodings.lookup(label.strip().strip("\"'"))
    if found is None or found.name in _UNUSABLE:
        return None
    return found.name, _SUPERSETS.get(found.name, found.codec_info.name)


def override(label: str) -> Optional[str]:
    """``label`` when it is an encoding imposed on every document (``Config.encoding`` other
    than UTF-8, the default, and ``auto``), else None."""
    return None if label.lower() in NO_IMPOSED_ENCODING else label


def bom(data: bytes) -> Optional[Tuple[str, int]]:
    """``(encoding, BOM length)`` of a byte order mark at the start, or None."""
    for mark, name in _BOMS:
        if data.startswith(mark):
            return name, len(mark)
    return None


_CHARSET_IN_CONTENT = re.compile(rb"charset\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s;\"']+))", re.I)


def charset_of_content_type(value) -> Optional[str]:
    """The ``charset`` parameter of a Content-Type value (bytes or str), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    m = _CHARSET_IN_CONTENT.search(value)
    if not m:
        return None
    return next(g for g in m.groups() if g is not None).decode("latin-1") or None


# --- the WHATWG prescan ("prescan a byte stream to determine its encoding") ----------------

_SPACE = b"\t\n\x0c\r "
_SPACE_OR_SLASH = _SPACE + b"/"


def _attribute(data: bytes, i: int) -> Tuple[Optional[Tuple[bytes, bytes]], int]:
    """The spec's "get an attribute" at ``i``: ((name, value) lower-cased, next index),
    or (None, index) at the end of the tag."""
    n = len(data)
    while i < n and data[i] in _SPACE_OR_SLASH:
        i += 1
    if i >= n or data[i:i + 1] == b">":
        return None, i
    name = bytearray()
    while i < n:
        c = data[i:i + 1]
        if c == b"=" and name:
            i += 1
            break
        if c in (b"/", b">") or c in (b"\t", b"\n", b"\x0c", b"\r", b" "):
            while i < n and data[i] in _SPACE:
                i += 1
            if i < n and data[i:i + 1] == b"=":
                i += 1
                break
            return (bytes(name).lower(), b""), i
        name += c
        i += 1
    while i < n and data[i] in _SPACE:
        i += 1
    if i >= n:
        return (bytes(name).lower(), b""), i
    c = data[i:i + 1]
    if c in (b'"', b"'"):
        end = data.find(c, i + 1)
        if end < 0:
            return (bytes(name).lower(), data[i + 1:].lower()), n
        return (bytes(name).lower(), data[i + 1:end].lower()), end + 1
    if c == b">":
        return (bytes(name).lower(), b""), i
    start = i
    while i < n and data[i] not in _SPACE and data[i:i + 1] != b">":
        i += 1
    return (bytes(name).lower(), data[start:i].lower()), i


def _meta_charset(data: bytes, i: int) -> Tuple[Optional[str], int]:
    """The charset a ``<meta`` tag whose attributes start at ``i`` declares, if any."""
    seen = set()
    got_pragma = False
    need_pragma: Optional[bool] = None
    charset: Optional[str] = None
    while True:
        attr, i = _attribute(data, i)
        if attr is None:
            break
        name, value = attr
        if name in seen:
            continue
        seen.add(name)
        if name == b"http-equiv" and value == b"content-type":
            got_pragma = True
        elif name == b"content" and charset is None:
            found = charset_of_content_type(value)
            if found:
                charset, need_pragma = found, True
        elif name == b"charset":
            charset, need_pragma = value.decode("latin-1"), False
    if charset is None or need_pragma is None or (need_pragma and not got_pragma):
        return None, i
    return charset, i


def prescan(data: bytes, limit: int = 1024) -> Optional[str]:
    """The encoding label a page declares in a ``<meta>`` within its first ``limit`` bytes,
    by the WHATWG prescan (comments and other tags skipped), or None."""
    data = data[:limit]
    n = len(data)
    i = 0
    while i < n:
        if data.startswith(b"<!--", i):
            end = data.find(b"-->", i + 2)
            if end < 0:
                return None
            i = end + 3
            continue
        if data[i:i + 5].lower() == b"<meta" and i + 5 < n and data[i + 5] in _SPACE_OR_SLASH:
            label, i = _meta_charset(data, i + 5)
            if label is not None:
                found = lookup(label)
                if found is not None:
                    # UTF-16 in a meta cannot be true of bytes that were just read as ASCII.
                    return "utf-8" if found[0] in ("utf-16le", "utf-16be") else (
                        "windows-1252" if found[0] == "x-user-defined" else label)
            continue
        if data.startswith(b"</", i) and i + 2 < n and data[i + 2:i + 3].isalpha() or \
                data[i:i + 1] == b"<" and data[i + 1:i + 2].isalpha():
            i += 2 if data[i + 1:i + 2] == b"/" else 1
            while i < n and data[i] not in _SPACE and data[i:i + 1] != b">":
                i += 1
            while True:
                attr, i = _attribute(data, i)
                if attr is None:
                    break
            i += 1
            continue
        if data.startswith((b"<!", b"</", b"<?"), i):
            end = data.find(b">", i)
            if end < 0:
                return None
            i = end + 1
            continue
        i += 1
    return None


# --- detection ---------------------------------------------------------------------------


def detect(data: bytes) -> Tuple[str, str]:
    """``(WHATWG name, Python codec)`` for bytes that carry no declaration: UTF-8 when they
    are valid UTF-8 (ASCII included), else charset-normalizer's best guess, else
    windows-1252 (every byte decodes, as a browser's fallback for Western locales)."""
    try:
        data.decode("utf-8")
        return "utf-8", "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data, cp_isolation=list(_WEB_CODECS), explain=False))
    if not matches:
        return "windows-1252", "cp1252"
    best = matches[0]
    # charset-normalizer often scores several single-byte encodings the same (an English page
    # with a few curly quotes is as coherent in windows-1250 as in windows-1252); among the
    # ties, the one the web uses most wins.
    tied = [m for m in matches if m.chaos <= best.chaos + _TIE and m.coherence >= best.coherence - _TIE]
    chosen = min(tied, key=lambda m: _WEB_RANK.get(codecs.lookup(m.encoding).name, len(_WEB_RANK)))
    return _from_python_name(chosen.encoding) or ("windows-1252", "cp1252")


#: Legacy encodings a detector may answer, most used on the web first (the order of W3Techs'
#: character-encoding survey for the ones it lists, then the rest of the WHATWG encodings):
#: ties are broken by it.  Python codec names; DOS and Mac code pages, which no browser
#: decodes a page in, are left out.
_WEB_CODECS = ("cp1252", "cp1251", "cp932", "euc_jp", "cp949", "gb18030", "cp1250", "iso8859_2", "big5hkscs",
               "iso8859_15", "cp1256", "cp1254", "cp874", "koi8_r", "cp1253", "cp1255", "cp1257", "cp1258",
               "iso8859_5", "iso8859_7", "iso8859_4", "iso8859_13", "koi8_u", "iso8859_3", "iso8859_6",
               "iso8859_8", "iso8859_10", "iso8859_14", "iso8859_16", "iso2022_jp")
_WEB_RANK = {codecs.lookup(name).name: i for i, name in enumerate(_WEB_CODECS)}
#: Chaos and coherence closer than this are a tie.
_TIE = 0.01


#: Python codec names (what charset-normalizer answers) that are no WHATWG label as such.
_PYTHON_TO_WHATWG = {"cp932": "shift_jis", "shift_jis_2004": "shift_jis", "shift_jisx0213": "shift_jis",
                     "cp949": "euc-kr", "euc_kr": "euc-kr", "big5hkscs": "big5", "gb2312": "gbk",
                     "euc_jis_2004": "euc-jp", "euc_jisx0213": "euc-jp", "mac_roman": "macintosh",
                     "mac_cyrillic": "x-mac-cyrillic", "utf_16_le": "utf-16le", "utf_16_be": "utf-16be"}


def _from_python_name(name: str) -> Optional[Tuple[str, str]]:
    """``lookup`` of a Python codec name; a name no WHATWG decoder covers is None."""
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return None
    return lookup(_PYTHON_TO_WHATWG.get(name, name)) or lookup(name.replace("_", "-"))


def _c1_controls(err: UnicodeDecodeError):
    """The WHATWG windows-1252 decoder's answer for the five bytes Python's cp1252 leaves
    undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): the C1 control of the same number."""
    byte = err.object[err.start]
    if byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D):
        return chr(byte), err.start + 1
    return "\ufffd", err.start + 1


codecs.register_error("dedupe-whatwg-1252", _c1_controls)


def _decode(data: bytes, codec: str, where: str, name: str) -> str:
    """``data`` in ``codec``; bytes it cannot map become U+FFFD, silently, as in a browser
    (logged at info level, with the first of them)."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        if codec == "cp1252":
            return data.decode(codec, errors="dedupe-whatwg-1252")
        log.info("%s: byte %d (and maybe others) is not valid %s; shown as U+FFFD", where, err.start, name)
        return data.decode(codec, errors="replace")


def _from_bom(data: bytes, where: str) -> Optional[Decoded]:
    found = bom(data)
    if found is None:
        return None
    name, skip = found
    return Decoded(_decode(data[skip:], name, where, name), name, "bom")


def _detected(data: bytes, where: str) -> Decoded:
    name, codec = detect(data)
    return Decoded(_decode(data, codec, where, name), name, "detected")


def decode_html(data: bytes, where: str, http_charset: Optional[str] = None,
                given: Optional[str] = None) -> Decoded:
    """An HTML page's text, decoded by the rules in the module docstring.  ``given``: the
    user's encoding override (a label), ``http_charset``: the HTTP header's charset."""
    found = _from_bom(data, where)
    if found is not None:
        return found
    for label, source in ((given, "given"), (http_charset, "http"), (prescan(data) if data else None, "meta")):
        if not label:
            continue
        known = lookup(label)
        if known is None:
            if source == "given":  # checked by Config; kept as a guard for library callers
                raise ValueError(f"unknown encoding {label!r}")
            log.warning("%s: unknown encoding %r (from %s); looking further", where, label, source)
            continue
        name, codec = known
        if source != "given" and name == "utf-8":
            try:
                return Decoded(data.decode("utf-8"), name, source)
            except UnicodeDecodeError:
                got = _detected(data, where)
                log.warning("%s: declared UTF-8 (%s) but is not; decoded as %s, detected", where, source, got.encoding)
                return got
        return Decoded(_decode(data, codec, where, name), name, source)
    return _detected(data, where)


def decode_text(data: bytes, where: str, encoding: str = "utf-8") -> Optional[Decoded]:
    """A text file's text with ``encoding`` (a label; ``auto``: BOM, UTF-8, detector), or
    None for UTF-8 that is not valid (the caller's strict/replace policy decides)."""
    if encoding == "auto":
        return _from_bom(data, where) or _detected(data, where)
    name, codec = lookup(encoding) or (encoding, encoding)
    if name == "utf-8":
        try:
            return Decoded(data.decode("utf-8-sig"), "utf-8", "given" if override(encoding) else "default")
        except UnicodeDecodeError:
            return None
    return Decoded(_decode(data, codec, where, name), name, "given")
