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
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import List, Optional, Pattern, Sequence, Tuple

from .stopwords import lower_words, words_stopword_density

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
#: Chrome patterns (copyright, cookie notice, dates) only judge lines shorter than this.
CHROME_MAX_WORDS = 60  # cookie banners run to 50 words; an article paragraph mentioning cookies and privacy is usually longer
#: The comments marker counts only after this much prose (a "Comments" menu item at the top is not one).
COMMENTS_AFTER_PROSE = 600  # a lede paragraph or two; teaser strips before the article rarely reach it
#: This many consecutive lines that all occur elsewhere on the page are a template block shown twice.
REPEAT_RUN = 3  # a sidebar or teaser list repeats as a group; an article repeats at most a line (pull quote)
#: A further span is kept when it is worth this share of the best one.
SECOND_SPAN_SHARE = 0.35  # an article split by a gallery keeps both halves; teaser strips are smaller
#: ... and at least this much prose on its own.
SECOND_SPAN_MIN = 400.0  # one teaser paragraph is shorter
#: A run of this many non-prose lines inside the span is a widget (link list, share bar).
LABEL_RUN = 3  # subheading + dateline is two; menus and share bars are longer
#: A line next to the article span joins it when it reads as a sentence: at least this many
#: words, ending like a sentence, with this share of function words ("Its shares rose 7%.").
EDGE_SENTENCE_MIN_WORDS = 4  # "Officials declined to comment." is four; menu items rarely end in a period
EDGE_SENTENCE_MIN_STOPWORDS = 0.15  # teaser headlines and captions without function words stay out
#: Short lines in a run read like text when this share of them end like sentences or are wordy.
RUN_TEXT_SHARE = 0.5

#: A short line like "167 comments" / "Leave a Reply" after the article opens the comments.
_COMMENTS = re.compile(r"\b(comments?|leave a reply|reply|replies|responses|discussion|kommentare?|commentaires?|comentarios?|commenti|comentários|reacties|reageer)\b", re.I)
#: Ends like a sentence: . ! ? … possibly followed by closing quotes/brackets (not ":" - headlines use it).
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")


@dataclass(frozen=True)
class ChromeRule:
    """A page-chrome pattern (searched case-insensitively) and the literals every match contains.

    ``needs`` (lower case) is a cheap pre-test, not a second rule: a line without any of the
    literals cannot match, so the pattern is searched only on lines that hold one (most prose
    has none).
    """

    name: str
    pattern: str
    needs: Tuple[str, ...] = ()

    def compiled(self) -> Tuple[str, Pattern[str], Tuple[str, ...], Tuple[Pattern[str], ...]]:
        return (self.name, re.compile(self.pattern, re.I), self.needs,
                tuple(re.compile(re.escape(lit), re.I) for lit in self.needs))


CHROME_RULES: Tuple[ChromeRule, ...] = (
    ChromeRule("copyright", r"(©|\(c\)\s*\d{4}|copyright\b|all rights reserved|alle rechte vorbehalten|tous droits réservés|todos los derechos reservados)",
               ("©", "(c)", "copyright", "rights reserved", "rechte vorbehalten", "droits réservés", "derechos reservados")),
    ChromeRule("date or time alone", r"^[\W\d_]*(\d{1,4}[./:\-]\d{1,2}([./:\-]\d{1,4})?|(\d{1,2}\s+)?[A-Za-zéûä]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Za-zéûä]{3,9}\.?\s+\d{4})([\sT,at]*\d{1,2}[:.h]\d{2}(\s*[ap]\.?m\.?)?)?\s*(\w{2,4})?[\W\d_]*$"),
    ChromeRule("relative time", r"^\W*(updated\s+|posted\s+|published\s+)?(\d+\s*(s|m|h|d|w|mins?|minutes?|hrs?|hours?|days?|weeks?|months?|years?)\s+ago|vor\s+\d+\s+\w+|il y a\s+\d+\s+\w+|hace\s+\d+\s+\w+|há\s+\d+\s+\w+)\b"),
    ChromeRule("cookie notice", r"\b(this|our)\s+(web\s?)?site\b.*\bcookies?\b|\bcookies?\b.*\b(this|our)\s+(web\s?)?site\b|\b(we|site|website|page)\s+(use|uses|verwendet|nutzt|utilise|utiliza|usa)\b.{0,30}\bcookies?\b|\bcookie\s+(policy|settings|preferences|consent|richtlinie)\b|\baccept\s+(all\s+)?cookies\b|\bnecessary\s+cookies\b",
               ("cookie",)),
    ChromeRule("counter", r"^\d[\d,.]*\s*[kKmM]?\s*(comments?|shares?|views?|likes?|replies|kommentare|commentaires|comentarios)?$"),
    ChromeRule("separator list", r"^[^.!?]*(\s[|•·/]\s[^.!?]*){2,}$", ("|", "•", "·", "/")),
)
_CHROME = tuple(rule.compiled() for rule in CHROME_RULES)
#: The only characters re.IGNORECASE equates with a letter of the ``needs`` while str.lower
#: does not ("ſ" ~ s, "İ" and "ı" ~ i): in a line without them, ``lit in line.lower()``
#: answers exactly what the case-insensitive search would.
_IGNORECASE_ONLY = ("\u017f", "\u0130", "\u0131")


