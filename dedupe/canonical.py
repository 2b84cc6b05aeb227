"""Canonical stage: clusters of near-duplicate paragraphs -> canonical paragraphs and stories.

* A cluster is a star of verified matches: its canonical paragraph follows
  ``Config.canonical_policy`` ("longest" takes the most complete variant: most shingles,
  then most characters, then the earliest; "source-priority" takes the variant of the
  first listed source that carries one), and every member verifies directly against it.
  A connected component of matches that is a chain is split (``verified_stars``).
* Documents are one story when they share at least ``story_min_shared`` components of
  matches, or when those make at least ``story_min_share`` of the smaller document's
  paragraphs; stories are the connected components of that relation.  Only components of
  paragraphs with at least ``story_min_shingles`` shingles count ("Yes.", a name or a
  section label recurs on unrelated pages: it is not shared reporting).
* A story's text: the paragraphs of its base (the member with the most paragraphs) in
  reading order, then every other member's paragraphs that are not yet there, each after
  the paragraph it follows in its own document, never before the base's lede (``_merge``);
  every cluster appears once, as the variant its members in the story verify against.
  Members' headlines (``headline``) are the story's ``titles``, not its text.
"""
from __future__ import annotations

import re
from collections import defaultdict
from itertools import repeat
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .arrays import sorted_unique
from .cluster import connected_components
from .config import Config
from .model import Cluster, Paragraph, Story, StoryParagraph, StoryTitle
from .clean.stopwords import word_count
from .normalize import normalize_for_hashing


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


