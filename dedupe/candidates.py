"""LSH banding of MinHash signatures into candidate pairs, and exact verification.

Banding follows datasketch's MinHashLSH (``bands`` bands of ``rows`` consecutive hash
values; two signatures are candidates when any band is identical), but groups a whole
batch with one numpy sort per band instead of a dict insert per paragraph.  Candidates
are then checked on the real shingle sets, so LSH only decides what is compared, never
what is merged.

>>> import numpy as np
>>> from dedupe.config import Config
>>> cfg = Config(num_perm=4, bands=2, rows=2)
>>> sigs = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 6, 7, 8]], dtype=np.uint32)
>>> candidate_pairs(sigs, cfg).tolist()
[[0, 1]]
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from .arrays import sorted_unique
from .config import Config
from .model import Match
from .parallel import forked_map

log = logging.getLogger(__name__)

__all__ = ["band_keys", "buckets", "candidate_pairs", "containment_buckets", "containment_cross", "containment_keys",
           "containment_pairs", "cross_matches", "earliest_matches", "pack_keys", "packed_buckets", "verify", "verify_flat"]

_U64 = np.uint64
#: Odd 64-bit multiplier folding a band's values into one key (a collision only adds a
#: candidate, which verification then rejects; it never loses one).
_BAND_MULT = 0x9E3779B97F4A7C15
#: Deduplicate the accumulated pair keys once they exceed this many (plus the size of the
#: last deduplicated set): bounds memory at a few hundred MB on 1M paragraphs.
_PAIR_FLUSH = 1 << 24
#: Pairs verified per chunk: 4k pairs gather ~450k shingle keys (~4 MB), which stay in
#: cache during the binary search; measured 4x faster than 256k-pair chunks.
_VERIFY_CHUNK = 4096
#: Digits kept in Match floats, so output is byte-stable across platforms.
_DIGITS = 4


def _band_keys(band: np.ndarray) -> np.ndarray:
    """One uint64 key per row of a (count x rows) uint32 band (exact when rows <= 2)."""
    if band.shape[1] == 1:
        return band[:, 0].astype(_U64)
    if band.shape[1] == 2:
        return (band[:, 0].astype(_U64) << _U64(32)) | band[:, 1].astype(_U64)
    # MinHash values are already uniformly mixed, so a polynomial fold needs no finaliser.
    key = band[:, 0].astype(_U64)
    for col in range(1, band.shape[1]):
        key = key * _U64(_BAND_MULT) + band[:, col].astype(_U64)
    return key


def _bucket_pairs(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """All pairs of ``ids`` sharing a key, encoded ``lo * 2**32 + hi`` (int64).

    Sorts the keys; every run of equal keys of length g gives its g*(g-1)/2 pairs,
    generated with repeat/arange arithmetic rather than a Python loop.
    """
    order = np.argsort(keys)  # order inside a bucket is irrelevant: pairs are normalised and deduplicated
    sk = keys[order]
    same = sk[1:] == sk[:-1]
    if not same.any():
        return np.zeros(0, np.int64)
    # Run boundaries of equal keys, runs of length >= 2 only.
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    lengths = np.diff(np.append(starts, sk.size))
    keep = lengths >= 2
    starts, lengths = starts[keep], lengths[keep]
    # Position p inside a run of length g starting at s pairs with p+1 .. s+g-1.
    pos = np.repeat(starts, lengths) + (
        np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    run_end = np.repeat(starts + lengths, lengths)
    partners = run_end - pos - 1
    first = np.repeat(pos, partners)
    total = int(partners.sum())
    second = first + 1 + (np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners))
    u, v = ids[order[first]], ids[order[second]]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    return (lo << 32) | hi


def candidate_pairs(sigs: np.ndarray, config: Config) -> np.ndarray:
    """Pairs (i, j), i < j, whose signatures agree on at least one LSH band.

    ``config.bands`` bands of ``config.rows`` columns (the first bands*rows columns).
    Rows that are all 0xFFFFFFFF (paragraphs without tokens) never pair.  Returns a
    unique, sorted int64 array of shape (k, 2).
    """
    sigs = np.asarray(sigs)
    if sigs.ndim != 2 or sigs.shape[1] < config.bands * config.rows:
        raise ValueError(
            f"signatures must be 2-D with at least {config.bands * config.rows} columns, got shape {sigs.shape}"
        )
    ids = np.flatnonzero(~(sigs == np.uint32(0xFFFFFFFF)).all(axis=1)).astype(np.int64)
    live = sigs[ids]
    done = np.zeros(0, np.int64)
    pending: list[np.ndarray] = []
    pending_size = 0
    for band in range(config.bands):
        cols = live[:, band * config.rows : (band + 1) * config.rows]
        found = _bucket_pairs(_band_keys(cols), ids)
        if found.size:
            pending.append(found)
            pending_size += found.size
        if pending_size > _PAIR_FLUSH + done.size:
            done = sorted_unique(np.concatenate([done, *pending]))
            pending, pending_size = [], 0
    if pending:
        done = sorted_unique(np.concatenate([done, *pending]))
    log.debug("%d candidate pairs from %d signatures", done.size, sigs.shape[0])
    return np.stack([done >> 32, done & 0xFFFFFFFF], axis=1).astype(np.int64)


def flat_sets(hash_sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated sets (uint32) and their offsets."""
    lengths = np.fromiter((len(s) for s in hash_sets), dtype=np.int64, count=len(hash_sets))
    offsets = np.zeros(len(hash_sets) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if not len(hash_sets):
        return np.zeros(0, np.uint32), offsets
    return np.concatenate([np.asarray(s, dtype=np.uint32) for s in hash_sets]), offsets


def _gather(values: np.ndarray, offsets: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Keys ``k * 2**32 + h`` of the sets of ``nodes`` (k = position in ``nodes``),
    ascending because every set is sorted."""
    lengths = offsets[nodes + 1] - offsets[nodes]
    total = int(lengths.sum())
    idx = np.repeat(offsets[nodes] - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
    owner = np.repeat(np.arange(nodes.size, dtype=_U64), lengths)
    return (owner << _U64(32)) | values[idx].astype(_U64)


def _intersections(values: np.ndarray, offsets: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """|A ∩ B| for every pair: A's keys looked up among B's by binary search.

    Both key arrays are ascending, so the search walks forward through a chunk-sized
    haystack that stays in cache (no sort needed).
    """
    a_keys = _gather(values, offsets, pairs[:, 0])
    b_keys = _gather(values, offsets, pairs[:, 1])
    if not b_keys.size:
        return np.zeros(len(pairs), np.int64)
    at = np.searchsorted(b_keys, a_keys)
    hit = b_keys[np.minimum(at, b_keys.size - 1)] == a_keys
    return np.bincount((a_keys[hit] >> _U64(32)).astype(np.int64), minlength=len(pairs))


def verify(pairs: np.ndarray, hash_sets: Sequence[np.ndarray], config: Config) -> list[Match]:
    """Keep the candidate pairs that are near-duplicates on their exact shingle sets.

    A pair is kept when Jaccard >= ``config.jaccard_threshold``, or when containment
    (|A ∩ B| / min(|A|, |B|)) >= ``config.containment_threshold`` and the smaller set
    has at least ``config.min_containment_shingles`` shingles.  Sets must be sorted and
    unique (as ``fingerprint`` makes them).  Returned sorted by (a, b), floats rounded
    to 4 decimals.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if not pairs.size:
        return []
    if pairs.min() < 0 or pairs.max() >= len(hash_sets):
        raise ValueError(f"pair index out of range for {len(hash_sets)} shingle sets")
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    keys = sorted_unique((lo << 32) | hi)
    pairs = np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1)
    values, offsets = flat_sets(hash_sets)
    ok, jac, con = verify_flat(pairs, values, offsets, config)
    ab = pairs[ok]
    return list(map(Match, ab[:, 0].tolist(), ab[:, 1].tolist(), jac[ok].tolist(), con[ok].tolist()))


# --------------------------------------------------------------------------------------
# Corpus scale: buckets kept per band, and matches found without enumerating every pair.
#
# A story republished by 40 outlets puts 40 copies of each paragraph in one bucket of
# every band: 780 pairs a paragraph, 20M pairs on 1M paragraphs, nearly all of them
# joining paragraphs that are already joined.  The batch pipeline needs two things:
# each paragraph's *earliest* verified match (what ``dedupe.index`` reports too) and the
# connected components of *all* verified candidate pairs.  ``earliest_matches`` tries
# every paragraph's smallest candidate first (one pair a paragraph when copies verify),
# and lists the rest only for paragraphs whose first try failed; ``cross_matches`` then
# verifies exactly the candidate pairs whose ends are still in different components.
# Components of both sets of matches equal those of all verified candidate pairs.


def band_keys(sigs: np.ndarray, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, live)``: one uint32 key per band, shape (n, bands), and the rows with shingles.

    A band's 4 x 32 bits are folded to 32: at corpus scale a band key is then 4 bytes
    and bucketing sorts ``key << 32 | paragraph`` in one pass.  A collision (about 100
    random pairs a band among a million paragraphs) only adds a candidate, which
    verification rejects: random paragraphs are never near-duplicates.

    >>> cfg = Config(num_perm=4, bands=2, rows=2)
    >>> keys, live = band_keys(np.array([[1, 2, 3, 4], [0xFFFFFFFF] * 4], dtype=np.uint32), cfg)
    >>> keys.shape, keys.dtype.name, live.tolist()
    ((2, 2), 'uint32', [True, False])
    """
    sigs = np.asarray(sigs)
    keys = np.empty((sigs.shape[0], config.bands), dtype=np.uint32)
    for band in range(config.bands):
        k = _band_keys(sigs[:, band * config.rows : (band + 1) * config.rows])
        keys[:, band] = ((k >> _U64(32)) ^ k).astype(np.uint32)  # truncation keeps the low 32 bits
    live = ~(sigs == np.uint32(0xFFFFFFFF)).all(axis=1)
    return keys, live


def buckets(keys, live: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per band, the shared buckets: ``(members, starts)``.

    ``keys``: uint32 band keys (n, bands) as from ``band_keys``, or, to bound memory on a large
    corpus, a list with one list per band of that band's keys for consecutive chunks of
    paragraphs, which is consumed (each band's arrays are dropped once bucketed).
    ``members`` (int32) lists the live paragraphs of buckets with
    two or more members, bucket by bucket, ascending inside a bucket; ``starts`` is True
    where a bucket begins.  Singleton buckets are dropped, so a corpus without
    duplicates keeps almost nothing.
    """
    if live.size >= 2**31:
        raise ValueError("at most 2**31 paragraphs per run")
    ids = np.flatnonzero(live).astype(_U64)
    by_band = keys if not isinstance(keys, np.ndarray) else [[keys[:, b]] for b in range(keys.shape[1])]
    out = []
    for band in range(len(by_band)):
        k = np.concatenate(by_band[band])[ids] if by_band[band] else np.zeros(0, np.uint32)
        if not isinstance(keys, np.ndarray):
            by_band[band] = None
        # One sort of key << 32 | id: buckets together, ascending ids inside a bucket.
        both = (k.astype(_U64) << _U64(32)) | ids
        del k
        both.sort()
        sk = both >> _U64(32)
        new = np.ones(sk.size, dtype=bool)
        new[1:] = sk[1:] != sk[:-1]
        del sk
        starts = np.flatnonzero(new)
        lengths = np.diff(np.append(starts, both.size))
        shared = np.repeat(lengths >= 2, lengths)
        out.append(((both[shared] & _U64(0xFFFFFFFF)).astype(np.int32), new[shared]))
    return out


#: Salt of the containment sample (``containment_keys``): which shingles are keys is
#: then independent of which values the MinHash permutations favour.
_SAMPLE_SALT = np.uint32(0x5BD1E995)


def containment_keys(values: np.ndarray, offsets: np.ndarray, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, key)``: the sampled shingles of flat sets (``values[offsets[i]:offsets[i+1]]``).

    A shingle is a key when its (salted, mixed) hash is 0 mod ``config.containment_sample``:
    a property of the shingle alone, so a shingle two paragraphs share is a key of both or
    of neither, and a paragraph whose shingles are mostly in another shares about 1/M of
    them as keys, whatever their sizes (MinHash bands would need similar *sets*).  Only
    paragraphs that can pass on containment (``min_containment_shingles``) get keys.
    ``owner`` (int32: a batch's position) ascending; ``key`` uint32 (the shingle hash).

    >>> cfg = Config(containment_sample=1, min_containment_shingles=2)
    >>> owner, key = containment_keys(np.array([5, 7, 9], np.uint32), np.array([0, 1, 3]), cfg)
    >>> owner.tolist(), key.tolist()
    ([1, 1], [7, 9])
    """
    every = config.containment_sample
    if every <= 0 or not values.size:
        return np.zeros(0, np.int32), np.zeros(0, np.uint32)
    from .fingerprint import _fmix32

    chosen = np.flatnonzero(_fmix32(np.asarray(values, dtype=np.uint32) ^ _SAMPLE_SALT) % np.uint32(every) == 0)
    owner = np.searchsorted(offsets, chosen, side="right") - 1
    keep = np.diff(offsets)[owner] >= config.min_containment_shingles  # only those that can be contained or contain
    return owner[keep].astype(np.int32), values[chosen[keep]].astype(np.uint32, copy=False)


def containment_buckets(owner: np.ndarray, key: np.ndarray, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The shared containment buckets in ``buckets``'s form ``(members, starts)``, each
    cut to its first ``containment_bucket_cap`` members (ascending paragraph order): a key
    gives candidates to the first paragraphs that carry it, whatever comes after.

    >>> members, starts = containment_buckets(np.array([0, 1, 2, 3]), np.array([7, 7, 7, 9], np.uint32),
    ...                                       Config(containment_bucket_cap=2))
    >>> members.tolist(), starts.tolist()
    ([0, 1], [True, False])
    """
    return packed_buckets(pack_keys(owner, key), config)


def pack_keys(owner: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Containment keys as one uint64 array ``key << 32 | owner`` (what ``packed_buckets``
    takes: a worker sends them so, 8 bytes an entry, and the main process sorts them in place)."""
    return (key.astype(_U64) << _U64(32)) | owner.astype(_U64)


def packed_buckets(both: np.ndarray, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """``containment_buckets`` of packed keys (``pack_keys``), which it sorts in place."""
    return _capped_buckets(both, config.containment_bucket_cap)


def _capped_buckets(both: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """The shared buckets of packed keys, each cut to its first ``cap`` members (sorts in place)."""
    both.sort()
    sk = (both >> _U64(32)).astype(np.uint32)
    new = np.ones(sk.size, dtype=bool)
    new[1:] = sk[1:] != sk[:-1]
    del sk
    first = np.flatnonzero(new)
    lengths = np.diff(np.append(first, both.size))
    kept = np.where(lengths >= 2, np.minimum(lengths, cap), 0)
    # Per bucket, its first ``kept`` entries: a mask made of two runs a bucket (no
    # per-entry rank array: 18M entries on 1M news paragraphs).
    keep = np.repeat(np.tile(np.array([True, False]), first.size), np.stack([kept, lengths - kept], axis=1).ravel())
    return (both[keep] & _U64(0xFFFFFFFF)).astype(np.int32), new[keep]


def containment_pairs(values: np.ndarray, offsets: np.ndarray, config: Config) -> np.ndarray:
    """Candidate pairs ``(i, j)``, i < j, from shared containment keys (``containment_keys``,
    ``containment_buckets``, filtered as ``_contained_candidates`` does): sorted, unique,
    shape (k, 2)."""
    owner, key = containment_keys(values, offsets, config)
    if not owner.size:
        return np.zeros((0, 2), np.int64)
    n = offsets.size - 1
    keys = _contained_candidates([containment_buckets(owner, key, config)], np.bincount(owner, minlength=n),
                                 np.arange(n, dtype=np.int64))
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1).astype(np.int64).reshape(-1, 2)


def shared_half(key: np.ndarray, counts: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Mask of the pairs whose paragraphs share at least half of the containment keys of
    the one with fewer (``2 * shared >= min``): the rule prefix filtering finds every pair
    of, stated exactly.  ``key``: the keys flat, ascending within each paragraph, as
    ``containment_keys`` gives them; ``counts``: keys per paragraph."""
    if not len(pairs):
        return np.zeros(0, bool)
    offsets = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    shared = _intersections(key, offsets, pairs)
    return 2 * shared >= np.minimum(counts[pairs[:, 0]], counts[pairs[:, 1]])


def containment_pairs_exact(key: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Pair keys ``a << 32 | b`` of every pair of paragraphs sharing at least half of the
    containment keys of the one with fewer: no bucket cap, so whether a pair is a candidate
    depends on the two paragraphs alone, never on what else is in the corpus (``dedupe
    check`` and its cache need that; a run at corpus scale caps buckets instead).  ``key``
    and ``counts`` as for ``shared_half``."""
    n = counts.size
    if not key.size:
        return np.zeros(0, np.int64)
    both = pack_keys(np.repeat(np.arange(n, dtype=np.int64), counts), key)
    buckets = _capped_buckets(both, both.size)  # no bucket is cut
    found = _contained_candidates([buckets], counts, np.arange(n, dtype=np.int64))
    pairs = np.stack([found >> 32, found & 0xFFFFFFFF], axis=1).astype(np.int64).reshape(-1, 2)
    return found[shared_half(key, counts, pairs)]


def _bucket_start_positions(starts: np.ndarray) -> np.ndarray:
    """For every position, the position where its bucket begins."""
    return np.maximum.accumulate(np.where(starts, np.arange(starts.size), 0))


#: Pairs from which ``verify_flat`` splits its work over ``Config.processes`` forked
#: children (below it a fork costs more than it saves; a 1M-paragraph run verifies ~1.1M).
FORK_MIN_PAIRS = 200_000


def verify_flat(pairs: np.ndarray, values: np.ndarray, offsets: np.ndarray, config: Config
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ok, jaccard, containment)`` of every pair, sets given flat (``values[offsets[i]:offsets[i+1]]``).

    Same rule as ``verify``; pairs are checked in the given order, nothing is deduplicated.
    Many pairs are split over ``config.processes`` (forked: they read the arrays in place).
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) >= FORK_MIN_PAIRS and config.processes > 1:
        parts = forked_map(lambda part: _verify_flat(part, values, offsets, config),
                           np.array_split(pairs, config.processes))
        ok, jac, con = (np.concatenate(column) for column in zip(*parts))
        return ok, jac, con
    return _verify_flat(pairs, values, offsets, config)


def _verify_flat(pairs: np.ndarray, values: np.ndarray, offsets: np.ndarray, config: Config
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sizes = np.diff(offsets)
    ok = np.zeros(len(pairs), dtype=bool)
    jac = np.zeros(len(pairs))
    con = np.zeros(len(pairs))
    for lo in range(0, len(pairs), _VERIFY_CHUNK):
        chunk = pairs[lo : lo + _VERIFY_CHUNK]
        inter = _intersections(values, offsets, chunk)
        size_a, size_b = sizes[chunk[:, 0]], sizes[chunk[:, 1]]
        union = size_a + size_b - inter
        smaller = np.minimum(size_a, size_b)
        j = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        c = np.where(smaller > 0, inter / np.maximum(smaller, 1), 0.0)
        ok[lo : lo + len(chunk)] = (j >= config.jaccard_threshold) | (
            (c >= config.containment_threshold) & (smaller >= config.min_containment_shingles)
        )
        jac[lo : lo + len(chunk)] = np.round(j, _DIGITS)
        con[lo : lo + len(chunk)] = np.round(c, _DIGITS)
    return ok, jac, con


def _pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return (lo.astype(np.int64) << 32) | hi.astype(np.int64)


def _unpack(keys: np.ndarray) -> np.ndarray:
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1).astype(np.int64)


def _without(keys: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``keys`` (sorted, unique) minus the sorted ``known``."""
    if not known.size or not keys.size:
        return keys
    at = np.minimum(np.searchsorted(known, keys), known.size - 1)
    return keys[known[at] != keys]


class Matches(Sequence):
    """Verified pairs as arrays, read as a sequence of ``Match``: ``pairs`` (k, 2) with
    a < b, ``jaccard``, ``containment``, plus ``failed``: sorted keys ``a * 2**32 + b`` of
    the candidate pairs that did not verify, and ``banded``: which pairs are MinHash band
    candidates (False: found through containment keys only; None: all are).  ``Match``
    objects are made as they are read (a million of them would cost ~130 MB held at once)."""

    __slots__ = ("pairs", "jaccard", "containment", "failed", "banded")

    def __init__(self, pairs, jaccard, containment, failed, banded=None):
        self.pairs, self.jaccard, self.containment, self.failed = pairs, jaccard, containment, failed
        self.banded = banded

    @classmethod
    def of(cls, keys: np.ndarray, values, offsets, config: Config, failed: np.ndarray) -> "Matches":
        pairs = _unpack(keys)
        ok, jac, con = verify_flat(pairs, values, offsets, config)
        return cls(pairs[ok], jac[ok], con[ok], sorted_unique(np.concatenate([failed, keys[~ok]])))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        a, b = self.pairs[i].tolist()
        return Match(a, b, float(self.jaccard[i]), float(self.containment[i]))

    def __iter__(self):
        return map(Match, self.pairs[:, 0].tolist(), self.pairs[:, 1].tolist(),
                   self.jaccard.tolist(), self.containment.tolist())

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and all(x == y for x, y in zip(self, other))

    __hash__ = None

    def __repr__(self) -> str:
        return f"Matches({len(self)} verified pairs)"

    def in_order(self) -> "Matches":
        """The same matches sorted by (a, b) (what ``Result.matches`` holds)."""
        order = np.lexsort((self.pairs[:, 1], self.pairs[:, 0]))
        return Matches(self.pairs[order], self.jaccard[order], self.containment[order], self.failed,
                       None if self.banded is None else self.banded[order])

    @staticmethod
    def join(*parts: "Matches") -> "Matches":
        banded = None
        if any(m.banded is not None for m in parts):
            banded = np.concatenate([np.ones(len(m), bool) if m.banded is None else m.banded for m in parts])
        return Matches(np.concatenate([m.pairs for m in parts]).reshape(-1, 2),
                       np.concatenate([m.jaccard for m in parts]), np.concatenate([m.containment for m in parts]),
                       sorted_unique(np.concatenate([m.failed for m in parts])), banded)


def earliest_matches(shared: list[tuple[np.ndarray, np.ndarray]], n: int, values: np.ndarray,
                     offsets: np.ndarray, config: Config) -> Matches:
    """Each paragraph's earliest verified match: the smallest i < j among its candidates
    (any shared band bucket) that verifies, as ``dedupe.index`` defines a duplicate.

    First every paragraph tries its smallest candidate (the first member of its buckets);
    only paragraphs whose try failed list all their earlier candidates.
    """
    first = np.full(n, n, dtype=np.int64)
    for members, starts in shared:
        head = members[_bucket_start_positions(starts)]
        later = ~starts
        first[members[later]] = np.minimum(first[members[later]], head[later])
    js = np.flatnonzero(first < n)
    tried = Matches.of(_pair_keys(first[js], js), values, offsets, config, np.zeros(0, np.int64))
    found = np.zeros(n, dtype=bool)
    found[tried.pairs[:, 1]] = True
    retry = np.zeros(n, dtype=bool)
    retry[js] = ~found[js]
    if not retry.any():
        return tried
    # Every earlier candidate of the paragraphs whose first try failed.
    more: list[np.ndarray] = []
    for members, starts in shared:
        begin = _bucket_start_positions(starts)
        pos = np.flatnonzero(retry[members])
        lengths = pos - begin[pos]
        total = int(lengths.sum())
        if not total:
            continue
        at = np.repeat(begin[pos] - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
        more.append(_pair_keys(members[at], np.repeat(members[pos], lengths)))
    if not more:
        return tried
    keys = _without(sorted_unique(np.concatenate(more)), tried.failed)
    rest = Matches.of(keys, values, offsets, config, tried.failed)
    # Keep the smallest verified partner of each retried paragraph.
    order = np.lexsort((rest.pairs[:, 0], rest.pairs[:, 1]))
    b = rest.pairs[order, 1]
    keep = order[np.concatenate(([True], b[1:] != b[:-1]))] if b.size else order
    rest = Matches(rest.pairs[keep], rest.jaccard[keep], rest.containment[keep], rest.failed)
    return Matches.join(tried, rest)


def _mixed_buckets(members: np.ndarray, starts: np.ndarray, labels: np.ndarray):
    """``(entries, sizes)`` of the buckets (``buckets``'s form) that hold more than one
    component of ``labels``: a mask over the entries and those buckets' sizes; None when
    there is none (only such a bucket can join anything)."""
    first = np.flatnonzero(starts)
    lab = labels[members]
    mixed = np.minimum.reduceat(lab, first) != np.maximum.reduceat(lab, first)
    if not mixed.any():
        return None
    lengths = np.diff(np.append(first, members.size))
    return np.repeat(mixed, lengths), lengths[mixed]


def _tried(known: Matches) -> np.ndarray:
    """Sorted keys of every pair ``known`` verified or rejected (never to be checked again)."""
    return sorted_unique(np.concatenate([known.failed, _pair_keys(known.pairs[:, 0], known.pairs[:, 1])]))


def _contained_candidates(extra: Sequence[tuple[np.ndarray, np.ndarray]], key_counts: np.ndarray,
                          labels: np.ndarray) -> np.ndarray:
    """Sorted unique pair keys ``a * 2**32 + b`` of paragraphs with different ``labels``
    that share at least half of the containment keys of the one with fewer.

    A paragraph contained in another shares about as many of its keys as of its shingles
    (``containment_threshold`` of them, give or take the sample), while it shares one key
    with each unrelated paragraph it meets in the bucket of a common phrase ("one of the"):
    every pair of a bucket would be 28M failed verifications on 1M news paragraphs.
    Prefix filtering, as in all-pairs similarity joins: if q holds at least half of the k
    keys of p, q misses at most k // 2 of them, so of any c = k // 2 + 2 of them q holds at
    least c - k // 2 = 2.  Each paragraph p takes its c rarest keys (a key it shares with
    no one is the rarest, and needs no bucket), meets the q with at least as many keys in
    those buckets, and keeps the q it meets c - k // 2 times (all keys when k < 4).
    ``key_counts``: containment keys per paragraph.
    """
    found: list[np.ndarray] = []
    key_counts = np.asarray(key_counts, dtype=np.int32)  # int32 all along: 13M entries on 1M paragraphs
    labels = np.asarray(labels)
    for members, starts in extra:
        if not members.size:
            continue
        found_mixed = _mixed_buckets(members, starts, labels)
        if found_mixed is None:
            continue
        sel, size = found_mixed
        members = members[sel]
        del sel
        lab = labels[members].astype(np.int32)
        size = size.astype(np.int32)
        bucket = np.repeat(np.arange(size.size, dtype=np.int32), size)
        # Entries by bucket, then component: a paragraph's partners in a bucket are the
        # entries outside its component's run, two ranges (copies joined already are skipped
        # without being listed: a story republished 40 times fills its buckets with them).
        # One int64 key instead of a two-key lexsort (3x faster); entries are grouped by
        # bucket already, so the stable sort (timsort on int64) only orders each bucket.
        order = np.argsort(bucket.astype(np.int64) * (int(lab.max()) + 1) + lab, kind="stable")
        members, lab = members[order], lab[order]
        del order
        bucket_begin = (np.cumsum(size) - size).astype(np.int32)
        run = np.concatenate(([True], (bucket[1:] != bucket[:-1]) | (lab[1:] != lab[:-1])))
        run_of = (np.cumsum(run) - 1).astype(np.int32)
        run_start = np.flatnonzero(run).astype(np.int32)
        del run, lab
        run_end = np.append(run_start[1:], np.int32(members.size))
        # Each paragraph p takes c of its keys; any c will do, so first the free ones: keys
        # it shares with no one (in no bucket), and buckets of its own component only, which
        # hold no partner; then its smallest mixed buckets.
        k = key_counts[members]
        chosen_keys = np.minimum(k, k // 2 + 2)
        free = key_counts - np.bincount(members, minlength=key_counts.size)
        take = chosen_keys - free[members]  # mixed buckets p must take
        entries = np.flatnonzero(take > 0)
        # By owner, then bucket size; ties in bucket order (ascending key): stable, so which
        # keys a paragraph takes is a property of the buckets alone, however they are batched.
        by_owner = entries[np.argsort(members[entries].astype(np.int64) * 64 + np.minimum(size[bucket[entries]], 63),
                                      kind="stable")]
        del entries
        owner = members[by_owner]
        head = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1]))) if owner.size else np.zeros(0, np.int64)
        counts = np.diff(np.append(head, owner.size))
        rank = np.arange(owner.size) - np.repeat(head, counts)
        chosen = by_owner[rank < take[by_owner]]
        need = (chosen_keys - k // 2)[chosen]  # meetings required among the c keys
        b0, l0, l1 = bucket_begin[bucket[chosen]], run_start[run_of[chosen]], run_end[run_of[chosen]]
        before, after = l0 - b0, b0 + size[bucket[chosen]] - l1
        widths = (before + after).astype(np.int64)
        # The listing in steps of about _PAIR_STEP pairs, a paragraph's entries in one step
        # (``chosen`` is in paragraph order): its meetings are counted there.
        ends = np.cumsum(widths)
        owner_of = members[chosen]
        lo = 0
        while lo < chosen.size:
            hi = int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + _PAIR_STEP, side="right"))
            hi = max(hi, lo + 1)
            while hi < chosen.size and owner_of[hi] == owner_of[hi - 1]:
                hi += 1
            found.append(_met(members, key_counts, chosen[lo:hi], need[lo:hi], before[lo:hi], widths[lo:hi],
                              b0[lo:hi], l1[lo:hi]))
            lo = hi
    if not found:
        return np.zeros(0, np.int64)
    return sorted_unique(np.concatenate(found))


#: Pairs listed per step of ``_contained_candidates`` (bounds its memory to ~70 MB).
_PAIR_STEP = 1 << 20


def _met(members, key_counts, chosen, need, before, widths, b0, l1) -> np.ndarray:
    """Pair keys of the (p, q) that p meets ``need`` times in its ``chosen`` entries' buckets
    (the ``before`` entries from the bucket's start ``b0``, then those from the end of its
    component's run ``l1``)."""
    total = int(widths.sum())
    if not total:
        return np.zeros(0, np.int64)
    step = np.arange(total) - np.repeat(np.cumsum(widths) - widths, widths)
    first_part = step < np.repeat(before, widths)
    at = np.where(first_part, np.repeat(b0, widths), np.repeat(l1 - before, widths)) + step
    del step, first_part
    p = np.repeat(members[chosen], widths).astype(np.int64)
    q = members[at].astype(np.int64)
    need = np.repeat(need, widths)
    keep = key_counts[q] >= key_counts[p]
    p, q, need = p[keep], q[keep], need[keep]
    # (p, q) once per chosen bucket of p that q is in: keep those met often enough.
    pq = (p << 32) | q
    order = np.argsort(pq)
    pq, need = pq[order], need[order]
    first = np.flatnonzero(np.concatenate(([True], pq[1:] != pq[:-1]))) if pq.size else np.zeros(0, np.int64)
    times = np.diff(np.append(first, pq.size))
    met = pq[first][times >= need[first]]
    return _pair_keys(met >> 32, met & 0xFFFFFFFF)





def containment_cross(extra: Sequence[tuple[np.ndarray, np.ndarray]], key_counts: np.ndarray, labels: np.ndarray,
                      values: np.ndarray, offsets: np.ndarray, config: Config, known: Matches) -> Matches:
    """``cross_matches`` over containment buckets (``containment_buckets``): the verified
    pairs of paragraphs in different components (``labels``) that share at least half of
    the keys of the one with fewer (``_contained_candidates``), skipping pairs ``known``
    already verified or rejected.  With ``known`` from ``earliest_matches`` and
    ``cross_matches``, none of them is a band candidate (``banded`` False): they join
    clusters, and no paragraph's earliest band match changes."""
    keys = _without(_contained_candidates(extra, key_counts, labels), _tried(known))
    found = Matches.of(keys, values, offsets, config, np.zeros(0, np.int64))
    found.banded = np.zeros(len(found), dtype=bool)  # not band candidates: ``known`` held every one of those
    return found


def cross_matches(shared: list[tuple[np.ndarray, np.ndarray]], labels: np.ndarray, values: np.ndarray,
                  offsets: np.ndarray, config: Config, known: Matches) -> Matches:
    """Verified candidate pairs whose ends have different ``labels`` (components so far),
    skipping pairs ``known`` already verified or rejected.  With ``known`` from
    ``earliest_matches``, the components of both equal those of every verified candidate pair."""
    done = _tried(known)
    found: list[np.ndarray] = []
    for members, starts in shared:
        if not members.size:
            continue
        found_mixed = _mixed_buckets(members, starts, labels)
        if found_mixed is None:
            continue
        sel = found_mixed[0]
        sub, sub_starts = members[sel], starts[sel]
        keys = _bucket_pairs(np.cumsum(sub_starts), sub.astype(np.int64))  # every pair inside the mixed buckets
        a, b = keys >> 32, keys & 0xFFFFFFFF
        found.append(keys[labels[a] != labels[b]])
    if not found:
        return Matches(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
    keys = _without(sorted_unique(np.concatenate(found)), done)
    m = Matches.of(keys, values, offsets, config, np.zeros(0, np.int64))
    return m
