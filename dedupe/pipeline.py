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
the result never depends on the number of workers.  A streamed input (an iterator, as
the CLI passes) is read into a spool file chunk by chunk while the workers, forked
before reading, start pass 1 on it (``dedupe.parallel``).
"""
from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from typing import (Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Sequence, Set,
                    Tuple, Union)

import numpy as np

from . import candidates, fingerprint
from .canonical import build_clusters, build_stories, link_documents, stars_by_story, verified_stars
from .clean.cleaner import clean_document, extract_page, split_lines, with_page_metadata
from .clean.learned import (CorpusLine, corpus_keys, corpus_learning_on, corpus_lines, first_pass_plan, learn_corpus_keys,
                            learn_template_keys, line_key, page_keys, template_lines)
from .cluster import connected_components
from .config import Config
from .model import CleanedDocument, Document, Match, Paragraph, Removal, Report, Result
from .arrays import sorted_unique
from .paragraphs import paragraphs_of
from .parallel import Spool, Text, can_fork, collector_paused, executor, read_text, submit
from .read import as_documents, valid_text

log = logging.getLogger(__name__)

#: progress(stage, done, total): called as work advances; ``total`` may be None.
Progress = Callable[[str, int, Optional[int]], None]

#: A chunk of documents for one worker task closes at this many characters (bytes, when
#: spooled) of text: ~4k news paragraphs, enough to amortise numpy's per-call cost in the
#: fingerprint step and the task's pickling, small enough to keep both cores busy to the end.
CHUNK_CHARS = 1_500_000
#: ... or at this many documents (many tiny documents).
CHUNK_DOCUMENTS = 4000

#: A chunk as jobs carry it: ``(start, end)`` positions and, per document, its
#: ``(source, kind, text)`` with the text inline or as a spool span (``dedupe.parallel``).
_Batch = Tuple[int, int, List[Tuple[str, str, Text]]]


def _no_progress(stage: str, done: int, total: Optional[int]) -> None:
    pass


def chunked(items: Iterable[Any], chars: Callable[[Any], int]) -> Iterator[list]:
    """``items`` in lists closed at ``CHUNK_CHARS`` characters (``chars(item)``: an item's)
    or ``CHUNK_DOCUMENTS`` items: the chunks jobs carry, here and on Spark's executors."""
    chunk: list = []
    size = 0
    for item in items:
        chunk.append(item)
        size += chars(item)
        if size >= CHUNK_CHARS or len(chunk) >= CHUNK_DOCUMENTS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _chunks(docs: Sequence[Document]) -> List[Tuple[int, int]]:
    """``[start, end)`` ranges of documents, cut as ``chunked`` cuts them."""
    out, start = [], 0
    for chunk in chunked(docs, lambda doc: len(doc.text)):
        out.append((start, start + len(chunk)))
        start += len(chunk)
    return out


def _without_text(doc: Document) -> Document:
    """``doc`` with its input text dropped (``keep_input_text=False``): 2.4x faster than
    ``dataclasses.replace`` (timeit), once per document of a corpus."""
    return Document(doc.id, doc.source, "", doc.url, doc.title, doc.kind, doc.origin, doc.date, doc.encoding,
                    doc.encoding_source)


def _spooled(documents: Iterable[Document], docs: List[Document], spool: Spool, config: Config) -> Iterator[_Batch]:
    """Read ``documents`` into ``docs`` (their text dropped unless ``keep_input_text``) and
    the spool, yielding each chunk as it closes, so workers start while reading goes on."""
    items: List[Tuple[str, str, Text]] = []
    start = size = 0
    for doc in documents:
        try:
            span = spool.add(doc.text)
        except UnicodeEncodeError:  # a lone surrogate: checked here, where encoding is paid anyway
            doc = replace(doc, text=valid_text(doc.text, doc.origin or f"document {doc.id!r}", config))
            span = spool.add(doc.text)
        if not config.keep_input_text:
            doc = _without_text(doc)
        docs.append(doc)
        items.append((doc.source, doc.kind, span))
        size += span[1]
        if size >= CHUNK_CHARS or len(items) >= CHUNK_DOCUMENTS:
            spool.flush()
            yield start, start + len(items), items
            start, items, size = start + len(items), [], 0
    if items:
        spool.flush()
        yield start, start + len(items), items


def _pooled(pool: Optional[ProcessPoolExecutor], batches: Iterable[_Batch]) -> Tuple[Optional[ProcessPoolExecutor], Iterator[_Batch]]:
    """``pool``, or None when ``batches`` is a single chunk (not worth a worker); and the batches.
    Looks one chunk ahead, so the first job waits for the second chunk to be read."""
    it = iter(batches)
    head = list(itertools.islice(it, 2))
    return (pool if len(head) > 1 else None), itertools.chain(head, it)


# --- pass 1: per-source line counts -------------------------------------------------------


def _page_job(args) -> List[Tuple[Optional[str], Optional[Tuple[int, FrozenSet[int]]], int]]:
    """Per document: its extracted text when it was HTML (else None), its page keys (when
    its source may learn a template), its size in UTF-8 bytes and, for HTML, the page's
    (title, url)."""
    fd, docs, learn, corpus = args
    out = []
    for source, kind, item in docs:
        raw, size = read_text(fd, item)
        text, meta = extract_page(Document(id="", source=source, text=raw, kind=kind))
        templated = learn is None or source in learn
        lines = split_lines(text) if templated or corpus else []
        keys = [line_key(line) for line in lines]
        html = kind == "html"
        out.append((text if html else None, page_keys(lines, keys) if lines and templated else None, size,
                    meta if html else None, corpus_keys(lines, keys) if lines and corpus else None))
    return out


# --- pass 2: clean and fingerprint ---------------------------------------------------------


def _note(source: str, pages: int) -> str:
    return f"line repeated on many of the {pages} pages of source {source!r} (site template)"


def _fingerprint(texts: Sequence[str], config: Config) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple]:
    """``(values, offsets, keys, live, contained)``: flat shingle sets, band keys (n, bands),
    rows with shingles, and the containment keys ``(packed, count per paragraph)``
    (``candidates.pack_keys``)."""
    values, offsets, sigs = fingerprint.fingerprint_flat(texts, config)
    owner, key = candidates.containment_keys(values, offsets, config)
    contained = (candidates.pack_keys(owner, key), np.bincount(owner, minlength=len(texts)).astype(np.int32))
    return (values, offsets, *candidates.band_keys(sigs, config), contained)


