"""numpy helpers that more than one stage uses."""
from __future__ import annotations

import numpy as np


def sorted_unique(keys: np.ndarray, counts: bool = False):
    """``np.unique(keys)`` (with ``counts``: ``np.unique(keys, return_counts=True)``) by one
    sort.  numpy 2's ``unique`` hashes first: several times slower on candidate-pair keys,
    and 0.6 s of the 1.35 s of story linking in a 1M-paragraph run.

    >>> sorted_unique(np.array([3, 1, 3, 2]), counts=True)
    (array([1, 2, 3]), array([1, 1, 2]))
    """
    keys = np.sort(keys)
    first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if keys.size else np.zeros(0, np.int64)
    if not counts:
        return keys[first]
    return keys[first], np.diff(np.append(first, keys.size))


def run_ranks(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., n-1 for each run length n in ``lengths``, concatenated.

    >>> run_ranks(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