def _groups(labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(members, group)``: the paragraphs of every label held by two or more, grouped by
    label (groups numbered in label order, members ascending)."""
    order = np.argsort(labels, kind="stable")
    lab = labels[order]
    starts = np.flatnonzero(np.concatenate(([True], lab[1:] != lab[:-1]))) if lab.size else order
    counts = np.diff(np.append(starts, lab.size))
    several = np.repeat(counts >= 2, counts)
    return order[several], np.repeat(np.arange(int((counts >= 2).sum()), dtype=np.int64), counts[counts >= 2])


def _canonicals(members: np.ndarray, group: np.ndarray, paragraphs: Sequence[Paragraph], sizes: Sequence[int],
                config: Config) -> np.ndarray:
    """The canonical of every group (``members`` grouped, ``group`` numbering them in order) by
    ``config.canonical_policy``: ``_longest`` at once, or ``_best`` a group at a time."""
    counts = np.bincount(group) if group.size else np.zeros(0, np.int64)
    if config.canonical_policy == "longest":
        return _longest(members, group, counts, paragraphs, np.asarray(sizes, dtype=np.int64))
    flat, at = members.tolist(), (np.cumsum(counts) - counts).tolist()
    return np.array([_best(flat[a:a + c], paragraphs, sizes, config) for a, c in zip(at, counts.tolist())],
                    dtype=np.int64)


def verified_stars(labels: np.ndarray, paragraphs: Sequence[Paragraph], sizes: np.ndarray, check: "Check",
                   config: Config, known: Optional[np.ndarray] = None) -> np.ndarray:
    """``labels`` (connected components of verified matches) with every component split so
    that each member verifies directly against its group's canonical.

    A component can be a chain (A~B, B~C, A and C far apart): its canonical then stands
    for members it does not match.  The members that fail against the canonical form a
    group of their own, whose canonical they are checked against in turn, until every
    group is a star.  A group keeps the smallest member as its label, as components do.
    ``check``: the verification rule on paragraph-index pairs (an ``ok`` mask); ``known``:
    pairs already verified, as sorted keys ``lo << 32 | hi``, which need no second check.
    """
    labels = np.array(labels, dtype=np.int64)
    pending = np.arange(labels.size, dtype=np.int64)
    while pending.size:
        pos, group = _groups(labels[pending])
        members = pending[pos]
        if not members.size:
            break
        canon = _canonicals(members, group, paragraphs, sizes, config)
        against = canon[group]
        other = members != against
        m, c = members[other], against[other]
        lo, hi = np.minimum(m, c), np.maximum(m, c)
        ok = np.zeros(m.size, dtype=bool)
        if known is not None and known.size and m.size:
            keys = (lo << 32) | hi
            at = np.minimum(np.searchsorted(known, keys), known.size - 1)
            ok = known[at] == keys
        todo = np.flatnonzero(~ok)
        if todo.size:
            ok[todo] = check(np.stack([lo[todo], hi[todo]], axis=1))
        bad = np.zeros(members.size, dtype=bool)
        bad[np.flatnonzero(other)[~ok]] = True
        if not bad.any():
            break
        # Each group splits into the members that verify (with the canonical) and those that
        # fail; each part is labelled by its smallest member (one may be the group's old label).
        part = group * 2 + bad
        by_part = np.lexsort((members, part))
        sp = part[by_part]
        pstarts = np.flatnonzero(np.concatenate(([True], sp[1:] != sp[:-1])))
        labels[members[by_part]] = np.repeat(members[by_part][pstarts], np.diff(np.append(pstarts, sp.size)))
        pending = members[bad]
    return labels


def stars_by_story(labels: np.ndarray, story: np.ndarray, paragraphs: Sequence[Paragraph], sizes: Sequence[int],
                   check: "Check", config: Config, known: Optional[np.ndarray] = None) -> np.ndarray:
    """Star ``labels`` (``verified_stars``) with what a story cannot show as one split off.

    ``story``: each paragraph's story.  A story that carries part of a cluster whose
    canonical lies in another story shows that part as one variant, its best; members of
    the part that do not verify against that variant (they matched the canonical, a longer
    paragraph holding both, and not each other) would be shown as the same cluster again.
    Each such part is split into stars (``verified_stars``): the star of the part's best
    stays in the cluster, the others become clusters of their own.  Every group is then
    labelled by its smallest member.  ``check``, ``known``: as for ``verified_stars``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    members, group = _groups(labels)
    if not members.size:
        return labels
    canon = _canonicals(members, group, paragraphs, sizes, config)
    apart = story[members] != story[canon[group]]
    if not apart.any():
        return labels
    m, g = members[apart], group[apart]
    order = np.lexsort((m, story[m], g))  # parts: by cluster, then story, members ascending
    m, g = m[order], g[order]
    new = np.concatenate(([True], (g[1:] != g[:-1]) | (story[m][1:] != story[m][:-1])))
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, m.size))
    part = np.repeat(np.arange(starts.size), lengths)
    pre = np.arange(labels.size, dtype=np.int64)  # everything else alone: left as it is
    pre[m] = np.repeat(m[starts], lengths)
    pre = verified_stars(pre, paragraphs, sizes, check, config, known)
    best = _canonicals(m, part, paragraphs, sizes, config)  # the variant the story shows for the part
    off = pre[m] != pre[best[part]]  # not in the star of that variant: a cluster of its own
    key = labels * 2
    key[m[off]] = pre[m[off]] * 2 + 1
    order = np.argsort(key, kind="stable")  # stable: each group's first entry is its smallest member
    sk = key[order]
    starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
    out = np.empty_like(labels)
    out[order] = np.repeat(order[starts], np.diff(np.append(starts, sk.size)))
    return out


def build_clusters(labels: np.ndarray, paragraphs: Sequence[Paragraph], sizes: Sequence[int],
                   config: Config) -> Tuple[List[Cluster], Dict[int, str]]:
    """Clusters (two or more members) in order of their first paragraph, and paragraph -> cluster id."""
    # by label (a component's smallest member), members in order
    members, group = _groups(np.asarray(labels, dtype=np.int64))
    counts = np.bincount(group) if group.size else np.zeros(0, np.int64)
    flat = members.tolist()
    canonical = _canonicals(members, group, paragraphs, sizes, config).tolist()
    clusters: List[Cluster] = []
    cluster_of: Dict[int, str] = {}
    at = 0
    for k, count in enumerate(counts.tolist()):
        own = tuple(flat[at:at + count])
        at += count
        cid = f"c{k + 1:06d}"
        clusters.append(Cluster(id=cid, members=own, canonical=canonical[k]))
        cluster_of.update(dict.fromkeys(own, cid))
    return clusters, cluster_of


