"""Shingle hashes and datasketch-compatible MinHash signatures, vectorised over batches.

Why not ``datasketch.MinHash.update`` per shingle: it costs a Python call and a small
numpy operation per shingle (~1 ms per paragraph); here a whole batch of paragraphs is
tokenised, shingled and sketched with a handful of numpy passes.

* Tokens are exactly ``dedupe.normalize.tokens`` (``\\w+`` runs of the NFKC-normalised,
  casefolded text), found on the code points of a whole batch at once instead of with
  one regex match object per token.
* A token's hash is a polynomial hash of its code points mod 2**64, finished with the
  MurmurHash3 64-bit finaliser; a shingle's hash is a polynomial of its token hashes,
  finished the same way, keeping the high 32 bits.  Pure integer arithmetic on fixed-width
  unsigned integers: identical on every process and machine (no ``hash()``).
* Signatures are datasketch 2.x "affine32" MinHash values: ``fmix32`` pre-mix, then
  ``a*h + b mod 2**32`` with datasketch's own permutation parameters, so a row equals
  ``MinHash(num_perm, seed, hashfunc=lambda x: x)`` after ``update_batch(hashes)``.

>>> from dedupe.config import Config
>>> cfg = Config()
>>> len(shingle_hashes("One two three four.", cfg))   # 4 tokens -> 2 word 3-grams
2
>>> len(shingle_hashes("Just two", cfg))              # shorter than n: one shingle
1
>>> shingle_hashes("", cfg).size
0
"""
from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .config import Config

log = logging.getLogger(__name__)

__all__ = [
    "fingerprint_batch",
    "fingerprint_flat",
    "shingle_hashes",
    "shingle_hashes_batch",
    "signatures",
]

_U64 = np.uint64
_U32 = np.uint32

#: Multiplier of the code-point polynomial (an odd 64-bit constant: the golden ratio's bits).
_CHAR_MULT = 0x9E3779B97F4A7C15
#: Its inverse mod 2**64, so prefix sums give the hash of any run without a Python loop.
_CHAR_MULT_INV = pow(_CHAR_MULT, -1, 1 << 64)
#: Multiplier of the token-hash polynomial that makes a shingle (odd, unrelated to the above).
_TOKEN_MULT = 0xC2B2AE3D27D4EB4F
#: Paragraphs per batch: ~4k news paragraphs are ~1.4M code points, so the per-character
#: uint64 work arrays stay around 10-20 MB each while numpy's per-call overhead is amortised.
BATCH_PARAGRAPHS = 4096
#: Shingles per MinHash chunk: 16k x 128 permutations x 4 bytes = 8 MB, small beside the
#: corpus; larger chunks measured no faster.
_SIG_CHUNK_SHINGLES = 16384
#: The empty-set signature value (datasketch's affine32 maximum hash).
EMPTY = np.uint32(0xFFFFFFFF)
_SEP = "\x00"  # paragraph separator inside a batch: not a word character, survives NFKC/casefold


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3 64-bit finaliser (an avalanching bijection) on a uint64 array."""
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> _U64(33))


def _fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3 32-bit finaliser, datasketch's affine32 pre-mix, on a uint32 array."""
    x = x ^ (x >> _U32(16))
    x = x * _U32(0x85EBCA6B)
    x = x ^ (x >> _U32(13))
    x = x * _U32(0xC2B2AE35)
    return x ^ (x >> _U32(16))


# ASCII word characters, and a cache-free test for the rest (Python's re ``\w`` on str is
# ``str.isalnum()`` or the underscore).
_ASCII_WORD = np.array([chr(c).isalnum() or c == 95 for c in range(128)], dtype=bool)


def _word_mask(cps: np.ndarray) -> np.ndarray:
    """True where a code point is a regex ``\\w`` character."""
    mask = _ASCII_WORD[np.minimum(cps, 127)]
    high = cps >= 128
    if high.any():
        hi_cps = cps[high]
        uniq = np.unique(hi_cps)
        is_word = np.array([chr(c).isalnum() for c in uniq.tolist()], dtype=bool)
        mask[high] = is_word[np.searchsorted(uniq, hi_cps)]
    return mask


