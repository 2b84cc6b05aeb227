"""The orchestrator: the only module that knows the order of the stages.

read -> clean (HTML extraction, rules, learned per-source lines, content filter)
-> paragraphs -> fingerprint -> candidates + verify -> cluster -> canonical -> Result.
Writing files is ``dedupe.write``'s job; the CLI only parses arguments around this.

At corpus scale the per-document work (extraction, cleaning, shingling, signatures, band
keys) runs in ``Config.processes`` worker processes over chunks of documents, in two
passes: the first counts each source's lines (for learned templates), the second cleans
and fingerprints.  Workers send back compact arrays (shingle sets flat, one band key per
band), never signatures or per-paragraph objects; chunks come back in input order, and
each document's output depends on that document alone (plus its source's template), so
the result never depends on the number of workers.
"""
from __future__ import annotations

import gc
import logging
import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from typing import (Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Sequence, Set,
                    Tuple, Union)

import numpy as np

from . import candidates, fingerprint
from .canonical import build_clusters, build_stories
from .clean.cleaner import clean_document, extract, split_lines
from .clean.learned import learn_template_keys, page_keys, template_lines
from .cluster import connected_components
from .config import Config
from .model import CleanedDocument, Document, Match, Paragraph, Removal, Report, Result
from .paragraphs import paragraphs_of
from .read import as_documents

log = logging.getLogger(__name__)

#: progress(stage, done, total): called as work advances; ``total`` may be None.
Progress = Callable[[str, int, Optional[int]], None]

#: A chunk of documents for one worker task closes at this many characters of text:
#: ~4k news paragraphs, enough to amortise numpy's per-call cost in the fingerprint step
#: and the task's pickling, small enough to keep both cores busy to the end.
CHUNK_CHARS = 1_500_000
#: ... or at this many documents (many tiny documents).
CHUNK_DOCUMENTS = 4000

#: What a worker sends back per chunk: per document (the removals as tuples, the kept
#: paragraphs, the input's size in UTF-8 bytes), then, when asked for, the paragraphs'
#: flat shingle sets, one band-key array per band and which paragraphs have shingles.
_Chunk = Tuple[List[Tuple[tuple, Tuple[str, ...], int]], Optional[tuple]]


def _no_progress(stage: str, done: int, total: Optional[int]) -> None:
    pass


def _chunks(docs: Sequence[Document]) -> List[Tuple[int, int]]:
    """``[start, end)`` ranges of documents, cut by ``CHUNK_CHARS`` / ``CHUNK_DOCUMENTS``."""
    out, start, size = [], 0, 0
    for i, doc in enumerate(docs):
        size += len(doc.text)
        if size >= CHUNK_CHARS or i + 1 - start >= CHUNK_DOCUMENTS:
            out.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(docs):
        out.append((start, len(docs)))
    return out


@contextmanager
def _executor(config: Config, tasks: int) -> Iterator[Optional[ProcessPoolExecutor]]:
    """A process pool when there is more than one task and more than one process to use.

    Workers are forked where the platform can (no ``if __name__ == "__main__"`` guard
    needed in a caller's script, no re-import), with the collector's objects frozen
    first: a worker's garbage collection then never writes to the parent's pages, which
    stay shared.  Jobs carry their documents pickled, so a worker touches nothing else
    of the parent's.
    """
    workers = min(config.processes, tasks)
    if workers <= 1:
        yield None
        return
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # Windows
        context = multiprocessing.get_context("spawn")
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            list(pool.map(int, range(workers)))  # start the workers now (forked while this process is small)
            yield pool
    finally:
        gc.unfreeze()


def _map(pool: Optional[ProcessPoolExecutor], fn, jobs: Iterable) -> Iterator:
    """Results of ``fn`` over ``jobs`` in order, in the pool or in this process."""
    return pool.map(fn, jobs) if pool is not None else map(fn, jobs)


