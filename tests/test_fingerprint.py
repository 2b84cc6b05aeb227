"""Fingerprint contracts: tokens as normalize.tokens, the short-paragraph shingle rule,
datasketch-identical signatures, batch/worker/process independence."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.config import Config
from dedupe.fingerprint import (
    fingerprint_batch,
    shingle_hashes,
    shingle_hashes_batch,
    signatures,
)
from dedupe.normalize import tokens

M64 = (1 << 64) - 1
CHAR_MULT = 0x9E3779B97F4A7C15
TOKEN_MULT = 0xC2B2AE3D27D4EB4F


def fmix64(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & M64
    return x ^ (x >> 33)


def reference_shingles(text: str, n: int) -> np.ndarray:
    """Pure-Python statement of the hashing rule, built on normalize.tokens itself."""
    hashes = []
    for tok in tokens(text):
        h = 0
        for ch in tok:
            h = (h * CHAR_MULT + ord(ch)) & M64
        hashes.append(fmix64(h))
    if not hashes:
        return np.zeros(0, np.uint32)
    windows = [hashes[i : i + n] for i in range(len(hashes) - n + 1)] or [hashes]
    out = set()
    for w in windows:
        acc = w[0]
        for h in w[1:]:
            acc = (acc * TOKEN_MULT + h) & M64
        out.add(fmix64(acc) >> 32)
    return np.array(sorted(out), dtype=np.uint32)


def datasketch_row(hashes, num_perm: int, seed: int) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda x: x)
    m.update_batch([int(h) for h in hashes])
    return m.hashvalues


TEXTS = [
    "WASHINGTON (Reuters) - The head of a conservative Republican faction said on Sunday.",
    "The U.S. said: \u201cno-spy\u201d \u2014 Huawei\u2019s 5G",
    "Caf\u00e9 cr\u00e8me \u00bd \uff21\uff22\uff23 \u00df stra\u00dfe \u0130stanbul \u03a3\u03c3\u03c2 \u00b4x\u00b4",
    "just two",
    "one",
    "",
    "   ...!!!   ",
    "a\x00b c d",
    "repeat repeat repeat repeat repeat",
    "\u5317\u4eac \u4e1c\u4eac_x 123 4\u00b2 \u0661\u0662",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_shingles_match_reference(text, n):
    cfg = Config(shingle_size=n)
    got = shingle_hashes(text, cfg)
    assert got.dtype == np.uint32
    assert np.array_equal(got, reference_shingles(text, n))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=6), st.integers(1, 4))
def test_batch_equals_reference_for_any_text(texts, n):
    cfg = Config(shingle_size=n)
    for text, got in zip(texts, shingle_hashes_batch(texts, cfg)):
        assert np.array_equal(got, reference_shingles(text, n))


def test_short_paragraph_rule():
    cfg = Config()  # n = 3
    assert len(shingle_hashes("Just two", cfg)) == 1
    assert len(shingle_hashes("only", cfg)) == 1
    assert len(shingle_hashes("one two three", cfg)) == 1
    assert len(shingle_hashes("one two three four", cfg)) == 2
    assert shingle_hashes("", cfg).size == 0
    assert shingle_hashes(" -- ! ", cfg).size == 0
    # The short shingle is all tokens, in order: not equal to its reversal.
    assert not np.array_equal(shingle_hashes("just two", cfg), shingle_hashes("two just", cfg))


def test_sorted_unique():
    got = shingle_hashes("a b a b a b a b c", Config(shingle_size=2))
    assert np.all(np.diff(got.astype(np.int64)) > 0)
    assert len(got) == 3


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7), (16, 0), (1, 42), (256, 12345)])
def test_signatures_equal_datasketch(num_perm, seed):
    cfg = Config(num_perm=num_perm, seed=seed, bands=1, rows=1)
    rng = np.random.RandomState(seed)
    sets = [
        np.zeros(0, np.uint32),
        np.array([7], np.uint32),
        np.array([0, 0xFFFFFFFF], np.uint32),
        np.unique(rng.randint(0, 2**32, 500, dtype=np.uint64).astype(np.uint32)),
    ] + shingle_hashes_batch(TEXTS, cfg)
    sigs = signatures(sets, cfg)
    assert sigs.shape == (len(sets), num_perm) and sigs.dtype == np.uint32
    assert np.all(sigs[0] == 0xFFFFFFFF)
    for row, hashes in zip(sigs, sets):
        assert np.array_equal(row, datasketch_row(hashes, num_perm, seed))


def test_signatures_across_chunks(monkeypatch):
    """Chunking of the MinHash pass (incl. a set bigger than a chunk) changes nothing."""
    import dedupe.fingerprint as fp

    cfg = Config(num_perm=32, bands=8, rows=4)
    rng = np.random.RandomState(3)
    sets = [np.unique(rng.randint(0, 2**32, k, dtype=np.uint64).astype(np.uint32)) for k in (5, 0, 300, 40, 0, 1)]
    whole = signatures(sets, cfg)
    monkeypatch.setattr(fp, "_SIG_CHUNK_SHINGLES", 64)
    assert np.array_equal(signatures(sets, cfg), whole)


def test_empty_inputs():
    cfg = Config()
    assert shingle_hashes_batch([], cfg) == []
    assert signatures([], cfg).shape == (0, cfg.num_perm)
    sets, sigs = fingerprint_batch([], cfg)
    assert sets == [] and sigs.shape == (0, cfg.num_perm)


def test_batches_and_workers_do_not_change_output(monkeypatch):
    import dedupe.fingerprint as fp

    texts = [f"paragraph {i} " + TEXTS[i % len(TEXTS)] for i in range(50)]
    cfg = Config()
    sets1, sigs1 = fingerprint_batch(texts, cfg)
    monkeypatch.setattr(fp, "BATCH_PARAGRAPHS", 7)
    sets2, sigs2 = fingerprint_batch(texts, dataclasses.replace(cfg, workers=2))
    assert np.array_equal(sigs1, sigs2)
    assert all(np.array_equal(a, b) for a, b in zip(sets1, sets2))
    assert np.array_equal(sigs1, signatures(shingle_hashes_batch(texts, cfg), cfg))
    for text, got in zip(texts, sets1):
        assert np.array_equal(got, shingle_hashes(text, cfg))


_PROBE = """
import hashlib, sys
from dedupe.config import Config
from dedupe.fingerprint import fingerprint_batch
sets, sigs = fingerprint_batch(sys.argv[1:], Config())
h = hashlib.sha256(sigs.tobytes())
for s in sets:
    h.update(s.tobytes())
