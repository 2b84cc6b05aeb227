"""Connected components of the verified-pair graph: vectorised union-find in numpy.

Each round hooks every tree root that touches another tree onto the smaller root
(a ``np.minimum.at`` over all edges at once), then flattens the trees by pointer
jumping, so the work per round is a few passes over the edge array and the number
of rounds stays small (logarithmic in practice) even for millions of nodes.  Roots
only ever point to smaller nodes, so every label ends as the smallest node of its
component: deterministic, whatever the edge order.

>>> connected_components(5, [(3, 1), (1, 4)]).tolist()
[0, 1, 2, 1, 1]
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["connected_components"]


def _edge_array(n: int, pairs: Iterable[tuple[int, int]] | np.ndarray) -> np.ndarray:
    """Edges as an int64 (k, 2) array, checked to lie in [0, n)."""
    if isinstance(pairs, np.ndarray):
        edges = pairs.astype(np.int64, copy=False)
    else:
        edges = np.array([(int(u), int(v)) for u, v in pairs], dtype=np.int64)
    edges = edges.reshape(-1, 2)
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"edge endpoint out of range for {n} nodes")
    return edges


def _flatten(parent: np.ndarray) -> np.ndarray:
    """Point every node at its root by repeated pointer jumping."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def connected_components(n: int, pairs: Iterable[tuple[int, int]] | np.ndarray) -> np.ndarray:
    """Label of every node 0..n-1: the smallest node index of its component (int64).

    ``pairs`` are undirected edges, as tuples or a (k, 2) array; self-loops and repeated
    edges are harmless.
    """
    if n < 0:
        raise ValueError(f"node count must be non-negative, not {n}")
    edges = _edge_array(n, pairs)
    parent = np.arange(n, dtype=np.int64)
    u, v = edges[:, 0], edges[:, 1]
    rounds = 0
    while u.size:
        ru, rv = parent[u], parent[v]
        live = ru != rv
        if not live.any():
            break
        u, v, ru, rv = u[live], v[live], ru[live], rv[live]
        # Hook the larger root of every edge onto the smaller (both are roots: trees
        # are flat at this point); of several candidates the smallest wins.
        np.minimum.at(parent, np.maximum(ru, rv), np.minimum(ru, rv))
        parent = _flatten(parent)
        rounds += 1
    log.debug("components of %d nodes / %d edges in %d rounds", n, len(edges), rounds)
    return parent
