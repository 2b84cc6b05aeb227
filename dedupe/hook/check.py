"""The checker: noise left in the given files, and their near-duplicates anywhere in the data folders.

Every call looks at the *whole* configured data folder(s) -- the files git tracks or has
staged there when the root is a git work tree (``git ls-files``: the state being
committed, since pre-commit stashes unstaged changes and untracked files are not part of
the commit), else every file below them: every document is cleaned (with the templates
and corpus boilerplate learned from all of them) and fingerprinted, and every verified
near-duplicate paragraph pair between documents is found.  The given files only select
which findings are reported, so the verdict for a file is the same however pre-commit
splits the list, and a staged file that repeats a file committed long ago is caught.
Unchanged files are answered from a cache (``dedupe.hook.cache``); ``--no-cache`` does
all the work afresh and prints the same.

Findings, one line each, sorted (a JSONL record is named ``path:line``):

* ``path:line: rule: text`` -- a noise line the cleaner removes, including lines the
  per-source learned template removes (HTML pages are not checked for noise: their
  chrome is removed at run time and cannot be fixed in the file);
* ``path: same story as OTHER (N near-duplicate paragraphs)`` -- two documents that meet
  the story stage's linking rule between themselves (``Config.story_min_shared``
  paragraphs, or ``story_min_share`` of the smaller one);
* ``path: paragraph N near-duplicates OTHER paragraph M (jaccard 0.93)`` -- a verified
  near-duplicate paragraph pair between documents that are not one story.  Paragraphs
  count from 0 in the cleaned text.

A pair is a candidate when its two paragraphs share an LSH band or half of the
containment keys of the one with fewer, with no bucket cap (``pipeline.local_matches``),
and "same story" is decided per pair of documents, not through chains of them: each
finding depends on its two documents alone, never on what else is in the folder (the
story stage of ``dedupe run`` links documents transitively across a whole corpus).

A baseline file accepts known findings: noise by (document, rule, text) and duplicates
by document pair, so line numbers may move without invalidating it.  Documents are
keyed by path, JSONL records by ``path#id`` (or ``path:line`` without an id).
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..arrays import sorted_unique
from ..config import Config
from ..errors import ConfigError
from ..model import Document
from ..read import DATA_SUFFIXES, _jsonl_documents, decode, decode_document, detect_format, read_bytes
from .settings import HookSettings

#: progress(stage, done, total), as ``dedupe.pipeline.Progress``.
Progress = Callable[[str, int, Optional[int]], None]


def _no_progress(stage: str, done: int, total: Optional[int]) -> None:
    pass

log = logging.getLogger(__name__)

#: What the check reads in data folders: hand-kept text, pages and records.  A WARC archive
#: is crawler output nobody edits by hand (and ``dedupe fix`` could not rewrite it), so it
#: is left to ``dedupe run`` and ``dedupe index add``.
CHECKED_FORMATS = ("txt", "html", "jsonl")

BASELINE_VERSION = 1


@dataclass(frozen=True)
class DocRef:
    """Where a document lives: its path, line (JSONL), display name and baseline key."""

    path: str
    line: int
    name: str
    key: str
    kind: str


@dataclass(frozen=True)
class Finding:
    """One reported problem; ``accept`` is its baseline entry."""

    path: str
    line: int
    message: str
    accept: Tuple[str, ...]

    @property
    def sort_key(self):
        return (self.path, self.line, self.message)


@dataclass(frozen=True)
class Baseline:
    """Accepted findings: noise as (key, rule, text), duplicates as sorted key pairs."""

    noise: frozenset = frozenset()
    duplicates: frozenset = frozenset()

    def accepts(self, finding: Finding) -> bool:
        return finding.accept in (self.noise if finding.accept[0] == "noise" else self.duplicates)


def _git(settings: HookSettings, *args: str) -> Optional[bytes]:
    try:
        proc = subprocess.run(["git", *args, "--", *settings.data], cwd=settings.root, capture_output=True, check=False)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_index(settings: HookSettings) -> Optional[Dict[str, Tuple[str, str]]]:
    """``{path: (mode, blob id)}`` of the files git has staged in the data folders, or None
    outside a git work tree (``git ls-files -s``: the index, as pre-commit commits it)."""
    out = _git(settings, "ls-files", "-s", "-z")
    if out is None:
        return None
    index = {}
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            mode, blob, _stage = meta.split(" ")
            index[path] = (mode, blob)
    return index


def git_dirty(settings: HookSettings) -> Optional[Set[str]]:
    """Data files whose work-tree copy may differ from the index (``git diff-files``, which
    compares git's own stat records; a file it is unsure of is listed), or None."""
    out = _git(settings, "diff-files", "--name-only", "-z")
    if out is None:
        return None
    return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}


