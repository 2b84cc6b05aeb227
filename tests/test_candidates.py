"""LSH banding and exact verification: known answers and a brute-force cross-check."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.candidates import candidate_pairs, verify
from dedupe.config import Config
from dedupe.fingerprint import fingerprint_batch
from dedupe.model import Match

FULL = 0xFFFFFFFF


def brute_candidates(sigs, cfg):
    out = []
    for i, j in itertools.combinations(range(len(sigs)), 2):
        if (sigs[i] == FULL).all() or (sigs[j] == FULL).all():
            continue
        for b in range(cfg.bands):
            cols = slice(b * cfg.rows, (b + 1) * cfg.rows)
            if np.array_equal(sigs[i, cols], sigs[j, cols]):
                out.append((i, j))
                break
    return out


def test_known_answer():
    cfg = Config(num_perm=6, bands=2, rows=2)  # column 4, 5 unused
    sigs = np.array(
        [
            [1, 2, 3, 4, 0, 0],
            [1, 2, 9, 9, 1, 1],  # band 0 with row 0
            [5, 6, 3, 4, 2, 2],  # band 1 with row 0
            [FULL] * 6,  # empty: never pairs
            [FULL] * 6,
            [7, 7, 7, 7, 0, 0],  # pairs with nothing (unused columns match row 0)
            [1, 2, 3, 4, 0, 0],  # duplicate of row 0
        ],
        dtype=np.uint32,
    )
    got = candidate_pairs(sigs, cfg)
    assert got.dtype == np.int64 and got.shape[1] == 2
    assert got.tolist() == [[0, 1], [0, 2], [0, 6], [1, 6], [2, 6]]


def test_no_pairs_and_empty():
    cfg = Config(num_perm=4, bands=2, rows=2)
    assert candidate_pairs(np.zeros((0, 4), np.uint32), cfg).shape == (0, 2)
    assert candidate_pairs(np.arange(8, dtype=np.uint32).reshape(2, 4), cfg).shape == (0, 2)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 3), st.integers(1, 4), st.integers(0, 10_000))
def test_matches_brute_force(count, bands, rows, seed):
    cfg = Config(num_perm=bands * rows + 1, bands=bands, rows=rows)
    rng = np.random.RandomState(seed)
    sigs = rng.randint(0, 3, size=(count, cfg.num_perm)).astype(np.uint32)
    sigs[rng.rand(count) < 0.2] = FULL
    got = candidate_pairs(sigs, cfg)
    assert [tuple(p) for p in got.tolist()] == brute_candidates(sigs, cfg)


def _sets(*items):
    return [np.array(sorted(set(s)), dtype=np.uint32) for s in items]


def test_verify_known_answers():
    cfg = Config(jaccard_threshold=0.5, containment_threshold=0.8, min_containment_shingles=8)
    big = list(range(100, 140))
    sets = _sets(
        range(10),  # 0
        range(5, 15),  # 1: J(0,1) = 5/15 = 0.3333
        range(8),  # 2: J(0,2) = 8/10 = 0.8
        big[:9],  # 3: contained in 4, 9 shingles -> containment rule
        big,  # 4: J(3,4) = 9/40
        big[:7],  # 5: contained in 4 but only 7 shingles -> rejected
        [],  # 6: empty
    )
    pairs = np.array([[0, 1], [2, 0], [3, 4], [4, 5], [5, 6], [0, 2]])
    got = verify(pairs, sets, cfg)
    assert got == [
        Match(a=0, b=2, jaccard=0.8, containment=1.0),
        Match(a=3, b=4, jaccard=0.225, containment=1.0),
    ]
    assert verify(np.zeros((0, 2), np.int64), sets, cfg) == []


def test_verify_matches_python_sets():
    rng = np.random.RandomState(5)
    base = [set(rng.randint(0, 60, rng.randint(0, 30)).tolist()) for _ in range(30)]
    sets = _sets(*base)
    cfg = Config(jaccard_threshold=0.3, containment_threshold=0.6, min_containment_shingles=3)
    pairs = np.array(list(itertools.combinations(range(30), 2)))
    got = {(m.a, m.b): m for m in verify(pairs, sets, cfg)}
    for i, j in pairs.tolist():
        a, b = base[i], base[j]
        inter, union, small = len(a & b), len(a | b), min(len(a), len(b))
        jac = inter / union if union else 0.0
        con = inter / small if small else 0.0
        keep = jac >= 0.3 or (con >= 0.6 and small >= 3)
        assert ((i, j) in got) == keep
        if keep:
            assert got[(i, j)].jaccard == round(jac, 4) and got[(i, j)].containment == round(con, 4)


def test_verify_rejects_bad_index():
    with pytest.raises(ValueError):
        verify(np.array([[0, 3]]), _sets([1], [2]), Config())


def test_end_to_end_finds_edited_copy():
    cfg = Config()
    text = (
        "The head of a conservative Republican faction in the U.S. Congress, who voted this month "
        "for a huge expansion of the national debt to pay for tax cuts, called himself a fiscal "
        "conservative on Sunday and urged budget restraint in 2018."
    )
    edited = text.replace("Sunday", "Monday").replace("huge", "large")
    other = "Stocks rose on Tuesday as investors weighed fresh economic data from several countries."
    sets, sigs = fingerprint_batch([text, other, edited, ""], cfg)
    pairs = candidate_pairs(sigs, cfg)
    assert pairs.tolist() == [[0, 2]]
    (match,) = verify(pairs, sets, cfg)
    assert (match.a, match.b) == (0, 2) and match.jaccard >= cfg.jaccard_threshold
