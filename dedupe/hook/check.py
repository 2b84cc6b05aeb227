"""The checker: noise left in the given files, and their near-duplicates anywhere in the data folders.

Every call reads the *whole* configured data folder(s) -- the files git tracks or has
staged there when the root is a git work tree (``git ls-files``: the state being
committed, since pre-commit stashes unstaged changes and untracked files are not part of
the commit), else every file below them -- and runs the pipeline's clean and collapse
stages over all of them.  The given files only select which findings are reported, so
the verdict for a file is the same however pre-commit splits the list, and a staged file
that repeats a file committed long ago is caught.

Findings, one line each, sorted (a JSONL record is named ``path:line``):

* ``path:line: rule: text`` -- a noise line the cleaner removes, including lines the
  per-source learned template removes (HTML pages are not checked for noise: their
  chrome is removed at run time and cannot be fixed in the file);
* ``path: same story as OTHER (N near-duplicate paragraphs)`` -- two documents the story
  stage joins;
* ``path: paragraph N near-duplicates OTHER paragraph M (jaccard 0.93)`` -- a verified
  near-duplicate paragraph pair between documents that are not one story.  Paragraphs
  count from 1 in the cleaned text.

A baseline file accepts known findings: noise by (document, rule, text) and duplicates
by document pair, so line numbers may move without invalidating it.  Documents are
keyed by path, JSONL records by ``path#id`` (or ``path:line`` without an id).
"""
from __future__ import annotations

import json
import logging
import subprocess
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..errors import ConfigError
from ..model import Document
from ..pipeline import Progress, _no_progress, all_matches, clean_documents, collapse
from ..read import _jsonl_documents, decode, detect_format, read_bytes
from .settings import HookSettings

log = logging.getLogger(__name__)

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


def _git_files(settings: HookSettings) -> Optional[List[str]]:
    try:
        proc = subprocess.run(["git", "ls-files", "-z", "--", *settings.data], cwd=settings.root,
                              capture_output=True, check=False)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def require_data_folders(settings: HookSettings) -> None:
    """ConfigError unless every configured data folder exists (a typo must not pass every check)."""
    for folder in settings.data:
        if not (settings.root / folder).is_dir():
            raise ConfigError(f"{settings.origin}: data folder {folder!r} does not exist")


def data_files(settings: HookSettings) -> List[str]:
    """Root-relative paths of every data file in the data folders, sorted."""
    require_data_folders(settings)
    found = _git_files(settings)
    if found is None:
        found = [p.relative_to(settings.root).as_posix()
                 for folder in settings.data for p in (settings.root / folder).rglob("*") if p.is_file()]
    return sorted({p for p in found if detect_format(p) and (settings.root / p).is_file()})


def load_documents(paths: Iterable[str], settings: HookSettings,
                   progress: Progress = _no_progress) -> Tuple[List[Document], Dict[str, DocRef]]:
    """Documents of root-relative paths (ids are unique locations), and where each lives."""
    config = settings.config
    docs: List[Document] = []
    refs: Dict[str, DocRef] = {}
    paths = list(paths)
    for n, rel in enumerate(paths, 1):
        progress("read", n, len(paths))
        text = decode(read_bytes(settings.root / rel, rel), rel, config)
        fmt = detect_format(rel)
        source = Path(rel).parent.name or settings.root.name
        if fmt != "jsonl":
            kind = "html" if fmt == "html" else "text"
            docs.append(Document(id=rel, source=source, text=text, kind=kind, origin=rel))
            refs[rel] = DocRef(rel, 0, rel, rel, kind)
            continue
        for doc in _jsonl_documents(text.split("\n"), rel, rel, source, config):
            where = doc.origin
            lineno = int(where.rsplit(":", 1)[1])
            key = where if doc.id == where else f"{rel}#{doc.id}"
            docs.append(replace(doc, id=where))
            refs[where] = DocRef(rel, lineno, where, key, doc.kind)
    return docs, refs


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def find_all(settings: HookSettings, targets: Optional[Iterable[str]] = None,
             progress: Progress = _no_progress) -> List[Finding]:
    """Findings for the documents of ``targets`` (root-relative paths; None: every data file), sorted."""
    files = data_files(settings)
    wanted: Set[str] = set(files) if targets is None else set(targets)
    docs, refs = load_documents(sorted(set(files) | wanted), settings, progress)
    cleaned = clean_documents(docs, settings.config, progress)
    paragraphs, _matches, _clusters, stories = collapse(cleaned, settings.config)
    matches = all_matches(paragraphs, settings.config)
    findings: List[Finding] = []

    for c in cleaned:
        ref = refs[c.document.id]
        if ref.path not in wanted or ref.kind == "html":
            continue
        for r in c.removals:
            line = ref.line or int(r.where.split()[1])
            findings.append(Finding(ref.path, line, f"{ref.path}:{line}: {r.rule}: {r.text}", ("noise", ref.key, r.rule, r.text)))

    story_of = {doc_id: s.id for s in stories for doc_id in s.documents}
    pairs: Dict[Tuple[str, str], list] = defaultdict(list)
    for m in matches:
        pa, pb = paragraphs[m.a], paragraphs[m.b]
        if pa.doc_id != pb.doc_id:
            pairs[(pa.doc_id, pb.doc_id)].append((pa.index, pb.index, m))
            pairs[(pb.doc_id, pa.doc_id)].append((pb.index, pa.index, m))
    for (doc, other), found in pairs.items():
        ref, oref = refs[doc], refs[other]
        if ref.path not in wanted:
            continue
        accept = ("duplicate",) + tuple(sorted((ref.key, oref.key)))
        if story_of[doc] == story_of[other]:
            n = len({i for i, _, _ in found})
            findings.append(Finding(ref.path, ref.line, f"{ref.name}: same story as {oref.name} "
                                    f"({n} near-duplicate paragraph{'s' if n != 1 else ''})", accept))
            continue
        for i, j, m in sorted(found, key=lambda t: (t[0], t[1])):
            score = f"jaccard {_fmt(m.jaccard)}"
            if m.jaccard < settings.config.jaccard_threshold:
                score += f", containment {_fmt(m.containment)}"
            findings.append(Finding(ref.path, ref.line, f"{ref.name}: paragraph {i} near-duplicates "
                                    f"{oref.name} paragraph {j} ({score})", accept))
    return sorted(findings, key=lambda f: f.sort_key)


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
          progress: Progress = _no_progress) -> Tuple[List[Finding], List[Finding]]:
    """(open findings, findings the baseline accepts) for ``paths`` (None: every data file).

    Paths outside the data folders are ignored, as are files of other formats.
    """
    require_data_folders(settings)
    targets = None
    if paths is not None:
        targets = sorted({rel for rel in map(settings.relative, paths) if settings.in_data(rel) and detect_format(rel)})
        if not targets:
            return [], []
    baseline = read_baseline(settings)
    found = find_all(settings, targets, progress)
    return [f for f in found if not baseline.accepts(f)], [f for f in found if baseline.accepts(f)]
