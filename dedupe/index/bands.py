"""LSH band keys of signatures and the compact encodings an index stores.

A band key folds the band's number and its ``rows`` MinHash values into one 64-bit
integer, so one key space holds every band.  Two paragraphs whose band values agree get
the same key (no candidate is ever lost); a fold collision only adds a candidate, which
exact verification rejects, so decisions equal those of ``dedupe.candidates``.
"""
from __future__ import annotations

import numpy as np

from ..config import Config

_U64 = np.uint64
_LITTLE_ENDIAN = np.dtype(np.uint32) == np.dtype("<u4")
#: Odd 64-bit multipliers of the fold (the band number, then each row value).
_FOLD_MULT = 0xD6E8FEB86659FD93
_BAND_SALT = 0x9E3779B97F4A7C15
#: A row of this value everywhere is the signature of an empty set: it never pairs.
EMPTY = np.uint32(0xFFFFFFFF)


def live_rows(sigs: np.ndarray) -> np.ndarray:
    """Boolean mask of the signatures of non-empty shingle sets."""
    return (sigs != EMPTY).any(axis=1)


class BandCoder:
    """``band_keys`` for one Config, its constants computed once (one document's keys: ~2 us).

    The key of band b with values v0..v(r-1) is ``salt_b * M**(r+1) + v0 * M**r + ... + v(r-1) * M``
    mod 2**64 (M the odd fold multiplier): the fold written as one uint64 matrix product.
    Every value is multiplied, the last one too, so every value reaches the top bits where
    the bucket directory looks: with the last value only added, near-duplicate bands that
    differ in it alone crowded into one slot (100k news documents: widest slot 51 entries,
    30 this way, 28 with a MurmurHash finaliser, which costs five more numpy calls).  A
    multiplication by an odd number is a bijection: it cannot change which keys collide.
    """

    def __init__(self, config: Config):
        mod = 1 << 64
        self.bands, self.rows = config.bands, config.rows
        self._powers = np.array([pow(_FOLD_MULT, self.rows - c, mod) for c in range(self.rows)], dtype=_U64)
        lead = pow(_FOLD_MULT, self.rows + 1, mod)
        self._salt = np.array([(b + 1) * _BAND_SALT % mod * lead % mod for b in range(self.bands)], dtype=_U64)

    def __call__(self, sigs: np.ndarray) -> np.ndarray:
        count = sigs.shape[0]
        # np.dot on uint64 wraps mod 2**64 (measured ~1 us faster cold than matmul here).
        keys = np.dot(sigs[:, : self.bands * self.rows].reshape(count, self.bands, self.rows).astype(_U64), self._powers)
        keys += self._salt
        return keys


def band_keys(sigs: np.ndarray, config: Config) -> np.ndarray:
    """(count x bands) uint64 keys of the first ``bands * rows`` signature columns.

    >>> cfg = Config(num_perm=4, bands=2, rows=2)
    >>> k = band_keys(np.array([[1, 2, 3, 4], [1, 2, 9, 9]], dtype=np.uint32), cfg)
    >>> bool(k[0, 0] == k[1, 0]), bool(k[0, 1] == k[1, 1]), bool(k[0, 0] == k[0, 1])
    (True, False, False)
    """
    return BandCoder(config)(sigs)


def pack_shingles(hashes: np.ndarray) -> bytes:
    """A sorted uint32 shingle set as little-endian bytes (4 bytes a shingle)."""
    return np.ascontiguousarray(hashes, dtype="<u4").tobytes()


def unpack_shingles(data: bytes) -> np.ndarray:
    """Inverse of ``pack_shingles`` (a read-only uint32 view of ``data``)."""
    if len(data) % 4:
        raise ValueError(f"shingle record of {len(data)} bytes is not a whole number of uint32")
    if _LITTLE_ENDIAN:
        return np.frombuffer(data, dtype=np.uint32)
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def pack_ids(ids) -> bytes:
    """Paragraph ids as little-endian int64 bytes."""
    return np.asarray(ids, dtype="<i8").tobytes()


def unpack_ids(data: bytes) -> np.ndarray:
    if len(data) % 8:
        raise ValueError(f"id record of {len(data)} bytes is not a whole number of int64")
    return np.frombuffer(data, dtype="<i8").astype(np.int64, copy=False)