def require_data_folders(settings: HookSettings) -> None:
    """ConfigError unless every configured data folder exists (a typo must not pass every check)."""
    for folder in settings.data:
        if not (settings.root / folder).is_dir():
            raise ConfigError(f"{settings.origin}: data folder {folder!r} does not exist")


def data_files(settings: HookSettings, exists: bool = True, index: Optional[dict] = None) -> List[str]:
    """Root-relative paths of every data file in the data folders, sorted (``exists`` False:
    without checking that the files git lists are in the work tree; the cache stats them
    anyway.  ``index``: ``git_index``'s answer, when the caller has it)."""
    require_data_folders(settings)
    if index is None:
        index = git_index(settings)
    found = list(index) if index is not None else None
    if found is None:
        found = [p.relative_to(settings.root).as_posix()
                 for folder in settings.data for p in (settings.root / folder).rglob("*") if p.is_file()]
    root = str(settings.root)
    return sorted({p for p in found if p.lower().endswith(DATA_SUFFIXES) and detect_format(p) in CHECKED_FORMATS
                   and (not exists or os.path.isfile(os.path.join(root, p)))})


def _file_documents(rel: str, path: Path, settings: HookSettings) -> Tuple[List[Document], List[DocRef]]:
    """The documents of one data file (ids are unique locations) and where each lives."""
    config = settings.config
    fmt = detect_format(rel)
    data = read_bytes(path, rel)
    source = Path(rel).parent.name or settings.root.name
    if fmt != "jsonl":
        kind = "html" if fmt == "html" else "text"
        decoded = decode_document(data, fmt, rel, config)
        return ([Document(id=rel, source=source, text=decoded.text, kind=kind, origin=rel, encoding=decoded.encoding,
                          encoding_source=decoded.source)], [DocRef(rel, 0, rel, rel, kind)])
    text = decode(data, rel, config)
    docs, refs = [], []
    for doc in _jsonl_documents(text.split("\n"), rel, rel, source, config):
        where = doc.origin
        lineno = int(where.rsplit(":", 1)[1])
        key = where if doc.id == where else f"{rel}#{doc.id}"
        docs.append(replace(doc, id=where))
        refs.append(DocRef(rel, lineno, where, key, doc.kind))
    return docs, refs


def load_documents(paths: Iterable[str], settings: HookSettings,
                   progress: Progress = _no_progress) -> Tuple[List[Document], Dict[str, DocRef]]:
    """Documents of root-relative paths (ids are unique locations), and where each lives."""
    docs: List[Document] = []
    refs: Dict[str, DocRef] = {}
    paths = list(paths)
    for n, rel in enumerate(paths, 1):
        progress("read", n, len(paths))
        file_docs, file_refs = _file_documents(rel, settings.root / rel, settings)
        docs.extend(file_docs)
        refs.update((ref.name, ref) for ref in file_refs)
    return docs, refs


def cache_folder(settings: HookSettings) -> Path:
    """Where the check's cache lives: ``dedupe/`` in the work tree's git directory (never
    committed, per worktree), or ``.dedupe-cache/`` at the root outside git."""
    try:
        proc = subprocess.run(["git", "rev-parse", "--absolute-git-dir"], cwd=settings.root, capture_output=True,
                              check=False)
    except OSError:
        proc = None
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        return Path(proc.stdout.decode("utf-8", "surrogateescape").strip()) / "dedupe"
    return settings.root / ".dedupe-cache"


@dataclass(frozen=True)
class Checked:
    """What findings are made of, for one document: where it lives, what the cleaner
    removed (rule, text, where) and its paragraphs' shingle counts."""

    ref: DocRef
    removals: Tuple[Tuple[str, str, str], ...]
    sizes: Tuple[int, ...]


@dataclass(frozen=True)
class Pairs:
    """Verified near-duplicate paragraph pairs between documents: ``(doc a, paragraph a,
    doc b, paragraph b)`` (documents are positions in a list of ``Checked``) and scores."""

    da: np.ndarray
    pa: np.ndarray
    db: np.ndarray
    pb: np.ndarray
    jaccard: np.ndarray
    containment: np.ndarray


