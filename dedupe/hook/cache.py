"""``dedupe check``'s cache: the data folders' documents, learned lines and verified pairs,
kept between calls so a call does only the work of what changed.

A check's findings for a document are its noise lines and its verified near-duplicate
paragraph pairs with other documents, grouped per other document (``dedupe.hook.check``).
Every pair depends on its two paragraphs alone (a shared LSH band, or half of the
containment keys of the one with fewer: ``pipeline.local_matches``), and the cleaning of a
document on it and on the lines learned from the corpus.  So the cache holds, in
``check.sqlite3`` (``dedupe.cache.Store``'s file format, beside the run cache's):

* ``state`` (one record, CRC-checked): every data file's git blob id, or stat signature and
  hash; the documents in folder order, each with a number (``gid``); the first-pass keys of
  template and corpus learning as arrays aligned with them, and what was learned; the
  postings record (below); the count and size of the pair blocks;
* ``cleaned``: per document, its cleaned paragraphs, removals and fingerprints, under a key
  of its content and the learned lines on it; ``checked``: per gid, what its findings need;
* ``pairs``: every verified pair between documents, in checksummed blocks (pairs of
  documents gone are filtered on reading and compacted away once they are a quarter);
* postings (band and containment keys -> paragraph) that find a new document's candidates
  without looking at the others: a sorted base in memory-mapped ``postings-*.npy`` files,
  plus the postings of documents added since, in the state.

A call asks git which staged files differ from the work tree and stats only those (every
file outside git), reads and first-passes only changed files (in the workers when many),
re-learns only what their documents can change (their sources' templates; the corpus
boilerplate from the cached keys), gives a new number to every document whose cleaning
changed, finds and verifies that document's pairs against the postings and the other new
documents, and answers from the pairs.  Templates learned from the same documents give the
same clean keys, so the verdict is what an uncached call gives; ``tests/test_hook_cache.py``
drives random edits and compares the two.  Every read of a call is one SQLite snapshot, and
every write one transaction that checks no other call wrote meanwhile.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sqlite3
import stat
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..arrays import run_ranks
from ..cache import (CacheCorrupt, Loaded, Store, _clean_key, _digest, _first_pass, _pack, _split_fingerprints,
                     _unpack, file_record, pack_state, prepared_from, settings_fingerprint)
from ..config import Config
from ..model import Document
from .check import Checked, DocRef, Pairs, Progress, _file_documents, cache_folder, git_dirty
from .settings import HookSettings

if TYPE_CHECKING:  # the pipeline and the learners load only when a call has documents to clean or learn
    from ..pipeline import _Prepared

log = logging.getLogger(__name__)

FILENAME = "check.sqlite3"
#: Postings of documents added since the base was written are kept in the state; past this
#: many the base is rewritten with them (a rewrite costs about a second per 100k paragraphs).
DELTA_MAX = 200_000
#: Files a worker reads in one first-pass job.
FIRST_CHUNK = 256
#: Postings looked up at a time when a new document's candidates are found (bounds the memory).
HIT_STEP = 1 << 19
_U64 = np.uint64
_INFO = np.dtype([("gid", "<u4"), ("para", "<u4"), ("k", "<u4")])


@dataclass(slots=True)
class _Row:
    """One document of the data folders, in folder order."""

    path: str
    i: int  # position in its file
    content: str  # content key of its file (path and content hash)
    source: str
    ref: tuple  # DocRef fields
    clean: Optional[str] = None
    gid: Optional[int] = None
    page: Optional[Tuple[int, FrozenSet[int]]] = None  # first-pass keys (only while a call needs them)
    corpus: Optional[Tuple[Tuple[int, ...], FrozenSet[int]]] = None
    removals: Optional[tuple] = None  # what findings need (fresh rows; the others' are in the checked table)
    sizes: Optional[tuple] = None


def cached(paths: List[str], wanted: Set[str], settings: HookSettings, progress: Progress,
           index: Optional[dict] = None) -> Tuple[List[Checked], Pairs]:
    """The findings' inputs (``check._cold``'s) for the documents of ``wanted``, from the cache."""
    config = replace(settings.config, keep_input_text=False)
    folder = cache_folder(settings)
    fingerprint = settings_fingerprint(config, [settings.root.as_posix(), *settings.data])
    try:
        store = Store.open(folder, fingerprint, filename=FILENAME)
    except OSError as err:  # an unwritable git dir: answer without a cache
        log.warning("cache %s unusable (%s); checking without it", folder, err)
        from .check import _cold

        return _cold(paths, settings, progress)
    try:
        try:
            return _Call(store, folder, settings, config, progress, index).answer(paths, wanted)
        except (CacheCorrupt, sqlite3.DatabaseError, OSError, ValueError, KeyError, pickle.UnpicklingError) as err:
            store.close()
            store = Store.rebuild(folder, fingerprint, f"corrupt ({type(err).__name__}: {err})", filename=FILENAME)
            _remove_postings(folder, keep=None)
            return _Call(store, folder, settings, config, progress, index).answer(paths, wanted)
    finally:
        store.close()


def _first_job(args) -> list:
    """Per file: per document ``(source, ref fields, page keys, corpus keys, text to clean)``."""
    settings, config, rels = args
    out = []
    for rel in rels:
        docs, refs = _file_documents(rel, settings.root / rel, settings)
        firsts, texts = _first_pass([Loaded(d, r) for d, r in zip(docs, refs)], config)
        out.append([(f.document.source, (f.ref.path, f.ref.line, f.ref.name, f.ref.key, f.ref.kind), f.page, f.corpus, t)
                    for f, t in zip(firsts, texts)])
    return out


def _blob_id(data: bytes) -> str:
    """git's object id of a blob with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _remove_postings(folder: Path, keep: Optional[Tuple[Optional[str], ...]]) -> None:
    """Postings files of other generations than ``keep`` (the new one and the one before it,
    which a call that read the previous state may still be opening); None: all of them."""
    keep = tuple(k for k in keep if k) if keep is not None else ()
    for p in folder.glob("postings-*.npy"):
        if not any(p.name.startswith(f"postings-{k}.") for k in keep):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def _codes(fp: tuple, bands: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A document's postings: ``(code, paragraph, k)``: one code per band of each paragraph
    with shingles (``band << 32 | key``) and one per containment key (``bands << 32 | key``,
    with ``k`` the paragraph's number of containment keys)."""
    _values, _offsets, keys, live, packed, counts = fp
    rows = np.flatnonzero(live)
    band = ((np.arange(bands, dtype=_U64)[None, :] << _U64(32)) | keys[rows].astype(_U64)).ravel()
    band_para = np.repeat(rows, bands)
    owner = (packed & _U64(0xFFFFFFFF)).astype(np.int64)
    cont = (_U64(bands) << _U64(32)) | (packed >> _U64(32))
    code = np.concatenate([band, cont])
    para = np.concatenate([band_para, owner]).astype(np.uint32)
    k = np.concatenate([np.zeros(band.size, np.uint32), counts[owner].astype(np.uint32)])
    return code, para, k


class _Call:
    def __init__(self, store: Store, folder: Path, settings: HookSettings, config: Config, progress: Progress,
                 index: Optional[dict] = None):
        self.store, self.folder, self.settings, self.config, self.progress = store, folder, settings, config, progress
        self.index = index  # git's {path: (mode, blob id)}, or None
        self.texts: Dict[Tuple[str, int], str] = {}

    # --- files ----------------------------------------------------------------------------
    def _first(self, rel: str, content: str) -> List[_Row]:
        return self._rows(rel, content, _first_job((self.settings, self.config, [rel]))[0])

    def _rows(self, rel: str, content: str, firsts: list) -> List[_Row]:
        rows = []
        for i, (source, ref, page, corpus, text) in enumerate(firsts):
            self.texts[(rel, i)] = text
            rows.append(_Row(rel, i, content, source, ref, page=page, corpus=corpus))
        return rows

    def _first_all(self, rels: List[str], files: dict) -> None:
        """The first pass of ``rels`` (into ``self.first_rows``), in worker processes when
        there are many, as the pipeline's first pass runs."""
        self.first_rows: Dict[str, List[_Row]] = {}
        if not rels:
            return
        from ..parallel import executor, submit

        chunks = [rels[k:k + FIRST_CHUNK] for k in range(0, len(rels), FIRST_CHUNK)]
        with executor(min(self.config.processes, len(chunks))) as pool:
            jobs = [(chunk, submit(pool, _first_job, (self.settings, self.config, chunk))) for chunk in chunks]
            for chunk, future in jobs:
                for rel, firsts in zip(chunk, future.result()):
                    self.first_rows[rel] = self._rows(rel, _digest(rel.encode(), files[rel][5].encode()), firsts)

    def answer(self, paths: List[str], wanted: Set[str]) -> Tuple[List[Checked], Pairs]:
        import time

        store, config = self.store, self.config
        # Every read of this call in one snapshot (WAL): a call that commits meanwhile is not half seen.
        store.conn.execute("BEGIN")
        version = store._meta("version")
        started = time.time_ns()
        state = store.state("check") or {}
        known = state.get("files", {})  # path -> (size, mtime, inode, ctime, recorded, hash)
        files: Dict[str, tuple] = {}
        root = str(self.settings.root)
        # In a git work tree, a file git has staged and does not list as changed in the work
        # tree is its staged blob: no stat needed.  Others are stat-ed, and hashed as git
        # hashes blobs, so one content has one key either way.
        index = self.index or {}
        dirty = git_dirty(self.settings) if index else set()
        if dirty is None:
            index, dirty = {}, set()
        for n, rel in enumerate(paths, 1):
            if n % 1000 == 0 or n == len(paths):
                self.progress("read", n, len(paths))
            staged = index.get(rel)
            if staged is not None and staged[0] in ("100644", "100755") and rel not in dirty:
                files[rel] = (0, 0, 0, 0, 0, staged[1])
                continue
            path = os.path.join(root, rel)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                if rel in wanted:  # asked for by name: the error an uncached read gives
                    from ..read import read_bytes

                    read_bytes(Path(path), rel)
                continue  # listed by git, gone from the work tree: not a data file (check.data_files)
            if not stat.S_ISREG(st.st_mode):
                continue
            files[rel] = file_record(st, known.get(rel), started, lambda: _blob_id(Path(path).read_bytes()))
        old_rows = _rows_from(state)
        self.permutations = state.get("permutations")
        learn_old = state.get("learn")  # arrays aligned with old_rows
        by_path: Dict[str, List[int]] = {}
        for k, r in enumerate(old_rows):
            by_path.setdefault(r.path, []).append(k)
        rows: List[_Row] = []
        keep: List[int] = []  # old row position of each kept row, -1 for new rows
        paths = [rel for rel in paths if rel in files]
        def same(rel):  # same bytes as when its rows were made
            old = known.get(rel)
            return bool(by_path.get(rel)) and old is not None and old[5] == files[rel][5]

        self._first_all([rel for rel in paths if not same(rel)], files)
        for rel in paths:
            if same(rel):
                at = by_path[rel]
                rows.extend(old_rows[k] for k in at)
                keep.extend(at)
            else:
                fresh = self.first_rows.pop(rel)
                rows.extend(fresh)
                keep.extend([-1] * len(fresh))
        keep_arr = np.array(keep, np.int64)
        learn = _LearnArrays.merge(learn_old, keep_arr, [r for r, k in zip(rows, keep) if k < 0])
        removed_sources = {old_rows[k].source for k in sorted(set(range(len(old_rows))) - set(keep))}
        added_sources = {r.source for r, k in zip(rows, keep) if k < 0}

        # --- learning, as pipeline._prepare does it, redone only where it can change --------
        from ..clean.learned import first_pass_plan

        per_source = Counter(r.source for r in rows)
        learn_set, first_pass = first_pass_plan(per_source, any(r.ref[4] == "html" for r in rows), config)
        old_learned = state.get("learned")
        changed_rows = bool(removed_sources or added_sources)
        if old_learned is None or old_learned[0] != first_pass or old_learned[1] != learn_set:
            touched = set(per_source)
        else:
            touched = removed_sources | added_sources
        templates: Dict[str, Tuple[FrozenSet[int], int]] = {} if old_learned is None else dict(old_learned[2])
        boilerplate: Dict[int, tuple] = {} if old_learned is None else old_learned[3]  # key -> CorpusLine fields
        for s in list(templates):
            if s in touched or s not in per_source:
                del templates[s]
        if first_pass and (touched & learn_set or changed_rows or old_learned is None or old_learned[0] != first_pass):
            from ..clean.learned import learn_corpus_keys, learn_template_keys
        if first_pass:
            for s in sorted(touched & learn_set):
                got = learn_template_keys(learn.pages(rows, s), config).get(s)
                if got is not None:
                    templates[s] = got
            if changed_rows or old_learned is None or old_learned[0] != first_pass:
                boilerplate = {k: (c.documents, c.stories, c.sources)
                               for k, c in learn_corpus_keys(learn.corpus_docs(rows), config).items()}
        else:
            templates, boilerplate = {}, {}
        old_templates = {} if old_learned is None else old_learned[2]
        template_changed = {s for s in set(templates) | set(old_templates) if
                            templates.get(s, (frozenset(), 0))[0] != old_templates.get(s, (frozenset(), 0))[0]}
        old_boiler = set() if old_learned is None else set(old_learned[3])
        delta_boiler = old_boiler ^ set(boilerplate)

        # --- clean keys: new for new rows and rows whose learned lines changed ---------------
        carriers = learn.carriers(delta_boiler) if delta_boiler else np.zeros(len(rows), bool)
        redo = [j for j, (r, k) in enumerate(zip(rows, keep))
                if k < 0 or r.source in template_changed or carriers[j]]
        for j in redo:
            r = rows[j]
            page, corpus = learn.keys_of(j)
            ck = _clean_key(r.content, r.i, page, corpus, templates.get(r.source), boilerplate)
            if ck != r.clean or r.gid is None:
                rows[j] = replace(r, clean=ck, gid=None)
        next_gid = state.get("next_gid", 0)
        fresh = [j for j, r in enumerate(rows) if r.gid is None]
        entries = self._entries(rows, fresh, learn, templates, boilerplate)
        for j in fresh:
            removals, parts, fp = entries[rows[j].clean]
            rows[j] = replace(rows[j], gid=next_gid, removals=tuple((a, b, c) for a, b, c, _ in removals),
                              sizes=tuple(np.diff(fp[1]).tolist()), page=None, corpus=None)
            next_gid += 1
        alive = np.zeros(next_gid, bool)
        alive[[r.gid for r in rows]] = True

        # --- pairs ----------------------------------------------------------------------------
        postings = _Postings.load(self.folder, state.get("postings"))
        found = _no_matches()
        if fresh:
            found, postings = self._pairs(rows, fresh, entries, postings, alive)

        # --- answer, then keep the new state -------------------------------------------------
        stored = _stored_pairs(store, state.get("pairs", (0, 0)))
        answer = _inputs(rows, stored, found, wanted, store, alive)
        store.conn.execute("COMMIT")  # the end of the reads
        # A racy file hashed again to the same bytes changes only its record time: not worth a write.
        moved = len(known) != len(files) or any(known.get(p) is None or known[p][:4] != sig[:4] or known[p][5] != sig[5]
                                                for p, sig in files.items())
        if fresh or changed_rows or moved or postings.written:
            new_state = {**_columns(rows), "learn": learn.data, "permutations": self.permutations,
                         "learned": (first_pass, learn_set, templates, boilerplate),
                         "postings": postings.record(), "next_gid": next_gid}
            # Packed as they are written (generators): a folder's entries are 100 MB at once.
            cleaned_new = ((rows[j].clean, _pack(entries[rows[j].clean])) for j in fresh
                           if rows[j].clean in self.new_entries)
            checked_new = ((rows[j].gid, _pack((rows[j].removals, rows[j].sizes))) for j in fresh)
            new_state["files"] = files
            if self._write(version, known, files, cleaned_new, new_state, {r.clean for r in old_rows},
                           {r.clean for r in rows}, [r.gid for r in old_rows], checked_new, alive, found, stored):
                _remove_postings(self.folder, keep=(postings.gen, state.get("postings", (None,))[0]))
            elif postings.written:
                postings.discard(self.folder)
        return answer

    # --- cleaning -----------------------------------------------------------------------------
    def _entries(self, rows: List[_Row], fresh: List[int], learn, templates, boilerplate) -> Dict[str, tuple]:
        """The cleaned entries of ``rows[fresh]``: stored ones, and the rest cleaned now."""
        store = self.store
        entries = store.get("cleaned", [rows[j].clean for j in fresh]) if fresh else {}
        missing = [j for j in fresh if rows[j].clean not in entries]
        self.new_entries: Set[str] = set()
        if not missing:
            return entries
        for j in missing:
            r = rows[j]
            if (r.path, r.i) not in self.texts:
                self._first(r.path, r.content)
        from .. import fingerprint
        from ..clean.learned import CorpusLine
        from ..parallel import executor, submit
        from ..pipeline import _chunks, _clean_job

        if self.permutations is not None:
            fingerprint.remember_permutations(self.config, *self.permutations)
        else:
            self.permutations = tuple(fingerprint.permutations(self.config))
        boilerplate = {k: CorpusLine(*v) for k, v in boilerplate.items()}
        todo = [(rows[j].source, self.texts[(rows[j].path, rows[j].i)]) for j in missing]
        ranges = _chunks([Document(id="", source="", text=t) for _, t in todo])
        with executor(min(self.config.processes, len(ranges))) as pool:
            jobs = []
            for a, b in ranges:
                items = todo[a:b]
                corpus_at = frozenset(n for n, j in enumerate(missing[a:b]) if learn.carries(j, boilerplate))
                jobs.append((a, b, submit(pool, _clean_job, (None, items, {s: templates[s] for s, _ in items if s in templates},
                                                             boilerplate, corpus_at, self.config, True))))
            for a, b, future in jobs:
                docs_out, fp = future.result()
                split = _split_fingerprints([parts for _, parts, _ in docs_out], fp)
                for j, (removals, parts, _size), f in zip(missing[a:b], docs_out, split):
                    entries[rows[j].clean] = (removals, parts, f)
                    self.new_entries.add(rows[j].clean)
                self.progress("clean", b, len(missing))
        self.texts.clear()  # cleaned: the texts are not needed again
        return entries

    # --- candidates and verification ------------------------------------------------------------
    def _pairs(self, rows: List[_Row], fresh: List[int], entries, postings: "_Postings", alive: np.ndarray):
        """Verified pairs of the fresh documents: with the others (through the postings) and
        among themselves (``local_matches``); and the postings with the fresh ones added."""
        from ..pipeline import local_matches

        config = self.config
        bands = config.bands
        fps = [entries[rows[j].clean][2] for j in fresh]
        gids = np.array([rows[j].gid for j in fresh], np.int64)
        # New against new: the pipeline's own function on the fresh documents.
        prepared = prepared_from([], [None] * sum(fp[3].size for fp in fps), fps, bands)
        counts = np.array([fp[3].size for fp in fps], np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)))
        doc_of = np.repeat(np.arange(len(fps)), counts)
        pairs, jac, con = local_matches(prepared, config)
        cross = doc_of[pairs[:, 0]] != doc_of[pairs[:, 1]]
        pairs, jac, con = pairs[cross], jac[cross], con[cross]
        a, b = pairs[:, 0], pairs[:, 1]
        out = [_rows_of(gids[doc_of[a]], a - starts[doc_of[a]], gids[doc_of[b]], b - starts[doc_of[b]], jac, con)]
        # New against old, through the postings.
        codes = [_codes(fp, bands) for fp in fps]
        q_code = np.concatenate([c for c, _, _ in codes])
        q_local = np.concatenate([p for _, p, _ in codes]).astype(np.int64)
        q_doc = np.concatenate([np.full(c.size, d, np.int64) for d, (c, _, _) in enumerate(codes)])
        q_k = np.concatenate([k for _, _, k in codes]).astype(np.int64)
        q_para = q_local + starts[q_doc]  # position among the fresh paragraphs
        order = np.argsort(q_para, kind="stable")
        hits = np.cumsum(postings.counts(q_code[order]))
        cand = []
        lo = 0
        while lo < order.size:  # paragraphs in steps of about HIT_STEP postings (a common phrase has thousands)
            hi = max(int(np.searchsorted(hits, (hits[lo - 1] if lo else 0) + HIT_STEP, side="right")), lo + 1)
            while hi < order.size and q_para[order[hi]] == q_para[order[hi - 1]]:
                hi += 1
            at = order[lo:hi]
            hit_q, hit = postings.lookup(q_code[at], alive)
            lo = hi
            if not hit_q.size:
                continue
            hit_q = at[hit_q]
            cont = (q_code[hit_q] >> _U64(32)) == _U64(bands)
            both = np.stack([q_para[hit_q], hit["gid"].astype(np.int64), hit["para"].astype(np.int64)], axis=1)
            cand.append(_unique_rows(both[~cont])[0])
            pair, first, shared = _unique_rows(both[cont])
            kp, kq = q_k[hit_q][cont][first], hit["k"][cont][first].astype(np.int64)
            cand.append(pair[2 * shared >= np.minimum(kp, kq)])
        cand = _unique_rows(np.concatenate(cand))[0] if cand else np.zeros((0, 3), np.int64)
        if cand.size:
            out.append(self._verify(cand, prepared, rows, gids, starts, doc_of))
        found = {k: np.concatenate([o[k] for o in out]) for k in out[0]}
        postings = postings.add(gids[q_doc], q_code, q_local, q_k, alive, self.folder)
        return found, postings

    def _verify(self, cand: np.ndarray, prepared: _Prepared, rows: List[_Row], gids, starts, doc_of) -> dict:
        """Verify ``cand`` (rows: fresh paragraph, other gid, its paragraph) on the exact sets."""
        p, og, op = cand[:, 0], cand[:, 1], cand[:, 2]
        want = np.unique(og)
        clean_of = {r.gid: r.clean for r in rows}
        got = self.store.get("cleaned", [clean_of[int(g)] for g in want])
        fps = [got[clean_of[g]][2] for g in want.tolist()]
        other = prepared_from([], [], fps, self.config.bands)  # the other documents' sets, after the fresh ones'
        vals = np.concatenate([prepared.values, other.values])
        offs = np.concatenate([prepared.offsets, other.offsets[1:] + prepared.offsets[-1]])
        first = prepared.offsets.size - 1 + np.concatenate(([0], np.cumsum([fp[3].size for fp in fps])))[:-1]
        at = first[np.searchsorted(want, og)] + op
        pairs = np.stack([p, at], axis=1)
        from ..candidates import verify_flat

        ok, jac, con = verify_flat(pairs, vals, offs, self.config)
        p, og, op, jac, con = p[ok], og[ok], op[ok], jac[ok], con[ok]
        d = doc_of[p]
        return _rows_of(gids[d], p - starts[d], og, op, jac, con)

    # --- writing --------------------------------------------------------------------------------
    def _write(self, version, known, files, cleaned_new, new_state, old_clean, keep_cleaned, old_gids, checked_new,
               alive, found, stored) -> bool:
        conn = self.store.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            log.warning("cache %s not updated: %s (the answer is unaffected)", self.store.path, err)
            return False
        try:
            if self.store._meta("version") != version:  # another call wrote meanwhile: its state stands
                conn.execute("ROLLBACK")
                return False
            # Only what changed: the state read at the start is what the tables hold (same version).
            conn.executemany("INSERT OR REPLACE INTO cleaned VALUES (?, ?)", cleaned_new)
            conn.executemany("DELETE FROM cleaned WHERE key = ?", [(k,) for k in old_clean - keep_cleaned])
            conn.executemany("INSERT OR REPLACE INTO checked VALUES (?, ?)", checked_new)
            dead = [(g,) for g in old_gids if not alive[g]]
            conn.executemany("DELETE FROM checked WHERE gid = ?", dead)
            # Pairs: a block of the new ones; the pairs of documents gone stay until they are a
            # quarter of all (filtered out on reading), then the live ones are written as one block.
            live = alive[stored["ga"]] & alive[stored["gb"]]
            if stored["ga"].size - int(live.sum()) > max(PAIRS_SLACK, stored["ga"].size // 4):
                conn.execute("DELETE FROM pairs")
                blocks = [_pair_block({k: np.concatenate([v[live], found[k]]) for k, v in stored.items()})]
            else:
                blocks = [_pair_block(found)] if found["ga"].size else []
            conn.executemany("INSERT INTO pairs (data) VALUES (?)", [(b,) for b in blocks])
            new_state["pairs"] = conn.execute("SELECT count(*), coalesce(sum(length(data)), 0) FROM pairs").fetchone()
            conn.execute("INSERT OR REPLACE INTO state VALUES ('check', ?)", (pack_state(new_state),))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (uuid.uuid4().hex,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return True


_COLUMNS = ("path", "i", "content", "source", "ref", "clean", "gid")


def _columns(rows: List[_Row]) -> dict:
    """The rows as columns (lists unpickle several times faster than dataclasses)."""
    return {"rows": {name: [getattr(r, name) for r in rows] for name in _COLUMNS}}


def _rows_from(state: dict) -> List[_Row]:
    cols = state.get("rows")
    if not cols:
        return []
    return [_Row(*values) for values in zip(*(cols[name] for name in _COLUMNS))]


def _no_matches() -> dict:
    return {"ga": np.zeros(0, np.int64), "pa": np.zeros(0, np.int64), "gb": np.zeros(0, np.int64),
            "pb": np.zeros(0, np.int64), "jac": np.zeros(0), "con": np.zeros(0)}


def _rows_of(ga, pa, gb, pb, jac, con) -> dict:
    return {"ga": np.asarray(ga, np.int64), "pa": np.asarray(pa, np.int64), "gb": np.asarray(gb, np.int64),
            "pb": np.asarray(pb, np.int64), "jac": np.asarray(jac, np.float64), "con": np.asarray(con, np.float64)}


_PAIR = np.dtype([("ga", "<u4"), ("pa", "<u4"), ("gb", "<u4"), ("pb", "<u4"), ("jac", "<f8"), ("con", "<f8")])
#: Rows of pairs of documents gone that may stay in the blocks before they are rewritten.
PAIRS_SLACK = 20_000


def _pair_block(pairs: dict) -> bytes:
    block = np.zeros(pairs["ga"].size, _PAIR)
    for name in _PAIR.names:
        block[name] = pairs[name]
    data = block.tobytes()
    return zlib.crc32(data).to_bytes(4, "little") + data


def _stored_pairs(store: Store, expected: tuple) -> dict:
    """Every stored pair (gone documents' too: the caller filters), checked against the
    state's count of blocks and bytes: the two are written together, always."""
    got = store.conn.execute("SELECT data FROM pairs ORDER BY id").fetchall()
    if (len(got), sum(len(b) for (b,) in got)) != tuple(expected):
        raise CacheCorrupt(f"{len(got)} blocks of pairs, the state says {expected[0]}")
    parts = []
    for (blob,) in got:
        if len(blob) < 4 or zlib.crc32(memoryview(blob)[4:]) != int.from_bytes(blob[:4], "little") \
                or (len(blob) - 4) % _PAIR.itemsize:
            raise CacheCorrupt("a block of pairs fails its checksum")
        parts.append(np.frombuffer(blob, _PAIR, offset=4))
    if not parts:
        return _no_matches()
    block = np.concatenate(parts)
    return _rows_of(*(block[name] for name in _PAIR.names))


def _inputs(rows: List[_Row], stored: dict, found: dict, wanted: Set[str], store: Store, alive: np.ndarray
            ) -> Tuple[List[Checked], Pairs]:
    """The findings' inputs for the documents of ``wanted`` and the documents they pair with:
    stored pairs whose ends are both still there, and the pairs found this call."""
    mine = np.array(sorted({r.gid for r in rows if r.path in wanted}), np.int64)
    keep = alive[stored["ga"]] & alive[stored["gb"]]
    matches = {k: np.concatenate([stored[k][keep], found[k]]) for k in stored}
    sel = np.isin(matches["ga"], mine) | np.isin(matches["gb"], mine)
    m = {k: v[sel] for k, v in matches.items()}
    involved = set(mine.tolist()) | set(m["ga"].tolist()) | set(m["gb"].tolist())
    known = {r.gid: (r.removals, r.sizes) for r in rows if r.gid in involved and r.sizes is not None}
    need = sorted(involved - set(known))
    for lo in range(0, len(need), 900):
        part = need[lo:lo + 900]
        for g, blob in store.conn.execute(f"SELECT gid, data FROM checked WHERE gid IN ({','.join('?' * len(part))})", part):
            known[g] = _unpack(blob)
    docs, position = [], {}
    for r in rows:  # folder order, as the uncached call lists them
        if r.gid in involved:
            position[r.gid] = len(docs)
            removals, sizes = known[r.gid]
            docs.append(Checked(DocRef(*r.ref), removals, sizes))
    pos = np.zeros(max(position, default=0) + 1, np.int64)
    for g, k in position.items():
        pos[g] = k
    return docs, Pairs(pos[m["ga"]], m["pa"], pos[m["gb"]], m["pb"], m["jac"], m["con"])


class _LearnArrays:
    """The first-pass keys of every row, as arrays aligned with the rows: page key and line
    keys (templates), story key and short-line keys (corpus boilerplate)."""

    def __init__(self, data: dict):
        self.data = data
        self.lines_at = np.concatenate(([0], np.cumsum(data["lines_n"])))
        self.short_at = np.concatenate(([0], np.cumsum(data["short_n"])))

    @classmethod
    def merge(cls, old: Optional[dict], keep: np.ndarray, new_rows: List[_Row]) -> "_LearnArrays":
        """Rows ``keep`` (old positions; -1 where a new row goes, taken in order from ``new_rows``)."""
        def csr(parts: List[Sequence[int]]) -> Tuple[np.ndarray, np.ndarray]:
            lengths = np.array([len(p) for p in parts], np.int64)
            flat = np.fromiter((k for p in parts for k in sorted(p)), _U64, count=int(lengths.sum()))
            return flat, lengths

        n = keep.size
        fresh = np.flatnonzero(keep < 0)
        new = {
            "has_page": np.array([r.page is not None for r in new_rows], bool),
            "page_key": np.array([r.page[0] if r.page is not None else 0 for r in new_rows], _U64),
            "has_corpus": np.array([r.corpus is not None for r in new_rows], bool),
            "story": np.array([r.corpus[0] if r.corpus is not None else (0, 0, 0, 0) for r in new_rows], _U64).reshape(-1, 4),
        }
        new["lines"], new["lines_n"] = csr([r.page[1] if r.page is not None else () for r in new_rows])
        new["short"], new["short_n"] = csr([r.corpus[1] if r.corpus is not None else () for r in new_rows])
        if old is None:
            old = {k: v[:0] for k, v in new.items()}
        out = {}
        olds = keep[keep >= 0]
        for name in ("has_page", "page_key", "has_corpus", "story", "lines_n", "short_n"):
            arr = np.zeros((n,) + old[name].shape[1:], old[name].dtype)
            arr[keep >= 0] = old[name][olds]
            arr[fresh] = new[name]
            out[name] = arr
        for flat, lens in (("lines", "lines_n"), ("short", "short_n")):
            # Each row's run of keys comes from the old arrays or the new ones, in row order.
            o_start = np.concatenate(([0], np.cumsum(old[lens])))
            taken_old = old[flat][np.repeat(o_start[olds], old[lens][olds]) + run_ranks(old[lens][olds])]
            from_old = np.repeat(keep >= 0, out[lens])
            merged = np.zeros(int(out[lens].sum()), _U64)
            merged[from_old] = taken_old
            merged[~from_old] = new[flat]
            out[flat] = merged
        return cls(out)

    def keys_of(self, j: int):
        """Row ``j``'s ``(page, corpus)`` first-pass keys, as ``_page_job`` gives them."""
        d = self.data
        page = corpus = None
        if d["has_page"][j]:
            s = self.lines_at
            page = (int(d["page_key"][j]), frozenset(d["lines"][s[j]:s[j + 1]].tolist()))
        if d["has_corpus"][j]:
            s = self.short_at
            corpus = (tuple(int(x) for x in d["story"][j]), frozenset(d["short"][s[j]:s[j + 1]].tolist()))
        return page, corpus

    def pages(self, rows: List[_Row], source: str):
        """``learn_template_keys``'s input for one source."""
        d = self.data
        s = self.lines_at
        lines = d["lines"]
        return [(source, int(d["page_key"][j]), frozenset(lines[s[j]:s[j + 1]].tolist()))
                for j, r in enumerate(rows) if r.source == source and d["has_page"][j]]

    def corpus_docs(self, rows: List[_Row]):
        """``learn_corpus_keys``'s input: every row with corpus keys."""
        d = self.data
        s = self.short_at.tolist()
        short, story = d["short"], d["story"].tolist()
        return [(r.source, tuple(story[j]), frozenset(short[s[j]:s[j + 1]].tolist()))
                for j, r in enumerate(rows) if d["has_corpus"][j]]

    def carriers(self, keys: Set[int]) -> np.ndarray:
        """Rows carrying any of ``keys`` among their short-line keys."""
        d = self.data
        hit = np.isin(d["short"], np.array(sorted(keys), _U64))
        owner = np.repeat(np.arange(d["short_n"].size), d["short_n"])
        out = np.zeros(d["short_n"].size, bool)
        out[owner[hit]] = True
        return out & d["has_corpus"]

    def carries(self, j: int, boilerplate: Dict[int, object]) -> bool:
        if not boilerplate or not self.data["has_corpus"][j]:
            return False
        return not boilerplate.keys().isdisjoint(self.keys_of(j)[1][1])


def _unique_rows(a: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_index=True, return_counts=True)`` for a 2-D int array, by
    a lexsort (``axis=0`` goes through structured views and imports numpy.ma: 40 ms a call)."""
    if not len(a):
        return a, np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort(a.T[::-1])
    s = a[order]
    new = np.ones(len(s), bool)
    new[1:] = (s[1:] != s[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    return s[starts], order[starts], np.diff(np.append(starts, len(s)))


class _Postings:
    """Band and containment keys -> (gid, paragraph, k): a sorted base in memory-mapped files
    and the postings added since (sorted, kept in the state)."""

    def __init__(self, gen: Optional[str], codes, info, d_codes, d_info, written: bool = False):
        self.gen, self.codes, self.info = gen, codes, info
        self.d_codes, self.d_info = d_codes, d_info
        self.written = written

    @classmethod
    def load(cls, folder: Path, record: Optional[tuple]) -> "_Postings":
        if record is None:
            return cls(None, np.zeros(0, _U64), np.zeros(0, _INFO), np.zeros(0, _U64), np.zeros(0, _INFO))
        gen, d_codes, d_info = record
        if gen is None:
            codes, info = np.zeros(0, _U64), np.zeros(0, _INFO)
        else:
            codes = np.load(folder / f"postings-{gen}.codes.npy", mmap_mode="r")
            info = np.load(folder / f"postings-{gen}.info.npy", mmap_mode="r")
            if codes.shape != info.shape:
                raise CacheCorrupt("postings files of different lengths")
        return cls(gen, codes, info, d_codes, d_info)

    def record(self) -> tuple:
        return (self.gen, self.d_codes, self.d_info)

    def counts(self, q: np.ndarray) -> np.ndarray:
        """Postings (alive or not) per code of ``q``."""
        n = np.zeros(q.size, np.int64)
        for codes in (self.codes, self.d_codes):
            if codes.size and q.size:
                n += np.searchsorted(codes, q, side="right") - np.searchsorted(codes, q, side="left")
        return n

    def lookup(self, q: np.ndarray, alive: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """``(query position, posting info)`` of every alive posting whose code is in ``q``."""
        outs_q, outs_i = [], []
        for codes, info in ((self.codes, self.info), (self.d_codes, self.d_info)):
            if not codes.size or not q.size:
                continue
            lo = np.searchsorted(codes, q, side="left")
            hi = np.searchsorted(codes, q, side="right")
            n = hi - lo
            if not n.sum():
                continue
            qpos = np.repeat(np.arange(q.size), n)
            idx = np.repeat(lo, n) + run_ranks(n)
            got = np.asarray(info[idx])
            ok = got["gid"] < alive.size
            ok[ok] = alive[got["gid"][ok]]
            outs_q.append(qpos[ok])
            outs_i.append(got[ok])
        if not outs_q:
            return np.zeros(0, np.int64), np.zeros(0, _INFO)
        return np.concatenate(outs_q), np.concatenate(outs_i)

    def add(self, gid, code, para, k, alive: np.ndarray, folder: Path) -> "_Postings":
        """The postings with those of new documents: in the delta, or, past ``DELTA_MAX``, all
        alive ones written as a new base (one sort; order among equal codes does not matter)."""
        info = np.zeros(code.size, _INFO)
        info["gid"], info["para"], info["k"] = gid, para, k
        if self.d_codes.size + code.size <= DELTA_MAX:
            d_codes = np.concatenate([self.d_codes, code])
            d_info = np.concatenate([self.d_info, info])
            order = np.argsort(d_codes)
            return _Postings(self.gen, self.codes, self.info, d_codes[order], d_info[order], written=True)
        parts_c, parts_i = [code], [info]
        for codes, infos in ((self.codes, self.info), (self.d_codes, self.d_info)):
            if codes.size:
                infos = np.asarray(infos)
                live = alive[infos["gid"]]
                parts_c.append(np.asarray(codes)[live])
                parts_i.append(infos[live])
        codes, info = np.concatenate(parts_c), np.concatenate(parts_i)
        order = np.argsort(codes)
        codes, info = codes[order], info[order]
        gen = uuid.uuid4().hex
        for name, arr in (("codes", codes), ("info", info)):
            tmp = folder / f"postings-{gen}.{name}.npy.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, folder / f"postings-{gen}.{name}.npy")
        return _Postings(gen, codes, info, np.zeros(0, _U64), np.zeros(0, _INFO), written=True)

    def discard(self, folder: Path) -> None:
        """Written files a lost race left unreferenced."""
        if self.gen is not None:
            for name in ("codes", "info"):
                try:
                    (folder / f"postings-{self.gen}.{name}.npy").unlink()
                except FileNotFoundError:
                    pass