print(h.hexdigest())
"""


def test_deterministic_across_processes():
    root = Path(__file__).resolve().parents[1]
    digests = set()
    for hashseed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(root))
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, *TEXTS[:4]], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


_SPACEY = st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2028\u3000`aB\u00e9\u2019\u201c\u2014\x00"),
                  max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_SPACEY, st.text(max_size=30)))
def test_normalize_for_hashing_equals_its_definition(text):
    """The fast paths (ASCII; nothing to collapse) give what the plain definition gives."""
    import unicodedata

    from dedupe.normalize import _QUOTES, normalize_for_hashing

    slow = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)
    assert normalize_for_hashing(text) == " ".join(slow.split())


def test_power_tables_equal_direct_powers(monkeypatch):
    import dedupe.fingerprint as fp

    base = fp._CHAR_MULT
    direct = [pow(base, k, 1 << 64) for k in range(3000)]
    assert fp._powers(base, 3000).tolist() == direct  # a prefix of a kept table
    monkeypatch.setattr(fp, "_POWERS_KEPT", 100)
    assert fp._powers(base, 3000).tolist() == direct  # too long to keep: computed
    assert fp._powers(base, 0).size == 0 and not fp._powers(base, 10).flags.writeable


def test_token_hashes_in_bounded_pieces_equal_one_pass(monkeypatch):
    """A batch or one runaway paragraph is hashed in pieces cut at whitespace: same hashes."""
    import random

    import dedupe.fingerprint as F

    rng = random.Random(3)
    words = ["alpha", "Beta", "gämma", "harbour", "COUNCIL", "naïve", "ﬁne", "a\u0301b", "l'été"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 2000))) + rng.choice(["", "\n", "\tx"])
             for _ in range(40)]
    whole = F._joined_token_hashes(texts)
    for limit in (77, 1000, 4096):
        monkeypatch.setattr(F, "_TOKEN_CHUNK_CHARS", limit)
        pieces = F._token_hashes(texts)
        assert np.array_equal(whole[0], pieces[0]) and np.array_equal(whole[1], pieces[1])
