"""Redis backend: one index shared by many worker processes.

Keys (all under ``dedupe:{<name>}:``, one hash tag so a cluster keeps them on one slot):

* ``meta``   -- the settings record (JSON, written once with SET NX);
* ``seq``    -- add-order counter handing out paragraph ids (pids);
* ``para``   -- hash pid -> paragraph record (struct header, doc id, source, uint32 shingles);
* ``docs``   -- hash doc id -> document record (float64 add time, int64 pids);
* ``added``  -- sorted set doc id by add time (for ``prune``);
* ``b:<8 bytes>`` -- set of pids (8-byte little-endian) in one LSH bucket; ``nkeys`` counts them;
* ``lock``   -- the writer lock (token, expiring).

Nothing read from the server is unpickled: records are struct/numpy/JSON.  Writers take
the lock for the match-and-insert step, so adds from many processes serialise into one
order; every write of a batch is one Lua script (atomic, one round trip), so a client
killed mid-add leaves the index as it was.  Lookups are one script too, returning
packed bytes instead of a reply element per pid.  Queries take no lock: they see each
concurrent batch wholly or not at all.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import struct
import time
import uuid
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import IndexStoreError

log = logging.getLogger(__name__)

#: Milliseconds a writer's lock lives if the writer dies without releasing it.  A batch
#: of 1,000 documents holds it well under a second; the margin covers slow networks.
LOCK_TTL_MS = 60_000
#: Seconds a writer waits for the lock before giving up with IndexStoreError.
BUSY_TIMEOUT = 120.0
_PARA_HEAD = struct.Struct("<III")  # paragraph index, len(doc id), len(source)

_LOOKUP = """
local prefix, keys = ARGV[1], ARGV[2]
local head, body = {}, {}
for i = 0, #keys / 8 - 1 do
  local members = redis.call('SMEMBERS', prefix .. 'b:' .. string.sub(keys, i * 8 + 1, i * 8 + 8))
  if #members > 0 then
    head[#head + 1] = struct.pack('<I4I4', i, #members)
    body[#body + 1] = table.concat(members)
  end
end
return {table.concat(head), table.concat(body)}
"""

_INSERT = """
local prefix, keys, owners = ARGV[1], ARGV[2], ARGV[3]
local fresh = 0
for i = 0, #keys / 8 - 1 do
  local k = prefix .. 'b:' .. string.sub(keys, i * 8 + 1, i * 8 + 8)
  redis.call('SADD', k, string.sub(owners, i * 8 + 1, i * 8 + 8))
  if redis.call('SCARD', k) == 1 then fresh = fresh + 1 end
end
if fresh > 0 then redis.call('INCRBY', prefix .. 'nkeys', fresh) end
local ndocs = tonumber(ARGV[4])
local at = 5
for _ = 1, ndocs do
  redis.call('HSET', prefix .. 'docs', ARGV[at], ARGV[at + 1])
  redis.call('ZADD', prefix .. 'added', ARGV[at + 2], ARGV[at])
  at = at + 3
end
while at < #ARGV do
  redis.call('HSET', prefix .. 'para', ARGV[at], ARGV[at + 1])
  at = at + 2
end
return fresh
"""

_DELETE = """
local prefix, keys, owners = ARGV[1], ARGV[2], ARGV[3]
local gone = 0
for i = 0, #keys / 8 - 1 do
  local k = prefix .. 'b:' .. string.sub(keys, i * 8 + 1, i * 8 + 8)
  if redis.call('SREM', k, string.sub(owners, i * 8 + 1, i * 8 + 8)) == 1 and redis.call('EXISTS', k) == 0 then
    gone = gone + 1
  end
end
if gone > 0 then redis.call('DECRBY', prefix .. 'nkeys', gone) end
local npids = tonumber(ARGV[4])
for i = 5, 4 + npids do redis.call('HDEL', prefix .. 'para', ARGV[i]) end
local removed = 0
for i = 5 + npids, #ARGV do
  removed = removed + redis.call('HDEL', prefix .. 'docs', ARGV[i])
  redis.call('ZREM', prefix .. 'added', ARGV[i])
end
return removed
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^@/]*?):([^@/]*)@")


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages, logs and stats.

    >>> redact_url("redis://user:secret@host:6379/0"), redact_url("unix://:secret@/run/r.sock")
    ('redis://user:***@host:6379/0', 'unix://:***@/run/r.sock')
    >>> redact_url("redis://host:6379/0")
    'redis://host:6379/0'
    """
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", str(url), count=1)
    # A bare userinfo (``redis://secret@host``) may be a password too: hide it whole.
    text = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^@/:]+)@", r"\1***@", text, count=1)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", text)


def _scrub(message: object, url: str) -> str:
    """An error text with the URL's password (if any) replaced, in case the client echoes it."""
    text = str(message)
    match = _USERINFO.match(url)
    secret = match.group(3) if match else ""
    bare = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^@/:]+)@", url)
    pw = re.search(r"[?&]password=([^&]*)", url)
    for s in (secret, bare.group(1) if bare else "", pw.group(1) if pw else ""):
        if s:
            text = text.replace(s, "***")
    return text.replace(url, redact_url(url))


