"""Embedded backend: one SQLite file in WAL mode, every change in one transaction.

Tables: ``meta`` (the settings record), ``documents`` (id, source, add time, first pid,
paragraph count: a document's paragraphs have consecutive pids), ``paragraphs`` (``pid``
= add order, never reused; document, index, packed uint32 shingle set), ``bands`` (pid ->
the paragraph's packed uint64 LSH band keys) and ``removed`` (a log of removed pids).

Every table but ``documents`` only grows at its end, so a commit writes few pages however
large the index.  The LSH buckets themselves live in memory (``buckets.Buckets``, one per
connection): loaded from ``bands`` on first use, then kept current -- this connection's
own commits are applied directly, and when ``PRAGMA data_version`` says another
connection committed, the paragraphs above the highest pid seen and the new rows of the
``removed`` log are read (a connection that fell behind a trimmed log reloads).

Writers take SQLite's write lock (``BEGIN IMMEDIATE``) for the whole match-and-insert
step, so concurrent adds from several processes serialise into one order and lose
nothing; a process killed mid-add leaves the last committed state (the WAL is rolled back
on the next open).  Readers use a snapshot and never block.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import IndexStoreError
from .bands import unpack_ids, unpack_shingles
from .buckets import Buckets

log = logging.getLogger(__name__)

#: Seconds a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT = 120.0
#: Host parameters per ``IN (...)`` query (SQLite allows 32766 since 3.32; smaller
#: statements are cached better and measured as fast).
_IN_CHUNK = 4000
#: Removal transactions kept in the ``removed`` log; a connection that has not synced
#: for longer reloads its buckets (a full read of ``bands``) instead of replaying the log.
REMOVED_LOG_ROWS = 10_000
#: Page cache per connection (KiB, negative = size): holds the ``documents`` id index and
#: recent paragraphs of a large index.
_CACHE_KIB = 65536
#: Band keys are uint64; SQLite integers are signed 64-bit, so keys are stored as the
#: same 64 bits read as int64.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, added REAL NOT NULL,
    first_pid INTEGER NOT NULL, paragraphs INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_added ON documents(added);
CREATE TABLE IF NOT EXISTS paragraphs(
    pid INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, idx INTEGER NOT NULL,
    source TEXT NOT NULL, shingles BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bands(pid INTEGER PRIMARY KEY, keys BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS removed(seq INTEGER PRIMARY KEY AUTOINCREMENT, pids BLOB NOT NULL);
"""
_TABLES = ("documents", "paragraphs", "bands", "removed")


