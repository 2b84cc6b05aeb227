"""Per-source learned boilerplate: lines a source repeats on many of its own pages.

A line is learned as the template of a source when the source has at least
``learn_min_documents`` documents and the line (normalised) appears on at least
``learn_min_count`` of them and on at least ``learn_min_fraction`` of them.  Pages
count once per distinct longest line (the main paragraph, never a template line), so one
story published three times by the same outlet does not turn its own sentences into
"template".
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, FrozenSet, Iterable, Set, Tuple

from ..config import Config
from ..normalize import normalize_for_hashing


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
    learned = {}
    for source in sorted(pages):
        by_head = pages[source]
        n = len(by_head)
        if n < config.learn_min_documents:
            continue
        counts: Dict[str, int] = defaultdict(int)
        for lines in by_head.values():
            for line in lines:
                counts[line] += 1
        need = max(config.learn_min_count, config.learn_min_fraction * n)
        template = frozenset(line for line, c in counts.items() if c >= need)
        if template:
            learned[source] = (template, n)
    return learned