def _powers(base: int, count: int) -> np.ndarray:
    """base**k mod 2**64 for k in [0, count)."""
    if count <= _POWERS_KEPT:  # a prefix of a table made once per process
        return _power_table(base, 1 << max(16, (count - 1).bit_length()))[:count]
    out = np.full(count, base, dtype=_U64)
    if count:
        out[0] = 1
        np.multiply.accumulate(out, out=out)
    return out


#: Longest power table kept (per base: 32 MB): a chunk of texts is ~1.5M characters, and
#: two sequential accumulates of that length per chunk were ~8% of a worker's time.
_POWERS_KEPT = 1 << 22


@functools.lru_cache(maxsize=8)
def _power_table(base: int, size: int) -> np.ndarray:
    out = np.full(size, base, dtype=_U64)
    out[0] = 1
    np.multiply.accumulate(out, out=out)
    out.flags.writeable = False  # shared by every caller: read-only
    return out


#: Characters hashed in one go.  The hashing holds ~40 bytes of arrays per character, so a
#: batch (or one runaway 12 MB paragraph) is cut into pieces of at most this many characters,
#: at whitespace, which ends a token: the hashes are the same, the peak ~80 MB.
_TOKEN_CHUNK_CHARS = 1 << 21


def _token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the tokens of ``texts`` in order, and the paragraph of each token
    (``_joined_token_hashes`` over pieces of at most ``_TOKEN_CHUNK_CHARS`` characters)."""
    limit = _TOKEN_CHUNK_CHARS
    if sum(map(len, texts)) + len(texts) <= limit:
        return _joined_token_hashes(texts)
    pieces: list = []  # (text piece, its paragraph)
    for i, text in enumerate(texts):
        start = 0
        while len(text) - start > limit:
            cut = max(text.rfind(" ", start + 1, start + limit), text.rfind("\n", start + 1, start + limit),
                      text.rfind("\t", start + 1, start + limit))
            cut = cut if cut > start else start + limit  # no whitespace in a whole piece: cut a token
            pieces.append((text[start:cut], i))
            start = cut
        pieces.append((text[start:] if start else text, i))
    toks, paras, group, size = [], [], [], 0
    for piece in pieces + [None]:
        if piece is None or (group and size + len(piece[0]) + 1 > limit):
            tok, local = _joined_token_hashes([p for p, _ in group])
            toks.append(tok)
            paras.append(np.array([q for _, q in group], dtype=np.int64)[local])
            group, size = [], 0
        if piece is not None:
            group.append(piece)
            size += len(piece[0]) + 1
    return np.concatenate(toks), np.concatenate(paras)


def _joined_token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the tokens of ``texts`` in order, and the paragraph of each token.

    Equivalent to hashing every string of ``normalize.tokens(text)``: the NFKC-normalised
    texts, casefolded, are joined with NUL (a non-word character, stable under NFKC and
    casefolding; NULs inside texts become spaces, which changes no token), and word runs
    are found on the code points.
    """
    # NFKC and casefolding per text and only where needed: ASCII is already NFKC and its
    # casefold is lower (an ASCII fast path), while one non-ASCII character sends a whole
    # joined batch down the slow paths (measured 7x and 2x slower).
    parts = [t.lower() if t.isascii() else unicodedata.normalize("NFKC", t).casefold() for t in texts]
    norm = _SEP.join(parts)
    if norm.count(_SEP) != len(texts) - 1:
        norm = _SEP.join(t.replace(_SEP, " ") for t in parts)
    cps = np.frombuffer(norm.encode("utf-32-le"), dtype=_U32)
    word = _word_mask(cps)
    para_of_char = np.cumsum(cps == 0, dtype=np.int64)
    padded = np.concatenate(([False], word, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]  # token i is cps[starts[i]:ends[i]]
    # Polynomial hash of each run: sum cp_k * M**(L-1-k) = M**(e-1) * (C[e] - C[s]) with
    # C the prefix sums of cp_k * M**-k, all mod 2**64 (uint64 wraps).
    prefix = np.zeros(cps.size + 1, dtype=_U64)
    np.cumsum(cps.astype(_U64) * _powers(_CHAR_MULT_INV, cps.size), out=prefix[1:])
    run = (prefix[ends] - prefix[starts]) * _powers(_CHAR_MULT, cps.size)[ends - 1] if starts.size else prefix[:0]
    return _fmix64(run), para_of_char[starts]


def _shingles_flat(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique shingle hashes of every text, flat: (values uint32, offsets int64).

    Text i's set is ``values[offsets[i]:offsets[i + 1]]``.
    """
    count = len(texts)
    if count == 0:
        return np.zeros(0, _U32), np.zeros(1, np.int64)
    tok, para = _token_hashes(texts)
    lengths = np.bincount(para, minlength=count)
    first = np.zeros(count, dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    # One window per position that starts n tokens inside its paragraph, plus one window of
    # all tokens for a paragraph with 1 <= length < n.
    windows = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    width = np.minimum(lengths, n)
    total = int(windows.sum())
    owner = np.repeat(np.arange(count, dtype=np.int64), windows)
    wstart = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(windows) - windows, windows)
    wstart += first[owner]
    wwidth = width[owner]
    acc = tok[wstart] if total else np.zeros(0, _U64)
    for k in range(1, n):
        more = wwidth > k
        if not more.any():
            break
        if more.all():
            acc = acc * _U64(_TOKEN_MULT) + tok[wstart + k]
        else:
            acc[more] = acc[more] * _U64(_TOKEN_MULT) + tok[wstart[more] + k]
    h32 = (_fmix64(acc) >> _U64(32)).astype(_U64)
    keys = (owner.astype(_U64) << _U64(32)) | h32
    keys.sort()  # np.unique would hash first (numpy 2.x): measured 10x slower than sort+mask
    if keys.size:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    values = (keys & _U64(0xFFFFFFFF)).astype(_U32)
    counts = np.bincount((keys >> _U64(32)).astype(np.int64), minlength=count)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return values, offsets


def _permutations(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own affine32 parameters (a, b) for ``config.num_perm`` and ``config.seed``."""
    return _permutation_arrays(config.num_perm, config.seed)


#: Permutation parameters handed in by a cache (``remember_permutations``), by (num_perm, seed).
_REMEMBERED: dict = {}


@functools.lru_cache(maxsize=8)
def _permutation_arrays(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Made once per process and settings: drawing them was ~80 us of a 0.28 ms index query.

    datasketch is imported here, not with the module: it imports scipy, 0.6 s of every
    command's start, which a ``dedupe check`` answered from its cache does not need."""
    if (num_perm, seed) in _REMEMBERED:
        a, b = _REMEMBERED[(num_perm, seed)]
    else:
        from datasketch import MinHash

        a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    a, b = np.array(a, dtype=_U32), np.array(b, dtype=_U32)
    a.flags.writeable = b.flags.writeable = False  # shared by every caller: read-only
    return a, b


def permutations(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters ``(a, b)`` for ``config``."""
    return _permutations(config)


def remember_permutations(config: Config, a: np.ndarray, b: np.ndarray) -> None:
    """Use ``(a, b)`` as ``config``'s permutation parameters without importing datasketch:
    for a cache that stored them when it was built with the same settings (the cache's
    settings record holds num_perm and seed, and its format is tied to the datasketch major)."""
    key = (config.num_perm, config.seed)
    if key not in _REMEMBERED:
        _REMEMBERED[key] = (np.asarray(a, dtype=_U32), np.asarray(b, dtype=_U32))


def _signatures_flat(values: np.ndarray, offsets: np.ndarray, config: Config) -> np.ndarray:
    """MinHash rows of flat sets (see ``_shingles_flat``); empty sets get all ``EMPTY``."""
    count = offsets.size - 1
    a, b = _permutations(config)
    out = np.full((count, config.num_perm), EMPTY, dtype=_U32)
    mixed = _fmix32(values.astype(_U32, copy=False))
    nonempty = np.flatnonzero(offsets[1:] > offsets[:-1])
    # Permutation-major blocks (num_perm x shingles): every numpy pass, the reduceat
    # included, then runs over contiguous rows; ~5x faster than shingle-major.
    buf = np.empty((config.num_perm, _SIG_CHUNK_SHINGLES), dtype=_U32)
    a_col, b_col = a[:, None], b[:, None]
    i = 0
    while i < nonempty.size:
        # Take whole paragraphs up to the chunk size (at least one paragraph).
        lo = offsets[nonempty[i]]
        j = int(np.searchsorted(offsets[nonempty + 1], lo + _SIG_CHUNK_SHINGLES, side="right"))
        j = max(j, i + 1)
        rows = nonempty[i:j]
        hi = offsets[rows[-1] + 1]
        size = int(hi - lo)
        block = buf[:, :size] if size <= buf.shape[1] else np.empty((config.num_perm, size), _U32)
        np.multiply(a_col, mixed[lo:hi], out=block)
        np.add(block, b_col, out=block)
        out[rows] = np.minimum.reduceat(block, offsets[rows] - lo, axis=1).T
        i = j
    return out


def fingerprint_batch(texts: Sequence[str], config: Config) -> tuple[list[np.ndarray], np.ndarray]:
    """Shingle sets and signatures of ``texts`` in one pass: ``(hash_sets, sigs)``.

    The fast path for a pipeline: equal to ``shingle_hashes_batch`` then ``signatures``,
    spread over ``config.processes`` processes in fixed-size batches (the result never
    depends on the worker count: each text's output depends on that text alone).
    """
    return _run_batches(texts, config, with_signatures=True)


def fingerprint_flat(texts: Sequence[str], config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shingle sets and signatures of ``texts`` in this process, sets flat: ``(values, offsets, sigs)``.

    Text i's sorted set is ``values[offsets[i]:offsets[i + 1]]`` (uint32), its signature
    ``sigs[i]``: one array for the whole batch instead of an array per text.
    """
    values = [np.zeros(0, _U32)]
    offsets = [np.zeros(1, np.int64)]
    sigs = [np.zeros((0, config.num_perm), _U32)]
    for i in range(0, len(texts), BATCH_PARAGRAPHS):
        v, o = _shingles_flat(list(texts[i : i + BATCH_PARAGRAPHS]), config.shingle_size)
        sigs.append(_signatures_flat(v, o, config))
        offsets.append(o[1:] + offsets[-1][-1] + 0)
        values.append(v)
    return np.concatenate(values), np.concatenate(offsets), np.concatenate(sigs)


def _batch_job(args) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    texts, config, with_signatures = args
    values, offsets = _shingles_flat(texts, config.shingle_size)
    sigs = _signatures_flat(values, offsets, config) if with_signatures else None
    return values, offsets, sigs


def _run_batches(texts: Sequence[str], config: Config, with_signatures: bool):
    """Split ``texts`` into ``BATCH_PARAGRAPHS`` batches, run them (in a pool when
    ``config.processes > 1``) and join the results in input order."""
    jobs = [
        (list(texts[i : i + BATCH_PARAGRAPHS]), config, with_signatures)
        for i in range(0, len(texts), BATCH_PARAGRAPHS)
    ]
    if config.processes > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=config.processes) as pool:
            results = list(pool.map(_batch_job, jobs))
    else:
        results = [_batch_job(job) for job in jobs]
    sets: list[np.ndarray] = []
    for values, offsets, _ in results:
        sets.extend(np.split(values, offsets[1:-1]))
    sigs = None
    if with_signatures:
        sigs = (
            np.concatenate([r[2] for r in results])
            if results
            else np.zeros((0, config.num_perm), _U32)
        )
    return sets, sigs


def shingle_hashes(text: str, config: Config) -> np.ndarray:
    """Sorted unique uint32 hashes of the word ``config.shingle_size``-grams of ``text``.

    A text with fewer tokens than n (but at least one) is one shingle of all its tokens;
    a text without tokens gives an empty array.
    """
    values, _ = _shingles_flat([text], config.shingle_size)
    return values


def shingle_hashes_batch(texts: Sequence[str], config: Config) -> list[np.ndarray]:
    """``shingle_hashes`` of every text, computed batch-wise (see ``fingerprint_batch``)."""
    sets, _ = _run_batches(texts, config, with_signatures=False)
    return sets


def signatures(hash_sets: Sequence[np.ndarray], config: Config) -> np.ndarray:
    """MinHash signatures, shape ``(len(hash_sets), config.num_perm)``, dtype uint32.

    Row i equals datasketch's ``MinHash(num_perm, seed, hashfunc=lambda x: x)`` after
    ``update_batch(hash_sets[i])`` (scheme "affine32"); an empty set gives all 0xFFFFFFFF.
    """
    lengths = np.fromiter((len(s) for s in hash_sets), dtype=np.int64, count=len(hash_sets))
    offsets = np.zeros(len(hash_sets) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.concatenate([np.asarray(s, dtype=_U32) for s in hash_sets]) if len(hash_sets) else np.zeros(0, _U32)
    return _signatures_flat(values, offsets, config)
