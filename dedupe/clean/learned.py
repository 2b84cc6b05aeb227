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
from hashlib import blake2b
from typing import Dict, FrozenSet, Hashable, Iterable, Mapping, Sequence, Set, Tuple

from ..config import Config
from ..normalize import normalize_for_hashing


def line_key(line: str) -> int:
    """Stable 64-bit key of a normalised line (the same in every process and on every machine).

    >>> line_key("Follow us") == line_key("  FOLLOW   us ")
    True
    """
    return int.from_bytes(blake2b(normalize_for_hashing(line).encode("utf-8"), digest_size=8).digest(), "little")


def page_keys(lines: Sequence[str]) -> Tuple[int, FrozenSet[int]]:
    """``(page key, line keys)`` of one page: the key of its longest line, and of every line."""
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
        need = max(config.learn_min_count, config.learn_min_fraction * n)
        template = frozenset(line for line, c in counts.items() if c >= need)
        if template:
            learned[source] = (template, n)
    return learned


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


def learn_template_keys(pages: Iterable[Tuple[str, int, FrozenSet[int]]], config: Config
                        ) -> Dict[str, Tuple[FrozenSet[int], int]]:
    """``learn_templates`` on ``(source, page key, line keys)`` from ``page_keys``:
    ``{source: (template line keys, number of distinct pages)}``."""
    by_source: Dict[str, Dict[int, Set[int]]] = defaultdict(dict)
    for source, key, lines in pages:
        by_source[source].setdefault(key, set()).update(lines)
    return _learn(by_source, config)


def template_lines(lines: Sequence[str], keys: FrozenSet[int]) -> FrozenSet[str]:
    """The normalised lines of one page whose key is a template key (what the cleaner takes)."""
    if not keys:
        return frozenset()
    return frozenset(normalize_for_hashing(line) for line in lines if line_key(line) in keys)
