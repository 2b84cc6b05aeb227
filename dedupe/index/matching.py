"""Which earlier paragraph each paragraph of a batch duplicates: stored ones, then the batch's own.

The answer for a paragraph is its *earliest* verified match: the smallest stored pid, else
the first earlier paragraph of the batch.  Verification is ``dedupe.candidates.verify``'s
rule (exact Jaccard / containment on shingle sets, floats rounded to 4 decimals), so the
decisions equal a batch ``dedupe.run``.

Two paths, one answer (tested against each other):

* a batch with few candidates (a single document asked about, typically) checks them one
  by one in pid order in plain Python and stops at the first that verifies, fetching
  each paragraph's earliest candidate first: numpy's per-call cost (~1 us a call, some 40
  calls for ``candidates.verify``) would otherwise be most of a query;
* a large batch verifies arrays with ``candidates.verify``: each paragraph's smallest
  candidate first (a copy's original, usually), the others only where that one fails.

A query may pass ``live=None`` and look up every paragraph's keys: a paragraph without
shingles has the all-0xFFFFFFFF signature, whose band keys no stored paragraph has (only
live ones are stored) short of a 2**-128 coincidence, and even then the pair fails
verification (an empty set matches nothing) -- so the answer is the same, one numpy pass
cheaper.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import candidates
from ..config import Config
from .bands import live_rows
from .results import DuplicateOf

#: Up to this many (paragraph, stored paragraph) candidates, the plain-Python path: it
#: fetches and checks about one candidate a paragraph (a copy's original comes first) ...
SMALL_CANDIDATES = 512
#: ... deduplicated in Python up to this many bucket hits (one per shared band), above
#: with one numpy sort.
SMALL_HITS = 256
#: Up to this many paragraphs, in-batch candidates come from one all-pairs comparison of
#: band keys (n x n x bands booleans: 2 MB at 64) instead of a sort per band.
SMALL_BATCH = 64
#: A stand-in record for a candidate that is no longer there (never verified).
_NO_RECORD = ("", 0, "", np.zeros(0, np.uint32))

Record = Tuple[str, int, str, np.ndarray]  # doc id, paragraph index, source, shingles


def stored_matches(store, config: Config, sets: Sequence[np.ndarray], keys: np.ndarray, live: np.ndarray,
                   ignore_docs) -> Dict[int, DuplicateOf]:
    """Paragraph position -> DuplicateOf of the earliest added stored match (inside a store section).

    ``keys``: (paragraphs x bands) band keys; ``live``: paragraphs with shingles (or None);
    ``ignore_docs``: document ids whose stored paragraphs do not count (being replaced).
    """
    if live is None or live.all():  # None: every row looked up (see the module docstring)
        pos, pids = store.lookup(keys.ravel())
        if not pids.size:
            return {}
        para = pos // keys.shape[1] if keys.shape[0] > 1 else None
    else:
        live_idx = live.nonzero()[0]
        if not live_idx.size:
            return {}
        pos, pids = store.lookup(keys[live_idx].ravel())
        if not pids.size:
            return {}
        para = live_idx[pos // keys.shape[1]]
    # Unique (paragraph, pid) pairs, sorted by paragraph then pid.  A copy meets its
    # original in most of its bands, so there are far fewer pairs than hits.
    if para is None:  # one paragraph
        pairs = [(0, pid) for pid in sorted(set(pids.tolist()))]
    elif pids.size <= SMALL_HITS:
        pairs = sorted(set(zip(para.tolist(), pids.tolist())))
    else:
        span = int(pids.max()) + 1
        codes = np.sort(para * span + pids)  # sort + mask: np.unique hashes first (numpy 2), slower here
        codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
        if codes.size > SMALL_CANDIDATES:
            return _stored_large(store, config, sets, codes // span, codes % span, ignore_docs)
        pairs = list(zip((codes // span).tolist(), (codes % span).tolist()))
    if len(pairs) > SMALL_CANDIDATES:
        pairs_arr = np.array(pairs, dtype=np.int64)
        return _stored_large(store, config, sets, pairs_arr[:, 0], pairs_arr[:, 1], ignore_docs)
    return _stored_small(store, config, sets, pairs, ignore_docs)


def query_document(store, config: Config, doc_id: str, sets: Sequence[np.ndarray],
                   keys: np.ndarray) -> Tuple[set, Dict[int, DuplicateOf]]:
    """One document asked about: (the ids it would replace, its stored matches).

    The store's ``probe`` answers whether ``doc_id`` is stored together with the records
    of each paragraph's earliest candidate: one statement for the SQLite store when those
    verify (as a copy's original does).  ``keys`` of every row are looked up (live=None).
    """
    pos, pids = store.lookup(keys.ravel())
    if not pids.size:
        exists, _ = store.probe(doc_id, ())
        return ({doc_id} if exists else set()), {}
    if keys.shape[0] == 1:  # one paragraph: its earliest candidate, the others only if that fails
        first = int(pids.min())
        exists, (record,) = store.probe(doc_id, (first,))
        ignore = {doc_id} if exists else set()
        if record is not None and record[0] not in ignore:
            verdict = _check(set(sets[0].tolist()), record[3], config)
            if verdict is not None:
                return ignore, {0: _duplicate_of(record, *verdict)}
        rest = [(0, pid) for pid in sorted(set(pids.tolist())) if pid != first]
        return ignore, _stored_small(store, config, sets, rest, ignore) if rest else {}
    pairs = sorted(set(zip((pos // keys.shape[1]).tolist(), pids.tolist())))
    firsts = sorted({pid for para, pid in _firsts(pairs)})
    exists, records = store.probe(doc_id, firsts)
    ignore = {doc_id} if exists else set()
    if len(pairs) > SMALL_CANDIDATES:
        pairs_arr = np.array(pairs, dtype=np.int64)
        return ignore, _stored_large(store, config, sets, pairs_arr[:, 0], pairs_arr[:, 1], ignore)
    return ignore, _stored_small(store, config, sets, pairs, ignore, dict(zip(firsts, records)))


def _firsts(pairs: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """The first pair of each paragraph (pairs sorted by paragraph, then pid)."""
    out, last = [], -1
    for pair in pairs:
        if pair[0] != last:
            out.append(pair)
            last = pair[0]
    return out


def _stored_small(store, config: Config, sets, pairs: List[Tuple[int, int]], ignore_docs,
                  fetched: Optional[dict] = None) -> Dict[int, DuplicateOf]:
    """``stored_matches`` for few (paragraph, pid) pairs, sorted: checks in pid order, each
    paragraph's earliest candidate fetched first (or given: ``fetched``, pid -> record),
    the others only if it fails."""
    firsts, rest = [], []
    last = -1
    for pair in pairs:
        (firsts if pair[0] != last else rest).append(pair)
        last = pair[0]
    found: Dict[int, Tuple[Record, float, float]] = {}
    owns: Dict[int, set] = {}
    for round_pairs in (firsts, rest):
        round_pairs = [pair for pair in round_pairs if pair[0] not in found]
        if not round_pairs:
            continue
        if fetched is not None:
            recs, fetched = fetched, None
        else:
            pid_list = sorted({pid for _, pid in round_pairs})
            recs = dict(zip(pid_list, store.fetch(pid_list)))
        for para, pid in round_pairs:
            if para in found:
                continue
            rec = recs[pid]
            if rec is None or rec[0] in ignore_docs:
                continue
            own = owns.get(para)
            if own is None:
                own = owns[para] = set(sets[para].tolist())
            verdict = _check(own, rec[3], config)
            if verdict is not None:
                found[para] = (rec, *verdict)
    return _as_duplicates(found)


def _stored_large(store, config: Config, sets, para: np.ndarray, pids: np.ndarray, ignore_docs) -> Dict[int, DuplicateOf]:
    """``stored_matches`` for many sorted unique (paragraph, pid) pairs, in arrays."""
    first = np.flatnonzero(np.concatenate(([True], para[1:] != para[:-1])))
    best = _verify_stored(store, config, para[first], pids[first], sets, ignore_docs)
    rest = np.ones(para.size, dtype=bool)
    rest[first] = False
    if best:
        rest &= ~np.isin(para, np.fromiter(best, np.int64, len(best)))
    if rest.any():
        best.update(_verify_stored(store, config, para[rest], pids[rest], sets, ignore_docs))
    return best


def _check(own: set, other: np.ndarray, config: Config) -> Optional[Tuple[float, float]]:
    """``candidates.verify``'s rule for one pair: (jaccard, containment) unrounded, or None."""
    size_a, size_b = len(own), len(other)
    inter = len(own.intersection(other.tolist()))
    union = size_a + size_b - inter
    smaller = min(size_a, size_b)
    jac = inter / union if union > 0 else 0.0
    con = inter / smaller if smaller > 0 else 0.0
    if jac >= config.jaccard_threshold or (con >= config.containment_threshold and smaller >= config.min_containment_shingles):
        return jac, con
    return None


def _as_duplicates(found: Dict[int, Tuple[Record, float, float]]) -> Dict[int, DuplicateOf]:
    """DuplicateOf records, similarities rounded as ``candidates.verify`` rounds them.

    ``round(x * 1e4) / 1e4`` is numpy's own algorithm for ``np.round(x, 4)`` (scale,
    round half to even, unscale), so the floats are identical (tested), without the
    numpy calls.
    """
    return {p: _duplicate_of(*found[p]) for p in found}


def _duplicate_of(record: Record, jac: float, con: float) -> DuplicateOf:
    return DuplicateOf(record[0], record[1], record[2], round(jac * 10000.0) / 10000.0, round(con * 10000.0) / 10000.0)


def _verify_stored(store, config: Config, para: np.ndarray, pids: np.ndarray, sets, ignore_docs) -> Dict[int, DuplicateOf]:
    """Paragraph -> DuplicateOf of its smallest verified pid, of (paragraph, pid) pairs sorted that way."""
    uniq_pids, pid_pos = np.unique(pids, return_inverse=True)
    records = store.fetch(uniq_pids)
    usable = [r is not None and r[0] not in ignore_docs for r in records]
    if not all(usable):  # replaced documents, or (lock-free Redis query) removed meanwhile
        keep = np.array(usable, dtype=bool)[pid_pos]
        para, pid_pos = para[keep], pid_pos[keep]
        records = [r if r is not None else _NO_RECORD for r in records]
    if not para.size:
        return {}
    # Verify on the sets involved only: the batch's paragraphs first, then the stored records.
    involved, local = np.unique(para, return_inverse=True)
    own = [sets[i] for i in involved.tolist()]
    matches = candidates.verify(np.stack([local.ravel(), len(own) + pid_pos], axis=1),
                                own + [r[3] for r in records], config)
    best: Dict[int, DuplicateOf] = {}
    for m in matches:  # sorted by (a, b): the first per paragraph has the smallest pid
        a = int(involved[m.a])
        if a not in best:
            doc_id, index, source, _ = records[m.b - len(own)]
            best[a] = DuplicateOf(doc_id, index, source, m.jaccard, m.containment)
    return best


def batch_matches(config: Config, paras, sets, sigs: np.ndarray, keys: np.ndarray, live: np.ndarray,
                  skip) -> Dict[int, DuplicateOf]:
    """Paragraph position -> DuplicateOf of the earliest match earlier in the same batch.

    Paragraphs in ``skip`` (those with a stored match, which was added earlier) are left out.
    """
    if len(paras) < 2:
        return {}
    if len(paras) <= SMALL_BATCH:
        flat = np.sort(keys.ravel() if live is None else keys[live].ravel())
        if not (flat[1:] == flat[:-1]).any():  # no band key twice: no pair (a document asked about, mostly)
            return {}
        if live is None:
            live = live_rows(sigs)
        # Same pairs as candidate_pairs (any equal band), without its per-band sorts.
        same = (keys[:, None, :] == keys[None, :, :]).any(axis=2) & live[:, None] & live[None, :]
        pairs = np.argwhere(np.triu(same, k=1))
    else:
        pairs = candidates.candidate_pairs(sigs, config)
    if skip and pairs.size:
        pairs = pairs[~np.isin(pairs[:, 1], np.fromiter(skip, np.int64, len(skip)))]
    if not pairs.size:
        return {}
    best: dict = {}
    for m in candidates.verify(pairs, sets, config):
        prev = best.get(m.b)
        if prev is None or m.a < prev[0]:
            best[m.b] = (m.a, m)
    out = {}
    for b, (a, m) in best.items():
        p = paras[a]
        out[b] = DuplicateOf(p.doc_id, p.index, p.source, m.jaccard, m.containment)
    return out
