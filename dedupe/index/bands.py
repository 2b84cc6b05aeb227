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
#: Odd 64-bit multipliers of the fold (the band number, then each row value).
_FOLD_MULT = 0xD6E8FEB86659FD93
_BAND_SALT = 0x9E3779B97F4A7C15
#: A row of this value everywhere is the signature of an empty set: it never pairs.
EMPTY = np.uint32(0xFFFFFFFF)


def live_rows(sigs: np.ndarray) -> np.ndarray:
    """Boolean mask of the signatures of non-empty shingle sets."""
    return ~(sigs == EMPTY).all(axis=1)


def band_keys(sigs: np.ndarray, config: Config) -> np.ndarray:
    """(count x bands) uint64 keys of the first ``bands * rows`` signature columns.

    >>> cfg = Config(num_perm=4, bands=2, rows=2)
    >>> k = band_keys(np.array([[1, 2, 3, 4], [1, 2, 9, 9]], dtype=np.uint32), cfg)
    >>> bool(k[0, 0] == k[1, 0]), bool(k[0, 1] == k[1, 1]), bool(k[0, 0] == k[0, 1])
    (True, False, False)
    """
    count = sigs.shape[0]
    cube = sigs[:, : config.bands * config.rows].reshape(count, config.bands, config.rows).astype(_U64)
    keys = np.broadcast_to((np.arange(config.bands, dtype=_U64) + _U64(1)) * _U64(_BAND_SALT),
                           (count, config.bands)).copy()
    for col in range(config.rows):
        keys = keys * _U64(_FOLD_MULT) + cube[:, :, col]
    # Finalise so that keys spread evenly over any prefix (Redis/SQLite pages).
    keys ^= keys >> _U64(31)
    keys *= _U64(0xBF58476D1CE4E5B9)
    keys ^= keys >> _U64(29)
    return keys


def pack_shingles(hashes: np.ndarray) -> bytes:
    """A sorted uint32 shingle set as little-endian bytes (4 bytes a shingle)."""
    return np.ascontiguousarray(hashes, dtype="<u4").tobytes()


def unpack_shingles(data: bytes) -> np.ndarray:
    """Inverse of ``pack_shingles`` (a read-only uint32 view of ``data``)."""
    if len(data) % 4:
        raise ValueError(f"shingle record of {len(data)} bytes is not a whole number of uint32")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32, copy=False)


def pack_ids(ids) -> bytes:
    """Paragraph ids as little-endian int64 bytes."""
    return np.asarray(ids, dtype="<i8").tobytes()


def unpack_ids(data: bytes) -> np.ndarray:
    if len(data) % 8:
        raise ValueError(f"id record of {len(data)} bytes is not a whole number of int64")
    return np.frombuffer(data, dtype="<i8").astype(np.int64, copy=False)