#: What a worker sends back per chunk: per document (the removals as tuples, the kept
#: paragraphs, the size in UTF-8 bytes of the text it cleaned), then, when asked for, the
#: paragraphs' flat shingle sets, one band-key array per band and which paragraphs have shingles.
_Cleaned = Tuple[List[Tuple[tuple, Tuple[str, ...], int]], Optional[tuple]]


def _clean_job(args) -> _Cleaned:
    """Clean a chunk of (extracted) texts and (unless told not to) fingerprint their paragraphs."""
    fd, docs, templates, corpus, corpus_at, config, with_fingerprints = args
    out, paragraphs = [], []
    for j, (source, item) in enumerate(docs):
        raw, size = read_text(fd, item)
        keys, pages = templates.get(source, (frozenset(), 0))
        template, boiler = frozenset(), {}
        with_corpus = j in corpus_at  # pass 1 saw a learned corpus line among its candidates
        if keys or with_corpus:
            lines = split_lines(raw)
            line_keys = [line_key(line) for line in lines]  # once, for both
            template = template_lines(lines, keys, line_keys) if keys else frozenset()
            boiler = corpus_lines(lines, corpus, line_keys) if with_corpus else {}
        cleaned = clean_document(Document(id="", source=source, text=""), config, template, _note(source, pages), text=raw,
                                 corpus=boiler)
        removals = tuple((r.rule, r.text, r.where, r.reason) for r in cleaned.removals)  # plain tuples pickle anywhere
        out.append((removals, cleaned.paragraphs, size))
        paragraphs.extend(cleaned.paragraphs)
    if not with_fingerprints:
        return out, None
    values, offsets, keys, live, contained = _fingerprint(paragraphs, config)
    return out, (values, offsets, list(np.ascontiguousarray(keys.T)), live, contained)  # one key array per band


