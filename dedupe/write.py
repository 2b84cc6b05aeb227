"""Write stage: a Result -> ``stories.jsonl``, ``documents.jsonl``, ``report.json`` in one folder.

The folder is written completely or not at all: everything goes to a sibling temporary
folder first, which then takes the target's place (``write_output`` says how, and when an
existing folder may be replaced at all).  JSON is written with sorted
keys and no platform-dependent formatting, so the same Result gives the same bytes
(``report.json``'s ``seconds`` is the one field that differs between runs).
"""
from __future__ import annotations

import ctypes
import errno
import json
import operator
import os
import shutil
import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from json.encoder import encode_basestring as _encode_str  # what json.dumps(ensure_ascii=False) uses for str
from pathlib import Path
from typing import Callable, Deque, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import ConfigError, OutputError
from .candidates import Matches
from .config import Config
from .model import OUTPUT_MARKER, CleanedDocument, Result, Skipped
from .parallel import collector_paused

FILES = ("stories.jsonl", "documents.jsonl", "report.json")
#: ``write_output``'s formats: JSON lines, or Parquet folders (``stories/``, ``documents/``).
OUTPUT_FORMATS = ("jsonl", "parquet")


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def story_records(result: Result) -> Iterator[dict]:
    """One JSON-ready dict per story.

    ``text`` is the canonical text; ``paragraphs[k]`` tells where its k-th paragraph
    (``text.split("\\n\\n")[k]``: paragraphs never contain a blank line) came from.
    """
    for story in result.stories:
        paragraphs = story.paragraphs
        yield {
            "id": story.id,
            "text": story.text,
            "documents": story.documents,
            "sources": story.sources,
            "paragraphs": [
                {"cluster": p.cluster, "documents": p.documents, "sources": p.sources, "chosen_from": p.chosen_from}
                for p in paragraphs
            ],
            "title": story.title,
            "titles": [{"text": t.text, "documents": t.documents} for t in story.titles],
        }


def _earliest_arrays(result: Result) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(b, a, jaccard, containment)`` arrays: each matched paragraph ``b``'s earliest band
    match (smallest ``a``), from the match arrays (a million ``Match`` objects cost seconds); a
    Result built by hand with a plain sequence of ``Match`` is turned into arrays first, and
    its pairs all count as band matches."""
    m = result.matches
    if not isinstance(m, Matches):
        m = Matches(np.array([(x.a, x.b) for x in m], dtype=np.int64).reshape(-1, 2),
                    np.array([x.jaccard for x in m]), np.array([x.containment for x in m]), None).in_order()
    if m.banded is not None and not m.banded.all():
        # Pairs found through containment keys only join clusters; a duplicate is what
        # ``dedupe index add`` answers: the earliest verified band candidate.
        m = Matches(m.pairs[m.banded], m.jaccard[m.banded], m.containment[m.banded], None)
    if not len(m):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    b = m.pairs[:, 1]
    order = np.argsort(b, kind="stable")  # rows are sorted by (a, b): each b's first row has its smallest a
    sb = b[order]
    keep = order[np.concatenate(([True], sb[1:] != sb[:-1]))]
    return b[keep], m.pairs[keep, 0], m.jaccard[keep], m.containment[keep]


class _Lookups:
    """What a document record needs of the collapse, per paragraph position: its cluster
    id, its earliest match (``match_a`` -1 for none) with the pair's similarities, and
    each document's story.  Arrays, not a million dicts."""

    def __init__(self, result: Result):
        n = len(result.paragraphs)
        self.cluster_of: List[Optional[str]] = [None] * n
        for c in result.clusters:
            for i in c.members:
                self.cluster_of[i] = c.id
        self.match_a = np.full(n, -1, dtype=np.int64)
        self.jaccard = np.zeros(n)
        self.containment = np.zeros(n)
        b, a, jac, con = _earliest_arrays(result)
        self.match_a[b], self.jaccard[b], self.containment[b] = a, jac, con
        self.story_of = {doc_id: s.id for s in result.stories for doc_id in s.documents}

    def documents(self, result: Result) -> Iterator[Tuple[CleanedDocument, int, int]]:
        """Each cleaned document with the ``[start, end)`` positions of its paragraphs."""
        paragraphs = result.paragraphs
        start = 0
        for cleaned in result.documents:
            doc_id = cleaned.document.id
            end = start
            while end < len(paragraphs) and paragraphs[end].doc_id == doc_id:
                end += 1
            yield cleaned, start, end
            start = end

    def earliest(self, start: int, end: int) -> Iterator[Optional[Tuple[int, float, float]]]:
        """``(a, jaccard, containment)`` of each paragraph's earliest match, or None."""
        for a, jac, con in zip(self.match_a[start:end].tolist(), self.jaccard[start:end].tolist(),
                               self.containment[start:end].tolist()):
            yield None if a < 0 else (a, jac, con)