def _pack(docs: Sequence[Document]) -> List[Tuple[str, str, str]]:
    """What a worker needs of each document (id, source, kind, text): plain tuples pickle fast."""
    return [(d.id, d.source, d.kind, d.text) for d in docs]


def _unpack(packed) -> Iterator[Document]:
    for doc_id, source, kind, text in packed:
        yield Document(id=doc_id, source=source, text=text, kind=kind)


# --- pass 1: per-source line counts -------------------------------------------------------


def _page_job(args) -> List[Tuple[Optional[str], Optional[Tuple[int, FrozenSet[int]]]]]:
    """Per document: its extracted text when it was HTML (else None) and its page keys."""
    docs, learn = args
    out = []
    for doc in _unpack(docs):
        text = extract(doc)
        lines = split_lines(text) if doc.source in learn else []
        out.append((text if doc.kind == "html" else None, page_keys(lines) if lines else None))
    return out


def _learn(docs: Sequence[Document], ranges, config: Config, pool, progress: Progress):
    """Extracted HTML texts by position, and ``{source: (template line keys, pages)}``."""
    per_source = Counter(doc.source for doc in docs)
    learn = frozenset(s for s, n in per_source.items() if n >= config.learn_min_documents)
    html = any(doc.kind == "html" for doc in docs)
    extracted: Dict[int, str] = {}
    pages = []
    if learn or html:
        jobs = ((_pack(docs[a:b]), learn) for a, b in ranges)
        for (a, b), result in zip(ranges, _map(pool, _page_job, jobs)):
            for k, (text, keys) in enumerate(result):
                if text is not None:
                    extracted[a + k] = text
                if keys is not None:
                    pages.append((docs[a + k].source, *keys))
            progress("learn", b, len(docs))
    learned = learn_template_keys(pages, config)
    for source, (lines, n) in learned.items():
        log.info("source %s: %d template lines learned from %d pages", source, len(lines), n)
    return extracted, learned


# --- pass 2: clean and fingerprint ---------------------------------------------------------


def _note(source: str, pages: int) -> str:
    return f"line repeated on many of the {pages} pages of source {source!r} (site template)"