class _Prepared:
    """Cleaned documents, their paragraphs and the paragraphs' fingerprints: flat shingle
    sets (``values``, ``offsets``), band keys (one array or a list of per-chunk arrays)."""

    def __init__(self, cleaned, paragraphs, values, offsets, keys, live, contained, bytes_in: int = 0):
        self.cleaned: List[CleanedDocument] = cleaned
        self.paragraphs: List[Paragraph] = paragraphs
        self.values, self.offsets, self.keys, self.live = values, offsets, keys, live
        self.contained = contained  # containment keys (packed, count per paragraph), see ``_fingerprint``
        self.bytes_in = bytes_in


def _learn(pool, batches: Iterable[_Batch], spool: Optional[Spool], learn: Optional[FrozenSet[str]],
           config: Config, progress: Progress):
    """Pass 1 over the batches (submitted as they come): the batches with each HTML page's
    text replaced by its extraction (spooled, with a spool), every document's size, and
    ``{source: (template line keys, pages)}``.  ``learn``: the sources that may learn a
    template (None: any); and ``{document number: (title, url)}`` of the HTML pages."""
    fd = spool.fd if spool is not None else None
    corpus = corpus_learning_on(config)
    submitted = [(batch, submit(pool, _page_job, (fd, batch[2], learn, corpus))) for batch in batches]
    return learned_from(((batch, future.result()) for batch, future in submitted),
                        submitted[-1][0][1] if submitted else 0, spool, config, progress)


def learned_from(results: Iterable[Tuple[_Batch, list]], total: int, spool: Optional[Spool], config: Config,
                 progress: Progress):
    """What pass 1 learned from its results, batch by batch in input order (each batch with
    its ``_page_job`` result): as ``_learn`` returns it.  ``total``: the documents.  (The
    Spark engine learns the same with aggregations: ``dedupe.spark.learn``.)"""
    out: List[_Batch] = []
    sizes: List[int] = []
    pages = []
    corpus_docs: List[Tuple[str, Tuple[int, ...], FrozenSet[int]]] = []
    corpus_numbers: List[int] = []  # the document number of each of corpus_docs
    metas: Dict[int, Tuple[Optional[str], Optional[str]]] = {}
    for (a, b, items), result in results:
        texts: List[Tuple[str, str, Text]] = []
        for n, ((source, kind, item), (text, keys, size, meta, ckeys)) in enumerate(zip(items, result), a):
            if text is not None:  # an HTML page: pass 2 cleans its extraction
                metas[n] = meta
                item = spool.add(text) if spool is not None else text
            texts.append((source, kind, item))
            if keys is not None:
                pages.append((source, *keys))
            if ckeys is not None:
                corpus_docs.append((source, *ckeys))
                corpus_numbers.append(n)
            sizes.append(size)
        out.append((a, b, texts))
        progress("learn", b, total)
    if spool is not None:
        spool.flush()
    learned = learn_template_keys(pages, config)
    for source, (lines, n) in learned.items():
        log.info("source %s: %d template lines learned from %d pages", source, len(lines), n)
    boilerplate = learn_corpus_keys(corpus_docs, config)
    # Only the documents that carry a learned line are split and keyed again in pass 2.
    carriers = frozenset(n for n, (_, _, ckeys) in zip(corpus_numbers, corpus_docs) if not boilerplate.keys().isdisjoint(ckeys))
    if boilerplate:
        log.info("corpus: %d boilerplate lines learned across %d documents, on %d of them", len(boilerplate),
                 len(corpus_docs), len(carriers))
    return out, sizes, learned, metas, boilerplate, carriers


