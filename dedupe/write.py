"""Write stage: a Result -> ``stories.jsonl``, ``documents.jsonl``, ``report.json`` in one folder.

The folder is written completely or not at all: everything goes to a sibling temporary
folder first, which then replaces the target by rename.  JSON is written with sorted
keys and no platform-dependent formatting, so the same Result gives the same bytes
(``report.json``'s ``seconds`` is the one field that differs between runs).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from .errors import OutputError
from .candidates import Matches
from .model import Result

FILES = ("stories.jsonl", "documents.jsonl", "report.json")


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
        }


def _earliest_rows(result: Result) -> Iterator[Tuple[int, int, float, float]]:
    """``(b, a, jaccard, containment)`` of each paragraph's earliest match (smallest ``a``),
    from the match arrays (a million ``Match`` objects cost seconds); a Result built by
    hand with a plain sequence of ``Match`` is turned into arrays first."""
    m = result.matches
    if not isinstance(m, Matches):
        m = Matches(np.array([(x.a, x.b) for x in m], dtype=np.int64).reshape(-1, 2),
                    np.array([x.jaccard for x in m]), np.array([x.containment for x in m]), None).in_order()
    if not len(m):
        return iter(())
    b = m.pairs[:, 1]
    order = np.argsort(b, kind="stable")  # rows are sorted by (a, b): each b's first row has its smallest a
    sb = b[order]
    keep = order[np.concatenate(([True], sb[1:] != sb[:-1]))]
    return zip(b[keep].tolist(), m.pairs[keep, 0].tolist(), m.jaccard[keep].tolist(), m.containment[keep].tolist())


def document_records(result: Result) -> Iterator[dict]:
    """One JSON-ready dict per input document: cleaned text, removals, paragraphs, story.

    Each paragraph has its ``cluster`` and ``duplicate_of``: the earliest paragraph before
    it (in input order) it was verified against, as ``dedupe index add`` reports it, or
    None for the first of its cluster and for unique paragraphs.
    """
    paragraphs = result.paragraphs
    cluster_of: List[Optional[str]] = [None] * len(paragraphs)
    for c in result.clusters:
        for i in c.members:
            cluster_of[i] = c.id
    duplicate_of: List[Optional[dict]] = [None] * len(paragraphs)
    for b, a, jac, con in _earliest_rows(result):
        q = paragraphs[a]
        duplicate_of[b] = {"document": q.doc_id, "paragraph": q.index, "source": q.source,
                           "jaccard": jac, "containment": con}
    story_of = {doc_id: s.id for s in result.stories for doc_id in s.documents}
    start = 0
    for cleaned in result.documents:
        doc = cleaned.document
        end = start
        while end < len(paragraphs) and paragraphs[end].doc_id == doc.id:
            end += 1
        yield {
            "id": doc.id,
            "source": doc.source,
            "url": doc.url,
            "title": doc.title,
            "text": cleaned.text,
            "story": story_of.get(doc.id),
            "removed": [{"rule": r.rule, "text": r.text, "where": r.where, "reason": r.reason} for r in cleaned.removals],
            "paragraphs": [{"index": i - start, "cluster": cluster_of[i], "duplicate_of": duplicate_of[i]}
                           for i in range(start, end)],
        }
        start = end


def report_record(result: Result) -> dict:
    r = result.report
    return {
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
    }


def result_records(result: Result) -> Tuple[List[dict], List[dict], dict]:
    """(stories, documents, report) as JSON-ready Python objects."""
    return list(story_records(result)), list(document_records(result)), report_record(result)


def _write_lines(path: Path, records: Iterator[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for rec in records:
            f.write(_dumps(rec) + "\n")


def write_output(result: Result, out_dir) -> Path:
    """Write the three output files into ``out_dir`` atomically (all or nothing)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    parent = out.resolve().parent
    tmp = parent / f".{out.name}.tmp-{os.getpid()}"
    old = parent / f".{out.name}.old-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        _write_lines(tmp / "stories.jsonl", story_records(result))
        _write_lines(tmp / "documents.jsonl", document_records(result))
        with open(tmp / "report.json", "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(report_record(result), ensure_ascii=False, sort_keys=True, indent=2) + "\n")
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            os.replace(old, out)
        raise OutputError(f"{out}: cannot write output: {err.strerror or err}") from None
    shutil.rmtree(old, ignore_errors=True)
    return out
