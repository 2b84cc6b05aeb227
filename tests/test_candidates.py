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


# --- corpus scale: earliest matches and components without every pair -----------------


def _random_corpus(seed, count):
    """Paragraph sets drawn around a few themes, so buckets mix matches and misses."""
    rng = np.random.RandomState(seed)
    themes = [rng.randint(0, 400, 14) for _ in range(4)]
    base = []
    for _ in range(count):
        if rng.rand() < 0.15:
            base.append(set())
            continue
        theme = themes[rng.randint(len(themes))]
        keep = theme[rng.rand(theme.size) < rng.uniform(0.3, 1.0)]
        base.append(set(keep.tolist()) | set(rng.randint(400, 800, rng.randint(0, 6)).tolist()))
    return _sets(*base)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), st.integers(0, 10_000))
def test_earliest_and_cross_matches_equal_all_pairs(count, seed):
    from dedupe.candidates import Matches, band_keys, buckets, cross_matches, earliest_matches
    from dedupe.cluster import connected_components
    from dedupe.fingerprint import signatures

    cfg = Config(num_perm=8, bands=4, rows=2, jaccard_threshold=0.6, containment_threshold=0.9, min_containment_shingles=3)
    sets = _random_corpus(seed, count)
    sigs = signatures(sets, cfg)
    every = verify(candidate_pairs(sigs, cfg), sets, cfg)  # all verified candidate pairs
    values = np.concatenate(sets)
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in sets]))).astype(np.int64)
    keys, live = band_keys(sigs, cfg)
    shared = buckets(keys, live)
    first = earliest_matches(shared, count, values, offsets, cfg)

    # Earliest: for each paragraph, the smallest verified partner before it, exactly.
    want = {}
    for m in every:
        want[m.b] = min(want.get(m.b, m.a), m.a)
    got = dict(zip(first.pairs[:, 1].tolist(), first.pairs[:, 0].tolist()))
    assert got == want

    # Components: the same as those of every verified pair.
    labels = connected_components(count, first.pairs)
    more = cross_matches(shared, labels, values, offsets, cfg, first)
    found = list(Matches.join(first, more).in_order())
    assert set(found) <= set(every)
    labels = connected_components(count, np.array([(m.a, m.b) for m in found], np.int64).reshape(-1, 2))
    expected = connected_components(count, np.array([(m.a, m.b) for m in every], np.int64).reshape(-1, 2))
    assert labels.tolist() == expected.tolist()


def test_verify_flat_split_over_forked_children_equals_serial(monkeypatch):
    import dedupe.candidates as cand

    rng = np.random.default_rng(5)
    sets = [np.unique(rng.integers(0, 60, rng.integers(0, 30))).astype(np.uint32) for _ in range(300)]
    values = np.concatenate(sets)
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in sets]))).astype(np.int64)
    pairs = rng.integers(0, 300, (5000, 2))
    serial = cand.verify_flat(pairs, values, offsets, Config(workers=1))
    monkeypatch.setattr(cand, "FORK_MIN_PAIRS", 10)
    for workers in (2, 3):
        forked = cand.verify_flat(pairs, values, offsets, Config(workers=workers))
        assert all(np.array_equal(x, y) for x, y in zip(serial, forked))
    assert serial[0].any() and not serial[0].all()


def test_forked_map_order_and_errors():
    from dedupe.parallel import forked_map

    assert forked_map(lambda x: x * x, [1, 2, 3, 4]) == [1, 4, 9, 16]

    def boom(x):
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(RuntimeError, match="three"):
        forked_map(boom, [1, 2, 3])
    with pytest.raises(ValueError, match="three"):  # raised here, children still reaped
        forked_map(boom, [3, 1, 2])


# --- containment candidates ------------------------------------------------------------

WIRE = ("Rescue teams reached the village of Aldmere late on Sunday after a landslide cut the only road into the "
        "valley. The regional governor said eleven people were still missing and that helicopters would resume the "
        "search at dawn. Heavy rain had soaked the hillside for a week before the slope gave way above the school "
        "and the market square. Residents described a roar like a passing train and said the mud filled the lower "
        "streets within minutes.")


def test_cut_copy_is_found_through_containment_keys():
    """A copy that keeps a third of a wire paragraph shares no MinHash band with it (Jaccard
    ~0.3) but passes on containment: the containment keys find it, and with them off it is
    missed."""
    import dedupe

    cut = WIRE.split(". ")[1] + "."
    docs = [dedupe.Document(id="a", source="x", text=WIRE), dedupe.Document(id="b", source="y", text=cut)]
    on = dedupe.run(docs, Config(workers=1))
    off = dedupe.run(docs, Config(workers=1, containment_sample=0))
    assert [(m.a, m.b) for m in on.matches] == [(0, 1)]
    assert on.matches[0].jaccard < 0.5 <= Config().containment_threshold <= on.matches[0].containment
    assert on.matches.banded.tolist() == [False]  # joins the cluster, is no duplicate_of
    assert len(on.clusters) == 1 and not off.matches and not off.clusters


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40), st.integers(0, 2**32 - 1), st.integers(2, 6))
def test_contained_candidates_hold_every_pair_sharing_half_the_keys(count, seed, components):
    """Prefix filtering loses nothing: every pair of paragraphs of different components that
    shares at least half of the keys of the one with fewer is a candidate (brute force)."""
    from dedupe.candidates import _contained_candidates, containment_buckets

    rng = np.random.default_rng(seed)
    vocabulary = rng.integers(1, 60, 1)[0] + 1  # a small vocabulary: many shared keys
    sets = [np.unique(rng.integers(0, vocabulary, rng.integers(1, 12))) for _ in range(count)]
    owner = np.concatenate([np.full(s.size, i) for i, s in enumerate(sets)]).astype(np.int64)
    key = np.concatenate(sets).astype(np.uint32)
    labels = rng.integers(0, components, count)
    cfg = Config(containment_bucket_cap=count + 1)  # no cap: the filter alone is under test
    lists = [containment_buckets(owner, key, cfg)]
    got = set(_contained_candidates(lists, np.bincount(owner, minlength=count), labels).tolist())
    import dedupe.candidates as candidates_module

    step = candidates_module._PAIR_STEP
    candidates_module._PAIR_STEP = 1  # the listing in the smallest steps gives the same pairs
    try:
        assert set(_contained_candidates(lists, np.bincount(owner, minlength=count), labels).tolist()) == got
    finally:
        candidates_module._PAIR_STEP = step
    for i, j in itertools.combinations(range(count), 2):
        shared = np.intersect1d(sets[i], sets[j]).size
        if labels[i] != labels[j] and 2 * shared >= min(sets[i].size, sets[j].size):
            assert (i << 32 | j) in got, (i, j)


def test_containment_bucket_cap_keeps_the_first_carriers():
    """A key gives candidates to the first ``containment_bucket_cap`` paragraphs that carry
    it, so a phrase common in the language stops costing pairs, and input order decides."""
    from dedupe.candidates import containment_buckets

    owner = np.arange(10, dtype=np.int64)
    members, starts = containment_buckets(owner, np.full(10, 5, np.uint32), Config(containment_bucket_cap=4))
    assert members.tolist() == [0, 1, 2, 3] and starts.tolist() == [True, False, False, False]