def document_records(result: Result) -> Iterator[dict]:
    """One JSON-ready dict per input document: cleaned text, removals, paragraphs, story.

    Each paragraph has its ``cluster`` and ``duplicate_of``: the earliest paragraph before
    it (in input order) it was verified against, as ``dedupe index add`` reports it, or
    None for the first of its cluster and for unique paragraphs.
    """
    paragraphs = result.paragraphs
    look = _Lookups(result)
    for cleaned, start, end in look.documents(result):
        doc = cleaned.document
        dups = []
        for m in look.earliest(start, end):
            if m is None:
                dups.append(None)
                continue
            q = paragraphs[m[0]]
            dups.append({"document": q.doc_id, "paragraph": q.index, "source": q.source,
                         "jaccard": m[1], "containment": m[2]})
        yield {
            "id": doc.id,
            "source": doc.source,
            "url": doc.url,
            "title": doc.title,
            "date": doc.date,
            "encoding": doc.encoding,
            "encoding_source": doc.encoding_source,
            "text": cleaned.text,
            "story": look.story_of.get(doc.id),
            "removed": [{"rule": r.rule, "text": r.text, "where": r.where, "reason": r.reason} for r in cleaned.removals],
            "paragraphs": [{"index": i - start, "cluster": look.cluster_of[i], "duplicate_of": dups[i - start]}
                           for i in range(start, end)],
        }


# --- the same records as JSON lines, fast -------------------------------------------------
#
# ``write_output`` does not build the dicts above and hand them to ``json.dumps`` (at a
# million paragraphs that is two million small dicts, sorted and encoded one by one): it
# fills the records' fixed shapes, keys already in sorted order, with values encoded by
# the same C string encoder ``json.dumps(ensure_ascii=False)`` uses.  The bytes are the
# same as ``_dumps`` of the dicts (``tests/test_write.py`` checks it on odd strings).


class _Strings:
    """JSON for strings that repeat across records (document ids, sources), encoded once."""

    def __init__(self) -> None:
        self._seen: Dict[str, str] = {}
        self._lists: Dict[str, str] = {}

    def one(self, text: Optional[str]) -> str:
        if text is None:
            return "null"
        out = self._seen.get(text)
        if out is None:
            out = self._seen[text] = _encode_str(text)
        return out

    def many(self, texts: Sequence[str]) -> str:
        if len(texts) == 1:  # most lists: one document, one source
            out = self._lists.get(texts[0])
            if out is None:
                out = self._lists[texts[0]] = f"[{self.one(texts[0])}]"
            return out
        return "[" + ",".join(map(self.one, texts)) + "]"


def _null_or_str(text: Optional[str]) -> str:
    return "null" if text is None else _encode_str(text)


def _cluster_json(cid: Optional[str]) -> str:
    """A cluster id as JSON: ids made by the pipeline (``c000123``) need no escaping."""
    if cid is None:
        return "null"
    return f'"{cid}"' if cid.isalnum() and cid.isascii() else _encode_str(cid)


