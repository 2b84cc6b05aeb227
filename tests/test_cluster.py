"""Connected components: known answers, partition property, order independence."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.cluster import connected_components


@pytest.mark.parametrize(
    "n,pairs,expected",
    [
        (0, [], []),
        (3, [], [0, 1, 2]),
        (5, [(3, 1), (1, 4)], [0, 1, 2, 1, 1]),
        (6, [(5, 4), (4, 3), (3, 2), (2, 1)], [0, 1, 1, 1, 1, 1]),  # chain, given backwards
        (6, [(0, 5), (2, 2), (1, 3), (3, 1)], [0, 1, 2, 1, 4, 0]),  # self-loop, repeated edge
        (7, [(6, 0), (5, 1), (4, 2), (3, 6), (2, 3)], [0, 1, 0, 0, 0, 1, 0]),
    ],
)
def test_known_answers(n, pairs, expected):
    assert connected_components(n, pairs).tolist() == expected
    assert connected_components(n, np.array(pairs, dtype=np.int64).reshape(-1, 2)).tolist() == expected


def test_rejects_out_of_range():
    with pytest.raises(ValueError):
        connected_components(3, [(0, 3)])
    with pytest.raises(ValueError):
        connected_components(3, [(-1, 0)])


def _reference(n, pairs):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for u, v in pairs:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    return [find(x) for x in range(n)]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))))
def test_partition_and_order_independence(case):
    n, pairs = case
    labels = connected_components(n, pairs)
    assert labels.tolist() == _reference(n, pairs)
    # A partition labelled by its smallest member.
    for lab in np.unique(labels):
        assert lab == np.flatnonzero(labels == lab).min()
    assert connected_components(n, [(v, u) for u, v in reversed(pairs)]).tolist() == labels.tolist()


def test_scales_and_agrees_with_scipy():
    sparse = pytest.importorskip("scipy.sparse")
    csgraph = pytest.importorskip("scipy.sparse.csgraph")
    rng = np.random.RandomState(0)
    n = 200_000
    pairs = rng.randint(0, n, size=(150_000, 2))
    labels = connected_components(n, pairs)
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = csgraph.connected_components(graph, directed=False)
    first = np.unique(comp, return_index=True)[1]
    assert np.array_equal(labels, first[comp])
