"""The orchestrator: the only module that knows the order of the stages.

read -> clean (HTML extraction, rules, learned per-source lines, content filter)
-> paragraphs -> fingerprint -> candidates + verify -> cluster -> canonical -> Result.
Writing files is ``dedupe.write``'s job; the CLI only parses arguments around this.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import candidates, fingerprint
from .canonical import build_clusters, build_stories
from .clean.cleaner import clean_document, extract, split_lines
from .clean.learned import learn_templates
from .cluster import connected_components
from .config import Config
from .model import CleanedDocument, Document, Paragraph, Report, Result
from .paragraphs import paragraphs_of
from .read import as_documents

log = logging.getLogger(__name__)

#: progress(stage, done, total): called as work advances; ``total`` may be None.
Progress = Callable[[str, int, Optional[int]], None]


def _no_progress(stage: str, done: int, total: Optional[int]) -> None:
    pass


def clean_documents(docs: Sequence[Document], config: Config, progress: Progress = _no_progress) -> List[CleanedDocument]:
    """Clean every document, learning each source's template lines from all of its documents first."""
    extracted = []
    for n, doc in enumerate(docs, 1):
        extracted.append(extract(doc))
        progress("extract", n, len(docs))
    learned = learn_templates(((doc.source, split_lines(text)) for doc, text in zip(docs, extracted)), config)
    for source, (lines, pages) in learned.items():
        log.info("source %s: %d template lines learned from %d pages", source, len(lines), pages)
    cleaned = []
    for n, (doc, text) in enumerate(zip(docs, extracted), 1):
        template, pages = learned.get(doc.source, (frozenset(), 0))
        note = f"line repeated on many of the {pages} pages of source {doc.source!r} (site template)"
        cleaned.append(clean_document(doc, config, template, note, text=text))
        progress("clean", n, len(docs))
    return cleaned


def collapse(docs: Sequence[CleanedDocument], config: Config, progress: Progress = _no_progress):
    """Paragraphs, verified matches, clusters and stories of cleaned documents."""
    paragraphs: List[Paragraph] = list(paragraphs_of(docs))
    progress("fingerprint", 0, len(paragraphs))
    hash_sets, sigs = fingerprint.fingerprint_batch([p.text for p in paragraphs], config)
    progress("fingerprint", len(paragraphs), len(paragraphs))
    pairs = candidates.candidate_pairs(sigs, config)
    matches = candidates.verify(pairs, hash_sets, config)
    progress("match", len(paragraphs), len(paragraphs))
    edges = np.array([(m.a, m.b) for m in matches], dtype=np.int64).reshape(-1, 2)
    labels = connected_components(len(paragraphs), edges)
    sizes = [len(h) for h in hash_sets]
    clusters, cluster_of = build_clusters(labels, paragraphs, sizes, config)
    doc_ids = [c.document.id for c in docs]
    stories = build_stories(doc_ids, [c.document.source for c in docs], paragraphs, sizes, clusters, cluster_of, config)
    progress("stories", len(stories), len(stories))
    return paragraphs, matches, clusters, stories


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
    docs = list(as_documents(documents, config))
    cleaned = clean_documents(docs, config, progress)
    paragraphs, matches, clusters, stories = collapse(cleaned, config, progress)
    removals = Counter(r.rule for c in cleaned for r in c.removals)
    report = Report(
        documents=len(docs),
        paragraphs=len(paragraphs),
        removals_by_rule=tuple(sorted(removals.items())),
        duplicate_paragraphs=sum(len(c.members) for c in clusters) - len(clusters),
        clusters=len(clusters),
        stories=len(stories),
        bytes_in=sum(len(d.text.encode("utf-8")) for d in docs),
        bytes_out=sum(len(s.text.encode("utf-8")) for s in stories),
        seconds=round(time.perf_counter() - started, 3),
    )
    return Result(documents=tuple(cleaned), paragraphs=tuple(paragraphs), matches=tuple(matches),
                  clusters=tuple(clusters), stories=tuple(stories), report=report)