#: Document pairs counted per step of ``_linked_documents``: bounds its memory (~50 MB)
#: when a paragraph republished by hundreds of outlets links every pair of them.  (1 << 22
#: made the peak of a 1M-paragraph run ~190 MB higher, and was no faster.)
_PAIRS_PER_STEP = 1 << 20


def link_documents(doc_ids: Sequence[str], paragraphs: Sequence[Paragraph], sizes: Sequence[int],
                   components: np.ndarray, stars: np.ndarray, config: Config) -> Tuple[np.ndarray, np.ndarray]:
    """``(story label per document, story label per paragraph)``: documents linked on the
    paragraphs' ``components`` of matches and their ``stars`` (``_linked_documents``)."""
    position = {doc_id: k for k, doc_id in enumerate(doc_ids)}
    doc_of = np.fromiter((position[p.doc_id] for p in paragraphs), dtype=np.int64, count=len(paragraphs))
    labels = _linked_documents(doc_of, len(doc_ids), [np.asarray(components), np.asarray(stars)], config, sizes)
    return labels, labels[doc_of]


def _linked_documents(doc_of: np.ndarray, ndocs: int, groupings: Sequence[np.ndarray], config: Config,
                      shingles: Sequence[int]) -> np.ndarray:
    """Story label (smallest document position) per document; ``doc_of``: each paragraph's document position.

    ``groupings``: one or more labellings of the paragraphs into groups of matches; two
    documents are linked when they share enough of any one labelling (see
    ``_document_links``).  The pipeline passes two, the last being the clusters:

    * the connected components of verified matches, each shared component counted once
      (a chain A~B~C is evidence that links A's and C's documents even where the text
      shows A and C apart, but one piece of evidence);
    * the clusters (stars: every member verifies against the canonical), each counted as
      the paragraphs each document has in it, the fewer of the two: a report printed as
      one long paragraph is the canonical of a star holding every paragraph that copies
      of it cut out, so two copies share one cluster but many paragraphs.
    """
    n_paragraphs = np.bincount(doc_of, minlength=ndocs)
    edges = [_document_links(doc_of, ndocs, labels, config, shingles, n_paragraphs, weighted=k == len(groupings) - 1)
             for k, labels in enumerate(groupings)]
    return connected_components(ndocs, np.concatenate(edges) if edges else np.zeros((0, 2), np.int64))