def _cold(paths: List[str], settings: HookSettings, progress: Progress) -> Tuple[List[Checked], Pairs]:
    """Every document of ``paths`` read, cleaned and fingerprinted afresh, and every verified pair."""
    from ..pipeline import _prepare, local_matches

    config = replace(settings.config, keep_input_text=False)
    docs, refs = load_documents(paths, settings, progress)
    prepared = _prepare(docs, config, progress)
    sizes = np.diff(prepared.offsets)
    counts = np.array([len(c.paragraphs) for c in prepared.cleaned], np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)))
    checked = [Checked(refs[c.document.id], tuple((r.rule, r.text, r.where) for r in c.removals),
                       tuple(sizes[starts[k]:starts[k + 1]].tolist())) for k, c in enumerate(prepared.cleaned)]
    pairs, jac, con = local_matches(prepared, config)
    doc_of = np.repeat(np.arange(counts.size), counts)
    a, b = pairs[:, 0], pairs[:, 1]
    cross = doc_of[a] != doc_of[b]
    a, b, jac, con = a[cross], b[cross], jac[cross], con[cross]
    return checked, Pairs(doc_of[a], a - starts[doc_of[a]], doc_of[b], b - starts[doc_of[b]], jac, con)


def _pair_findings(docs: Sequence[Checked], pairs: Pairs, wanted: Set[str], config: Config) -> List[Finding]:
    """Per wanted document and other document: one "same story" line when the two meet the
    story stage's linking rule -- at least ``story_min_shared`` paragraphs of at least
    ``story_min_shingles`` shingles on both sides, or those make at least ``story_min_share``
    of the paragraphs of the one with fewer shingles -- else one line per pair, by paragraph.
    Vectorised: a folder's check lists every pair (200k on 10k news articles)."""
    want = np.array([d.ref.path in wanted for d in docs], bool)
    a = np.concatenate([pairs.da, pairs.db]).astype(np.int64)
    b = np.concatenate([pairs.db, pairs.da]).astype(np.int64)
    i = np.concatenate([pairs.pa, pairs.pb]).astype(np.int64)
    j = np.concatenate([pairs.pb, pairs.pa]).astype(np.int64)
    jac, con = np.tile(pairs.jaccard, 2), np.tile(pairs.containment, 2)
    sel = want[a] if a.size else np.zeros(0, bool)
    order = np.lexsort((j[sel], i[sel], b[sel], a[sel]))
    a, b, i, j, jac, con = (x[sel][order] for x in (a, b, i, j, jac, con))
    if not a.size:
        return []
    counts = np.array([len(d.sizes) for d in docs], np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)))
    flat = np.fromiter((s for d in docs for s in d.sizes), np.int64, count=int(counts.sum()))
    totals = np.array([sum(d.sizes) for d in docs], np.int64)
    new = np.ones(a.size, bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    group = np.cumsum(new) - 1
    heads = np.flatnonzero(new)
    groups = heads.size
    floor = config.story_min_shingles
    ok = (flat[starts[a] + i] >= floor) & (flat[starts[b] + j] >= floor)
    span = int(max(i.max(), j.max())) + 1

    def distinct(mask, x):  # per group, the distinct values of x among the masked entries
        return np.bincount(sorted_unique(group[mask] * span + x[mask]) // span, minlength=groups)

    na, nb, n = distinct(ok, i), distinct(ok, j), distinct(np.ones(a.size, bool), i)
    ga, gb = a[heads], b[heads]
    ta, tb = totals[ga], totals[gb]
    share = config.story_min_share
    same = ((np.minimum(na, nb) >= config.story_min_shared)
            | ((ta <= tb) & (na > 0) & (na >= share * counts[ga]))
            | ((tb <= ta) & (nb > 0) & (nb >= share * counts[gb])))
    ends = np.append(heads[1:], a.size)
    findings = []
    threshold = config.jaccard_threshold
    for g, (lo, hi) in enumerate(zip(heads.tolist(), ends.tolist())):
        ref, oref = docs[ga[g]].ref, docs[gb[g]].ref
        accept = ("duplicate",) + tuple(sorted((ref.key, oref.key)))
        if same[g]:
            k = int(n[g])
            findings.append(Finding(ref.path, ref.line, f"{ref.name}: same story as {oref.name} "
                                    f"({k} near-duplicate paragraph{'s' if k != 1 else ''})", accept))
            continue
        for x in range(lo, hi):
            score = f"jaccard {_fmt(jac[x])}"
            if jac[x] < threshold:
                score += f", containment {_fmt(con[x])}"
            findings.append(Finding(ref.path, ref.line, f"{ref.name}: paragraph {i[x]} near-duplicates "
                                    f"{oref.name} paragraph {j[x]} ({score})", accept))
    return findings


def findings_of(docs: Sequence[Checked], pairs: Pairs, wanted: Set[str], config: Config) -> List[Finding]:
    """The findings of the documents whose path is in ``wanted``, sorted: noise lines, then per
    other document either one "same story" line or one line per near-duplicate paragraph."""
    findings: List[Finding] = []
    for c in docs:
        ref = c.ref
        if ref.path not in wanted or ref.kind == "html":
            continue
        for rule, text, where in c.removals:
            line = ref.line or int(where.split()[1])
            findings.append(Finding(ref.path, line, f"{ref.path}:{line}: {rule}: {text}", ("noise", ref.key, rule, text)))
    findings += _pair_findings(docs, pairs, wanted, config)
    return sorted(findings, key=lambda f: f.sort_key)


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def find_all(settings: HookSettings, targets: Optional[Iterable[str]] = None,
             progress: Progress = _no_progress, use_cache: bool = True) -> List[Finding]:
    """Findings for the documents of ``targets`` (root-relative paths; None: every data file), sorted.

    ``use_cache``: answer from the cache of the data folders (``dedupe.hook.cache``),
    refreshing what changed; the findings are the same either way.
    """
    index = git_index(settings) if use_cache else None
    files = data_files(settings, exists=not use_cache, index=index)
    wanted: Set[str] = set(files) if targets is None else set(targets)
    paths = sorted(set(files) | wanted)
    if use_cache:
        from .cache import cached

        docs, pairs = cached(paths, wanted, settings, progress, index)
    else:
        docs, pairs = _cold(paths, settings, progress)
    return findings_of(docs, pairs, wanted, settings.config)


def read_baseline(settings: HookSettings) -> Baseline:
    """The accepted findings; a missing baseline file accepts nothing."""
    path = settings.root / settings.baseline
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.debug("%s: no baseline file; nothing is accepted", settings.baseline)
        return Baseline()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{settings.baseline}: not a readable baseline: {err}") from None
    try:
        if data.get("version") != BASELINE_VERSION:
            raise ConfigError(f"{settings.baseline}: baseline version {data.get('version')!r}, "
                              f"expected {BASELINE_VERSION} (regenerate it with dedupe check --write-baseline)")
        noise = frozenset(("noise", e["document"], e["rule"], e["text"]) for e in data.get("noise", []))
        duplicates = frozenset(("duplicate",) + tuple(sorted(map(str, pair))) for pair in data.get("duplicates", []))
    except (AttributeError, KeyError, TypeError) as err:
        raise ConfigError(f"{settings.baseline}: malformed baseline ({err!r})") from None
    return Baseline(noise, duplicates)


def baseline_text(findings: Sequence[Finding]) -> str:
    """Deterministic baseline content accepting ``findings``: sorted, one entry a line (diff-friendly).

    >>> print(baseline_text([Finding("a.txt", 3, "a.txt:3: ad: Ad", ("noise", "a.txt", "ad", "Ad"))]), end="")
    {
      "version": 1,
      "duplicates": [],
      "noise": [
        {"document": "a.txt", "rule": "ad", "text": "Ad"}
      ]
    }
    """
    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    def block(items: List[str]) -> str:
        return "[\n" + ",\n".join("    " + item for item in items) + "\n  ]" if items else "[]"

    noise = sorted({f.accept[1:] for f in findings if f.accept[0] == "noise"})
    duplicates = sorted({f.accept[1:] for f in findings if f.accept[0] == "duplicate"})
    return (
        "{\n"
        f'  "version": {BASELINE_VERSION},\n'
        f'  "duplicates": {block([dump(list(pair)) for pair in duplicates])},\n'
        f'  "noise": {block([dump({"document": d, "rule": r, "text": t}) for d, r, t in noise])}\n'
        "}\n"
    )


def check(settings: HookSettings, paths: Optional[Sequence[str]] = None,
          progress: Progress = _no_progress, use_cache: bool = True) -> Tuple[List[Finding], List[Finding]]:
    """(open findings, findings the baseline accepts) for ``paths`` (None: every data file).

    Paths outside the data folders are ignored, as are files of other formats.
    """
    require_data_folders(settings)
    targets = None
    if paths is not None:
        targets = sorted({rel for rel in map(settings.relative, paths) if settings.in_data(rel) and detect_format(rel) in CHECKED_FORMATS})
        if not targets:
            return [], []
    baseline = read_baseline(settings)
    found = find_all(settings, targets, progress, use_cache)
    return [f for f in found if not baseline.accepts(f)], [f for f in found if baseline.accepts(f)]