def _prepare(documents: Iterable[Document], config: Config, progress: Progress,
             pool: Optional[ProcessPoolExecutor] = None, spool: Optional[Spool] = None,
             with_fingerprints: bool = True) -> _Prepared:
    """Both passes, in worker processes when the input is large enough.

    With ``pool`` and ``spool`` (a streamed run: workers forked before reading), documents
    are read into the spool chunk by chunk while the workers start on pass 1; otherwise
    the documents are listed first and jobs carry their texts.  Without
    ``config.keep_input_text`` the returned documents have empty texts; without
    ``with_fingerprints`` only the cleaning is done (the arrays stay empty).
    """
    docs: List[Document] = []
    started = time.perf_counter()
    with ExitStack() as stack:
        if spool is not None:
            pool, batches = _pooled(pool, _spooled(documents, docs, spool, config))
            learn: Optional[FrozenSet[str]] = None  # not known before everything is read
            first_pass = True
        else:
            docs = list(documents)
            ranges = _chunks(docs)
            if pool is None:
                pool = stack.enter_context(executor(min(config.processes, len(ranges))))
            elif len(ranges) < 2:
                pool = None  # one chunk: not worth a worker
            batches = [(a, b, [(d.source, d.kind, d.text) for d in docs[a:b]]) for a, b in ranges]
            learn, first_pass = first_pass_plan(Counter(doc.source for doc in docs),
                                                any(doc.kind == "html" for doc in docs), config)
            if not config.keep_input_text:
                docs = [_without_text(d) for d in docs]
        fd = spool.fd if spool is not None else None
        sizes: Optional[List[int]] = None
        learned: Dict[str, Tuple[FrozenSet[int], int]] = {}
        metas: Dict[int, Tuple[Optional[str], Optional[str]]] = {}  # HTML pages' own (title, url)
        boilerplate: Dict[int, CorpusLine] = {}
        carriers: FrozenSet[int] = frozenset()  # the documents with a learned corpus line
        if first_pass:
            batches, sizes, learned, metas, boilerplate, carriers = _learn(pool, batches, spool, learn, config, progress)
            log.info("read and learn: %d documents in %.1f s", len(docs), time.perf_counter() - started)
        jobs = [
            (a, b, submit(pool, _clean_job, (fd, [(source, text) for source, _, text in items],
                                             {s: learned[s] for s in {s for s, _, _ in items} if s in learned},
                                             boilerplate, frozenset(n - a for n in range(a, b) if n in carriers),
                                             config, with_fingerprints)))
            for a, b, items in batches
        ]
        del batches
        prepared = assemble(docs, metas, sizes, _taken(jobs), config, progress)
    log.info("clean and fingerprint: %d documents, %d paragraphs; %.1f s since reading began", len(docs),
             len(prepared.paragraphs), time.perf_counter() - started)
    return prepared


def _taken(jobs: list) -> Iterator[Tuple[int, int, _Cleaned]]:
    """Each job's ``(start, end, result)`` in order, the job let go once its result is taken."""
    for k, (a, b, future) in enumerate(jobs):
        result = future.result()
        jobs[k] = None
        yield a, b, result


