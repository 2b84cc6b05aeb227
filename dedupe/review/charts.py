"""Chart geometry for the review page: numbers in, coordinates out; the template draws them
as inline SVG, so the charts read without JavaScript.

>>> bin_of(0.5), bin_of(1.0), bin_of(0.0)
(10, 19, 0)
>>> [label for label, _ in size_bins([2, 2, 3, 7, 250])]
['2', '3', '4', '5', '6-10', '11-20', '21-50', '51-100', '101+']
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

#: Similarity histograms: bins of 0.05 from 0 to 1 (1.0 falls in the last).
SIMILARITY_BINS = 20
_SIZE_BINS = ((2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, None))

WIDTH = 560
_LABEL = 180  # room for the labels of a bar chart
_BAR = 18


def bin_of(x: float) -> int:
    """The similarity bin of ``x`` (0 for what is not a number)."""
    try:
        return max(0, min(SIMILARITY_BINS - 1, int(float(x) * SIMILARITY_BINS)))
    except (TypeError, ValueError, OverflowError):
        return 0


def similarity_bins(counts: Sequence[int]) -> List[Tuple[str, int]]:
    return [(f"{k / SIMILARITY_BINS:.2f}", n) for k, n in enumerate(counts)]


def size_bins(sizes: Iterable[int]) -> List[Tuple[str, int]]:
    counts = [0] * len(_SIZE_BINS)
    for size in sizes:
        for k, (lo, hi) in enumerate(_SIZE_BINS):
            if size >= lo and (hi is None or size <= hi):
                counts[k] += 1
                break
    return [(str(lo) if lo == hi else (f"{lo}+" if hi is None else f"{lo}-{hi}"), n)
            for (lo, hi), n in zip(_SIZE_BINS, counts)]


def bars(items: Sequence[Tuple[str, int]]) -> dict:
    """A horizontal bar chart: one row per ``(label, value)``."""
    top = max((n for _, n in items), default=0) or 1
    rows = [{"label": label, "value": n, "y": k * (_BAR + 4), "w": round((WIDTH - _LABEL - 60) * n / top, 1)}
            for k, (label, n) in enumerate(items)]
    return {"width": WIDTH, "height": max(1, len(rows)) * (_BAR + 4), "label_width": _LABEL, "bar": _BAR, "rows": rows}


def histogram(bins: Sequence[Tuple[str, int]], marker: Optional[float] = None) -> dict:
    """Vertical bars, one per ``(label, count)``, with ``marker`` (a threshold on a 0-1 axis
    that spans the bins) drawn as a line."""
    height, base = 150, 130
    top = max((n for _, n in bins), default=0) or 1
    step = WIDTH / max(1, len(bins))
    rows = []
    for k, (label, n) in enumerate(bins):
        h = round(110 * n / top, 1)
        rows.append({"label": label, "value": n, "x": round(k * step + 1, 1), "w": round(step - 2, 1),
                     "y": round(base - h, 1), "h": h, "tick": k % max(1, len(bins) // 10) == 0})
    mark = None
    if isinstance(marker, (int, float)):
        mark = {"x": round(WIDTH * float(marker), 1), "label": f"{float(marker):.2f}"}
    return {"width": WIDTH, "height": height, "base": base, "rows": rows, "marker": mark, "total": sum(n for _, n in bins)}
