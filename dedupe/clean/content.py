"""Content filter for naive scrapes: which lines of a scraped page are article text.

A naive scrape has one line per block of the page: menus, teasers, captions, share
buttons, footers and the article.  Without the HTML, the article is found by line
features alone, in three steps:

1. *Line class*: ``prose`` (long, or ends like a sentence / is rich in function words of
   any of the languages in ``dedupe.clean.stopwords``), ``short`` (a few words: subheading,
   caption, byline, menu item) or ``chrome`` (copyright, dates alone, counters, pipes).
2. *Article span*: prose lines are worth their length, other lines cost a little; the
   contiguous span with the highest sum is the article (a run of thirty menu items costs
   more than a subheading or an "Advertisement" between two paragraphs).  Further spans
   worth a good share of the best one are kept too (an article split by a gallery).
3. *Inside the span*: short lines stay when they read like text (a subheading between
   paragraphs, a list of sentences) and go when they form a run of labels (share
   buttons, tag lists, link lists).

Recall matters more than precision here: every decision errs towards keeping text.
``filter_lines`` returns, per line, None (keep) or the reason for removal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .stopwords import stopword_density, words

# --------------------------------------------------------------------------------------
# Tuned constants (measured on the dev half of the ScrapingHub naive-scrape set)

#: A line with at least this many words that reads like text is prose.
PROSE_MIN_WORDS = 10  # headlines and menu items are shorter; sentences of real text longer
#: Long lines are prose in any script (no stopword list needed).
PROSE_MIN_CHARS = 160  # teaser headlines stay below; two sentences are above
#: Share of function words that marks running text (best-fitting language).
PROSE_MIN_STOPWORDS = 0.2  # running text 0.3-0.5; headline/menu lists below 0.15
#: What a non-prose line costs inside the article span (in characters of prose).
SHORT_COST = 40.0  # ~ half a sentence: a subheading or a caption inside an article is bridged
#: A further span is kept when it is worth this share of the best one.
SECOND_SPAN_SHARE = 0.35  # an article split by a gallery keeps both halves; teaser strips are smaller
#: ... and at least this much prose on its own.
SECOND_SPAN_MIN = 400.0  # one teaser paragraph is shorter
#: A run of this many non-prose lines inside the span is a widget (link list, share bar).
LABEL_RUN = 3  # subheading + dateline is two; menus and share bars are longer
#: Short lines in a run read like text when this share of them end like sentences or are wordy.
RUN_TEXT_SHARE = 0.5

_SENTENCE_END = re.compile(r"[.!?…:;\"'”’»)\]]$")
_CHROME = (
    ("copyright", re.compile(r"(©|\(c\)\s*\d{4}|copyright\b|all rights reserved|alle rechte vorbehalten|tous droits réservés|todos los derechos reservados)", re.I)),
    ("date or time alone", re.compile(r"^[\W\d_]*(\d{1,4}[./:\-]\d{1,2}([./:\-]\d{1,4})?|(\d{1,2}\s+)?[A-Za-zéûä]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Za-zéûä]{3,9}\.?\s+\d{4})([\sT,at]*\d{1,2}[:.h]\d{2}(\s*[ap]\.?m\.?)?)?\s*(\w{2,4})?[\W\d_]*$", re.I)),
    ("counter", re.compile(r"^\d[\d,.]*\s*[kKmM]?\s*(comments?|shares?|views?|likes?|replies|kommentare|commentaires|comentarios)?$", re.I)),
    ("separator list", re.compile(r"^[^.!?]*(\s[|•·/]\s[^.!?]*){2,}$")),
)


@dataclass(frozen=True)
class LineFeatures:
    """What the filter knows about one line."""

    words: int
    chars: int
    sentence_end: bool
    stopwords: float
    prose: bool
    chrome: Optional[str]


def line_features(line: str) -> LineFeatures:
    """Features of one scraped line (language-independent or best-language stopwords)."""
    text = line.strip()
    n_words = len(text.split())
    toks = words(text)
    sw = stopword_density(text) if toks else 0.0
    end = bool(_SENTENCE_END.search(text))
    chrome = next((name for name, rx in _CHROME if rx.search(text)), None) if n_words < PROSE_MIN_WORDS * 2 else None
    prose = chrome is None and (
        len(text) >= PROSE_MIN_CHARS
        or (n_words >= PROSE_MIN_WORDS and (end or sw >= PROSE_MIN_STOPWORDS))
    )
    return LineFeatures(n_words, len(text), end, sw, prose, chrome)


def _value(f: LineFeatures) -> float:
    return float(f.chars) if f.prose else -SHORT_COST


def _best_span(values: Sequence[float], lo: int, hi: int) -> Tuple[float, int, int]:
    """(sum, start, end) of the maximum-sum contiguous span of values[lo:hi] (Kadane); end exclusive."""
    best, best_s, best_e = 0.0, lo, lo
    cur, cur_s = 0.0, lo
    for i in range(lo, hi):
        if cur <= 0:
            cur, cur_s = values[i], i
        else:
            cur += values[i]
        if cur > best:
            best, best_s, best_e = cur, cur_s, i + 1
    return best, best_s, best_e


def _spans(values: Sequence[float]) -> List[Tuple[int, int]]:
    """The best span and the further spans worth keeping, in order."""
    top, s, e = _best_span(values, 0, len(values))
    if top <= 0:
        return []
    spans = [(s, e)]
    todo = [(0, s), (e, len(values))]
    while todo:
        lo, hi = todo.pop()
        if hi <= lo:
            continue
        v, s2, e2 = _best_span(values, lo, hi)
        if v >= SECOND_SPAN_SHARE * top and v >= SECOND_SPAN_MIN:
            spans.append((s2, e2))
            todo.extend([(lo, s2), (e2, hi)])
    return sorted(spans)


def _texty(f: LineFeatures) -> bool:
    return f.sentence_end or f.stopwords >= PROSE_MIN_STOPWORDS


def filter_lines(lines: Sequence[str], config: object = None) -> List[Optional[str]]:
    """Per line: None to keep it, or why it is navigation / page chrome.

    ``config`` is the run's ``Config`` (reserved for switches; the constants above are
    measured defaults).
    """
    feats = [line_features(l) for l in lines]
    if not feats:
        return []
    values = [_value(f) for f in feats]
    spans = _spans(values)
    if not spans:
        return [None] * len(lines)  # no prose anywhere: nothing to anchor on, keep all (recall first)
    out: List[Optional[str]] = ["outside the article text: menu, teaser or footer region"] * len(lines)
    for s, e in spans:
        i = s
        while i < e:
            if feats[i].prose:
                out[i] = None
                i += 1
                continue
            j = i
            while j < e and not feats[j].prose:
                j += 1
            run = feats[i:j]
            texty = sum(_texty(f) for f in run) >= RUN_TEXT_SHARE * len(run)
            for k in range(i, j):
                f = feats[k]
                if f.chrome:
                    out[k] = "page chrome: %s" % f.chrome
                elif len(run) >= LABEL_RUN and not texty:
                    out[k] = "run of %d short lines without sentence punctuation (link list, share bar, tags)" % len(run)
                else:
                    out[k] = None
            i = j
    return out