def assemble(docs: Sequence[Document], metas: Mapping[int, Tuple[Optional[str], Optional[str]]],
             sizes: Optional[Sequence[int]], outputs: Iterable[Tuple[int, int, _Cleaned]], config: Config,
             progress: Progress) -> _Prepared:
    """The prepared corpus of pass 2's outputs, chunk by chunk in input order (``(start,
    end, _clean_job result)``): cleaned documents (``metas``: HTML pages' own title and url;
    ``sizes``: each document's size in UTF-8 bytes, when pass 1 measured it), paragraphs and
    the paragraphs' fingerprints.  The Spark engine (``dedupe.spark``) calls this with what
    its executors sent."""
    cleaned: List[CleanedDocument] = []
    paragraphs: List[Paragraph] = []
    values, offsets, live, packed, counts = [], [np.zeros(1, np.int64)], [], [], []
    keys: List[List[np.ndarray]] = [[] for _ in range(config.bands)]
    bytes_in = fingerprinted = 0
    for a, b, (docs_out, fp) in outputs:
        for n, (removals, parts, size) in enumerate(docs_out, a):
            doc = docs[n] if n not in metas else with_page_metadata(docs[n], *metas[n])
            bytes_in += size if sizes is None else sizes[n]
            cleaned.append(CleanedDocument(document=doc, paragraphs=parts,
                                           removals=tuple(Removal(*r) for r in removals)))
            doc_id, source = doc.id, doc.source
            paragraphs.extend([Paragraph(doc_id, i, t, source) for i, t in enumerate(parts)])
        if fp is not None:
            v, o, kk, lv, (c_packed, c_counts) = fp
            c_packed += np.uint64(fingerprinted)  # the chunk's paragraphs follow those before (low bits)
            packed.append(c_packed)
            counts.append(c_counts)
            fingerprinted += lv.size
            values.append(v)
            if o.size > 1:  # a chunk or document without paragraphs adds no offset
                offsets.append(o[1:] + offsets[-1][-1])
            for band, column in enumerate(kk):
                keys[band].append(column)
            live.append(lv)
        progress("clean", b, len(docs))
    return _Prepared(
        cleaned, paragraphs,
        np.concatenate(values) if values else np.zeros(0, np.uint32),
        np.concatenate(offsets),
        keys,  # per band, per chunk: ``candidates.buckets`` consumes one band at a time
        np.concatenate(live) if live else np.zeros(0, bool),
        (np.concatenate(packed) if packed else np.zeros(0, np.uint64), np.concatenate(counts) if counts else np.zeros(0, np.int32)),
        bytes_in,
    )


def clean_documents(docs: Sequence[Document], config: Config, progress: Progress = _no_progress) -> List[CleanedDocument]:
    """Clean every document, learning each source's template lines from all of its documents first."""
    return _prepare(list(docs), replace(config, keep_input_text=True), progress, with_fingerprints=False).cleaned


# --- collapse ------------------------------------------------------------------------------


class _Check:
    """The verification rule on paragraph-index pairs (an ``ok`` mask), over the flat shingle
    sets until ``release`` lets them go (``build_stories`` does, once it has what it needs)."""

    def __init__(self, values: np.ndarray, offsets: np.ndarray, config: Config):
        self.values, self.offsets, self.config = values, offsets, config

    def __call__(self, pairs: np.ndarray) -> np.ndarray:
        return candidates.verify_flat(pairs, self.values, self.offsets, self.config)[0]

    def release(self) -> None:
        self.values = None


def band_matches(shared: list, n: int, values: np.ndarray, offsets: np.ndarray, config: Config
                 ) -> Tuple[candidates.Matches, np.ndarray]:
    """``(matches, labels)`` of the band candidates (``shared``: ``candidates.buckets``):
    every paragraph's earliest verified match, plus the verified pairs that join what those
    leave apart, and the connected components of both (``dedupe.candidates``).  A bucket's
    paragraphs are one component of candidates, so this runs on any set of whole
    components alone (the Spark engine runs it a partition of components at a time)."""
    first = candidates.earliest_matches(shared, n, values, offsets, config)
    labels = connected_components(n, first.pairs)
    more = candidates.cross_matches(shared, labels, values, offsets, config, first)
    if len(more):
        labels = connected_components(n, np.concatenate([first.pairs, more.pairs]))
    return candidates.Matches.join(first, more), labels


def _match(prepared: _Prepared, config: Config) -> Tuple[candidates.Matches, np.ndarray]:
    """``(matches, labels)``: the verified matches of prepared paragraphs, sorted by (a, b),
    and the connected components of them (each paragraph's smallest partner)."""
    n = len(prepared.paragraphs)
    started = time.perf_counter()
    shared = candidates.buckets(prepared.keys, prepared.live)
    prepared.keys = None  # the buckets hold what is needed of them
    packed, key_counts = prepared.contained
    prepared.contained = None
    # Abridged and extended copies: shared sampled shingles (see Config.containment_sample).
    extra = [candidates.packed_buckets(packed, config)] if packed.size else []
    del packed
    bucketed = time.perf_counter()
    found, labels = band_matches(shared, n, prepared.values, prepared.offsets, config)
    del shared
    contained = candidates.containment_cross(extra, key_counts, labels, prepared.values, prepared.offsets, config, found)
    del extra, key_counts
    log.info("match: %d paragraphs bucketed in %.1f s; %d + %d verified pairs in %.1f s", n, bucketed - started,
             len(found), len(contained), time.perf_counter() - bucketed)
    if len(contained):
        labels = connected_components(n, np.concatenate([found.pairs, contained.pairs]))
    matches = candidates.Matches.join(found, contained).in_order()
    matches.failed = None  # only needed while matching
    return matches, labels


