"""Per-source learned boilerplate: lines a source repeats on many of its own pages.

A line is learned as the template of a source when the source has at least
``learn_min_documents`` documents and the line (normalised) appears on at least
``learn_min_count`` of them and on at least ``learn_min_fraction`` of them.  Pages
count once per distinct longest line (the main paragraph, never a template line), so one
story published three times by the same outlet does not turn its own sentences into
"template".

At corpus scale the lines are counted as 64-bit keys (``line_key``: BLAKE2b of the
normalised line) rather than strings, so learning holds a few bytes a line instead of a
copy of the corpus, and worker processes can send their counts cheaply.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from hashlib import blake2b
from typing import Dict, FrozenSet, Hashable, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from ..config import Config
from ..normalize import normalize_for_hashing
from . import rules as R
from .content import reads_as_sentence
from .stopwords import word_count


def line_key(line: str) -> int:
    """Stable 64-bit key of a normalised line (the same in every process and on every machine).

    >>> line_key("Follow us") == line_key("  FOLLOW   us ")
    True
    """
    return int.from_bytes(blake2b(normalize_for_hashing(line).encode("utf-8"), digest_size=8).digest(), "little")


def page_keys(lines: Sequence[str], keys: Optional[Sequence[int]] = None) -> Tuple[int, FrozenSet[int]]:
    """``(page key, line keys)`` of one page: the key of its longest line, and of every line
    (``keys``: the lines' ``line_key`` when the caller has them)."""
    if keys is None:
        keys = [line_key(line) for line in lines]
    longest = max(range(len(lines)), key=lambda i: (len(lines[i]), -i))
    return keys[longest], frozenset(keys)


def _learn(pages: Mapping[str, Mapping[Hashable, Set[Hashable]]], config: Config) -> Dict[str, Tuple[FrozenSet, int]]:
    """The counting rule, over ``{source: {page key: lines}}`` with lines as strings or keys."""
    learned = {}
    for source in sorted(pages):
        by_head = pages[source]
        n = len(by_head)
        if n < config.learn_min_documents:
            continue
        counts: Dict[Hashable, int] = defaultdict(int)
        for lines in by_head.values():
            for line in lines:
                counts[line] += 1
        template = template_of(counts, n, config)
        if template:
            learned[source] = (template, n)
    return learned


def template_of(counts: Mapping[Hashable, int], pages: int, config: Config) -> FrozenSet:
    """A source's template: the lines of ``counts`` (on how many of its ``pages`` distinct
    pages each is; lines on fewer than ``learn_min_count`` may be left out) that are on
    enough of them.  The Spark engine counts them as an aggregation (``dedupe.spark.learn``)."""
    need = max(config.learn_min_count, config.learn_min_fraction * pages)
    return frozenset(line for line, c in counts.items() if c >= need)


def learn_templates(docs: Iterable[Tuple[str, list]], config: Config) -> Dict[str, Tuple[FrozenSet[str], int]]:
    """Learned template lines per source from ``(source, lines)`` pairs.

    Returns ``{source: (normalised lines, number of distinct pages)}`` for sources that
    have any.

    >>> pages = [("s", [f"Headline {i}", "Follow us", f"Body of the article number {i}."]) for i in range(4)]
    >>> sorted(learn_templates(pages, Config())["s"][0])
    ['follow us']
    """
    pages: Dict[str, Dict[str, Set[str]]] = defaultdict(dict)  # source -> page key -> lines
    for source, lines in docs:
        if not lines:
            continue
        key = normalize_for_hashing(max(lines, key=len))
        pages[source].setdefault(key, set()).update(normalize_for_hashing(line) for line in lines)
    return _learn(pages, config)


def corpus_learning_on(config: Config) -> bool:
    """Corpus-wide boilerplate is learned (pass 1 collects its keys)."""
    return config.corpus_min_documents > 0 and R.CORPUS.name not in config.disabled_rules


def first_pass_plan(per_source: Mapping[str, int], any_html: bool, config: Config) -> Tuple[FrozenSet[str], bool]:
    """``(sources that may learn a template, whether pass 1 runs at all)`` for a corpus of
    ``per_source`` documents per source: a source learns with ``learn_min_documents``
    documents; pass 1 runs when one does, when a page is HTML (it extracts the text) or when
    corpus boilerplate can be learned from that many documents.  The one rule the local
    engine, its caches and the Spark engine all follow."""
    learn = frozenset(s for s, n in per_source.items() if n >= config.learn_min_documents)
    return learn, (bool(learn) or any_html
                   or (corpus_learning_on(config) and config.corpus_min_documents <= sum(per_source.values())))


def learn_template_keys(pages: Iterable[Tuple[str, int, FrozenSet[int]]], config: Config
                        ) -> Dict[str, Tuple[FrozenSet[int], int]]:
    """``learn_templates`` on ``(source, page key, line keys)`` from ``page_keys``:
    ``{source: (template line keys, number of distinct pages)}``."""
    by_source: Dict[str, Dict[int, Set[int]]] = defaultdict(dict)
    for source, key, lines in pages:
        by_source[source].setdefault(key, set()).update(lines)
    return _learn(by_source, config)


def template_lines(lines: Sequence[str], keys: FrozenSet[int], line_keys: Optional[Sequence[int]] = None) -> FrozenSet[str]:
    """The normalised lines of one page whose key is a template key (what the cleaner takes;
    ``line_keys``: the lines' ``line_key`` when the caller has them)."""
    if not keys:
        return frozenset()
    if line_keys is None:
        line_keys = [line_key(line) for line in lines]
    return frozenset(normalize_for_hashing(line) for line, k in zip(lines, line_keys) if k in keys)


# --------------------------------------------------------------------------------------
# Corpus-wide boilerplate: short lines that recur across many documents of many stories

#: Only lines this short are candidates (ad slugs, prompts, placeholders, credits run 1-15 words).
CORPUS_MAX_WORDS = 20
#: A document's story key is taken from its lines of at least this many words (the article's own).
STORY_MIN_WORDS = 8


def corpus_keys(lines: Sequence[str], keys: Optional[Sequence[int]] = None) -> Tuple[Tuple[int, ...], FrozenSet[int]]:
    """``(story key, candidate line keys)`` of one document for ``learn_corpus_keys``.

    The story key is four MinHashes of the document's long lines: two copies of one story share
    most of those lines, so they share at least one of them, while unrelated stories almost
    never do.  Candidates are the short lines that do not read as a
    sentence: "He declined to comment." recurs across many stories and is text, while
    "Scroll down for video" and "Newsletter Sign Up" are not sentences.
    """
    if keys is None:
        keys = [line_key(line) for line in lines]
    long_keys, short = [], []
    for line, k in zip(lines, keys):
        if len(line) > 15 * CORPUS_MAX_WORDS:  # 300 characters: not a 20-word line (words average 5-7), and long
            long_keys.append(k)
            continue
        n = word_count(line)
        if n >= STORY_MIN_WORDS and len(line) >= 40:
            long_keys.append(k)
        if n <= CORPUS_MAX_WORDS and not reads_as_sentence(line):
            short.append(k)
    base = long_keys or list(keys) or [0]
    story = tuple(min(((k ^ salt) * 0x9E3779B97F4A7C15) & _MASK64 for k in base) for salt in _STORY_SALTS)
    return story, frozenset(short)


#: The story key is this many one-permutation MinHashes of the document's long lines: two copies
#: of a story whose long lines are half the same share at least one with probability 1 - 0.5^4.
_STORY_SALTS = (0, 0x5DEECE66D, 0xB5AD4ECEDA1CE2A9, 0x2545F4914F6CDD1D)
_MASK64 = (1 << 64) - 1


def _stories(keys: Sequence[Tuple[int, ...]]) -> int:
    """How many stories ``keys`` (one story key per document) are: documents sharing any of
    their MinHashes are one story (connected components)."""
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: Dict[Tuple[int, int], int] = {}
    for i, key in enumerate(keys):
        for j, h in enumerate(key):
            other = first.setdefault((j, h), i)
            if other != i:
                parent[find(i)] = find(other)
    return sum(1 for i in range(len(keys)) if find(i) == i)


@dataclass(frozen=True)
class CorpusLine:
    """A line learned as corpus-wide boilerplate, with the counts that made it one."""

    documents: int
    stories: int
    sources: int

    def note(self) -> str:
        return (f"line on {self.documents} documents of {self.stories} different stories"
                f" ({self.sources} source{'s' if self.sources != 1 else ''}) in this run: corpus-wide boilerplate")


def learn_corpus_keys(docs: Sequence[Tuple[str, Tuple[int, ...], FrozenSet[int]]], config: Config) -> Dict[int, CorpusLine]:
    """``{line key: CorpusLine}`` from ``(source, story key, candidate keys)`` per document.

    A line is boilerplate when it is on at least ``corpus_min_documents`` documents, of at least
    ``corpus_min_stories`` different stories that are at least ``corpus_min_story_share`` of
    those documents (wire copy republished by many outlets is one story, however many copies),
    and of at least ``corpus_min_sources`` sources (or every source, in a run with fewer).
    """
    if config.corpus_min_documents <= 0 or len(docs) < config.corpus_min_documents:
        return {}
    counts: Dict[int, int] = defaultdict(int)
    for _, _, keys in docs:
        for k in keys:
            counts[k] += 1
    frequent = {k for k, c in counts.items() if c >= config.corpus_min_documents}
    if not frequent:
        return {}
    stories: Dict[int, List[Tuple[int, ...]]] = defaultdict(list)
    sources: Dict[int, Set[str]] = defaultdict(set)
    all_sources: Set[str] = set()
    for source, story, keys in docs:
        all_sources.add(source)
        for k in keys & frequent if isinstance(keys, frozenset) else frequent.intersection(keys):
            stories[k].append(story)
            sources[k].add(source)
    return corpus_verdicts({k: counts[k] for k in frequent}, stories, {k: len(v) for k, v in sources.items()},
                           len(all_sources), config)


def corpus_verdicts(frequent: Mapping[int, int], stories: Mapping[int, Sequence[Tuple[int, ...]]],
                    sources: Mapping[int, int], all_sources: int, config: Config) -> Dict[int, CorpusLine]:
    """The rule of ``learn_corpus_keys`` on what it counted: ``frequent`` (line keys on at
    least ``corpus_min_documents`` documents: on how many; keys that cannot pass may be left
    out), the story keys of those documents (each distinct one at least once) and how many
    sources they are of, per line key, and the number of sources of all documents with lines.
    The Spark engine counts these as aggregations (``dedupe.spark.learn``)."""
    need_sources = min(config.corpus_min_sources, all_sources)
    out = {}
    for k in sorted(frequent):
        n, st, so = frequent[k], _stories(stories[k]), sources[k]
        if st >= config.corpus_min_stories and st >= config.corpus_min_story_share * n and so >= need_sources:
            out[k] = CorpusLine(n, st, so)
    return out


def corpus_lines(lines: Sequence[str], learned: Mapping[int, "CorpusLine"],
                 line_keys: Optional[Sequence[int]] = None) -> Dict[str, str]:
    """``{normalised line: reason}`` for the lines of one page that are learned corpus boilerplate."""
    if not learned:
        return {}
    if line_keys is None:
        line_keys = [line_key(line) for line in lines]
    out = {}
    for line, k in zip(lines, line_keys):
        hit = learned.get(k)
        if hit is not None:
            out[normalize_for_hashing(line)] = hit.note()
    return out
