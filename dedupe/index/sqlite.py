"""Embedded backend: one SQLite file in WAL mode, every change in one transaction.

Tables: ``meta`` (the settings record), ``documents`` (id, source, add time),
``paragraphs`` (``pid`` = add order, document, index, packed uint32 shingle set) and
``bands`` (band key -> packed int64 pids; an upsert appends, so an add never reads a
bucket first).  Writers take SQLite's write lock (``BEGIN IMMEDIATE``) for the whole
match-and-insert step, so concurrent adds from several processes serialise into one
order and lose nothing; a process killed mid-add leaves the last committed state
(the WAL is rolled back on the next open).  Readers use a snapshot and never block.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from typing import Iterator, List, Sequence, Tuple

import numpy as np

from ..errors import IndexStoreError
from .bands import pack_ids, unpack_ids, unpack_shingles

log = logging.getLogger(__name__)

#: Seconds a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT = 120.0
#: Host parameters per ``IN (...)`` query (SQLite allows 32766 since 3.32; smaller
#: statements are cached better and measured as fast).
_IN_CHUNK = 4000
#: Band keys are uint64; SQLite integers are signed 64-bit, so keys are stored as the
#: same 64 bits read as int64.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, added REAL NOT NULL, paragraphs INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS documents_added ON documents(added);
CREATE TABLE IF NOT EXISTS paragraphs(
    pid INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, idx INTEGER NOT NULL,
    source TEXT NOT NULL, shingles BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS paragraphs_doc ON paragraphs(doc_id);
CREATE TABLE IF NOT EXISTS bands(key INTEGER PRIMARY KEY, pids BLOB NOT NULL);
"""