def chrome_of(text: str, low: Optional[str] = None) -> Optional[str]:
    """Name of the first chrome rule matching the stripped line, or None (``low``: its lower case)."""
    if low is None:
        low = text.lower()
    plain = text.isascii() or not any(c in text for c in _IGNORECASE_ONLY)
    for name, rx, needs, needs_rx in _CHROME:
        if needs and not (any(n in low for n in needs) if plain else any(n.search(text) for n in needs_rx)):
            continue
        if rx.search(text):
            return name
    return None


@dataclass(frozen=True)
class LineFeatures:
    """What the filter knows about one line (``stopwords`` is counted when first asked for)."""

    words: int
    chars: int
    sentence_end: bool
    prose: bool
    chrome: Optional[str]
    tokens: Sequence[str] = field(default=(), repr=False, compare=False)

    @cached_property
    def stopwords(self) -> float:
        """Share of function words, best-fitting language (most long lines never need it)."""
        return words_stopword_density(self.tokens)


def line_features(line: str) -> LineFeatures:
    """Features of one scraped line (language-independent or best-language stopwords)."""
    return _features(line.strip())


def _features(text: str) -> LineFeatures:
    """Features of a stripped line; it is lowered and tokenised once (the tokens serve ``_repeated`` too)."""
    low = text.lower()
    toks = lower_words(text, low)
    n_words = len(text.split())
    end = bool(_SENTENCE_END.search(text))
    chrome = chrome_of(text, low) if n_words < CHROME_MAX_WORDS else None
    prose = chrome is None and (
        len(text) >= PROSE_MIN_CHARS
        or (n_words >= PROSE_MIN_WORDS and (end or words_stopword_density(toks) >= PROSE_MIN_STOPWORDS))
    )
    return LineFeatures(n_words, len(text), end, prose, chrome, toks)


def _value(f: LineFeatures) -> float:
    if f.prose:
        return float(f.chars)
    return -SHORT_COST


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


def _comment_barrier(lines: Sequence[str], feats: Sequence[LineFeatures]) -> Optional[int]:
    """Index of the line that opens the reader comments after the article, if any."""
    prose = 0
    for i, (line, f) in enumerate(zip(lines, feats)):
        if f.prose:
            prose += f.chars
        elif prose >= COMMENTS_AFTER_PROSE and f.words <= 6 and _COMMENTS.search(line):
            return i
    return None


def _repeated(keys: Sequence[Tuple[str, ...]]) -> List[bool]:
    """Lines in runs of lines that occur more than once on the page (template rendered twice).

    ``keys`` are the lines' ``words``: lines equal up to case, digits and punctuation repeat.
    """
    seen: dict = {}
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
    rep = [bool(k) and seen[k] > 1 for k in keys]
    # only runs of repeated lines: a template block rendered twice, not a recipe line used twice
    out = [False] * len(rep)
    i = 0
    while i < len(rep):
        j = i
        while j < len(rep) and rep[j]:
            j += 1
        if j - i >= REPEAT_RUN:
            out[i:j] = [True] * (j - i)
        i = max(j, i + 1)
    return out


def _sentence_like(f: LineFeatures) -> bool:
    """A short line that still reads as a sentence of text (ends like one, a few words, stopwords)."""
    return (f.chrome is None and f.words >= EDGE_SENTENCE_MIN_WORDS and f.sentence_end
            and f.stopwords >= EDGE_SENTENCE_MIN_STOPWORDS)


def _extend(s: int, e: int, feats: Sequence[LineFeatures], barrier: Optional[int]) -> Tuple[int, int]:
    """Grow a span over the sentence-like lines right next to it (a short closing sentence)."""
    stop = len(feats) if barrier is None else barrier
    while e < stop and _sentence_like(feats[e]):
        e += 1
    while s > 0 and _sentence_like(feats[s - 1]):
        s -= 1
    return s, e


def filter_lines(lines: Sequence[str], config: object = None) -> List[Optional[str]]:
    """Per line: None to keep it, or why it is navigation / page chrome.

    ``config`` is the run's ``Config`` (reserved for switches; the constants above are
    measured defaults).
    """
    feats = [_features(l.strip()) for l in lines]
    if not feats:
        return []
    for i, rep in enumerate(_repeated([tuple(f.tokens) for f in feats])):
        if rep and feats[i].prose:
            feats[i] = replace(feats[i], prose=False, chrome="prose line printed twice on the page (teaser / template)")
    values = [_value(f) for f in feats]
    barrier = _comment_barrier(lines, feats)
    if barrier is not None:
        values[barrier:] = [-SHORT_COST] * (len(values) - barrier)
    spans = [_extend(s, e, feats, barrier) for s, e in _spans(values)]
    if not spans:
        return [None] * len(lines)  # no prose anywhere: nothing to anchor on, keep all (recall first)
    out: List[Optional[str]] = ["outside the article text: menu, teaser or footer region"] * len(lines)
    if barrier is not None:
        out[barrier:] = ["reader comments (after %r)" % lines[barrier][:40]] * (len(lines) - barrier)
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