def _document_links(doc_of: np.ndarray, ndocs: int, labels: np.ndarray, config: Config,
                    shingles: Sequence[int], n_paragraphs: np.ndarray, weighted: bool = True) -> np.ndarray:
    """Pairs of document positions that share enough groups of ``labels``: at least
    ``story_min_shared``, or ``story_min_share`` of the paragraphs of the document with
    fewer shingles (the smaller).  ``weighted``: a shared group counts the fewer of the two
    documents' paragraphs in it, instead of once.

    ``shingles``: each paragraph's shingle count.  A group whose longest member has fewer
    than ``config.story_min_shingles`` is not evidence of shared reporting and links nothing.

    Counts, for every pair of documents, the groups they share, a batch of first
    documents at a time: every pair is counted in the step of its first document, so its
    count is complete there and the pairs that do not link are dropped at once.
    """
    doc_size = np.bincount(doc_of, weights=np.asarray(shingles, dtype=np.float64), minlength=ndocs)
    members, cluster = _groups(np.asarray(labels, dtype=np.int64))
    if config.story_min_shingles > 0 and members.size:
        size = np.asarray(shingles, dtype=np.int64)[members]
        first = np.flatnonzero(np.concatenate(([True], cluster[1:] != cluster[:-1])))
        enough = np.maximum.reduceat(size, first) >= config.story_min_shingles
        keep = np.repeat(enough, np.diff(np.append(first, members.size)))
        members, cluster = members[keep], cluster[keep]
    # (cluster, document) memberships, sorted by cluster then document, each once, with
    # how many of the document's paragraphs are in the cluster.
    key, mult = sorted_unique(cluster * ndocs + doc_of[members], counts=True)
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
            listed = np.repeat(dc[rows], count) * ndocs + dc[partner]
            pair, shared = sorted_unique(listed, counts=True)  # groups shared, once each
            if weighted:  # plus the paragraphs beyond the first on both sides (few pairs have any)
                extra = np.minimum(np.repeat(mult[rows], count), mult[partner]) - 1
                more = np.flatnonzero(extra)
                if more.size:
                    at = np.searchsorted(pair, listed[more])
                    shared = shared + np.bincount(at, weights=extra[more], minlength=pair.size).astype(shared.dtype)
            a, b = pair // ndocs, pair % ndocs
            # The smaller document is the one with less text (a report printed as one long
            # paragraph is not "smaller" than a ten-paragraph item it quotes once).
            smaller = np.where(doc_size[a] <= doc_size[b], n_paragraphs[a], n_paragraphs[b])
            ok = (shared >= config.story_min_shared) | (shared >= config.story_min_share * smaller)
            links.append(np.stack([a[ok], b[ok]], axis=1))
        lo = hi
    return np.concatenate(links) if links else np.zeros((0, 2), np.int64)


#: A document's first paragraph is its headline, when the document has no title of its own,
#: if it is worded like one: ``HEADLINE_WORDS`` words and at most 8x as many characters as
#: the most (a script without spaces counts characters) ...
HEADLINE_WORDS = (3, 20)
#: ... not ending like a sentence, a clause or a dateline ("BOSTON -", "Boston|"), with no
#: sentence break inside (a caption: "Hailed as a hero: ... Photo: Reuters" has one) ...
_NOT_A_HEADLINE = re.compile(r"[.!,;:\-|/\u2013\u2014\u2026\u3002\uff01\uff0c\uff1b\uff1a][\"'\u201d\u2019)\]]*\s*$"
                             r"|[.!?]\s+[A-Z]")
#: ... and not a credit or a time stamp.
_CREDIT = re.compile(r"(?:by|via|from|updated|posted|published|photo|image|video|source)\b", re.I)


def _same_words(a: str, b: str) -> bool:
    return normalize_for_hashing(a) == normalize_for_hashing(b)


def headline(title: Optional[str], texts: Sequence[str]) -> bool:
    """Whether ``texts[0]`` is the document's headline (and not a paragraph of its text).

    A document with a ``title`` (a JSONL field, an HTML page's title) prints its headline
    only if its first paragraph says the same words; one without takes a first paragraph
    worded like a title (``HEADLINE_WORDS``, no sentence ending, not a credit).  A one-paragraph
    document keeps its paragraph as text.
    """
    if len(texts) < 2:
        return False
    first = texts[0]
    if title:
        return _same_words(first, title)
    low, high = HEADLINE_WORDS
    return (len(first) <= 8 * high and low <= word_count(first) <= high and _NOT_A_HEADLINE.search(first) is None
            and _CREDIT.match(first) is None)


#: Separators between a page title's headline and the site's name ("Valley Gazette - ...").
_TITLE_PARTS = re.compile(r"\s+(?:[-|\u2013\u2014]|::|\u00b7)\s+")
_NOT_ALNUM = re.compile(r"[\W_]+")