def _chunks(seq: Sequence, size: int = _IN_CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteStore:
    """The SQLite side of ``Index`` (see the module docstring for the layout)."""

    backend = "sqlite"

    def __init__(self, path: str, name: str = "default"):
        self.location = str(path)
        self.name = name
        if name != "default":
            # One file is one index: a name other than the default would be silently shared.
            raise IndexStoreError(f"{path}: a SQLite index file holds one index; use another file instead of name={name!r}")
        parent = os.path.dirname(os.path.abspath(self.location))
        if not os.path.isdir(parent):
            raise IndexStoreError(f"{path}: folder {parent} does not exist")
        try:
            self.db = sqlite3.connect(self.location, timeout=BUSY_TIMEOUT, isolation_level=None,
                                      check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL").fetchone()
            # NORMAL is crash-safe in WAL mode (a killed process never corrupts the file).
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA cache_size=-65536")
        except sqlite3.DatabaseError as err:
            raise IndexStoreError(f"{path}: not a usable SQLite index ({err})") from None

    # --- lifecycle -----------------------------------------------------------------
    def init_or_read_meta(self, meta: str) -> str:
        """Create the schema and store ``meta`` in an empty file; return the stored record."""
        try:
            with self.writing():
                tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if "meta" not in tables:
                    if tables - {"sqlite_sequence"}:
                        raise IndexStoreError(f"{self.location}: SQLite file holds other tables; not a dedupe index")
                    for statement in _SCHEMA.split(";"):  # not executescript: it commits first
                        if statement.strip():
                            self.db.execute(statement)
                    self.db.execute("INSERT INTO meta(key, value) VALUES ('dedupe', ?)", (meta,))
                    return meta
                row = self.db.execute("SELECT value FROM meta WHERE key='dedupe'").fetchone()
                if row is None:
                    raise IndexStoreError(f"{self.location}: no dedupe metadata record; not a dedupe index")
                missing = {"documents", "paragraphs", "bands"} - tables
                if missing:
                    raise IndexStoreError(f"{self.location}: index tables missing: {', '.join(sorted(missing))}")
                return row[0]
        except sqlite3.DatabaseError as err:
            raise IndexStoreError(f"{self.location}: not a usable SQLite index ({err})") from None

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def writing(self):
        """One write transaction holding SQLite's write lock (other writers wait up to BUSY_TIMEOUT)."""
        with self._errors():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")

    @contextlib.contextmanager
    def reading(self):
        """A consistent snapshot for a query."""
        with self._errors():
            self.db.execute("BEGIN")
            try:
                yield
            finally:
                self.db.execute("COMMIT")

    @contextlib.contextmanager
    def _errors(self):
        """SQLite failures (locked past the timeout, disk full, corruption) as IndexStoreError."""
        try:
            yield
        except sqlite3.Error as err:
            raise IndexStoreError(f"{self.location}: SQLite error: {err}") from None

    # --- reads ---------------------------------------------------------------------
    def existing(self, doc_ids: Sequence[str]) -> List[str]:
        out: List[str] = []
        for chunk in _chunks(list(doc_ids)):
            out.extend(r[0] for r in self.db.execute(
                f"SELECT doc_id FROM documents WHERE doc_id IN ({_marks(len(chunk))})", chunk))
        return out

    def lookup(self, keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(position in ``keys``, pid) of every stored paragraph in the buckets of ``keys`` (unique, sorted uint64)."""
        signed = keys.view(np.int64)
        found_keys: List[int] = []
        found_blobs: List[bytes] = []
        for chunk in _chunks(signed.tolist()):
            for key, blob in self.db.execute(f"SELECT key, pids FROM bands WHERE key IN ({_marks(len(chunk))})", chunk):
                found_keys.append(key)
                found_blobs.append(blob)
        if not found_keys:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pids = unpack_ids(b"".join(found_blobs))
        counts = np.fromiter((len(b) // 8 for b in found_blobs), np.int64, len(found_blobs))
        sorted_signed = np.sort(signed)
        pos_sorted = np.searchsorted(sorted_signed, np.array(found_keys, dtype=np.int64))
        # keys arrive sorted as uint64; map back through the signed order
        order = np.argsort(signed, kind="stable")
        return np.repeat(order[pos_sorted], counts), pids

    def fetch(self, pids: np.ndarray) -> List[Tuple[str, int, str, np.ndarray]]:
        """(doc_id, index, source, shingles) of each pid, in the order of ``pids``."""
        rows = {}
        for chunk in _chunks(pids.tolist()):
            for pid, doc_id, idx, source, blob in self.db.execute(
                    f"SELECT pid, doc_id, idx, source, shingles FROM paragraphs WHERE pid IN ({_marks(len(chunk))})", chunk):
                rows[pid] = (doc_id, idx, source, unpack_shingles(blob))
        try:
            return [rows[p] for p in pids.tolist()]
        except KeyError as err:
            raise IndexStoreError(f"{self.location}: band entry points to missing paragraph {err}") from None

    def paragraphs_of(self, doc_ids: Sequence[str]) -> Tuple[np.ndarray, List[np.ndarray]]:
        """pids and shingle sets of the paragraphs of ``doc_ids``."""
        pids: List[int] = []
        sets: List[np.ndarray] = []
        for chunk in _chunks(list(doc_ids)):
            for pid, blob in self.db.execute(
                    f"SELECT pid, shingles FROM paragraphs WHERE doc_id IN ({_marks(len(chunk))})", chunk):
                pids.append(pid)
                sets.append(unpack_shingles(blob))
        return np.array(pids, dtype=np.int64), sets

    def older_than(self, timestamp: float) -> List[str]:
        return [r[0] for r in self.db.execute(
            "SELECT doc_id FROM documents WHERE added < ? ORDER BY added, doc_id", (timestamp,))]

    def counts(self) -> Tuple[int, int, int, object, object]:
        docs, oldest, newest = self.db.execute("SELECT count(*), min(added), max(added) FROM documents").fetchone()
        paras = self.db.execute("SELECT count(*) FROM paragraphs").fetchone()[0]
        keys = self.db.execute("SELECT count(*) FROM bands").fetchone()[0]
        return docs, paras, keys, oldest, newest

    # --- writes (inside ``writing()``) ----------------------------------------------
    def insert(self, docs: Sequence[Tuple[str, str, float, int]],
               paragraphs: Sequence[Tuple[str, int, str, bytes]],
               keys: Sequence[np.ndarray]) -> None:
        """Store documents, their paragraphs (pids in the given order) and band entries."""
        db = self.db
        db.executemany("INSERT INTO documents(doc_id, source, added, paragraphs) VALUES (?, ?, ?, ?)", docs)
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='paragraphs'").fetchone()
        first = (row[0] if row else 0) + 1
        pids = np.arange(first, first + len(paragraphs), dtype=np.int64)
        db.executemany("INSERT INTO paragraphs(pid, doc_id, idx, source, shingles) VALUES (?, ?, ?, ?, ?)",
                       [(int(pid),) + tuple(p) for pid, p in zip(pids, paragraphs)])
        counts = np.fromiter((len(k) for k in keys), np.int64, len(keys))
        if not counts.sum():
            return
        flat = np.concatenate(keys).view(np.int64)
        owner = np.repeat(pids, counts)
        # Group by key so that a bucket gets one upsert per batch.
        order = np.argsort(flat, kind="stable")
        flat, owner = flat[order], owner[order]
        starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
        ends = np.append(starts[1:], flat.size)
        owner_bytes = owner.astype("<i8").tobytes()
        db.executemany(
            "INSERT INTO bands(key, pids) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET pids = CAST(pids || excluded.pids AS BLOB)",
            ((k, owner_bytes[8 * s : 8 * e]) for k, s, e in zip(flat[starts].tolist(), starts.tolist(), ends.tolist())))

    def delete(self, doc_ids: Sequence[str], pids: np.ndarray, keys: np.ndarray, owners: np.ndarray) -> int:
        """Remove documents, their paragraphs ``pids`` and their band entries (``keys``: uint64, of ``owners``)."""
        db = self.db
        signed = np.unique(keys.view(np.int64)) if keys.size else np.zeros(0, np.int64)
        updates, deletes = [], []
        for chunk in _chunks(signed.tolist()):
            for key, blob in db.execute(f"SELECT key, pids FROM bands WHERE key IN ({_marks(len(chunk))})", chunk):
                members = unpack_ids(blob)
                kept = members[~np.isin(members, pids)]
                if kept.size == members.size:
                    continue
                if kept.size:
                    updates.append((pack_ids(kept), key))
                else:
                    deletes.append((key,))
        db.executemany("UPDATE bands SET pids = ? WHERE key = ?", updates)
        db.executemany("DELETE FROM bands WHERE key = ?", deletes)
        removed = 0
        for chunk in _chunks(list(doc_ids)):
            db.execute(f"DELETE FROM paragraphs WHERE doc_id IN ({_marks(len(chunk))})", chunk)
            removed += db.execute(f"DELETE FROM documents WHERE doc_id IN ({_marks(len(chunk))})", chunk).rowcount
        return removed