def _story_line(story, js: _Strings, text_json: Optional[str] = None) -> str:
    """A story's JSON line; ``text_json``: its text already encoded, when the caller has it."""
    parts = []
    last = head = tail = None
    for p in story.paragraphs:
        if last is None or p.documents is not last.documents or p.sources is not last.sources \
                or p.chosen_from != last.chosen_from:  # a single-document story: once for all its paragraphs
            head = '{"chosen_from":' + js.one(p.chosen_from) + ',"cluster":'
            tail = ',"documents":' + js.many(p.documents) + ',"sources":' + js.many(p.sources) + "}"
            last = p
        parts.append(head + _cluster_json(p.cluster) + tail)
    if text_json is None:
        text_json = _encode_str(story.text)
    return (f'{{"documents":{js.many(story.documents)},"id":{_encode_str(story.id)},"paragraphs":[{",".join(parts)}],'
            f'"sources":{js.many(story.sources)},"text":{text_json},"title":{_null_or_str(story.title)},'
            f'"titles":[{",".join(_title_json(t, js) for t in story.titles)}]}}')


def _title_json(title, js: _Strings) -> str:
    return f'{{"documents":{js.many(title.documents)},"text":{_encode_str(title.text)}}}'


def _lines(result: Result) -> Iterator[Tuple[bool, str]]:
    """``(is_story, line)``: every ``documents.jsonl`` line in order, and every
    ``stories.jsonl`` line in order, each story's as soon as its first document's line is
    out.  A story of one document whose text is that document's reuses its encoded text
    (most stories: it would be encoded twice)."""
    paragraphs = result.paragraphs
    look = _Lookups(result)
    js = _Strings()
    floats: Dict[float, str] = {}  # similarities repeat (ratios of small counts): repr once
    about: Dict[int, Tuple[str, str]] = {}  # an earlier paragraph: the JSON around its similarities

    def number(x: float) -> str:
        out = floats.get(x)
        if out is None:
            out = floats[x] = float.__repr__(x)
        return out

    def around(a: int) -> Tuple[str, str]:
        out = about.get(a)
        if out is None:
            q = paragraphs[a]
            out = about[a] = (f',"document":{js.one(q.doc_id)},"jaccard":',
                              f',"paragraph":{q.index},"source":{js.one(q.source)}}}')
        return out

    stories = iter(result.stories)
    story = next(stories, None)
    for cleaned, start, end in look.documents(result):
        doc = cleaned.document
        parts = []
        earlier = look.match_a[start:end].tolist()
        jaccard = look.jaccard[start:end].tolist()
        containment = look.containment[start:end].tolist()
        for k, cid in enumerate(look.cluster_of[start:end]):
            a = earlier[k]
            if a < 0:
                dup = "null"
            else:
                head, tail = around(a)
                dup = '{"containment":' + number(containment[k]) + head + number(jaccard[k]) + tail
            parts.append('{"cluster":' + _cluster_json(cid) + ',"duplicate_of":' + dup + ',"index":' + str(k) + "}")
        removed = ",".join(
            f'{{"reason":{_encode_str(r.reason)},"rule":{_encode_str(r.rule)},"text":{_encode_str(r.text)},'
            f'"where":{_encode_str(r.where)}}}'
            for r in cleaned.removals
        )
        text_json = _encode_str(cleaned.text)
        yield False, (f'{{"date":{_null_or_str(doc.date)},"encoding":{_null_or_str(doc.encoding)},'
                      f'"encoding_source":{_null_or_str(doc.encoding_source)},"id":{js.one(doc.id)},"paragraphs":[{",".join(parts)}],"removed":[{removed}],'
                      f'"source":{js.one(doc.source)},"story":{_null_or_str(look.story_of.get(doc.id))},'
                      f'"text":{text_json},"title":{_null_or_str(doc.title)},"url":{_null_or_str(doc.url)}}}')
        while story is not None and story.documents and story.documents[0] == doc.id:
            same = (story.documents == (doc.id,) and len(story.paragraphs) == len(cleaned.paragraphs)
                    and all(map(operator.is_, (p.text for p in story.paragraphs), cleaned.paragraphs)))
            yield True, _story_line(story, js, text_json if same else None)
            story = next(stories, None)
    while story is not None:  # stories not in document order (a Result built by hand)
        yield True, _story_line(story, js)
        story = next(stories, None)


def _story_lines(result: Result) -> Iterator[str]:
    return (line for is_story, line in _lines(result) if is_story)