def _chunks(seq: Sequence, size: int = _IN_CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _fetch_sql(n: int, with_version: bool = False) -> str:
    version = ", (SELECT data_version FROM pragma_data_version)" if with_version else ""
    return f"SELECT pid, doc_id, idx, source, shingles{version} FROM paragraphs WHERE pid IN ({_marks(n)})"


class _StaleRead(Exception):
    """An optimistic read saw another connection's commit: ``SqliteStore.read`` retries."""


_FETCH = [""] + [_fetch_sql(n) for n in range(1, 65)]  # a query's few candidates: no string building
_FETCH_VERSION = [""] + [_fetch_sql(n, True) for n in range(1, 65)]
#: ``probe``: a head row (NULL, the id if stored, data_version), then the candidates' rows.
_PROBE_HEAD = ("SELECT NULL, (SELECT doc_id FROM documents WHERE doc_id = ?), data_version, NULL, NULL"
               " FROM pragma_data_version")
_PROBE = [_PROBE_HEAD] + [_PROBE_HEAD + " UNION ALL " + _fetch_sql(n) for n in range(1, 65)]
# One candidate (a one-paragraph copy): "pid = ?" plans simpler than "pid IN (?)", 3 us cold.
_PROBE[1] = _PROBE_HEAD + " UNION ALL SELECT pid, doc_id, idx, source, shingles FROM paragraphs WHERE pid = ?"
#: One statement for a query's first read: starts the snapshot, says whether another
#: connection committed (data_version), and whether the document id is stored.
_VERSION_AND_ID = "SELECT data_version, (SELECT doc_id FROM documents WHERE doc_id = ?) FROM pragma_data_version"


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
        self._buckets: Optional[Buckets] = None  # None: load from ``bands`` on next use
        self._version = -1  # PRAGMA data_version when the buckets were last synced
        self._removed_seq = 0  # last row of the ``removed`` log applied to the buckets
        self._pending: List[Tuple[np.ndarray, np.ndarray]] = []  # (keys, pids) written, not yet committed
        self._pending_removed: List[np.ndarray] = []
        self._pending_seq = 0
        self._unsynced = False  # inside reading(): the buckets are synced on the first read
        self._optimistic = False  # inside read(optimistic=True): no transaction, versions checked
        try:
            self.db = sqlite3.connect(self.location, timeout=BUSY_TIMEOUT, isolation_level=None,
                                      check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL").fetchone()
            # NORMAL is crash-safe in WAL mode (a killed process never corrupts the file).
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        except sqlite3.DatabaseError as err:
            raise IndexStoreError(f"{path}: not a usable SQLite index ({err})") from None

    # --- lifecycle -----------------------------------------------------------------
    def init_or_read_meta(self, meta: str) -> str:
        """Create the schema and store ``meta`` in an empty file; return the stored record."""
        try:
            with self._transaction("BEGIN IMMEDIATE"):
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
                return row[0]
        except sqlite3.DatabaseError as err:
            raise IndexStoreError(f"{self.location}: not a usable SQLite index ({err})") from None

    def check_layout(self) -> None:
        """After the settings check (which names another format version first): every table is there."""
        with self._errors():
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = set(_TABLES) - tables
        if missing:
            raise IndexStoreError(f"{self.location}: index tables missing: {', '.join(sorted(missing))}")

    def close(self) -> None:
        self.db.close()
        self._buckets = None

    @contextlib.contextmanager
    def _transaction(self, begin: str):
        with self._errors():
            self.db.execute(begin)
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")

    @contextlib.contextmanager
    def writing(self):
        """One write transaction holding SQLite's write lock (other writers wait up to BUSY_TIMEOUT)."""
        self._pending, self._pending_removed, self._pending_seq = [], [], 0
        committed = False
        try:
            with self._transaction("BEGIN IMMEDIATE"):
                self._sync()
                yield
            committed = True
        finally:
            if committed:
                buckets = self._buckets
                for keys, pids in self._pending:
                    buckets.add(keys, pids)
                for pids in self._pending_removed:
                    buckets.discard(pids)
                if self._pending_seq:
                    self._removed_seq = self._pending_seq
            elif self.db.in_transaction:  # COMMIT itself failed: state unknown, start over
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                self._buckets = None
            self._pending, self._pending_removed, self._pending_seq = [], [], 0

    def read(self, fn, optimistic: bool = False):
        """``fn()`` -- reads of this store -- in one snapshot.

        Optimistic (one document asked about): no transaction.  The bucket lookup uses the
        buckets as last synced, and ``probe`` -- the first statement -- reads PRAGMA
        data_version with the document id and the earliest candidates; ``fetch`` reads it
        again with any further candidates.  Equal to the version the buckets were synced
        at, no other connection committed since: every read saw one state.  Otherwise the
        buckets are synced and ``fn`` runs again (a third time in a transaction).  A
        query is then one statement (two when an earliest candidate fails), where
        BEGIN, a version check, the id, the candidates and COMMIT took five: ~10 us each
        with cold caches, of a ~60 us query.
        """
        for _attempt in range(2 if optimistic else 0):  # the second with the buckets just synced
            self._optimistic = True
            try:
                return fn()
            except _StaleRead:
                log.debug("%s: another connection committed during a query; reading again", self.location)
            except sqlite3.Error as err:
                raise IndexStoreError(f"{self.location}: SQLite error: {err}") from None
            finally:
                self._optimistic = False
        with self.reading():
            return fn()

    def reading(self) -> "_Reading":
        """A consistent snapshot for a query (a plain class: a query is ~50 us, a generator
        context manager would be a few of them)."""
        return _Reading(self)

    @contextlib.contextmanager
    def _errors(self):
        """SQLite failures (locked past the timeout, disk full, corruption) as IndexStoreError."""
        try:
            yield
        except sqlite3.Error as err:
            raise IndexStoreError(f"{self.location}: SQLite error: {err}") from None

    def settle(self) -> None:
        """After an add call: merge the buckets' segments when the call grew them enough
        (``Buckets.settle``), so the lookups that follow search one sorted array."""
        if self._buckets is not None:
            self._buckets.settle()

    # --- the in-memory buckets ---------------------------------------------------------
    def _sync(self, version: Optional[int] = None) -> None:
        """Bring the buckets to this transaction's snapshot (inside ``reading``/``writing``);
        ``version``: PRAGMA data_version if the caller read it already."""
        self._unsynced = False
        try:
            self._catch_up(version)
        except BaseException:
            self._buckets = None  # half-applied: reload on next use
            raise

    def _catch_up(self, version: Optional[int]) -> None:
        db = self.db
        if version is None:
            version = db.execute("PRAGMA data_version").fetchone()[0]  # also starts the snapshot
        if self._buckets is not None and version == self._version:
            return
        self._version = version
        if self._buckets is None:
            self._load()
            return
        removals = db.execute("SELECT seq, pids FROM removed WHERE seq > ? ORDER BY seq", (self._removed_seq,)).fetchall()
        if removals and removals[0][0] != self._removed_seq + 1:
            log.info("%s: removal log trimmed past this connection; reloading buckets", self.location)
            self._load()
            return
        self._read_bands("WHERE pid > ?", (self._buckets.max_pid,))
        for seq, blob in removals:
            self._buckets.discard(unpack_ids(blob))
            self._removed_seq = seq

    def _load(self) -> None:
        self._buckets = Buckets()
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name='removed'").fetchone()
        self._removed_seq = row[0] if row else 0
        self._read_bands("", ())
        self._buckets.compact()

    def _read_bands(self, where: str, args: tuple) -> None:
        rows = self.db.execute(f"SELECT pid, keys FROM bands {where} ORDER BY pid", args).fetchall()
        if rows:
            pids, blobs = zip(*rows)
            keys = np.frombuffer(b"".join(blobs), dtype="<u8").astype(np.uint64, copy=False)
            self._buckets.add(keys.reshape(len(pids), -1), np.array(pids, dtype=np.int64))

    # --- reads ---------------------------------------------------------------------
    def existing(self, doc_ids: Sequence[str]) -> List[str]:
        if len(doc_ids) == 1:
            if self._unsynced:  # a query's first read: the version and the id in one statement
                version, found = self.db.execute(_VERSION_AND_ID, tuple(doc_ids)).fetchone()
                self._sync(version)
                return [] if found is None else [found]
            return [r[0] for r in self.db.execute("SELECT doc_id FROM documents WHERE doc_id = ?", tuple(doc_ids))]
        if self._unsynced:
            self._sync()
        out: List[str] = []
        for chunk in _chunks(list(doc_ids)):
            out.extend(r[0] for r in self.db.execute(
                f"SELECT doc_id FROM documents WHERE doc_id IN ({_marks(len(chunk))})", chunk))
        return out

    def lookup(self, keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(position in ``keys``, pid) of every stored paragraph in the buckets of ``keys`` (uint64, any order)."""
        if self._unsynced or self._buckets is None:  # (optimistic: the buckets as last synced)
            self._sync()
        return self._buckets.lookup(keys)

    def probe(self, doc_id: str, pids: Sequence[int]) -> Tuple[bool, List[Optional[tuple]]]:
        """Whether ``doc_id`` is stored, and the records of ``pids``: ``existing`` and
        ``fetch`` in one statement when optimistic (see ``read``)."""
        if not self._optimistic:
            return bool(self.existing([doc_id])), self.fetch(pids) if len(pids) else []
        wanted = list(pids)
        if len(wanted) >= len(_PROBE):  # a long document: the id first, then a (version-checked) fetch
            exists, _ = self.probe(doc_id, ())
            return exists, self.fetch(wanted)
        sql = _PROBE[len(wanted)]
        rows, exists, version = {}, False, None
        for pid, doc_id, idx, source, blob in self.db.execute(sql, [doc_id] + wanted):
            if pid is None:  # the head row: (NULL, stored id or NULL, data_version)
                exists, version = doc_id is not None, idx
            else:
                rows[pid] = (doc_id, idx, source, unpack_shingles(blob))
        self._check_version(version)
        return exists, [rows.get(p) for p in wanted]

    def _check_version(self, version: int) -> None:
        """Optimistic reads: another connection committed since the buckets were synced?"""
        if version != self._version:
            self._sync(version if self._buckets is not None else None)
            raise _StaleRead

    def fetch(self, pids) -> List[Optional[Tuple[str, int, str, np.ndarray]]]:
        """(doc_id, index, source, shingles) of each pid (array or list), in that order; None if removed."""
        rows = {}
        wanted = pids.tolist() if isinstance(pids, np.ndarray) else list(pids)
        if self._optimistic:  # the same statement says whether anyone committed since the buckets were synced
            for chunk in _chunks(wanted):
                sql = _FETCH_VERSION[len(chunk)] if len(chunk) < len(_FETCH_VERSION) else _fetch_sql(len(chunk), True)
                for pid, doc_id, idx, source, blob, version in self.db.execute(sql, chunk):
                    self._check_version(version)
                    rows[pid] = (doc_id, idx, source, unpack_shingles(blob))
            if len(rows) != len(set(wanted)):  # none returned (so no version), or one removed
                self._check_version(self.db.execute("PRAGMA data_version").fetchone()[0])
            return [rows.get(p) for p in wanted]
        for chunk in _chunks(wanted):
            sql = _FETCH[len(chunk)] if len(chunk) < len(_FETCH) else _fetch_sql(len(chunk))
            for pid, doc_id, idx, source, blob in self.db.execute(sql, chunk):
                rows[pid] = (doc_id, idx, source, unpack_shingles(blob))
        return [rows.get(p) for p in wanted]

    def older_than(self, timestamp: float) -> List[str]:
        return [r[0] for r in self.db.execute(
            "SELECT doc_id FROM documents WHERE added < ? ORDER BY added, doc_id", (timestamp,))]

    def counts(self) -> Tuple[int, int, int, object, object]:
        if self._unsynced:
            self._sync()
        docs, paras, oldest, newest = self.db.execute(
            "SELECT count(*), coalesce(sum(paragraphs), 0), min(added), max(added) FROM documents").fetchone()
        return docs, paras, self._buckets.distinct_keys(), oldest, newest

    # --- writes (inside ``writing()``) ----------------------------------------------
    def insert(self, docs: Sequence[Tuple[str, str, float, int]],
               paragraphs: Sequence[Tuple[str, int, str, bytes]],
               keys: np.ndarray, live: np.ndarray) -> None:
        """Store documents (id, source, time, paragraph count), their paragraphs in order
        (pids in that order) and the band keys (paragraphs x bands) of the ``live`` ones."""
        db = self.db
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='paragraphs'").fetchone()
        first = (row[0] if row else 0) + 1
        starts = np.cumsum([0] + [d[3] for d in docs[:-1]]) + first if docs else []
        db.executemany("INSERT INTO documents(doc_id, source, added, first_pid, paragraphs) VALUES (?, ?, ?, ?, ?)",
                       [(d[0], d[1], d[2], int(s), d[3]) for d, s in zip(docs, starts)])
        db.executemany("INSERT INTO paragraphs(pid, doc_id, idx, source, shingles) VALUES (?, ?, ?, ?, ?)",
                       [(first + i,) + tuple(p) for i, p in enumerate(paragraphs)])
        pids = np.arange(first, first + len(paragraphs), dtype=np.int64)[live]
        keys = np.ascontiguousarray(keys[live], dtype="<u8")
        if pids.size:
            blob = keys.tobytes()
            width = 8 * keys.shape[1]
            db.executemany("INSERT INTO bands(pid, keys) VALUES (?, ?)",
                           ((pid, blob[i * width : (i + 1) * width]) for i, pid in enumerate(pids.tolist())))
            self._pending.append((keys.astype(np.uint64, copy=False), pids))

    def delete(self, doc_ids: Sequence[str], band_entries: Callable = None) -> int:
        """Remove documents with their paragraphs and band keys (``band_entries`` is not needed here)."""
        db = self.db
        ranges: List[Tuple[int, int]] = []
        found: List[str] = []
        for chunk in _chunks(list(doc_ids)):
            for doc_id, first, count in db.execute(
                    f"SELECT doc_id, first_pid, paragraphs FROM documents WHERE doc_id IN ({_marks(len(chunk))})", chunk):
                found.append(doc_id)
                if count:
                    ranges.append((first, first + count - 1))
        if ranges:
            db.executemany("DELETE FROM bands WHERE pid BETWEEN ? AND ?", ranges)
            db.executemany("DELETE FROM paragraphs WHERE pid BETWEEN ? AND ?", ranges)
            pids = np.concatenate([np.arange(lo, hi + 1, dtype=np.int64) for lo, hi in ranges])
            seq = db.execute("INSERT INTO removed(pids) VALUES (?)", (pids.astype("<i8").tobytes(),)).lastrowid
            db.execute("DELETE FROM removed WHERE seq <= ?", (seq - REMOVED_LOG_ROWS,))
            self._pending_removed.append(pids)
            self._pending_seq = seq
        db.executemany("DELETE FROM documents WHERE doc_id = ?", [(d,) for d in found])
        return len(found)


class _Reading:
    """``SqliteStore.reading()``: BEGIN, ... (the first read brings the buckets up to date), COMMIT."""

    __slots__ = ("store",)

    def __init__(self, store: SqliteStore):
        self.store = store

    def __enter__(self) -> None:
        try:
            self.store.db.execute("BEGIN")  # no I/O: the snapshot starts with the first read
            self.store._unsynced = True
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                self.store.db.execute("ROLLBACK")
            raise IndexStoreError(f"{self.store.location}: SQLite error: {err}") from None

    def __exit__(self, kind, err, trace) -> None:
        self.store._unsynced = False
        try:
            self.store.db.execute("COMMIT")
        except sqlite3.Error as commit_err:
            if err is None:
                raise IndexStoreError(f"{self.store.location}: SQLite error: {commit_err}") from None
        if isinstance(err, sqlite3.Error):
            raise IndexStoreError(f"{self.store.location}: SQLite error: {err}") from None