def _collapse(prepared: _Prepared, config: Config, progress: Progress, matched=None):
    """Verified matches, clusters and stories of prepared paragraphs.

    Matches: ``_match`` (or ``matched``, its ``(matches, labels)`` found elsewhere: the Spark
    engine's executors); clusters are the connected components of every verified candidate
    pair, split into stars (``canonical.verified_stars``).
    """
    paragraphs = prepared.paragraphs
    n = len(paragraphs)
    matches, labels = matched if matched is not None else _match(prepared, config)
    prepared.keys = prepared.contained = None
    progress("match", n, n)
    started = time.perf_counter()
    sizes = np.diff(prepared.offsets)
    check = _Check(prepared.values, prepared.offsets, config)
    prepared.values = None  # the check holds the shingle sets until the stories release them
    components = labels
    known = (matches.pairs[:, 0] << 32) | matches.pairs[:, 1] if len(matches) else None  # sorted: matches are in (a, b) order
    labels = verified_stars(labels, paragraphs, sizes, check, config, known)  # a chain is not one cluster
    docs = prepared.cleaned
    doc_ids = [c.document.id for c in docs]
    doc_stories, story_of = link_documents(doc_ids, paragraphs, sizes, components, labels, config)
    labels = stars_by_story(labels, story_of, paragraphs, sizes, check, config, known)  # each shown once
    known = story_of = None
    sizes = sizes.tolist()
    clusters, cluster_of = build_clusters(labels, paragraphs, sizes, config)
    clustered = time.perf_counter()
    stories = build_stories(doc_ids, [c.document.source for c in docs], paragraphs, sizes,
                            clusters, cluster_of, config, [c.document.title for c in docs], check, components,
                            document_stories=doc_stories)
    check.release()
    log.info("stories: %d clusters in %.1f s, %d stories in %.1f s", len(clusters), clustered - started,
             len(stories), time.perf_counter() - clustered)
    progress("stories", len(stories), len(stories))
    return paragraphs, matches, clusters, stories


def collapse(docs: Sequence[CleanedDocument], config: Config, progress: Progress = _no_progress):
    """Paragraphs, verified matches, clusters and stories of cleaned documents."""
    paragraphs: List[Paragraph] = list(paragraphs_of(docs))
    progress("fingerprint", 0, len(paragraphs))
    values, offsets, keys, live, contained = _fingerprint([p.text for p in paragraphs], config)
    progress("fingerprint", len(paragraphs), len(paragraphs))
    return _collapse(_Prepared(list(docs), paragraphs, values, offsets, keys, live, contained), config, progress)


def all_matches(paragraphs: Sequence[Paragraph], config: Config, containment: bool = True) -> List[Match]:
    """Every verified candidate pair of ``paragraphs``, sorted by (a, b): band candidates
    and (unless ``containment`` is False) containment candidates.

    ``collapse`` keeps only the matches clustering needs (a cluster of n copies has
    n(n-1)/2 pairs); a report that names every pair of near-duplicate paragraphs between
    documents (``dedupe check``) asks for all of them, on a folder-sized input.
    """
    sets, sigs = fingerprint.fingerprint_batch([p.text for p in paragraphs], config)
    pairs = candidates.candidate_pairs(sigs, config)
    if containment:
        pairs = np.concatenate([pairs, candidates.containment_pairs(*candidates.flat_sets(sets), config)])
    return candidates.verify(pairs, sets, config)