def _document_lines(result: Result) -> Iterator[str]:
    return (line for is_story, line in _lines(result) if not is_story)


def report_record(result: Result, skipped: int = 0, not_read: Optional[Mapping[str, int]] = None,
                  config: Optional[Config] = None) -> dict:
    """``report.json``'s record; ``skipped``: inputs skipped under ``on_error="skip"``;
    ``not_read``: WARC records that are not documents, counted by reason; ``config``: the
    run's settings, whose verification thresholds are recorded (the review page draws them)."""
    r = result.report
    record = {
        "documents": r.documents,
        "paragraphs": r.paragraphs,
        "removals_by_rule": dict(r.removals_by_rule),
        "removals": sum(n for _, n in r.removals_by_rule),
        "duplicate_paragraphs": r.duplicate_paragraphs,
        "clusters": r.clusters,
        "stories": r.stories,
        "bytes_in": r.bytes_in,
        "bytes_out": r.bytes_out,
        "seconds": r.seconds,
        "skipped": skipped,
        "warc_skipped": dict(sorted((not_read or {}).items())),
    }
    if config is not None:
        record["thresholds"] = {"jaccard": config.jaccard_threshold, "containment": config.containment_threshold}
    return record


def result_records(result: Result) -> Tuple[List[dict], List[dict], dict]:
    """(stories, documents, report) as JSON-ready Python objects."""
    return list(story_records(result)), list(document_records(result)), report_record(result)


#: Lines joined, encoded and written at a time: few large writes instead of a million small ones.
_LINES_PER_WRITE = 512
#: Encoded batches waiting for the writer thread, at most (bounds the memory they hold).
_WRITES_AHEAD = 8


class _LineFile:
    """Lines to one open binary file, joined and encoded in batches that ``writer`` (one
    thread) writes: file writes release the GIL, and at 1M paragraphs ~0.9 GB go to a page
    cache that took them at ~300 MB/s on the benchmark machine."""

    def __init__(self, f, writer: ThreadPoolExecutor, pending: Deque[Future]):
        self.f, self.writer, self.pending = f, writer, pending
        self.batch: List[str] = []

    def add(self, line: str) -> None:
        self.batch.append(line)
        if len(self.batch) >= _LINES_PER_WRITE:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        self.batch.append("")
        self.pending.append(self.writer.submit(self.f.write, "\n".join(self.batch).encode("utf-8")))
        self.batch = []
        while len(self.pending) > _WRITES_AHEAD:
            self.pending.popleft().result()  # raises the writer's OSError here


#: Documents written between two progress calls (a call per line would cost more than it shows).
_PROGRESS_EVERY = 4096


def _write_jsonl(stories_path: Path, documents_path: Path, result: Result,
                 progress: Optional[Callable[[str, int, Optional[int]], None]] = None) -> None:
    """``stories.jsonl`` and ``documents.jsonl``, written in one pass over the documents."""
    pending: Deque[Future] = deque()
    with open(stories_path, "wb") as fs, open(documents_path, "wb") as fd, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="dedupe-write") as writer:
        try:
            files = {True: _LineFile(fs, writer, pending), False: _LineFile(fd, writer, pending)}
            total, done = len(result.documents), 0
            for is_story, line in _lines(result):
                files[is_story].add(line)
                if progress is not None and not is_story:
                    done += 1
                    if done % _PROGRESS_EVERY == 0 or done == total:
                        progress("write", done, total)
            for lf in files.values():
                lf.flush()
        finally:
            for done in pending:
                done.result()


#: Written into every output folder: how a later run knows the folder is its own to replace.
MARKER = OUTPUT_MARKER
_MARKER_TEXT = '{"format":1,"tool":"dedupe"}\n'
#: An existing folder holding only these (an output written before the marker existed) is ours too.
_OUR_FILES = frozenset(FILES + ("stories", "documents", "errors.jsonl", "review.html", MARKER))