def _fingerprint(texts: Sequence[str], config: Config) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(values, offsets, keys, live)``: flat shingle sets, band keys (n, bands), rows with shingles."""
    values, offsets, sigs = fingerprint.fingerprint_flat(texts, config)
    return (values, offsets, *candidates.band_keys(sigs, config))


def _clean_job(args) -> _Chunk:
    """Clean a chunk of documents and (unless told not to) fingerprint its paragraphs."""
    docs, texts, templates, config, with_fingerprints = args
    out, paragraphs = [], []
    for doc, text in zip(_unpack(docs), texts):
        keys, pages = templates.get(doc.source, (frozenset(), 0))
        raw = extract(doc) if text is None else text
        template = template_lines(split_lines(raw), keys) if keys else frozenset()
        cleaned = clean_document(doc, config, template, _note(doc.source, pages), text=raw)
        removals = tuple((r.rule, r.text, r.where, r.reason) for r in cleaned.removals)  # plain tuples pickle anywhere
        out.append((removals, cleaned.paragraphs, len(doc.text.encode("utf-8"))))
        paragraphs.extend(cleaned.paragraphs)
    if not with_fingerprints:
        return out, None
    values, offsets, keys, live = _fingerprint(paragraphs, config)
    return out, (values, offsets, list(np.ascontiguousarray(keys.T)), live)  # one key array per band


class _Prepared:
    """Cleaned documents, their paragraphs and the paragraphs' fingerprints: flat shingle
    sets (``values``, ``offsets``), band keys (one array or a list of per-chunk arrays)."""

    def __init__(self, cleaned, paragraphs, values, offsets, keys, live, bytes_in: int = 0):
        self.cleaned: List[CleanedDocument] = cleaned
        self.paragraphs: List[Paragraph] = paragraphs
        self.values, self.offsets, self.keys, self.live = values, offsets, keys, live
        self.bytes_in = bytes_in


def _prepare(docs: List[Document], config: Config, progress: Progress,
             pool: Optional[ProcessPoolExecutor] = None, with_fingerprints: bool = True) -> _Prepared:
    """Both passes, in worker processes when the input is large enough (in ``pool`` when
    given).  Without ``config.keep_input_text``, ``docs`` is emptied as it is cleaned;
    without ``with_fingerprints`` only the cleaning is done (the arrays stay empty)."""
    ranges = _chunks(docs)
    with (nullcontext(pool if len(ranges) > 1 else None) if pool is not None
          else _executor(config, len(ranges))) as pool:
        extracted, learned = _learn(docs, ranges, config, pool, progress)
        jobs = (
            (_pack(docs[a:b]), [extracted.pop(i, None) for i in range(a, b)],
             {s: learned[s] for s in {d.source for d in docs[a:b]} if s in learned}, config, with_fingerprints)
            for a, b in ranges
        )
        cleaned: List[CleanedDocument] = []
        paragraphs: List[Paragraph] = []
        values, offsets, live = [], [np.zeros(1, np.int64)], []
        keys: List[List[np.ndarray]] = [[] for _ in range(config.bands)]
        bytes_in = 0
        for (a, b), (docs_out, fp) in zip(ranges, _map(pool, _clean_job, jobs)):
            for n, (removals, parts, size) in enumerate(docs_out, a):
                doc = docs[n]
                if not config.keep_input_text:
                    docs[n] = doc = replace(doc, text="")  # the caller never sees the input again
                bytes_in += size
                cleaned.append(CleanedDocument(document=doc, paragraphs=parts,
                                               removals=tuple(Removal(*r) for r in removals)))
                doc_id, source = doc.id, doc.source
                paragraphs.extend([Paragraph(doc_id, i, t, source) for i, t in enumerate(parts)])
            if fp is not None:
                v, o, k, lv = fp
                values.append(v)
                offsets.append(o[1:] + offsets[-1][-1])
                for band, column in enumerate(k):
                    keys[band].append(column)
                live.append(lv)
            progress("clean", b, len(docs))
    return _Prepared(
        cleaned, paragraphs,
        np.concatenate(values) if values else np.zeros(0, np.uint32),
        np.concatenate(offsets),
        keys,  # per band, per chunk: ``candidates.buckets`` consumes one band at a time
        np.concatenate(live) if live else np.zeros(0, bool),
        bytes_in,
    )


def clean_documents(docs: Sequence[Document], config: Config, progress: Progress = _no_progress) -> List[CleanedDocument]:
    """Clean every document, learning each source's template lines from all of its documents first."""
    return _prepare(list(docs), replace(config, keep_input_text=True), progress, with_fingerprints=False).cleaned


# --- collapse ------------------------------------------------------------------------------


def _collapse(prepared: _Prepared, config: Config, progress: Progress):
    """Verified matches, clusters and stories of prepared paragraphs.

    Matches: every paragraph's earliest verified match, plus the verified pairs that join
    what those leave apart (``dedupe.candidates``); clusters are the connected components
    of every verified candidate pair.
    """
    paragraphs = prepared.paragraphs
    n = len(paragraphs)
    shared = candidates.buckets(prepared.keys, prepared.live)
    prepared.keys = None  # the buckets hold what is needed of them
    first = candidates.earliest_matches(shared, n, prepared.values, prepared.offsets, config)
    labels = connected_components(n, first.pairs)
    more = candidates.cross_matches(shared, labels, prepared.values, prepared.offsets, config, first)
    del shared
    prepared.values = None  # shingle sets are done with: only their sizes are used below
    if len(more):
        labels = connected_components(n, np.concatenate([first.pairs, more.pairs]))
    matches = candidates.Matches.join(first, more).in_order()
    matches.failed = None  # only needed while matching
    progress("match", n, n)
    sizes = np.diff(prepared.offsets).tolist()
    clusters, cluster_of = build_clusters(labels, paragraphs, sizes, config)
    docs = prepared.cleaned
    stories = build_stories([c.document.id for c in docs], [c.document.source for c in docs], paragraphs, sizes,
                            clusters, cluster_of, config)
    progress("stories", len(stories), len(stories))
    return paragraphs, matches, clusters, stories