def _guard(method):
    """Turn redis-py errors (connection refused, timeouts, server errors) into IndexStoreError."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except self._redis_error as err:
            raise IndexStoreError(f"{self.location}: Redis error: {_scrub(err, self._url)}") from None
    return wrapper


def _pack_paragraph(doc_id: str, index: int, source: str, shingles: bytes) -> bytes:
    d, s = doc_id.encode("utf-8"), source.encode("utf-8")
    return _PARA_HEAD.pack(index, len(d), len(s)) + d + s + shingles


def _unpack_paragraph(data: bytes) -> Tuple[str, int, str, np.ndarray]:
    index, nd, ns = _PARA_HEAD.unpack_from(data)
    start = _PARA_HEAD.size
    doc_id = data[start : start + nd].decode("utf-8")
    source = data[start + nd : start + nd + ns].decode("utf-8")
    rest = data[start + nd + ns :]
    if len(rest) % 4:
        raise ValueError("shingle bytes are not whole uint32")
    return doc_id, index, source, np.frombuffer(rest, dtype="<u4").astype(np.uint32, copy=False)


class RedisStore:
    """The Redis side of ``Index`` (see the module docstring for the layout)."""

    backend = "redis"

    def __init__(self, url: str, name: str = "default"):
        try:
            import redis
        except ImportError:
            raise IndexStoreError(
                f"{redact_url(url)}: a Redis index needs the redis client: pip install 'wiredupe[redis]' (or pip install redis)"
            ) from None
        self._redis_error = redis.exceptions.RedisError
        self._url = url  # kept for the client only: never put in a message (it may hold a password)
        self.location = redact_url(url)
        self.name = name
        self.prefix = f"dedupe:{{{name}}}:".encode("utf-8")
        try:
            self.r = redis.Redis.from_url(url)
            self.r.ping()
        except (redis.exceptions.RedisError, ValueError) as err:
            raise IndexStoreError(f"{self.location}: cannot reach Redis ({_scrub(err, url)})") from None
        self._lookup = self.r.register_script(_LOOKUP)
        self._insert = self.r.register_script(_INSERT)
        self._delete = self.r.register_script(_DELETE)
        self._unlock = self.r.register_script(_UNLOCK)
        self._token: Optional[bytes] = None

    def _key(self, suffix: str) -> bytes:
        return self.prefix + suffix.encode("ascii")

    # --- lifecycle -----------------------------------------------------------------
    @_guard
    @_guard
    def has_meta(self) -> bool:
        """Whether this index's metadata record exists (an index was created here)."""
        return self.r.get(self._key("meta")) is not None

    def init_or_read_meta(self, meta: str) -> str:
        meta_key = self._key("meta")
        if self.r.get(meta_key) is None:
            if self.r.exists(self._key("docs"), self._key("para"), self._key("seq")):
                raise IndexStoreError(f"{self.location}: index {self.name!r} has data but no metadata record")
            self.r.set(meta_key, meta.encode("utf-8"), nx=True)
        stored = self.r.get(meta_key)
        if stored is None:
            raise IndexStoreError(f"{self.location}: metadata record of index {self.name!r} vanished")
        return stored

    def settle(self) -> None:
        """Nothing to tidy after an add call: the server holds the buckets."""

    def check_layout(self) -> None:
        """Nothing to check beyond the metadata record (keys are created as they are written)."""

    def close(self) -> None:
        self.r.close()

    @contextlib.contextmanager
    def writing(self):
        """Hold the index's writer lock (SET NX PX; released only by its owner)."""
        token = uuid.uuid4().hex.encode("ascii") + b"-" + str(os.getpid()).encode("ascii")
        lock = self._key("lock")
        deadline = time.monotonic() + BUSY_TIMEOUT
        pause = 0.002
        try:
            while not self.r.set(lock, token, nx=True, px=LOCK_TTL_MS):
                if time.monotonic() > deadline:
                    raise IndexStoreError(f"{self.location}: index {self.name!r} busy: writer lock held for {BUSY_TIMEOUT:.0f} s")
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        except self._redis_error as err:
            raise IndexStoreError(f"{self.location}: Redis error: {_scrub(err, self._url)}") from None
        try:
            yield
        finally:
            try:
                self._unlock(keys=[lock], args=[token])
            except self._redis_error as err:  # the lock expires by itself
                log.warning("%s: could not release writer lock: %s", self.location, _scrub(err, self._url))

    @contextlib.contextmanager
    def reading(self):
        yield

    def probe(self, doc_id: str, pids) -> Tuple[bool, List[Optional[Tuple[str, int, str, np.ndarray]]]]:
        """Whether ``doc_id`` is stored, and the records of ``pids`` (see ``SqliteStore.probe``)."""
        return bool(self.existing([doc_id])), self.fetch(pids) if len(pids) else []

    def read(self, fn, optimistic: bool = False):
        """``fn()``'s reads (queries take no lock: they see each concurrent batch wholly or not at all)."""
        return fn()

    # --- reads ---------------------------------------------------------------------
    @_guard
    def existing(self, doc_ids: Sequence[str]) -> List[str]:
        if not doc_ids:
            return []
        found = self.r.hmget(self._key("docs"), list(doc_ids))
        return [d for d, rec in zip(doc_ids, found) if rec is not None]

    @_guard
    def lookup(self, keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(position in ``keys``, pid) of every stored paragraph in the buckets of ``keys`` (uint64, any order).

        Each distinct key is asked once (one script call for all); hits are then
        expanded to every position holding that key.
        """
        uniq, inv = np.unique(keys, return_inverse=True)
        head, body = self._lookup(args=[self.prefix, uniq.astype("<u8").tobytes()])
        pairs = np.frombuffer(head, dtype="<u4").reshape(-1, 2).astype(np.int64)
        pids = np.frombuffer(body, dtype="<i8").astype(np.int64)
        if not pids.size:
            return np.zeros(0, np.int64), pids
        kpos = np.repeat(pairs[:, 0], pairs[:, 1])
        # Expand each (unique key, pid) hit to every position of ``keys`` holding that key.
        inv = inv.ravel()
        order = np.argsort(inv, kind="stable")
        start = np.searchsorted(inv[order], kpos, side="left")
        width = np.searchsorted(inv[order], kpos, side="right") - start
        total = int(width.sum())
        at = np.repeat(start - (np.cumsum(width) - width), width) + np.arange(total)
        return order[at], np.repeat(pids, width)

    @_guard
    def fetch(self, pids) -> List[Optional[Tuple[str, int, str, np.ndarray]]]:
        """Records of ``pids`` (array or list) in order; None for a pid removed meanwhile (only a lock-free query sees that)."""
        pids = np.asarray(pids, dtype=np.int64)
        if not pids.size:
            return []
        raw = self.r.hmget(self._key("para"), [str(p) for p in pids.tolist()])
        try:
            return [None if r is None else _unpack_paragraph(r) for r in raw]
        except (struct.error, ValueError, UnicodeDecodeError) as err:
            raise IndexStoreError(f"{self.location}: corrupt paragraph record ({err})") from None

    @_guard
    def paragraphs_of(self, doc_ids: Sequence[str]) -> Tuple[np.ndarray, List[np.ndarray]]:
        recs = self.r.hmget(self._key("docs"), list(doc_ids)) if doc_ids else []
        pids = np.concatenate([np.frombuffer(r[8:], dtype="<i8") for r in recs if r is not None] or
                              [np.zeros(0, "<i8")]).astype(np.int64)
        found = self.fetch(pids)
        return pids, [np.zeros(0, np.uint32) if f is None else f[3] for f in found]

    @_guard
    def older_than(self, timestamp: float) -> List[str]:
        return [d.decode("utf-8") for d in self.r.zrangebyscore(self._key("added"), "-inf", f"({timestamp!r}")]

    @_guard
    def counts(self):
        pipe = self.r.pipeline(transaction=True)
        pipe.hlen(self._key("docs"))
        pipe.hlen(self._key("para"))
        pipe.get(self._key("nkeys"))
        pipe.zrange(self._key("added"), 0, 0, withscores=True)
        pipe.zrange(self._key("added"), -1, -1, withscores=True)
        docs, paras, nkeys, first, last = pipe.execute()
        return (docs, paras, int(nkeys or 0), first[0][1] if first else None, last[0][1] if last else None)

    # --- writes (inside ``writing()``) ----------------------------------------------
    @_guard
    def insert(self, docs, paragraphs, keys: np.ndarray, live: np.ndarray) -> None:
        """Store documents, their paragraphs (pids in order) and the band keys (paragraphs x bands) of the ``live`` ones."""
        if not docs and not paragraphs:
            return
        last = self.r.incrby(self._key("seq"), max(len(paragraphs), 1))
        pids = np.arange(last - len(paragraphs) + 1, last + 1, dtype=np.int64)
        flat = np.ascontiguousarray(keys[live], dtype="<u8").ravel()
        owners = np.repeat(pids[live], keys.shape[1]).astype("<i8")
        pids_of_doc: dict = {}
        for pid, (doc_id, *_rest) in zip(pids.tolist(), paragraphs):
            pids_of_doc.setdefault(doc_id, []).append(pid)
        args: list = [self.prefix, flat.tobytes(), owners.tobytes(), len(docs)]
        for doc_id, _source, added, _n in docs:
            record = struct.pack("<d", added) + np.asarray(pids_of_doc.get(doc_id, []), dtype="<i8").tobytes()
            args += [doc_id, record, repr(float(added))]
        for pid, (doc_id, index, source, shingles) in zip(pids.tolist(), paragraphs):
            args += [str(pid), _pack_paragraph(doc_id, index, source, shingles)]
        self._insert(args=args)

    @_guard
    def delete(self, doc_ids: Sequence[str], band_entries: Callable) -> int:
        """Remove documents, their paragraphs and bucket entries; ``band_entries(pids, sets)``
        gives the (keys, owner pids) to take out of the buckets."""
        pids, sets = self.paragraphs_of(doc_ids)
        keys, owners = band_entries(pids, sets)
        args = [self.prefix, keys.astype("<u8").tobytes(), owners.astype("<i8").tobytes(), len(pids)]
        args += [str(p) for p in pids.tolist()] + list(doc_ids)
        return int(self._delete(args=args))