_RENAME_EXCHANGE = 2  # linux/fs.h


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the call or the flag is not available (other systems, old glibc, some filesystems)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def check_output_folder(out_dir, force: bool = False) -> Path:
    """``out_dir`` as a Path, after making sure writing it deletes nothing the user did not ask
    to: an existing folder is replaced only when it is a previous dedupe output (it holds the
    marker, or only dedupe's files) or is empty, unless ``force``.  OutputError otherwise."""
    out = Path(out_dir)
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{out}: is a dangling symbolic link")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and not force:
        try:
            names = {p.name for p in out.iterdir()}
        except OSError as err:
            raise OutputError(f"{out}: cannot read: {err.strerror or err}") from None
        if names and MARKER not in names and not names <= _OUR_FILES:
            other = len(names - _OUR_FILES)
            raise OutputError(
                f"{out}: exists and is not a dedupe output folder (it holds {other} other "
                f"entr{'y' if other == 1 else 'ies'}); choose another -o, or pass --force to replace it")
    return out


def write_output(result: Result, out_dir, *, force: bool = False, errors: Sequence[Skipped] = (),
                 progress: Optional[Callable[[str, int, Optional[int]], None]] = None,
                 not_read: Optional[Mapping[str, int]] = None, config: Optional[Config] = None,
                 output_format: str = "jsonl") -> Path:
    """Write ``stories.jsonl``, ``documents.jsonl``, ``report.json`` (and ``errors.jsonl``
    when inputs were skipped) into ``out_dir``, all or nothing.

    An existing ``out_dir`` is replaced only if it is a previous dedupe output or empty
    (``check_output_folder``), unless ``force``.  Everything is written to a sibling
    ``.NAME.tmp-PID`` folder first.  On Linux the new folder and the old one are then
    swapped by one ``renameat2(RENAME_EXCHANGE)``, so a reader of ``out_dir`` sees the old
    output or the new one, never none; elsewhere (or on a filesystem without the flag) the
    old folder is renamed aside and the new one renamed in: two renames, each atomic, with
    an instant between them where ``out_dir`` does not exist.  On any failure the temporary
    folder is removed and the old output is left as it was.  ``progress(stage, done,
    total)`` is told how many documents are written (stage ``"write"``).  With ``config``,
    ``report.json`` records the run's verification thresholds.  ``output_format="parquet"``
    writes the stories and documents as Parquet folders ``stories/`` and ``documents/``
    instead (``dedupe.write_parquet``).
    """
    if output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"output format must be one of {', '.join(OUTPUT_FORMATS)}, not {output_format!r}")
    out = check_output_folder(out_dir, force)
    parent = out.absolute().parent
    tmp = parent / f".{out.name}.tmp-{os.getpid()}"
    old = parent / f".{out.name}.old-{os.getpid()}"
    swapped = False
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        with collector_paused():  # the records' objects are many and short-lived: nothing to collect
            if output_format == "parquet":
                from .write_parquet import write_tables

                write_tables(tmp, result, progress)
            else:
                _write_jsonl(tmp / "stories.jsonl", tmp / "documents.jsonl", result, progress)
        if errors:
            with open(tmp / "errors.jsonl", "w", encoding="utf-8", newline="\n") as f:
                f.writelines(_dumps({"where": e.where, "reason": e.reason}) + "\n" for e in errors)
        with open(tmp / "report.json", "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(report_record(result, skipped=len(errors), not_read=not_read, config=config), ensure_ascii=False, sort_keys=True,
                               indent=2) + "\n")
        (tmp / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        if out.is_dir() and not out.is_symlink() and _renameat2_exchange(tmp, out):
            swapped = True  # tmp now holds the old output
        else:
            if out.exists() or out.is_symlink():
                os.replace(out, old)
            os.replace(tmp, out)
    except BaseException as err:
        if not swapped:
            shutil.rmtree(tmp, ignore_errors=True)
            if old.exists() and not out.exists():
                os.replace(old, out)
        if isinstance(err, OSError):
            raise OutputError(f"{out}: cannot write output: {err.strerror or err}") from None
        raise
    _remove(tmp if swapped else old)
    return out


def _remove(path: Path) -> None:
    """Remove the replaced output: a folder tree, or the symbolic link that stood at OUT."""
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)