def without_site(title: str, source: str) -> str:
    """``title`` without a first or last part naming the site: a part of at most four words
    (after "The") whose letters and digits are, or open with, the source's name
    (``valley-gazette``: "Valley Gazette") or its host's (``www.bbc.co.uk``: "BBC News").
    Any other title is returned as it is.

    >>> without_site("Valley Gazette - Corvane fleet grounded after engine cracks", "valley-gazette")
    'Corvane fleet grounded after engine cracks'
    >>> without_site("Chile quake: no tsunami", "wire")
    'Chile quake: no tsunami'
    """
    parts = _TITLE_PARTS.split(title.strip())
    if len(parts) < 2:
        return title
    host = source.lower().split("//")[-1].split("/")[0]
    names = {_NOT_ALNUM.sub("", source.lower()), _NOT_ALNUM.sub("", host.removeprefix("www.").split(".")[0])} - {""}
    def site(part: str) -> bool:  # "The Valley Gazette", "BBC News": a short part opening with the name
        words = part.split()
        if words and words[0].lower() == "the":
            words = words[1:]
        squash = _NOT_ALNUM.sub("", " ".join(words).lower())
        return bool(words) and len(words) <= 4 and any(squash == n or (len(n) >= 3 and squash.startswith(n)) for n in names)

    if site(parts[-1]):
        return title[:title.rstrip().rfind(parts[-1])].rstrip(" -|:\u2013\u2014\u00b7") or title
    if site(parts[0]):
        return title[title.find(parts[0]) + len(parts[0]):].lstrip(" -|:\u2013\u2014\u00b7") or title
    return title


def _titles(docs: Sequence[str], own: Dict[str, Optional[str]]) -> Tuple[StoryTitle, ...]:
    """Every member's headline once (same words: one entry), with the members carrying it, in member order."""
    groups: Dict[str, List[str]] = {}
    text: Dict[str, str] = {}
    for d in docs:
        t = own[d]
        if t is None:
            continue
        k = normalize_for_hashing(t)
        groups.setdefault(k, []).append(d)
        text.setdefault(k, t)
    return tuple(StoryTitle(text[k], tuple(ds)) for k, ds in groups.items())


def _merge(order: List[object], placed: set, keys: Sequence[object]) -> None:
    """Insert a member's paragraphs (``keys``) that ``order`` does not hold yet.

    Each goes after the paragraph it follows in its own document; those before the
    member's first paragraph already in ``order`` go just before it, but never before
    ``order[0]`` (the base's lede); a member sharing nothing placed goes at the end.
    """
    pending: List[object] = []
    at: Optional[int] = None
    for k in keys:
        if k in placed:
            if at is None and pending:
                pos = order.index(k)
                where = max(pos, 1)
                order[where:where] = pending
                placed.update(pending)
                pending = []
            at = order.index(k)
        elif at is None:
            if k not in pending:
                pending.append(k)
        else:
            at += 1
            order.insert(at, k)
            placed.add(k)
    if pending:
        order.extend(pending)
        placed.update(pending)


Check = Callable[[np.ndarray], np.ndarray]


