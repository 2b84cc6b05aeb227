"""The cache: per-file work kept between runs, so a re-run redoes only what changed.

``dedupe run --cache DIR`` (``run_cached``) keeps, in ``DIR/cache.sqlite3``:

* ``files``: each input path's stat signature (size, mtime, inode, ctime) and content hash
  (BLAKE2b of its bytes), so an unchanged file is not even read;
* ``contents``: per (path, content hash), the documents read from it and what the first
  pass learns from them (each page's line keys for the site templates, its corpus-line
  keys, its HTML title and URL, its size);
* ``cleaned``: per document, its cleaned paragraphs, removals and fingerprints (flat
  shingle sets, band keys, containment keys), stored under a key made of the document's
  content and *just the learned lines it carries* (its source's template lines and the
  corpus boilerplate lines found on it).  A new page that changes a source's template
  re-cleans only the pages the change touches.

What depends on the whole corpus is recomputed on every run from what is cached: template
and corpus-boilerplate learning (from the cached keys: no file is read), and everything
after fingerprinting (candidates, verification, clusters, stories).  The reasons of learned
removals (they name counts: "many of the 40 pages", "on 12 documents") are rewritten from
the current counts when a document is assembled.  The result is the ``_Prepared`` the
pipeline would have built by reading every file, so a cached run writes what an uncached
one does.  ``Store`` and the entry format are shared with ``dedupe check``'s cache
(``dedupe.hook.cache``), which adds its own tables.

Invalidation: the cache records its format, the dedupe version and every ``Config``
field except the worker count (``meta``); any difference discards it, with one log line
saying why.  A file whose stat signature is within ``RACY_SECONDS`` of the moment it was
recorded is hashed again (a write in the same clock tick leaves mtime unchanged, the git
"racy" case).  Writes are one SQLite transaction (atomic; a killed process leaves the
previous state), readers never wait for a writer (WAL), and a writer that cannot get the
lock within ``LOCK_SECONDS`` leaves the cache as it is: the call still answers, from what
it computed.  Anything unreadable (not a database, an entry that fails its checksum) is a
corrupt cache: it is deleted and rebuilt, never trusted.  Deleting the folder is always safe.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import pickle
import sqlite3
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np

from . import __version__
from .config import Config
from .model import CleanedDocument, Document, Paragraph, Removal
from .read import printable_path

if TYPE_CHECKING:  # the pipeline and the cleaner load when a document is cleaned (a warm check cleans none)
    from .clean.learned import CorpusLine
    from .pipeline import Progress, _Prepared

log = logging.getLogger(__name__)

#: Bumped when what the cache stores changes meaning: an older cache is then rebuilt.
#: 2: the check's pairs moved from the state record to their own table (3: in blocks);
#: 4: the check's file signatures moved into its state record; 5: files known by git blob ids;
#: 6: entries are not compressed.
FORMAT = 7
#: A file changed less than this long before its signature was recorded is hashed again.
RACY_SECONDS = 2.0
#: How long a writer waits for another process's write to finish before giving up on updating.
LOCK_SECONDS = 5.0
#: The cache file inside its folder.
FILENAME = "cache.sqlite3"

_U64 = np.uint64


class CacheCorrupt(Exception):
    """A cache that cannot be read as written (rebuilt by the caller, never trusted)."""


@dataclass(frozen=True)
class Loaded:
    """One document read from a file: the document (text kept for cleaning) and what the
    caller needs to know of where it lives (``dedupe check``'s ``DocRef``), opaque here."""

    document: Document
    ref: object


#: ``load(path_key, file_path) -> (documents, note) | None``: how the caller reads one input file.
Loader = Callable[[str, Path], Optional[Tuple[List[Loaded], object]]]


def settings_fingerprint(config: Config, extra: Sequence[str] = ()) -> str:
    """What must match for a cache to be used: format, version, every Config field but
    the worker count, and the caller's own settings (e.g. the data folders)."""
    fields = {f.name: repr(getattr(config, f.name)) for f in dataclasses.fields(config) if f.name != "workers"}
    return json.dumps({"format": FORMAT, "version": __version__, "config": fields, "extra": list(extra)}, sort_keys=True)


def pack_state(value) -> bytes:
    """An entry as stored: pickled, behind a CRC-32 that tells a damaged one from a good one.
    Not compressed: shingle hashes do not compress, and zlib was 2.3 s of building the
    cache of 100k paragraphs (and half the time of loading a state record)."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return zlib.crc32(data).to_bytes(4, "little") + data


def unpack_state(blob: bytes):
    if len(blob) < 4 or zlib.crc32(memoryview(blob)[4:]) != int.from_bytes(blob[:4], "little"):
        raise CacheCorrupt("an entry fails its checksum")
    try:
        return pickle.loads(memoryview(blob)[4:])
    except Exception as err:  # truncated or foreign bytes behind a matching checksum: still corrupt
        raise CacheCorrupt(f"unreadable entry ({type(err).__name__})") from None


_pack, _unpack = pack_state, unpack_state


def _digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, inode INTEGER,
                                  ctime INTEGER, recorded INTEGER, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contents (key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cleaned (key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checked (gid INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pairs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""


class Store:
    """The SQLite file.  ``open`` checks the settings fingerprint and rebuilds on any mismatch
    or corruption (saying why, once); every later read that finds a corrupt entry raises
    ``CacheCorrupt`` for the caller to rebuild."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path, self.conn = path, conn

    @classmethod
    def open(cls, folder: Path, fingerprint: str, say: Callable[[str], None] = log.warning,
             filename: str = FILENAME) -> "Store":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / filename
        why = None
        try:
            store = cls(path, cls._connect(path))
            found = store._meta("settings")
            if found is None:
                why = None if not store._has_entries() else "it records no settings"
            elif found != fingerprint:
                why = "settings changed (" + _changed(found, fingerprint) + ")"
            if why is None and found is not None:
                return store
            if why is None:  # a new file
                store._init(fingerprint)
                return store
            store.conn.close()
        except sqlite3.DatabaseError as err:
            why = f"corrupt ({err})"
        return cls.rebuild(folder, fingerprint, why, say, filename)

    @classmethod
    def rebuild(cls, folder: Path, fingerprint: str, why: str, say: Callable[[str], None] = log.warning,
                filename: str = FILENAME) -> "Store":
        path = folder / filename
        say(f"cache {path} rebuilt: {why}")
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(str(path) + suffix)
            except FileNotFoundError:
                pass
        store = cls(path, cls._connect(path))
        store._init(fingerprint)
        return store

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=LOCK_SECONDS, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    def _meta(self, key: str) -> Optional[str]:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _has_entries(self) -> bool:
        return self.conn.execute("SELECT 1 FROM files LIMIT 1").fetchone() is not None

    def _init(self, fingerprint: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('settings', ?)", (fingerprint,))

    def files(self) -> Dict[str, tuple]:
        """path -> (size, mtime, inode, ctime, recorded, hash)."""
        return {r[0]: r[1:] for r in self.conn.execute("SELECT path, size, mtime, inode, ctime, recorded, hash FROM files")}

    def state(self, name: str):
        """A state blob (``pack_state``), or None."""
        row = self.conn.execute("SELECT data FROM state WHERE name = ?", (name,)).fetchone()
        return unpack_state(row[0]) if row else None

    def get(self, table: str, keys: Sequence[str]) -> Dict[str, object]:
        out: Dict[str, object] = {}
        keys = list(keys)
        for lo in range(0, len(keys), 900):  # SQLite's host parameter limit
            part = keys[lo:lo + 900]
            marks = ",".join("?" * len(part))
            for key, blob in self.conn.execute(f"SELECT key, data FROM {table} WHERE key IN ({marks})", part):
                out[key] = _unpack(blob)
        return out

    def write(self, files: Dict[str, tuple], contents: Dict[str, object], cleaned: Dict[str, object],
              keep_contents: FrozenSet[str], keep_cleaned: FrozenSet[str]) -> bool:
        """One transaction: the current file table, new entries, and entries nothing uses dropped.
        False (nothing written) when another process holds the write lock too long."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            log.warning("cache %s not updated: %s (the answer is unaffected)", self.path, err)
            return False
        try:
            self.conn.execute("DELETE FROM files")
            self.conn.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  [(p, *sig) for p, sig in files.items()])
            self.conn.executemany("INSERT OR REPLACE INTO contents VALUES (?, ?)",
                                  [(k, _pack(v)) for k, v in contents.items()])
            self.conn.executemany("INSERT OR REPLACE INTO cleaned VALUES (?, ?)",
                                  [(k, _pack(v)) for k, v in cleaned.items()])
            for table, keep in (("contents", keep_contents), ("cleaned", keep_cleaned)):
                stale = [k for (k,) in self.conn.execute(f"SELECT key FROM {table}") if k not in keep]
                self.conn.executemany(f"DELETE FROM {table} WHERE key = ?", [(k,) for k in stale])
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return True

    def close(self) -> None:
        self.conn.close()


def _changed(old: str, new: str) -> str:
    """The names of what differs between two settings fingerprints, for the rebuild message."""
    try:
        a, b = json.loads(old), json.loads(new)
    except ValueError:
        return "unreadable record"
    names = [k for k in ("format", "version", "extra") if a.get(k) != b.get(k)]
    ca, cb = a.get("config", {}), b.get("config", {})
    names += sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k))
    return ", ".join(names) or "unknown"


def _signature(st: os.stat_result) -> tuple:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def file_record(st: os.stat_result, old: Optional[tuple], started: int, content_hash: Callable[[], str]) -> tuple:
    """A file's ``(size, mtime, inode, ctime, recorded, hash)``: the old record when the stat
    signature is unchanged and older than ``RACY_SECONDS`` before it was recorded, else a
    new one recorded at ``started`` with ``content_hash()`` (the file is read)."""
    sig = _signature(st)
    if old is not None and tuple(old[:4]) == sig and sig[1] < old[4] - RACY_SECONDS * 1e9:
        return (*sig, old[4], old[5])
    return (*sig, started, content_hash())


# --- per file, per document ----------------------------------------------------------------


@dataclass(frozen=True)
class _Doc:
    """What the first pass keeps of one document (its text is not kept: the file is)."""

    document: Document  # text dropped
    ref: object
    page: Optional[Tuple[int, FrozenSet[int]]]  # page keys (template learning), None without lines
    corpus: Optional[Tuple[Tuple[int, ...], FrozenSet[int]]]  # corpus keys, None without lines / corpus off
    meta: Optional[Tuple[Optional[str], Optional[str]]]  # an HTML page's (title, url)
    size: int = 0  # UTF-8 bytes of its text as read (the report's bytes_in)


def _first_pass(loaded: List[Loaded], config: Config) -> Tuple[List[_Doc], List[str]]:
    """Per document: its ``_Doc`` and the text the second pass cleans (an HTML page's extraction)."""
    from .clean.learned import corpus_learning_on
    from .pipeline import _page_job

    corpus = corpus_learning_on(config)
    items = [(d.document.source, d.document.kind, d.document.text) for d in loaded]
    out = _page_job((None, items, None, corpus))
    docs, texts = [], []
    for d, (html, page, size, meta, ckeys) in zip(loaded, out):
        doc = d.document
        docs.append(_Doc(Document(doc.id, doc.source, "", doc.url, doc.title, doc.kind, doc.origin, doc.date,
                                  doc.encoding, doc.encoding_source), d.ref,
                         page, ckeys, meta, size))
        texts.append(html if html is not None else doc.text)
    return docs, texts


def _split_fingerprints(parts: List[Tuple[str, ...]], fp: tuple) -> List[tuple]:
    """A chunk's fingerprints (``_clean_job``) cut per document: (values, offsets, keys (n, bands), live, packed, counts)."""
    values, offsets, keys, live, (packed, counts) = fp
    if not offsets.size:  # a chunk without paragraphs
        offsets = np.zeros(1, np.int64)
    keys = np.stack(keys, axis=1) if keys and live.size else np.zeros((live.size, len(keys)), np.uint32)
    out, p0, k0 = [], 0, 0
    for paragraphs in parts:
        p1 = p0 + len(paragraphs)
        k1 = k0 + int(counts[p0:p1].sum())
        out.append((values[offsets[p0]:offsets[p1]].copy(), offsets[p0:p1 + 1] - offsets[p0], keys[p0:p1].copy(),
                    live[p0:p1].copy(), packed[k0:k1] - _U64(p0), counts[p0:p1].copy()))
        p0, k0 = p1, k1
    return out


def _clean_key(content_key: str, n: int, page, corpus, templates, boilerplate) -> str:
    """The cleaned entry's key: the document (file content and position) and the learned
    lines on it: its source's template keys among its lines, corpus lines among its lines."""
    source_keys = templates[0] if templates else frozenset()
    mine = sorted(source_keys & page[1]) if (page is not None and source_keys) else []
    lines = sorted(k for k in corpus[1] if k in boilerplate) if (corpus is not None and boilerplate) else []
    return _digest(content_key.encode(), str(n).encode(), np.array(mine, np.uint64).tobytes(), b"|",
                   np.array(lines, np.uint64).tobytes())


def _reasons(removals: tuple, source: str, pages: int, boilerplate: Dict[int, CorpusLine]) -> Tuple[Removal, ...]:
    """Removals with learned reasons rewritten from the current counts (see the module doc)."""
    from .clean import rules as R
    from .clean.learned import line_key
    from .pipeline import _note

    out = []
    for rule, text, where, reason in removals:
        if rule == R.LEARNED.name:
            reason = _note(source, pages)
        elif rule == R.CORPUS.name:
            hit = boilerplate.get(line_key(text))
            if hit is not None:
                reason = hit.note()
        out.append(Removal(rule, text, where, reason))
    return tuple(out)


@dataclass
class Prepared:
    """What ``prepare`` gives back: the pipeline's prepared input and each document's ref."""

    prepared: _Prepared
    refs: List[object]
    read: int  # files read this call
    cleaned: int  # documents cleaned this call


def prepare(store: Optional[Store], units: Sequence[Tuple[str, Path]], load: Loader, config: Config,
            progress: Optional[Progress] = None, select: Optional[Callable[[List[_Doc]], List[int]]] = None,
            replay: Optional[Callable[[object], None]] = None) -> Prepared:
    """The ``_Prepared`` input of ``units`` (``(path key, file path)`` in order) from the cache,
    reading and cleaning only what it does not hold, and updating it.

    ``load(key, path) -> (documents, note)`` or None (not readable: skipped, not cached);
    ``note`` is kept with the file and given to ``replay`` when the file is not read again.
    ``select(docs) -> positions``: only these documents (in order) are learned from and go
    into the result.  Without a store everything is read (a throwaway cache).
    """
    from .clean.cleaner import with_page_metadata
    from .clean.learned import first_pass_plan, learn_corpus_keys, learn_template_keys

    progress = progress or (lambda stage, done, total: None)
    started = time.time_ns()
    known = store.files() if store is not None else {}
    files: Dict[str, tuple] = {}
    read = 0
    for n, (key, path) in enumerate(units, 1):
        progress("read", n, len(units))
        files[key] = file_record(path.stat(), known.get(key), started, lambda: _digest(path.read_bytes()))
        read += files[key][4] == started
    content_keys = {key: _digest(key.encode(), files[key][5].encode()) for key, _ in units}
    have = store.get("contents", list(dict.fromkeys(content_keys.values()))) if store is not None else {}
    new_contents: Dict[str, object] = {}
    texts: Dict[Tuple[str, int], str] = {}

    def first(key: str, path: Path):
        loaded = load(key, path)
        if loaded is None:  # the file could not be read: skipped (the loader said why), not cached
            return None
        docs, cleaned_texts = _first_pass(loaded[0], config)
        for i, t in enumerate(cleaned_texts):
            texts[(key, i)] = t
        return docs, loaded[1]

    per_file: List[List[_Doc]] = []
    for key, path in units:
        ck = content_keys[key]
        if ck not in have:
            got = first(key, path)
            if got is None:
                per_file.append([])
                continue
            have[ck] = new_contents[ck] = got
        elif replay is not None:
            replay(have[ck][1])  # what reading it recorded (records skipped), as a fresh read would
        per_file.append(have[ck][0])
    all_docs = [(key, i, d) for (key, _), docs in zip(units, per_file) for i, d in enumerate(docs)]
    if select is not None:  # documents left out (a repeated id) are not learned from either, as in a run
        all_docs = [all_docs[j] for j in select([d for _, _, d in all_docs])]

    # What the first pass learns, exactly as pipeline._prepare does from the same keys.
    per_source = Counter(d.document.source for _, _, d in all_docs)
    learn, first_pass = first_pass_plan(per_source, any(d.document.kind == "html" for _, _, d in all_docs), config)
    learned: Dict[str, Tuple[FrozenSet[int], int]] = {}
    boilerplate: Dict[int, CorpusLine] = {}
    if first_pass:
        learned = learn_template_keys([(d.document.source, *d.page) for _, _, d in all_docs
                                       if d.page is not None and d.document.source in learn], config)
        boilerplate = learn_corpus_keys([(d.document.source, *d.corpus) for _, _, d in all_docs if d.corpus is not None],
                                        config)

    clean_keys = [_clean_key(content_keys[key], i, d.page, d.corpus, learned.get(d.document.source), boilerplate)
                  for key, i, d in all_docs]
    entries = store.get("cleaned", clean_keys) if store is not None else {}
    missing = [j for j, k in enumerate(clean_keys) if k not in entries]
    new_cleaned: Dict[str, object] = {}
    if missing:
        new_cleaned = _clean_missing(missing, all_docs, units, texts, first, learned, boilerplate, clean_keys, config,
                                     progress)
        entries.update(new_cleaned)

    cleaned, paragraphs, refs, fps = [], [], [], []
    for (_key, _i, d), ck in zip(all_docs, clean_keys):
        removals, parts, fp = entries[ck]
        doc = d.document if d.meta is None else with_page_metadata(d.document, *d.meta)
        pages = learned.get(doc.source, (frozenset(), 0))[1]
        cleaned.append(CleanedDocument(document=doc, paragraphs=parts, removals=_reasons(removals, doc.source, pages,
                                                                                         boilerplate)))
        paragraphs.extend(Paragraph(doc.id, i, t, doc.source) for i, t in enumerate(parts))
        refs.append(d.ref)
        fps.append(fp)
    prepared = prepared_from(cleaned, paragraphs, fps, config.bands)
    prepared.bytes_in = sum(d.size for _, _, d in all_docs)
    if store is not None and (new_contents or new_cleaned or files != {k: tuple(v) for k, v in known.items()}):
        store.write(files, new_contents, new_cleaned, frozenset(content_keys.values()), frozenset(clean_keys))
    return Prepared(prepared, refs, read, len(new_cleaned))


def prepared_from(cleaned: List[CleanedDocument], paragraphs: List[Paragraph], fps: Sequence[tuple],
                  bands: int) -> _Prepared:
    """The pipeline's ``_Prepared`` of documents' cached fingerprints, in order."""
    from .pipeline import _Prepared

    values, offsets, keys, live, packed, counts = [], [np.zeros(1, np.int64)], [], [], [], []
    total = 0
    for v, o, k, lv, pk, c in fps:
        values.append(v)
        if o.size > 1:  # a document without paragraphs adds no offset
            offsets.append(o[1:] + offsets[-1][-1])
        keys.append(k)
        live.append(lv)
        packed.append(pk + _U64(total))
        counts.append(c)
        total += lv.size
    keys_all = np.concatenate(keys) if keys else np.zeros((0, bands), np.uint32)
    return _Prepared(
        cleaned, paragraphs,
        np.concatenate(values) if values else np.zeros(0, np.uint32),
        np.concatenate(offsets),
        [[np.ascontiguousarray(keys_all[:, b])] for b in range(keys_all.shape[1])],
        np.concatenate(live) if live else np.zeros(0, bool),
        (np.concatenate(packed) if packed else np.zeros(0, _U64), np.concatenate(counts) if counts else np.zeros(0, np.int32)),
    )


def _clean_missing(missing: List[int], all_docs, units, texts, first, learned, boilerplate, clean_keys,
                   config: Config, progress: Progress) -> Dict[str, object]:
    """Clean and fingerprint the documents at ``missing`` (positions in ``all_docs``), in
    worker processes when there are many, as ``pipeline._prepare``'s second pass does."""
    from .parallel import executor, submit
    from .pipeline import _chunks, _clean_job

    paths = dict(units)
    for j in missing:  # a file cached in the first pass but not cleaned: read it again for its text
        key, i, _ = all_docs[j]
        if (key, i) not in texts:
            first(key, paths[key])
    todo = [(all_docs[j][2].document.source, texts[(all_docs[j][0], all_docs[j][1])]) for j in missing]
    docs = [Document(id="", source=s, text=t) for s, t in todo]
    ranges = _chunks(docs)
    out: Dict[str, object] = {}
    with executor(min(config.processes, len(ranges))) as pool:
        jobs = []
        for a, b in ranges:
            items = todo[a:b]
            corpus_at = frozenset(n for n, j in enumerate(missing[a:b]) if _carries(all_docs[j][2], boilerplate))
            jobs.append((a, b, submit(pool, _clean_job, (None, items, {s: learned[s] for s, _ in items if s in learned},
                                                         boilerplate, corpus_at, config, True))))
        for a, b, future in jobs:
            docs_out, fp = future.result()
            split = _split_fingerprints([parts for _, parts, _ in docs_out], fp)
            for j, (removals, parts, _size), f in zip(missing[a:b], docs_out, split):
                out[clean_keys[j]] = (removals, parts, f)
            progress("clean", b, len(missing))
    return out


def _carries(d: _Doc, boilerplate: Dict[int, CorpusLine]) -> bool:
    return d.corpus is not None and bool(boilerplate) and not boilerplate.keys().isdisjoint(d.corpus[1])


# --- dedupe run --cache ----------------------------------------------------------------------------


def run_cached(paths: Sequence[str], config: Config, folder: Path, progress: Optional[Progress] = None,
               exclude: Sequence[Path] = (), problems=None):
    """``pipeline.run`` of the documents ``read.read_paths`` would read from ``paths``, with
    unchanged files taken from the cache in ``folder`` (made if missing): the same ``Result``
    (but ``report.seconds``).  ``problems``: as ``read_paths``'s (``on_error="skip"``)."""
    from .errors import ConfigError, InputError
    from .pipeline import run_prepared
    from .read import Problems, _file_documents, first_use, iter_files

    started = time.perf_counter()
    if any(str(p) == "-" for p in paths):
        raise ConfigError("--cache keeps files' work between runs; standard input (-) cannot be cached: "
                          "leave out --cache or pass files")
    skipping = problems if config.on_error == "skip" else None
    if skipping is not None and problems is None:
        problems = skipping = Problems()
    counts = problems.not_read if problems is not None else None
    units, where = [], {}
    for path, rel, source in iter_files(paths, exclude, skipping):
        key = json.dumps([str(path.resolve()), rel, source])
        units.append((key, path))
        where[key] = (path, rel, source)

    def load(key: str, path: Path):
        path, rel, source = where[key]
        origin = printable_path(path)
        before = len(skipping.skipped) if skipping is not None else 0
        notes = Problems()  # this file's WARC records that are not documents, kept with its entry
        try:
            docs = list(_file_documents(path, rel, origin, source, config, None, None, skipping, notes))
        except InputError as err:
            if skipping is None:
                raise
            skipping.skip(origin, err)
            return None
        recorded = skipping.skipped[before:] if skipping is not None else []
        if counts is not None:
            counts.update(notes.not_read)
        return [Loaded(d, None) for d in docs], (list(recorded), dict(notes.not_read))

    def replay(recorded) -> None:
        skipped, not_read = recorded
        if skipping is not None:
            for item in skipped:
                log.warning("skipped %s: %s", item.where, item.reason)
                skipping.skipped.append(item)
        if counts is not None:
            counts.update(not_read)

    def unique(docs: List[_Doc]) -> List[int]:
        seen: Dict[str, str] = {}
        return [j for j, d in enumerate(docs) if first_use(d.document, seen, skipping)]

    fingerprint = settings_fingerprint(config, ["run"])
    store = Store.open(folder, fingerprint)
    try:
        try:
            got = prepare(store, units, load, config, progress, select=unique, replay=replay)
        except (CacheCorrupt, sqlite3.DatabaseError) as err:
            store.close()
            store = Store.rebuild(folder, fingerprint, f"corrupt ({err})")
            if skipping is not None:
                del skipping.skipped[:]
            if counts is not None:
                counts.clear()
            got = prepare(store, units, load, config, progress, select=unique, replay=replay)
    finally:
        store.close()
    log.info("cache %s: %d of %d files read, %d documents cleaned", folder, got.read, len(units), got.cleaned)
    return run_prepared(got.prepared, config, progress or (lambda stage, done, total: None), started)
