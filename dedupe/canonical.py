"""Canonical stage: clusters of near-duplicate paragraphs -> canonical paragraphs and stories.

* A cluster is a connected component (of verified matches) with two or more paragraphs.
  Its canonical paragraph follows ``Config.canonical_policy``: "longest" takes the most
  complete variant (most shingles, then most characters, then the earliest);
  "source-priority" takes the variant of the first listed source that carries one.
* Documents are one story when they share at least ``story_min_shared`` clusters, or
  when shared clusters make at least ``story_min_share`` of the smaller document's
  paragraphs; stories are the connected components of that relation.  Only clusters of
  paragraphs with at least ``story_min_shingles`` shingles count ("Yes.", a name or a
  section label recurs on unrelated pages: it is not shared reporting).
* A story's text: the paragraphs of its most complete member in reading order, then every
  other member's paragraphs that are not yet there, each inserted after the nearest
  preceding paragraph of that member that is; every cluster appears once, as the
  canonical variant among the story's members.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import repeat
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .arrays import sorted_unique
from .cluster import connected_components
from .config import Config
from .model import Cluster, Paragraph, Story, StoryParagraph


def _best(candidates: Sequence[int], paragraphs: Sequence[Paragraph], sizes: Sequence[int], config: Config) -> int:
    """Index of the canonical paragraph among candidate paragraph indices."""
    if config.canonical_policy == "source-priority":
        rank = {source: r for r, source in enumerate(config.source_priority)}
        ranked = [i for i in candidates if paragraphs[i].source in rank]
        if ranked:
            best = min(rank[paragraphs[i].source] for i in ranked)
            candidates = [i for i in ranked if rank[paragraphs[i].source] == best]
    return min(candidates, key=lambda i: (-sizes[i], -len(paragraphs[i].text), i))


def _longest(members: np.ndarray, group: np.ndarray, counts: np.ndarray, paragraphs: Sequence[Paragraph],
             sizes: np.ndarray) -> np.ndarray:
    """The "longest" canonical of every group at once: ``_best`` without a key call per member.

    ``members`` are paragraph indices grouped (``group``: the group of each, groups in
    order, ``counts`` members each); text lengths are looked up only for the members that
    tie on the most shingles.
    """
    first = np.cumsum(counts) - counts
    size = sizes[members]
    most = np.maximum.reduceat(size, first) if size.size else size
    tied = size == np.repeat(most, counts)
    cand, cgroup = members[tied], group[tied]
    length = np.fromiter((len(paragraphs[i].text) for i in cand.tolist()), dtype=np.int64, count=cand.size)
    order = np.lexsort((cand, -length, cgroup))  # by group, then longest text, then earliest
    cgroup = cgroup[order]
    head = np.concatenate(([True], cgroup[1:] != cgroup[:-1])) if cgroup.size else np.zeros(0, bool)
    return cand[order][head]


def build_clusters(labels: np.ndarray, paragraphs: Sequence[Paragraph], sizes: Sequence[int],
                   config: Config) -> Tuple[List[Cluster], Dict[int, str]]:
    """Clusters (two or more members) in order of their first paragraph, and paragraph -> cluster id."""
    labels = np.asarray(labels, dtype=np.int64)
    order = np.argsort(labels, kind="stable")  # by label (a component's smallest member), members in order
    ordered = labels[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]))) if labels.size else order
    counts = np.diff(np.append(starts, labels.size))
    several = counts >= 2
    starts, counts = starts[several], counts[several]
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    members = order[np.repeat(starts, counts) + within]
    flat = members.tolist()
    if config.canonical_policy == "longest":
        group = np.repeat(np.arange(counts.size), counts)
        canonical = _longest(members, group, counts, paragraphs, np.asarray(sizes, dtype=np.int64)).tolist()
    clusters: List[Cluster] = []
    cluster_of: Dict[int, str] = {}
    at = 0
    for k, count in enumerate(counts.tolist()):
        own = tuple(flat[at:at + count])
        at += count
        cid = f"c{k + 1:06d}"
        best = canonical[k] if config.canonical_policy == "longest" else _best(own, paragraphs, sizes, config)
        clusters.append(Cluster(id=cid, members=own, canonical=best))
        cluster_of.update(dict.fromkeys(own, cid))
    return clusters, cluster_of


#: Document pairs counted per step of ``_linked_documents``: bounds its memory (~50 MB)
#: when a paragraph republished by hundreds of outlets links every pair of them.  (1 << 22
#: made the peak of a 1M-paragraph run ~190 MB higher, and was no faster.)
_PAIRS_PER_STEP = 1 << 20


def _linked_documents(doc_of: np.ndarray, ndocs: int, clusters: Sequence[Cluster], config: Config,
                      shingles: Sequence[int]) -> np.ndarray:
    """Story label (smallest document position) per document; ``doc_of``: each paragraph's document position.

    ``shingles``: each paragraph's shingle count.  A cluster whose longest member has fewer than
    ``config.story_min_shingles`` is not evidence of shared reporting and links nothing.

    Counts, for every pair of documents, the clusters they share, a batch of first
    documents at a time: every pair is counted in the step of its first document, so its
    count is complete there and the pairs that do not link are dropped at once.
    """
    n_paragraphs = np.bincount(doc_of, minlength=ndocs)
    if config.story_min_shingles > 0:
        clusters = [c for c in clusters if max(shingles[m] for m in c.members) >= config.story_min_shingles]
    counts = [len(c.members) for c in clusters]
    members = np.fromiter((i for c in clusters for i in c.members), dtype=np.int64, count=sum(counts))
    cluster = np.repeat(np.arange(len(clusters), dtype=np.int64), counts)
    # (cluster, document) memberships, sorted by cluster then document, each once.
    key = sorted_unique(cluster * ndocs + doc_of[members])
    cl, dc = key // ndocs, key % ndocs
    first = np.flatnonzero(np.concatenate(([True], cl[1:] != cl[:-1]))) if key.size else np.zeros(0, np.int64)
    length = np.diff(np.append(first, key.size))
    start = np.repeat(first, length)
    after = start + np.repeat(length, length) - np.arange(key.size) - 1  # later documents in the same cluster
    by_doc = np.argsort(dc, kind="stable")
    cum = np.cumsum(after[by_doc])
    links: List[np.ndarray] = []
    lo = 0
    while lo < by_doc.size:
        hi = int(np.searchsorted(cum, (cum[lo - 1] if lo else 0) + _PAIRS_PER_STEP, side="right"))
        hi = max(hi, lo + 1)
        while hi < by_doc.size and dc[by_doc[hi]] == dc[by_doc[hi - 1]]:
            hi += 1  # a document's memberships stay in one step
        rows = by_doc[lo:hi]
        count = after[rows]
        total = int(count.sum())
        if total:
            partner = np.repeat(rows + 1 - (np.cumsum(count) - count), count) + np.arange(total)
            pair = np.repeat(dc[rows], count) * ndocs + dc[partner]
            pair, shared = sorted_unique(pair, counts=True)
            a, b = pair // ndocs, pair % ndocs
            smaller = np.minimum(n_paragraphs[a], n_paragraphs[b])
            ok = (shared >= config.story_min_shared) | (shared >= config.story_min_share * smaller)
            links.append(np.stack([a[ok], b[ok]], axis=1))
        lo = hi
    edges = np.concatenate(links) if links else np.zeros((0, 2), np.int64)
    return connected_components(ndocs, edges)


def build_stories(doc_ids: Sequence[str], doc_sources: Sequence[str], paragraphs: Sequence[Paragraph], sizes: Sequence[int],
                  clusters: Sequence[Cluster], cluster_of: Dict[int, str], config: Config) -> List[Story]:
    """Stories in order of their first document; every document is in exactly one story."""
    ndocs = len(doc_ids)
    position = {doc_id: k for k, doc_id in enumerate(doc_ids)}
    doc_of = np.fromiter((position[p.doc_id] for p in paragraphs), dtype=np.int64, count=len(paragraphs))
    labels = _linked_documents(doc_of, ndocs, clusters, config, sizes)
    order = np.argsort(doc_of, kind="stable")  # paragraphs by document, in reading order
    bounds = np.searchsorted(doc_of[order], np.arange(ndocs + 1)).tolist()
    flat = order.tolist()
    by_doc: Dict[str, List[int]] = {doc_ids[k]: flat[bounds[k]:bounds[k + 1]] for k in range(ndocs)}
    members_of: Dict[int, List[int]] = defaultdict(list)
    for k, label in enumerate(labels.tolist()):
        members_of[label].append(k)

    by_id = {c.id: c for c in clusters}

    def best(carriers: List[int], k) -> int:
        if len(carriers) == 1:
            return carriers[0]
        if config.canonical_policy == "longest" and isinstance(k, str) and len(carriers) == len(by_id[k].members):
            return by_id[k].canonical  # the story carries the whole cluster: its canonical is known
        return _best(carriers, paragraphs, sizes, config)

    # One shared 1-tuple per document id and per source (1M paragraphs: ~100 MB saved).
    single = {d: (d,) for d in doc_ids}
    single.update((s, (s,)) for s in set(doc_sources))

    cluster_get = cluster_of.get
    stories: List[Story] = []
    for label in sorted(members_of):
        docs = [doc_ids[k] for k in members_of[label]]
        if len(docs) == 1:  # most stories: one document, each paragraph its own canonical
            doc = docs[0]
            own = by_doc[doc]
            keys = list(map(cluster_get, own))
            named = [k for k in keys if k is not None]
            if len(set(named)) == len(named):  # no cluster twice in the document
                source = doc_sources[members_of[label][0]]
                one_doc, one_source = single[doc], single[source]
                texts = [paragraphs[i].text for i in own]
                stories.append(Story(id=f"s{len(stories) + 1:06d}", documents=one_doc, sources=one_source,
                                     paragraphs=tuple(map(StoryParagraph, texts, keys, repeat(one_doc),
                                                          repeat(one_source), repeat(doc)))))
                continue
        rank = {d: r for r, d in enumerate(docs)}
        key = cluster_of.get  # a cluster id, or the paragraph's own index for a lone paragraph
        base = max(docs, key=lambda d: (len(by_doc[d]), -rank[d]))
        order = [key(i, i) for i in by_doc[base]]
        carriers: Dict[object, List[int]] = defaultdict(list)
        for doc in docs:
            for i in by_doc[doc]:
                carriers[key(i, i)].append(i)
        placed = set(order)
        for doc in docs:
            if doc == base:
                continue
            anchor = -1
            for i in by_doc[doc]:
                k = key(i, i)
                if k in placed:
                    anchor = order.index(k)
                    continue
                anchor += 1
                order.insert(anchor, k)
                placed.add(k)
        story_paragraphs = []
        for k in order:
            carried = carriers[k]
            chosen = paragraphs[best(carried, k)]
            if len(carried) == 1:
                carrying_docs, carrying_sources = single[chosen.doc_id], single[chosen.source]
            else:
                carrying_docs = tuple(sorted({paragraphs[i].doc_id for i in carried}, key=rank.__getitem__))
                carrying_sources = tuple(sorted({paragraphs[i].source for i in carried}))
            story_paragraphs.append(StoryParagraph(
                text=chosen.text,
                cluster=k if isinstance(k, str) else None,
                documents=carrying_docs,
                sources=carrying_sources,
                chosen_from=chosen.doc_id,
            ))
        sources = tuple(sorted({doc_sources[k] for k in members_of[label]}))
        stories.append(Story(id=f"s{len(stories) + 1:06d}", documents=tuple(docs), sources=sources,
                             paragraphs=tuple(story_paragraphs)))
    return stories