def _prechecked(clusters: Sequence[Cluster], doc_of: np.ndarray, story: np.ndarray, paragraphs: Sequence[Paragraph],
                sizes: Sequence[int], config: Config, check: Optional[Check],
                dropped: np.ndarray = None) -> Dict[Tuple[int, int], bool]:
    """``{(member, variant): verifies}`` for the parts of clusters that a story shows without
    the cluster's canonical (it lies in another story, or is a headline the story leaves
    out: ``dropped``): each part's own canonical against its other members, then the
    members that fail against theirs, and so on (what ``build_stories`` shows), checked a
    level at a time in one batch rather than one call per story."""
    if check is None or not clusters:
        return {}
    counts = np.fromiter((len(c.members) for c in clusters), dtype=np.int64, count=len(clusters))
    members = np.fromiter((i for c in clusters for i in c.members), dtype=np.int64, count=int(counts.sum()))
    group = np.repeat(np.arange(len(clusters), dtype=np.int64), counts)
    canon = np.fromiter((c.canonical for c in clusters), dtype=np.int64, count=len(clusters))
    where = story[doc_of[members]]
    apart = where != story[doc_of[canon]][group]
    if dropped is not None and dropped.size:
        gone = np.zeros(len(doc_of), dtype=bool)
        gone[dropped] = True
        carried = ~gone[members]
        apart = carried & (apart | gone[canon][group])
    members, group, where = members[apart], group[apart], where[apart]
    out: Dict[Tuple[int, int], bool] = {}
    level = np.zeros(members.size, dtype=np.int64)  # which round of failures a member is in
    while members.size:
        part = np.lexsort((members, level, where, group))  # by cluster, story, round; members ascending
        members, group, where, level = members[part], group[part], where[part], level[part]
        new = np.concatenate(([True], (group[1:] != group[:-1]) | (where[1:] != where[:-1]) | (level[1:] != level[:-1])))
        starts = np.flatnonzero(new)
        pcounts = np.diff(np.append(starts, members.size))
        several = np.repeat(pcounts >= 2, pcounts)
        members, group, where, level = members[several], group[several], where[several], level[several]
        if not members.size:
            break
        pcounts = pcounts[pcounts >= 2]
        pid = np.repeat(np.arange(pcounts.size), pcounts)
        against = _canonicals(members, pid, paragraphs, sizes, config)[pid]
        other = members != against
        m, c = members[other], against[other]
        ok = check(np.stack([np.minimum(m, c), np.maximum(m, c)], axis=1))
        out.update(zip(zip(m.tolist(), c.tolist()), ok.tolist()))
        failed = np.flatnonzero(other)[~ok]
        members, group, where, level = members[failed], group[failed], where[failed], level[failed] + 1
    return out