def local_matches(prepared: _Prepared, config: Config) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pairs (k, 2), jaccard, containment)``: every verified pair of prepared paragraphs
    whose candidacy depends on the two paragraphs alone: a shared LSH band, or at least half
    of the containment keys of the one with fewer (``candidates.containment_pairs_exact``,
    no bucket cap).  Sorted by (a, b); nothing of ``prepared`` is changed.

    ``dedupe check`` reports every such pair; that each depends on its two paragraphs only is
    what lets its cache answer for a new file without the rest of the corpus."""
    ids = np.flatnonzero(prepared.live).astype(np.int64)
    found = []
    for band in prepared.keys:
        keys = np.concatenate(band) if band else np.zeros(0, np.uint32)
        found.append(candidates._bucket_pairs(keys[ids], ids))
    packed, counts = prepared.contained
    if packed.size:
        key = (packed >> np.uint64(32)).astype(np.uint32)  # owner ascending, keys ascending within (containment_keys)
        found.append(candidates.containment_pairs_exact(key, counts))
    keys = sorted_unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    pairs = np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1).astype(np.int64).reshape(-1, 2)
    ok, jac, con = candidates.verify_flat(pairs, prepared.values, prepared.offsets, config)
    return pairs[ok], jac[ok], con[ok]


def _utf8_size(story) -> int:
    """Bytes of ``story.text`` in UTF-8, without building it (ASCII paragraphs: their length)."""
    size = 2 * (len(story.paragraphs) - 1) if story.paragraphs else 0
    for p in story.paragraphs:
        size += len(p.text) if p.text.isascii() else len(p.text.encode("utf-8"))
    return size


def _warn_unknown_priority_sources(cleaned: Sequence[CleanedDocument], config: Config) -> None:
    """A ``source_priority`` name that no document carries is most likely a typo: say so
    (sources are known only once the input is read, so it cannot be a ConfigError)."""
    if not config.source_priority or not cleaned:
        return
    seen = {c.document.source for c in cleaned}
    missing = [s for s in config.source_priority if s not in seen]
    if missing:
        log.warning("source priority: no document has source %s (sources seen: %s)", ", ".join(map(repr, missing)),
                    ", ".join(sorted(seen)[:10]) + (", ..." if len(seen) > 10 else ""))


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
    # Input still to be read (a generator, say from read_paths): open the spool and start
    # the workers first, while this process is small (they do not each carry a
    # copy-on-write corpus), then read the input into the spool while they work.
    streamed = not isinstance(documents, (Sequence, Set)) and config.processes > 1
    with collector_paused():
        with ExitStack() as stack:
            spool = stack.enter_context(Spool()) if streamed and can_fork() else None
            pool = stack.enter_context(executor(config.processes)) if streamed else None
            docs = as_documents(documents, config, check_text=spool is None)  # the spool checks its own
            prepared = _prepare(docs, config, progress, pool, spool)
        return run_prepared(prepared, config, progress, started)


def run_prepared(prepared: _Prepared, config: Config, progress: Progress, started: float, matched=None) -> Result:
    """The collapse of prepared documents, as ``run`` returns it (``dedupe.cache`` prepares
    from its cache; ``started``: ``time.perf_counter()`` when the run began; ``matched``:
    the matches and their components when found elsewhere, see ``_collapse``)."""
    with collector_paused():
        cleaned = prepared.cleaned
        count = len(cleaned)
        paragraphs, matches, clusters, stories = _collapse(prepared, config, progress, matched)
    removals = Counter(r.rule for c in cleaned for r in c.removals)
    _warn_unknown_priority_sources(cleaned, config)
    report = Report(
        documents=count,
        paragraphs=len(paragraphs),
        removals_by_rule=tuple(sorted(removals.items())),
        duplicate_paragraphs=sum(len(c.members) for c in clusters) - len(clusters),
        clusters=len(clusters),
        stories=len(stories),
        bytes_in=prepared.bytes_in,
        bytes_out=sum(_utf8_size(s) for s in stories),
        seconds=round(time.perf_counter() - started, 3),
    )
    return Result(documents=tuple(cleaned), paragraphs=tuple(paragraphs), matches=matches,
                  clusters=tuple(clusters), stories=tuple(stories), report=report)
