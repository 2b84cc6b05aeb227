"""In-memory LSH buckets of an embedded index: sorted (band key, pid) segments.

Why not an SQLite table keyed by band key: band keys are random, so every batch of
inserts lands on nearly every leaf page of that B-tree, and once the table outgrows the
page cache each commit rewrites it (measured at 100k documents: 13 s of a 65 s add in
COMMIT, 8 s in bucket lookups).  The file instead keeps each paragraph's band keys
beside the paragraph, appended in pid order, and every connection keeps the buckets in
memory as a few sorted numpy arrays, merged like an LSM tree: a new batch is one small
segment; a segment is merged into the one before it once that is at most ``FANOUT``
times larger, so there are O(log n) segments and every entry is merged O(log n) times.

A large segment has a directory on the top bits of the keys (band keys are mixed, so its
slots fill evenly): a key's entries are among the few of its slot, found with a handful
of numpy calls and one or two cache misses, where a binary search in millions of keys
costs a miss per level.  Memory: 16 bytes an entry (key, pid) plus 2-4 of directory.

>>> b = Buckets()
>>> b.add(np.array([[5, 9], [5, 7]], dtype=np.uint64), np.array([1, 2]))
>>> pos, pids = b.lookup(np.array([7, 5, 8], dtype=np.uint64))
>>> sorted(zip(pos.tolist(), pids.tolist()))
[(0, 2), (1, 1), (1, 2)]
>>> b.discard(np.array([1])); b.lookup(np.array([5], dtype=np.uint64))[1].tolist()
[2]
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: A segment is merged into the previous one when that one is at most this many times
#: larger: O(log n) segments (3 at 100k documents), each entry merged O(log n) times.
FANOUT = 4
#: An add call that inserted at least 1/SETTLE_FANOUT of the entries leaves one segment
#: (``settle``): a query costs ~10 us more per extra segment (cold caches, after
#: fingerprinting), a full merge ~40 ns an entry, so a bulk load pays at most
#: SETTLE_FANOUT x 40 ns per entry it added for queries without that cost; a small add
#: into a large index leaves the segments to FANOUT.
SETTLE_FANOUT = 16
#: Segments from this size get a directory (smaller ones stay in cache: binary search).
DIRECTORY_MIN = 1 << 15
#: Entries per directory slot on average, at most: between 1 and 2 (2-4 bytes of
#: directory per 16-byte entry buys windows narrow enough to compare whole).
_PER_SLOT = 2
#: When no slot of a segment holds more than this many entries, a key is compared with a
#: fixed window of entries from its slot's start: 5 numpy calls a lookup, where exact
#: per-key ranges take 12 (each ~1.5 us when caches are cold, as after fingerprinting).
#: Key arrays carry this many zero keys of padding.
_WINDOW = 64
_STEPS = np.arange(_WINDOW, dtype=np.int64)
_NONE = np.zeros(0, np.int64)


class _Segment:
    """Sorted keys with their pids; when large, a directory: slot j (top key bits) starts
    at ``starts[j]``, and no slot holds more than ``widest`` entries."""

    __slots__ = ("keys", "pids", "padded", "shift", "starts", "widest", "windows")

    def __init__(self, padded: np.ndarray, pids: np.ndarray):
        """``padded``: the sorted keys followed by ``_WINDOW`` zeros (see ``_padded``)."""
        size = pids.size
        self.padded = padded
        self.keys = keys = padded[:size]
        self.pids = pids
        self.shift: Optional[np.uint64] = None
        self.starts: Optional[np.ndarray] = None
        self.widest = 0
        self.windows: Optional[np.ndarray] = None
        if size >= DIRECTORY_MIN:
            bits = max(1, (size // _PER_SLOT).bit_length())
            self.shift = np.uint64(64 - bits)
            counts = np.bincount((keys >> self.shift).astype(np.intp), minlength=1 << bits)
            self.widest = int(counts.max())
            self.starts = np.zeros((1 << bits) + 1, dtype=np.int64)
            np.cumsum(counts, out=self.starts[1:])
            if size < 2**31:
                self.starts = self.starts.astype(np.uint32)
            # Row i is padded[i : i + width]: one fancy index gathers every key's window.
            self.windows = sliding_window_view(self.padded, min(self.widest, _WINDOW))

    def lookup(self, keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(position in ``keys``, pid) of the entries equal to ``keys``."""
        if self.starts is None:  # small: stays in cache, binary search is cheapest
            lo = self.keys.searchsorted(keys, side="left")
            width = self.keys.searchsorted(keys, side="right") - lo
        else:
            # intp indices all the way: numpy's unsigned-index path is ~4 us slower cold.
            at = (keys >> self.shift).view(np.int64)  # < 2**63: the same value
            lo = self.starts[at].astype(np.intp)
            if self.widest <= _WINDOW:
                # Compare each key with the entries from its slot's start, as many as the
                # widest slot holds: entries past a key's slot have other top bits, or are
                # padding, so they never match and need no mask.
                return self._in_windows(keys, lo, self.windows[lo])
            # Some slot is wide (a popular key): size the window on the slots touched.
            width = self.starts[at + 1] - lo
            window = int(width.max()) if width.size else 0
            if window <= _WINDOW:
                return self._in_windows(keys, lo, self.windows[lo][:, :window])
        # Exact ranges (a wide slot touched): every (key, entry of its range), keep the equal ones.
        total = int(width.sum())
        if not total:
            return _NONE, _NONE
        idx = np.repeat(lo - (np.cumsum(width) - width), width) + np.arange(total)
        owner = np.repeat(np.arange(keys.size), width)
        same = (self.keys[idx] == keys[owner]).nonzero()[0]
        return owner[same], self.pids[idx[same]]


    def _in_windows(self, keys: np.ndarray, lo: np.ndarray, windows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Hits of ``keys`` in their ``windows`` (rows from ``lo``).  A flat nonzero: 2-D
        ``nonzero`` costs ~9x as much on a query's few dozen rows."""
        width = windows.shape[1]
        flat = (windows == keys[:, None]).ravel().nonzero()[0]
        if not flat.size:
            return _NONE, _NONE
        pos, col = np.divmod(flat, width)
        return pos, self.pids[lo[pos] + col]


class Buckets:
    """LSH buckets (band key -> pids) as sorted segments; pids are never reused."""

    def __init__(self) -> None:
        self._segments: List[_Segment] = []  # largest (oldest) first
        self._dead = np.zeros(0, np.int64)  # sorted pids removed but still in some segment
        self._bands = 1  # entries per paragraph (for garbage accounting)
        self._added = 0  # entries added since the last settle
        self.max_pid = 0

    def __len__(self) -> int:
        return sum(s.keys.size for s in self._segments)

    @property
    def segments(self) -> int:
        return len(self._segments)

    def add(self, keys: np.ndarray, pids: np.ndarray) -> None:
        """Add paragraphs: ``keys`` (count x bands) uint64 band keys, ``pids`` (count,) their ids."""
        pids = np.asarray(pids, dtype=np.int64)
        if pids.size:
            self.max_pid = max(self.max_pid, int(pids.max()))
        flat = np.ascontiguousarray(keys, dtype=np.uint64).ravel()
        if not flat.size:
            return
        self._bands = keys.shape[1] if keys.ndim == 2 else 1
        owner = np.repeat(pids, self._bands) if keys.ndim == 2 else pids
        self._added += flat.size
        order = np.argsort(flat)  # pid order within a key does not matter (matching sorts); 2x faster than stable
        padded = _padded(flat.size)
        np.take(flat, order, out=padded[: flat.size])
        self._segments.append(_Segment(padded, owner[order]))
        segs = self._segments
        while len(segs) > 1 and segs[-2].keys.size <= FANOUT * segs[-1].keys.size:
            self._merge_last_two()

    def _merge_last_two(self) -> None:
        older, newer = self._segments[-2:]
        total = older.pids.size + newer.pids.size
        # Where each newer entry lands (after the older entries with the same key), then
        # the older entries fill the rest: two linear passes, no sort.
        at = older.keys.searchsorted(newer.keys, side="right") + np.arange(newer.pids.size)
        is_new = np.zeros(total, dtype=bool)
        is_new[at] = True
        is_old = ~is_new
        padded = _padded(total)
        keys, pids = padded[:total], np.empty(total, dtype=np.int64)
        keys[at], keys[is_old] = newer.keys, older.keys
        pids[at], pids[is_old] = newer.pids, older.pids
        if self._dead.size:
            alive = ~_member(pids, self._dead)
            total = int(alive.sum())
            padded2 = _padded(total)
            padded2[:total], pids = keys[alive], pids[alive]
            padded = padded2
        del self._segments[-2:]
        if total:
            self._segments.append(_Segment(padded, pids))
        if len(self._segments) <= 1:
            self._dead = np.zeros(0, np.int64)  # every segment was just filtered

    def discard(self, pids: np.ndarray) -> None:
        """Forget paragraphs (removed from the store): lookups skip them from now on."""
        pids = np.asarray(pids, dtype=np.int64)
        if not pids.size:
            return
        self._dead = np.union1d(self._dead, pids)
        # Garbage above a quarter of the entries: compact everything now (amortised O(1) a removal).
        if self._dead.size * self._bands * 4 > len(self):
            self.compact()

    def settle(self) -> None:
        """The end of an add call: one segment if the call added >= 1/SETTLE_FANOUT of the entries."""
        if len(self._segments) > 1 and len(self) <= SETTLE_FANOUT * self._added:
            self.compact()
        self._added = 0

    def compact(self) -> None:
        """Merge every segment into one, dropping removed paragraphs."""
        if len(self._segments) == 1:
            self._segments.append(_Segment(_padded(0), np.zeros(0, np.int64)))
        while len(self._segments) > 1:
            self._merge_last_two()
        if not self._segments:
            self._dead = np.zeros(0, np.int64)

    def lookup(self, keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(position in ``keys``, pid) of every paragraph in the buckets of ``keys`` (uint64, any order)."""
        found = [hit for hit in (seg.lookup(keys) for seg in self._segments) if hit[0].size]
        if not found:
            return _NONE, _NONE
        if len(found) == 1:
            pos, pids = found[0]
        else:
            pos = np.concatenate([f[0] for f in found])
            pids = np.concatenate([f[1] for f in found])
        if self._dead.size:
            alive = ~_member(pids, self._dead)
            pos, pids = pos[alive], pids[alive]
        return pos, pids

    def distinct_keys(self) -> int:
        """How many distinct band keys have a live paragraph (compacts first)."""
        self.compact()
        if not self._segments:
            return 0
        keys = self._segments[0].keys
        return int(np.count_nonzero(keys[1:] != keys[:-1])) + 1 if keys.size else 0


def _padded(size: int) -> np.ndarray:
    """A key buffer of ``size`` entries followed by ``_WINDOW`` zeros: a zero key lives in
    slot 0, whose window starts at 0 and spans at most the segment's own entries, so
    padding never matches."""
    buf = np.empty(size + _WINDOW, dtype=np.uint64)
    buf[size:] = 0
    return buf


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for a sorted, unique ``sorted_set`` (one binary search)."""
    at = np.searchsorted(sorted_set, values)
    return sorted_set[np.minimum(at, sorted_set.size - 1)] == values