def collapse(docs: Sequence[CleanedDocument], config: Config, progress: Progress = _no_progress):
    """Paragraphs, verified matches, clusters and stories of cleaned documents."""
    paragraphs: List[Paragraph] = list(paragraphs_of(docs))
    progress("fingerprint", 0, len(paragraphs))
    values, offsets, keys, live = _fingerprint([p.text for p in paragraphs], config)
    progress("fingerprint", len(paragraphs), len(paragraphs))
    return _collapse(_Prepared(list(docs), paragraphs, values, offsets, keys, live), config, progress)


def all_matches(paragraphs: Sequence[Paragraph], config: Config) -> List[Match]:
    """Every verified candidate pair of ``paragraphs``, sorted by (a, b).

    ``collapse`` keeps only the matches clustering needs (a cluster of n copies has
    n(n-1)/2 pairs); a report that names every pair of near-duplicate paragraphs between
    documents (``dedupe check``) asks for all of them, on a folder-sized input.
    """
    sets, sigs = fingerprint.fingerprint_batch([p.text for p in paragraphs], config)
    return candidates.verify(candidates.candidate_pairs(sigs, config), sets, config)


def run(
    documents: Iterable[Union[Document, Mapping[str, Any]]],
    config: Optional[Config] = None,
    progress: Optional[Progress] = None,
) -> Result:
    """Clean documents and collapse near-duplicate paragraphs into stories.

    ``documents``: ``Document`` objects or dicts (``text`` required; ``id``, ``source``,
    ``url``, ``title``, ``kind`` optional; field names per ``Config``).  Returns a
    ``Result`` with the cleaned documents, paragraphs, verified matches, clusters,
    stories and a ``Report``.  The same input gives the same result in every process.

    >>> r = run([{"id": "a", "source": "x", "text": "Advertisement\\n\\nThe mayor resigned on Monday after a long inquiry."}])
    >>> (r.stories[0].text, r.documents[0].removals[0].rule)
    ('The mayor resigned on Monday after a long inquiry.', 'advertisement')
    """
    config = config or Config()
    progress = progress or _no_progress
    started = time.perf_counter()
    # Input still to be read (a generator, say from read_paths): start the workers first,
    # while this process is small, so they do not each carry a copy-on-write corpus.
    early = not isinstance(documents, (Sequence, Set)) and config.processes > 1
    with (_executor(config, config.processes) if early else nullcontext(None)) as pool:
        docs = list(as_documents(documents, config))
        prepared = _prepare(docs, config, progress, pool)
    count = len(docs)
    del docs
    cleaned = prepared.cleaned
    paragraphs, matches, clusters, stories = _collapse(prepared, config, progress)
    removals = Counter(r.rule for c in cleaned for r in c.removals)
    report = Report(
        documents=count,
        paragraphs=len(paragraphs),
        removals_by_rule=tuple(sorted(removals.items())),
        duplicate_paragraphs=sum(len(c.members) for c in clusters) - len(clusters),
        clusters=len(clusters),
        stories=len(stories),
        bytes_in=prepared.bytes_in,
        bytes_out=sum(len(s.text.encode("utf-8")) for s in stories),
        seconds=round(time.perf_counter() - started, 3),
    )
    return Result(documents=tuple(cleaned), paragraphs=tuple(paragraphs), matches=matches,
                  clusters=tuple(clusters), stories=tuple(stories), report=report)