def build_stories(doc_ids: Sequence[str], doc_sources: Sequence[str], paragraphs: Sequence[Paragraph], sizes: Sequence[int],
                  clusters: Sequence[Cluster], cluster_of: Dict[int, str], config: Config,
                  doc_titles: Optional[Sequence[Optional[str]]] = None, check: Optional[Check] = None,
                  links: Optional[np.ndarray] = None, document_stories: Optional[np.ndarray] = None) -> List[Story]:
    """Stories in order of their first document; every document is in exactly one story.

    ``doc_titles``: each document's own title (None: none); ``check``: the verification
    rule on paragraph-index pairs (an ``ok`` mask), used to split what a story shows of a
    cluster whose canonical it does not carry (without it, such a part is shown as one); a
    check with a ``release`` method is released once the batch of those checks is done;
    ``links``: each paragraph's component of matches, which links documents beside its
    cluster (see ``_linked_documents``); ``document_stories``: each document's story label
    (``link_documents``), when linked already (then ``links`` is not used).
    """
    ndocs = len(doc_ids)
    if doc_titles is None:
        doc_titles = [None] * ndocs
    position = {doc_id: k for k, doc_id in enumerate(doc_ids)}
    doc_of = np.fromiter((position[p.doc_id] for p in paragraphs), dtype=np.int64, count=len(paragraphs))
    if document_stories is not None:
        labels = np.asarray(document_stories, dtype=np.int64)
    else:
        by_cluster = np.arange(len(paragraphs), dtype=np.int64)
        for c in clusters:
            by_cluster[list(c.members)] = c.members[0]
        groupings = [by_cluster] if links is None else [np.asarray(links), by_cluster]
        labels = _linked_documents(doc_of, ndocs, groupings, config, sizes)
        del groupings, by_cluster
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

    def head_and_body(k: int) -> Tuple[Optional[str], List[int]]:
        """A document's headline (its title without the site's name, or its first paragraph's
        text) and its text's paragraphs."""
        own = by_doc[doc_ids[k]]
        title = without_site(doc_titles[k], doc_sources[k]) if doc_titles[k] else doc_titles[k]
        if own and (title or len(own) >= 2):
            texts = [paragraphs[i].text for i in own[:2]]
            if headline(title, texts) or (title and title != doc_titles[k] and headline(doc_titles[k], texts)):
                return texts[0] if title is None else title, own[1:]
        return title, own

    headed = [head_and_body(k) for k in range(ndocs)]  # once: the headlines decide what is carried
    dropped = np.fromiter((by_doc[doc_ids[k]][0] for k in range(ndocs) if len(headed[k][1]) < len(by_doc[doc_ids[k]])),
                          dtype=np.int64)
    checking = check is not None
    verified = _prechecked(clusters, doc_of, labels, paragraphs, sizes, config, check, dropped)
    if hasattr(check, "release"):  # the shingle sets can go: the batch above checked what is needed
        check.release()
        check = None

    def shown(carriers: List[int], k) -> List[Tuple[int, List[int]]]:
        """``(variant shown, members it stands for)``: one, unless some members do not verify against it."""
        chosen = best(carriers, k)
        if len(carriers) == 1 or not checking or (isinstance(k, str) and by_id[k].canonical in carriers):
            return [(chosen, carriers)]  # a cluster's members all verify against its canonical
        rest = [i for i in carriers if i != chosen]
        missing = [i for i in rest if (i, chosen) not in verified]
        if missing:  # parts ``_prechecked`` did not foresee (a member's headline left out)
            ok = check(np.array([(min(i, chosen), max(i, chosen)) for i in missing], dtype=np.int64)).tolist() \
                if check is not None else [False] * len(missing)  # unchecked: shown apart, never dropped
            verified.update(zip(zip(missing, repeat(chosen)), ok))
        failed = [i for i in rest if not verified[(i, chosen)]]
        if not failed:
            return [(chosen, carriers)]
        return [(chosen, [i for i in carriers if i not in set(failed)])] + shown(failed, None)

    # One shared 1-tuple per document id and per source (1M paragraphs: ~100 MB saved).
    single = {d: (d,) for d in doc_ids}
    single.update((s, (s,)) for s in set(doc_sources))

    cluster_get = cluster_of.get
    stories: List[Story] = []
    for label in sorted(members_of):
        positions = members_of[label]
        docs = [doc_ids[k] for k in positions]
        if len(docs) == 1:  # most stories: one document, each paragraph its own canonical
            doc = docs[0]
            title, own = headed[positions[0]]
            keys = list(map(cluster_get, own))
            named = [k for k in keys if k is not None]
            if len(set(named)) == len(named):  # no cluster twice in the document
                source = doc_sources[positions[0]]
                one_doc, one_source = single[doc], single[source]
                texts = [paragraphs[i].text for i in own]
                stories.append(Story(id=f"s{len(stories) + 1:06d}", documents=one_doc, sources=one_source,
                                     paragraphs=tuple(map(StoryParagraph, texts, keys, repeat(one_doc),
                                                          repeat(one_source), repeat(doc))),
                                     title=title, titles=(StoryTitle(title, one_doc),) if title else ()))
                continue
        rank = {d: r for r, d in enumerate(docs)}
        key = cluster_of.get  # a cluster id, or the paragraph's own index for a lone paragraph
        heads: Dict[str, Optional[str]] = {}
        body: Dict[str, List[int]] = {}
        for k, d in zip(positions, docs):
            heads[d], body[d] = headed[k]
        base = max(docs, key=lambda d: (len(body[d]), -rank[d]))
        order: List[object] = []
        placed: set = set()
        for i in body[base]:
            k = key(i, i)
            if k not in placed:
                order.append(k)
                placed.add(k)
        carriers: Dict[object, List[int]] = defaultdict(list)
        for doc in docs:
            for i in body[doc]:
                carriers[key(i, i)].append(i)
        for doc in docs:
            if doc != base:
                _merge(order, placed, [key(i, i) for i in body[doc]])
        story_paragraphs = []
        for k in order:
            for choice, carried in shown(carriers[k], k):
                chosen = paragraphs[choice]
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
        titles = _titles(docs, heads)
        title = heads[base] if heads[base] is not None else (titles[0].text if titles else None)
        sources = tuple(sorted({doc_sources[k] for k in positions}))
        stories.append(Story(id=f"s{len(stories) + 1:06d}", documents=tuple(docs), sources=sources,
                             paragraphs=tuple(story_paragraphs), title=title, titles=titles))
    return stories
