"""Content filter for naive scrapes: which lines of a scraped page are article text.

A naive scrape has one line per block of the page: menus, teasers, captions, share
buttons, footers and the article.  Without the HTML, the article is found by line
features alone, in four steps:

1. *Line class*: ``prose`` (long, or ten words or more ending like a sentence: teaser
   headlines, however wordy, end without a full stop), ``short`` (subheading, caption,
   byline, menu item) or ``chrome`` (copyright, dates alone, counters, pipes).
2. *Structure*: numbered lists ("1) ...", "2) ...", a how-to's "Step 1", "Step 2"), bulleted lists ("- 1,200 jobs"), lists after a lead-in ("Key figures:") between text, and tables scraped one cell a line
   (runs of figure cells) are found by their shape; they cost nothing in step 3 and join
   the article when they sit next to it (a recipe, a product list, a standings table).
3. *Article span*: prose lines are worth their length, other lines cost a little; the
   contiguous span with the highest sum is the article (a run of thirty menu items costs
   more than a subheading or an "Advertisement" between two paragraphs).  Further spans
   worth a good share of the best one, with two paragraphs in a row, are kept too (an
   article split by a gallery; a teaser stream alternates titles and blurbs).  A span
   grows over the statements right next to it ("Officials declined to comment.").
4. *Inside the span*: short lines stay when they read like text (a subheading between
   paragraphs, a list of sentences) and go when they form a run of labels (share
   buttons, tag lists, link lists).

Recall matters more than precision here: every decision errs towards keeping text.
``filter_lines`` returns, per line, None (keep) or the reason for removal.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import List, Optional, Pattern, Sequence, Tuple

from .stopwords import _MASKS as _FUNCTION_WORDS, is_unspaced, lower_words, word_count, words_stopword_density

# --------------------------------------------------------------------------------------
# Tuned constants (measured on the dev half of the ScrapingHub naive-scrape set)

#: A line with at least this many words that ends like a sentence is prose.
PROSE_MIN_WORDS = 10  # headlines and menu items are shorter; sentences of real text longer
#: A line in a script without spaces (Chinese, Japanese, Thai ...) this wordy is prose without a
#: sentence stop: Thai, Lao and Khmer end sentences with a space, not a mark, and blogs in Chinese
#: often do too (see ``word_count``).
UNSPACED_PROSE_WORDS = 15  # ~30 characters; menu items and tags in these scripts run 2-8, headlines 5-12
#: Characters of space-separated text per word, for weighing lines in scripts without spaces.
LATIN_CHARS_PER_WORD = 6  # English averages ~4.7 letters and a space; German, French a little more
#: Long lines are prose in any script (no stopword list needed).
PROSE_MIN_CHARS = 160  # teaser headlines stay below; two sentences are above
#: Share of function words that marks a short line as text (best-fitting language).
PROSE_MIN_STOPWORDS = 0.2  # running text 0.3-0.5; headline/menu lists below 0.15
#: What a non-prose line costs inside the article span (in characters of prose).
SHORT_COST = 40.0  # ~ half a sentence: a subheading or a caption inside an article is bridged
#: Chrome patterns (copyright, cookie notice, dates) only judge lines shorter than this.
CHROME_MAX_WORDS = 60  # cookie banners run to 50 words; an article paragraph mentioning cookies and privacy is usually longer
#: The comments marker counts only after this much prose (a "Comments" menu item at the top is not one).
COMMENTS_AFTER_PROSE = 600  # a lede paragraph or two; teaser strips before the article rarely reach it
#: This many consecutive lines that all occur elsewhere on the page are a template block shown twice.
REPEAT_RUN = 3  # a sidebar or teaser list repeats as a group; an article repeats at most a line (pull quote)
#: The headline is one of this many lines before the article text (headline, dek, byline, date) ...
HEADLINE_LOOKBACK = 6
#: ... worded like a title: menu items are shorter, a deck or lede longer ...
HEADLINE_MIN_WORDS, HEADLINE_MAX_WORDS = 3, 25
#: ... and about the same thing as the first paragraphs: this many content words in common.
HEADLINE_MIN_SHARED = 2
#: A further span is kept when it is worth this share of the best one.
SECOND_SPAN_SHARE = 0.35  # an article split by a gallery keeps both halves; teaser strips are smaller
#: ... and at least this much prose on its own (and two prose lines in a row somewhere).
SECOND_SPAN_MIN = 400.0  # one teaser paragraph is shorter; a teaser stream never has two blurbs in a row
#: A run of this many non-prose lines inside the span is a widget (link list, share bar).
LABEL_RUN = 3  # subheading + dateline is two; menus and share bars are longer
#: A line next to the article span joins it when it reads as a statement: at least this many
#: words, ending in a full stop (or holding two sentences), with this share of function words
#: ("Its shares rose 7%.", not "Like this story? Share it!").
EDGE_SENTENCE_MIN_WORDS = 4  # "Officials declined to comment." is four; menu items rarely end in a period
EDGE_SENTENCE_MIN_STOPWORDS = 0.15  # teaser headlines and captions without function words stay out
#: Short lines in a run read like text when this share of them end like sentences or are wordy.
RUN_TEXT_SHARE = 0.5
#: This many headline-shaped lines in a row between two paragraphs, one of them twice, are links
#: to other stories ("Who are Boko Haram?" twice, "Profile: Boko Haram leader Abubakar Shekau") ...
TEASER_RUN = 2  # a title and its repeat; a subheading stands alone
#: ... each this many words, with no full stop at the end.
TEASER_MIN_WORDS, TEASER_MAX_WORDS = 4, 16  # a section subheading runs 1-5 words, a headline 6-14
#: Structured content: a numbered list ("1) ...", "2) ...") or a table scraped one cell a line.
#: A numbered list has at least this many consecutively numbered items ...
ENUM_MIN_ITEMS = 3  # two numbers in a row can be chance (a date, a score); three counting up are a list
#: ... each at most this many lines after the previous one.
ENUM_MAX_GAP = 4  # an item, its link or price line and a caption; further apart the numbers are unrelated
#: A bulleted list ("- 1,200 jobs", "• Opens 2027") has at least this many consecutive items.
BULLET_MIN_ITEMS = 2  # one dash line can be a quote or an aside; two in a row are a list an article sets out
#: A list without bullet marks is set out by a lead-in ending in ":" ("Key figures:") right after
#: text; its items are the short lines up to the next prose line, at least 2 and at most this many.
LEAD_IN_MAX_ITEMS = 12  # fact boxes and "What we know:" lists run 3-8 items; a footer menu after "Follow us:" has no prose after it
#: ... and the lead-in has at most this many words.
LEAD_IN_MAX_WORDS = 8
#: A table has at least this many figure cells ("5040", "85%", "-12.99") ...
TABLE_MIN_FIGURES = 6  # two rows of three figures: a small stock quote or standings table
#: ... at most this many lines apart (the text cells of a row lie between).
TABLE_MAX_GAP = 5  # position, name, team, figures: standings and stats tables have up to four text columns
#: Short lines right before the first figure are the table's header row(s).
TABLE_HEADER_MAX = 12  # two header rows of five columns and a first row's text cells
#: A figure cell is at most this long.
FIGURE_MAX_CHARS = 16  # "1,234,567.89 %" fits; a sentence with a number is longer
#: A structured block this close to the article span joins it (a lead-in "The offers:" and a caption between).
STRUCTURE_EDGE_GAP = 2

#: A sentence stop inside a line: after a word of two letters or more ("U.S." is not one), before the next word.
_INNER_STOP = re.compile(r"([^\W\d_]{2})[.!?…][\"'”’»)\]]*\s*([^\W\d_])")
#: The number of an enumerated item: "1) ...", "2. ...", "(3) ...", "#4 ..." followed by its text,
#: or a how-to's step heading ("Step 1", "Step 2: Cut the foam").
_ENUMERATOR = re.compile(r"(?:\((\d{1,3})\)|(\d{1,3})[.)]|#(\d{1,3}))\s+\S"
                         r"|(?:step|schritt|étape|etapa|paso|passo|stap|krok)\s+(\d{1,3})\b", re.I)
#: A bulleted list item: a bullet mark, a space, then its text.
_BULLET = re.compile(r"[-+*\u2022\u2013\u2014\u00b7\u25aa\u25cf\u25e6\u2023\u2043]\s+\S")
#: A table cell holding a figure: no letters, at least one digit.
_FIGURE = re.compile(r"[\W\d_]*\d[\W\d_]*")
#: A short line like "167 comments" / "Leave a Reply" / "3 Responses to ..." after the article opens
#: the comments, unless it reads as a statement: "Huawei declined to comment." ends in a full
#: stop and is a sentence of the article, not a heading.  "Discussion", "responses" and "reply"
#: name comments only in a count ("12 responses", "No replies"), a phrase ("Join the
#: discussion") or alone: "Results and Discussion" and "My responses are slow" are sections.
_COMMENTS = re.compile(r"\b(comments?|leave a reply|kommentare?|commentaires?|comentarios?|commenti|comentários|reacties|reageer)\b|"
                       r"^\W*(?:reply|replies|responses)\W*$|\b(?:\d+|no|one)\s+(?:responses?|replies)\b|join the (?:discussion|conversation)", re.I)
#: ... unless a long run of prose follows it: this many prose lines in a row, worth
#: ``COMMENTS_AFTER_PROSE`` characters.  Comments come one by one with a name, a date or "Reply"
#: between them; an article section titled "Comment" runs on as prose, and so does the next
#: post of a blog's front page after "Posted by Mark | 12:03 PM | Comments".
COMMENTS_PROSE_RUN = 3
#: ... starting within this many lines of it (the next post's title, byline and date come first).
COMMENTS_RUN_WITHIN = 3
#: Closing quotes and brackets that may follow the end of a sentence.
_CLOSERS = "\"'”’»)]」』"
#: Ends like a sentence: . ! ? … before any closers (not ":" - headlines use it).
_SENTENCE_STOPS = ".!?…。！？｡।؟።"


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
    #: Reads as a statement: ends in one full stop, not "!", "?" or "..." as prompts and teasers do,
    #: or holds two sentences with the end cut off ("... for a vote.Featured image via ...").
    statement_end: bool = False
    #: The line's weight as article text, in characters of space-separated text: its length, or
    #: for a script without spaces ``LATIN_CHARS_PER_WORD`` per word (one Chinese character says
    #: as much as three Latin letters, so a paragraph in Chinese is not outweighed by a menu).
    mass: int = 0

    @cached_property
    def stopwords(self) -> float:
        """Share of function words, best-fitting language (most long lines never need it)."""
        return words_stopword_density(self.tokens)


def line_features(line: str) -> LineFeatures:
    """Features of one scraped line (language-independent or best-language stopwords)."""
    return _features(line.strip())


def _two_sentences(text: str) -> bool:
    """The line holds a sentence stop followed by a new sentence ("... for a vote.Featured image via ...")."""
    return any(m.group(1)[-1].islower() and m.group(2).isupper() for m in _INNER_STOP.finditer(text))


#: A line longer than this (characters) is prose by its length alone, so its stopwords and
#: repeat key are taken from its first LONG_LINE_CHARS characters: a single 12 MB line (a
#: runaway scrape) then costs a few times its size, not the ~20x that tokenising it all did.
LONG_LINE_CHARS = 20_000
_NON_SPACE = re.compile(r"\S+")


def _features(text: str) -> LineFeatures:
    """Features of a stripped line; it is lowered and tokenised once (the tokens serve ``_repeated`` too)."""
    if len(text) > LONG_LINE_CHARS:
        head = text[:LONG_LINE_CHARS]
        n_words = sum(1 for _ in _NON_SPACE.finditer(text))  # counted, never listed
        # the count joins the key, so two long lines are one repeated line only if alike in length too
        toks = lower_words(head, head.lower()) + [f"\x00{n_words}"]
        low = text.lower() if n_words < CHROME_MAX_WORDS else head  # chrome_of reads it only then
    else:
        low = text.lower()
        toks = lower_words(text, low)
        n_words = len(text.split()) if text.isascii() else word_count(text)  # word_count's own first test, without the call
    bare = text.rstrip(_CLOSERS)
    end = bool(bare) and bare[-1] in _SENTENCE_STOPS
    chrome = chrome_of(text, low) if n_words < CHROME_MAX_WORDS else None
    unspaced = is_unspaced(text[:LONG_LINE_CHARS])
    mass = max(n_words * LATIN_CHARS_PER_WORD, len(text)) if unspaced else len(text)
    prose = chrome is None and (
        len(text) >= PROSE_MIN_CHARS
        or (n_words >= PROSE_MIN_WORDS and end)
        or (n_words >= UNSPACED_PROSE_WORDS and unspaced)
    )
    statement = ((end and bare[-1] in ".。" and bare[-2:-1] not in (".", "…"))
                 or (not end and n_words >= EDGE_SENTENCE_MIN_WORDS and _two_sentences(text)))
    return LineFeatures(n_words, len(text), end, prose, chrome, toks, statement, mass)


def _value(f: LineFeatures) -> float:
    if f.prose:
        return float(f.mass)
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


def _has_paragraph_run(values: Sequence[float], s: int, e: int) -> bool:
    """Two prose lines in a row in values[s:e] (an article has them; a teaser stream has none)."""
    return any(values[i] > 0 and values[i + 1] > 0 for i in range(s, e - 1))


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
        if v >= SECOND_SPAN_SHARE * top and v >= SECOND_SPAN_MIN and _has_paragraph_run(values, s2, e2):
            spans.append((s2, e2))
            todo.extend([(lo, s2), (e2, hi)])
    return sorted(spans)


def _texty(f: LineFeatures) -> bool:
    return f.sentence_end or f.stopwords >= PROSE_MIN_STOPWORDS


def _comment_barrier(lines: Sequence[str], feats: Sequence[LineFeatures]) -> Optional[int]:
    """Index of the line that opens the reader comments after the article, if any: a short
    heading-like line naming comments (not a sentence), after ``COMMENTS_AFTER_PROSE`` of prose,
    not followed by a long run of prose (``_prose_run_follows``: one cue never takes the
    article text after it); or, when no heading names them, the first byline of a thread
    (``_thread_start``: several bylines in a row, a comment cue among them), whichever comes first."""
    prose, start, heading = 0, None, None
    for i, (line, f) in enumerate(zip(lines, feats)):
        if f.prose:
            prose += f.chars
            if prose >= COMMENTS_AFTER_PROSE and start is None:
                start = i + 1
        elif prose >= COMMENTS_AFTER_PROSE and f.words <= 6 and not f.statement_end and _COMMENTS.search(line):
            if not _prose_run_follows(feats, i + 1):
                heading = i
                break
    thread = _thread_start(lines, feats, start) if start is not None else None
    return min((i for i in (heading, thread) if i is not None), default=None)


#: A comment's byline: who wrote it and when ("Posted by: Ann | August 17, 2012 at 05:50 PM",
#: "Soullite 11.06.12 at 8:24 pm", "John Smith says:"): a date with a time of day, or "says:".
_DATE = r"(?:\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b)"
_TIME = r"\b\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\b\.?|[ap]\b|h\b|uhr\b|\b(?:edt|est|pdt|pst|gmt|utc|bst|cet)\b)"
_COMMENT_BYLINE = re.compile(r"(?:%s.{0,40}?%s|%s.{0,40}?%s)|\b(?:says|said|wrote|writes)\s*:\s*$|^\s*posted by\b" % (_DATE, _TIME, _TIME, _DATE), re.I)
#: ... and a short line in or just before the run names it a comment ("Reply", "says:", "Report abuse").
_COMMENT_CUE = re.compile(r"\b(?:says|said|wrote|writes|posted by|reply|replies|report abuse|permalink|comments?|responses?|reagieren|antworten|répondre|responder)\b", re.I)
#: A byline with a count of comments on it or right after it ends a post ("Posted by Ann at 4:29 PM |
#: Permalink | Comments (3)"): a blog's front page, whose posts are its text, not a thread.
_POST_FOOTER = re.compile(r"\bcomments?\s*[(\[]\s*\d+|\b\d+\s+comments?\b|\btrackbacks?\b|\badd comments?\b", re.I)
#: A thread is this many comment bylines, each within ``THREAD_MAX_GAP`` lines of the next.
THREAD_MIN_BYLINES = 3
THREAD_MAX_GAP = 8


def _thread_start(lines: Sequence[str], feats: Sequence[LineFeatures], after: int) -> Optional[int]:
    """Index of the first byline of a comment thread that starts at or after ``after`` (no
    heading names it: the thread shows by its rhythm, a short byline line before each comment)."""
    bylines = [i for i in range(len(lines))
               if not feats[i].prose and feats[i].words <= 16 and not feats[i].statement_end and _COMMENT_BYLINE.search(lines[i])
               and not any(_POST_FOOTER.search(line) for line in lines[i:i + 2])]
    if bylines and bylines[0] < after:
        return None  # the page opens with a byline: posts one after another (a forum, a blog's front page) are its text
    for k in range(len(bylines) - THREAD_MIN_BYLINES + 1):
        run = bylines[k:k + THREAD_MIN_BYLINES]
        if all(b - a <= THREAD_MAX_GAP for a, b in zip(run, run[1:])) and any(f.prose for f in feats[run[0]:run[-1]]) \
                and any(not feats[i].prose and _COMMENT_CUE.search(lines[i]) for i in range(max(0, run[0] - 2), run[-1] + 1)):
            return run[0]
    return None


def _prose_run_follows(feats: Sequence[LineFeatures], start: int) -> bool:
    """Whether a long run of prose starts within ``COMMENTS_RUN_WITHIN`` lines of ``start``: at
    least ``COMMENTS_PROSE_RUN`` prose lines in a row, ``COMMENTS_AFTER_PROSE`` characters together."""
    for s in range(start, min(len(feats), start + COMMENTS_RUN_WITHIN + 1)):
        if not feats[s].prose:
            continue
        e = s
        while e < len(feats) and feats[e].prose:
            e += 1
        return e - s >= COMMENTS_PROSE_RUN and sum(f.chars for f in feats[s:e]) >= COMMENTS_AFTER_PROSE
    return False


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


def _longest_run_chars(feats: Sequence[LineFeatures], marks: Sequence[bool]) -> int:
    """Characters in the longest run (by characters) of two or more marked lines in a row (0: none)."""
    best = cur = n = 0
    for f, m in zip(feats, marks):
        cur, n = (cur + f.chars, n + 1) if m else (0, 0)
        if n >= 2:
            best = max(best, cur)
    return best


def _first_copies(lines: Sequence[str], repeated: Sequence[bool]) -> List[bool]:
    """Which of the ``repeated`` lines are the first copy of their text (word for word: lines
    alike but for their figures are each a first copy)."""
    seen, out = set(), []
    for line, rep in zip(lines, repeated):
        text = " ".join(line.split()).lower() if rep else None
        out.append(rep and text not in seen)
        if rep:
            seen.add(text)
    return out


def _numbered_lists(lines: Sequence[str]) -> List[Tuple[int, int]]:
    """(start, end) of runs of items numbered n, n+1, n+2 ... (each item with the lines up to the next)."""
    items = []
    for i, line in enumerate(lines):
        m = _ENUMERATOR.match(line)
        if m:
            items.append((i, int(next(g for g in m.groups() if g))))
    out: List[Tuple[int, int]] = []
    chain: List[Tuple[int, int]] = []
    for i, n in items + [(-1, -1)]:  # sentinel closes the last chain
        if chain and n == chain[-1][1] + 1 and 0 < i - chain[-1][0] <= ENUM_MAX_GAP:
            chain.append((i, n))
            continue
        if len(chain) >= ENUM_MIN_ITEMS:
            last_gap = chain[-1][0] - chain[-2][0]  # the last item runs as long as the one before it
            out.append((chain[0][0], min(len(lines), chain[-1][0] + last_gap)))
        chain = [(i, n)]
    return out


def _bulleted_lists(lines: Sequence[str]) -> List[Tuple[int, int]]:
    """(start, end) of runs of consecutive lines bulleted with the same mark ("- 1,200 jobs",
    "- Opens 2027"; a changelog's "+ Added ..." lines): a "*" note then a "+" note are footnotes."""
    out: List[Tuple[int, int]] = []
    marks = [line.strip()[:1] if _BULLET.match(line.strip()) else None for line in lines]
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and marks[j] is not None and marks[j] == marks[i]:
            j += 1
        if len({lines[k].strip() for k in range(i, j)}) >= BULLET_MIN_ITEMS:  # "+ Comment now" twice is a button
            out.append((i, j))
        i = max(j, i + 1)
    return out


def _lead_in_lists(lines: Sequence[str], feats: Sequence[LineFeatures]) -> List[Tuple[int, int]]:
    """(start, end) of lists set out between text: a lead-in ending in ":" after prose or a
    line ending like a sentence, then 2+ short lines without page chrome, then prose again (a list inside an
    article is article; its lines must not split the article span in two)."""
    out: List[Tuple[int, int]] = []
    n = len(lines)
    for i in range(1, n):
        f = feats[i]
        if f.prose or f.chrome or f.words > LEAD_IN_MAX_WORDS or not lines[i].rstrip().endswith(":"):
            continue
        if feats[i - 1].chrome or not (feats[i - 1].prose or feats[i - 1].sentence_end):
            continue
        j = i + 1
        while j < n and j - i - 1 < LEAD_IN_MAX_ITEMS and not feats[j].prose and feats[j].chrome is None:
            j += 1
        if j < n and feats[j].prose and j - i - 1 >= BULLET_MIN_ITEMS:
            out.append((i, j))
    return out


def _data_figures(cells: Sequence[str]) -> int:
    """Figure cells that are data, not a running count (the 1, 2, 3 ... of a "most read" list)."""
    n, count = 0, None
    for cell in cells:
        cell = cell.strip()
        value = int(cell) if cell.isdigit() and len(cell) <= 3 else None
        if value is not None and count is not None and value == count + 1:
            count = value
            continue
        count = value if value is not None else count
        n += 1
    return n


def _tables(lines: Sequence[str], feats: Sequence[LineFeatures]) -> List[Tuple[int, int]]:
    """(start, end) of tables scraped one cell a line: clusters of figure cells and their header.

    The block ends at the last figure: text cells after it cannot be told from what follows the
    table (a footer menu), and the span still bridges them when prose comes next.
    """
    figures = [i for i, (line, f) in enumerate(zip(lines, feats))
               if f.chars <= FIGURE_MAX_CHARS and _FIGURE.fullmatch(line.strip())]
    out: List[Tuple[int, int]] = []
    k = 0
    while k < len(figures):
        j = k
        while j + 1 < len(figures) and figures[j + 1] - figures[j] <= TABLE_MAX_GAP:
            j += 1
        if _data_figures([lines[i] for i in figures[k:j + 1]]) >= TABLE_MIN_FIGURES:
            s, e = figures[k], figures[j] + 1
            while s > 0 and figures[k] - s < TABLE_HEADER_MAX and not feats[s - 1].prose:
                s -= 1
            out.append((s, e))
        k = j + 1
    return out


def _structures(lines: Sequence[str], feats: Sequence[LineFeatures]) -> List[Tuple[int, int]]:
    """Numbered and bulleted lists and tables, merged where they overlap, in order."""
    merged: List[Tuple[int, int]] = []
    for s, e in sorted(_numbered_lists(lines) + _bulleted_lists(lines) + _lead_in_lists(lines, feats)
                         + _tables(lines, feats)):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _content_words(f: LineFeatures) -> set:
    return {t for t in f.tokens if len(t) >= 3 and t not in _FUNCTION_WORDS}


def _headline_before(feats: Sequence[LineFeatures], start: int) -> Optional[int]:
    """Index of the article's headline among the ``HEADLINE_LOOKBACK`` lines before its text
    starts at ``start``, if any: worded like a title (``HEADLINE_MIN_WORDS`` to
    ``HEADLINE_MAX_WORDS`` words, not chrome, no sentence end) and sharing at least
    ``HEADLINE_MIN_SHARED`` content words, and a third of its own, with the first paragraphs.
    A menu item, a section label or another story's teaser shares none."""
    candidates = []
    for i in range(start - 1, max(-1, start - 1 - HEADLINE_LOOKBACK), -1):
        f = feats[i]
        if f.prose:
            break
        if not (f.chrome or f.sentence_end) and HEADLINE_MIN_WORDS <= f.words <= HEADLINE_MAX_WORDS:
            candidates.append(i)
    if not candidates:
        return None
    lede: set = set()
    for f in feats[start:start + 3]:
        if f.prose:
            lede |= _content_words(f)
    best = None
    for i in candidates:
        f = feats[i]
        own = _content_words(f)
        shared = len(own & lede)
        if shared >= HEADLINE_MIN_SHARED and 3 * shared >= len(own) and (best is None or shared > best[0]):
            best = (shared, i)
    return best[1] if best else None


def _sentence_like(f: LineFeatures) -> bool:
    """A short line that still reads as a statement of text (one full stop, a few words, stopwords)."""
    return (f.chrome is None and f.words >= EDGE_SENTENCE_MIN_WORDS and f.statement_end
            and f.stopwords >= EDGE_SENTENCE_MIN_STOPWORDS)


def reads_as_sentence(line: str) -> bool:
    """A short line that reads as a statement: ends in one full stop, a few words, some function
    words, no page chrome ("Officials declined to comment." but not "Share it with a friend!",
    "You may also like..." or "© 2019 X.")."""
    return _sentence_like(line_features(line))


def _extend(s: int, e: int, feats: Sequence[LineFeatures], barrier: Optional[int],
            blocks: Sequence[Tuple[int, int]] = ()) -> Tuple[int, int]:
    """Grow a span over the sentence-like lines right next to it (a short closing sentence) and
    over the numbered lists and tables that start or end within ``STRUCTURE_EDGE_GAP`` lines of it."""
    stop = len(feats) if barrier is None else barrier
    while True:
        s0, e0 = s, e
        while e < stop and _sentence_like(feats[e]):
            e += 1
        while s > 0 and _sentence_like(feats[s - 1]):
            s -= 1
        for bs, be in blocks:
            if e < be and bs <= e + STRUCTURE_EDGE_GAP and be <= stop and not any(f.chrome for f in feats[e:bs]):
                e = be
            if bs < s and be >= s - STRUCTURE_EDGE_GAP and not any(f.chrome for f in feats[be:s]):
                s = bs
        if (s, e) == (s0, e0):
            return s, e


def filter_lines(lines: Sequence[str], config: object = None, model=None) -> List[Optional[str]]:
    """Per line: None to keep it, or why it is navigation / page chrome.

    The rules below (``_rule_state``) give each line a verdict and the line model (weights
    ``text_lines``, see ``blockmodel``) makes the decision from them and the lines' features.
    ``config`` is the run's ``Config`` (reserved for switches; the constants above are
    measured defaults); ``model`` a ``TreeModel`` to use instead of the packaged one.
    """
    state = _rule_state(lines)
    if model is None and LINE_MODEL is None:
        return state.reasons
    return _model_verdicts(lines, state, model)


@dataclass(frozen=True)
class _State:
    """What the rules found on a page: per-line features, verdicts, the article spans."""

    feats: Tuple[LineFeatures, ...]
    reasons: List[Optional[str]]
    structured: Tuple[bool, ...] = ()
    spans: Tuple[Tuple[int, int], ...] = ()
    barrier: Optional[int] = None


#: Features of recent short lines, by text: the cleaner's second pass over a page's kept lines,
#: and a site's menu on each of its pages, look them up instead of computing them again.
_FEATURE_CACHE: dict = {}
FEATURE_CACHE_LINES, FEATURE_CACHE_CHARS = 4096, 300


def _cached_features(text: str) -> LineFeatures:
    f = _FEATURE_CACHE.get(text)
    if f is None:
        f = _features(text)
        if len(text) <= FEATURE_CACHE_CHARS:
            if len(_FEATURE_CACHE) >= FEATURE_CACHE_LINES:
                _FEATURE_CACHE.clear()
            _FEATURE_CACHE[text] = f
    return f


def _headline_shaped(line: str, f: LineFeatures) -> bool:
    """Worded like a story's headline: a few words, no full stop at the end (a "?" may end it),
    not a colon (an introduction: "The Telegraph's Richard Spencer reports:"), no link or
    handle (an embedded post)."""
    return (TEASER_MIN_WORDS <= f.words <= TEASER_MAX_WORDS and not f.statement_end and not f.chrome
            and not line.endswith(":") and not _URLISH.search(line) and "#" not in line)


def _teaser_run(lines: Sequence[str], feats: Sequence[LineFeatures], i: int, j: int, e: int) -> bool:
    """Lines ``i:j`` (none prose) are a block of links to other stories set into the article:
    at least ``TEASER_RUN`` headline-shaped lines in a row, with article prose on both sides,
    one of them printed twice (a teaser shows its title as the image's text and as the link).
    A subheading stands alone and is not repeated; headline-shaped lines in a row without a
    repeat are as often a list or an interview's questions, so they stay."""
    return (j - i >= TEASER_RUN and i > 0 and j < e and feats[i - 1].prose and feats[j].prose
            and len(set(lines[i:j])) < j - i
            and all(_headline_shaped(lines[k], feats[k]) for k in range(i, j)))


def _rule_state(lines: Sequence[str]) -> _State:
    feats = [_cached_features(l.strip()) for l in lines]
    if not feats:
        return _State((), [])
    repeated = [rep and f.prose for rep, f in zip(_repeated([tuple(f.tokens) for f in feats]), feats)]
    firsts = _first_copies(lines, repeated)
    # A teaser block printed twice goes whole; but when the prose left outside the repeats runs
    # shorter than half the first copy (or is no two lines in a row), the page printed its article
    # twice (a print view, a feed copy): its first copy is the text.
    alone = [f.prose and not r for f, r in zip(feats, repeated)]
    alone_run = _longest_run_chars(feats, alone)
    keep_first = any(firsts) and (not alone_run or 2 * alone_run < _longest_run_chars(feats, firsts))
    for i, rep in enumerate(repeated):
        if rep and not (keep_first and firsts[i]):
            feats[i] = replace(feats[i], prose=False, chrome="prose line printed twice on the page (teaser / template)")
    blocks = _structures(lines, feats)
    structured = [False] * len(lines)
    for s, e in blocks:
        structured[s:e] = [True] * (e - s)
    # A list or table costs nothing: the span may reach across it to the prose beyond.
    values = [_value(f) if f.prose or not inside else 0.0 for f, inside in zip(feats, structured)]
    barrier = _comment_barrier(lines, feats)
    if barrier is not None:
        values[barrier:] = [-SHORT_COST] * (len(values) - barrier)
    spans = [_extend(s, e, feats, barrier, blocks) for s, e in _spans(values)]
    if not spans:
        # no prose anywhere: nothing to anchor on, keep all (recall first)
        return _State(tuple(feats), [None] * len(lines), tuple(structured), (), barrier)
    out: List[Optional[str]] = ["outside the article text: menu, teaser or footer region"] * len(lines)
    if barrier is not None:
        out[barrier:] = ["reader comments (after %r)" % lines[barrier][:40]] * (len(lines) - barrier)
    for s, e in spans:
        i = s
        while i < e:
            if feats[i].prose or structured[i]:
                out[i] = None  # prose, and the cells and items of a list or table (figures included)
                i += 1
                continue
            j = i
            while j < e and not (feats[j].prose or structured[j]):
                j += 1
            run = feats[i:j]
            texty = sum(_texty(f) for f in run) >= RUN_TEXT_SHARE * len(run)
            teasers = _teaser_run(lines, feats, i, j, e)
            for k in range(i, j):
                f = feats[k]
                if f.chrome:
                    out[k] = "page chrome: %s" % f.chrome
                elif len(run) >= LABEL_RUN and not texty:
                    out[k] = "run of %d short lines without sentence punctuation (link list, share bar, tags)" % len(run)
                elif teasers:
                    out[k] = "run of %d headlines inside the article text, one printed twice (links to other stories)" % len(run)
                else:
                    out[k] = None
            i = j
    head = _headline_before(feats, spans[0][0])
    if head is not None:
        out[head] = None
    return _State(tuple(feats), out, tuple(structured), tuple(spans), barrier)


# --------------------------------------------------------------------------------------
# Line model: what it sees, and how its verdicts are explained

#: The rules' verdict classes, by the start of the reason (one-hot features).
LINE_VERDICTS: Tuple[Tuple[str, str], ...] = (
    ("outside", "outside the article text"), ("chrome", "page chrome"), ("run", "run of "),
    ("comments", "reader comments"),
)
_LINE_NEIGHBOUR = ("prose", "chars", "kept", "sentence_end", "stopwords")
_LINE_OWN = (
    "chars", "words", "stopwords", "sentence_end", "statement_end", "prose", "chrome", "repeated",
    "structured", "in_span", "kept", "sentence_like", "position", "before_span", "after_span",
    "span_distance", "text_before", "page_lines", "page_prose_share", "digits", "upper_start",
    "ends_colon", "list_mark", "has_url", "has_pipe", "unspaced", "after_barrier", "line_from_top",
    "line_from_bottom", "span_share",
) + tuple("verdict_" + v for v, _ in LINE_VERDICTS)
#: Every feature, in the weight file's order: the line's own, then its neighbours'.
LINE_FEATURES: Tuple[str, ...] = _LINE_OWN + tuple(
    f"{side}_{n}" for side in ("prev", "next", "prev2", "next2") for n in _LINE_NEIGHBOUR)
#: The packaged line model ``filter_lines`` applies (``None``: the rules alone decide).  Off: left
#: out of fitting it gains on the news sets but loses on CleanEval, Readability and ScrapingHub,
#: and it runs at 0.28x the pages per second; ``filter_lines(lines, model=...)`` applies it.
LINE_MODEL: Optional[str] = None
_URLISH = re.compile(r"https?://|www\.|\.(com|org|net|co\.uk)\b|@\w", re.I)


def digit_share(text: str) -> float:
    """Share of digits among the first 400 characters (dates, scores, prices: model feature)."""
    head = text[:400]
    return sum(c.isdigit() for c in head) / max(1, len(head))


def upper_share(text: str) -> float:
    """Share of the first 40 words that start with a capital letter (menus and headlines are
    Title Case: model feature)."""
    ws = text.split(None, 40)[:40]
    if not ws:
        return 0.0
    return sum(1 for w in ws if w[:1].isupper()) / len(ws)


def line_matrix(lines: Sequence[str], state: Optional[_State] = None):
    """The (lines, ``LINE_FEATURES``) matrix for the line model."""
    import numpy as np

    if state is None:
        state = _rule_state(lines)
    feats, reasons = state.feats, state.reasons
    n = len(feats)
    x = np.zeros((n, len(LINE_FEATURES)))
    if not n:
        return x
    col = {name: i for i, name in enumerate(LINE_FEATURES)}
    total = sum(f.chars for f in feats) or 1
    prose_total = sum(f.chars for f in feats if f.prose)
    in_span = [False] * n
    for s0, e0 in state.spans:
        in_span[s0:e0] = [True] * (e0 - s0)
    first = state.spans[0][0] if state.spans else n
    last = state.spans[-1][1] - 1 if state.spans else -1
    span_chars = sum(f.chars for f, inside in zip(feats, in_span) if inside) or 1
    repeated = {f.chrome for f in feats if f.chrome and f.chrome.startswith("prose line printed twice")}
    before = 0
    for i, (line, f) in enumerate(zip(lines, feats)):
        row = x[i]
        text = line.strip()
        row[col["chars"]] = math.log1p(f.chars)
        row[col["words"]] = math.log1p(f.words)
        row[col["stopwords"]] = f.stopwords
        row[col["sentence_end"]] = f.sentence_end
        row[col["statement_end"]] = f.statement_end
        row[col["prose"]] = f.prose
        row[col["chrome"]] = f.chrome is not None and f.chrome not in repeated
        row[col["repeated"]] = f.chrome in repeated if f.chrome else False
        row[col["structured"]] = state.structured[i] if state.structured else False
        row[col["in_span"]] = in_span[i]
        row[col["kept"]] = reasons[i] is None
        row[col["sentence_like"]] = _sentence_like(f)
        row[col["position"]] = i / n
        row[col["before_span"]] = i < first
        row[col["after_span"]] = i > last
        row[col["span_distance"]] = math.log1p(first - i if i < first else (i - last if i > last else 0))
        row[col["text_before"]] = before / total
        before += f.chars
        row[col["page_lines"]] = math.log1p(n)
        row[col["page_prose_share"]] = prose_total / total
        head = text[:400]
        row[col["digits"]] = digit_share(text)
        row[col["upper_start"]] = upper_share(text)
        row[col["ends_colon"]] = text.endswith(":")
        row[col["list_mark"]] = bool(_BULLET.match(text) or _ENUMERATOR.match(text))
        row[col["has_url"]] = bool(_URLISH.search(head))
        row[col["has_pipe"]] = "|" in head
        row[col["unspaced"]] = is_unspaced(head)
        row[col["after_barrier"]] = state.barrier is not None and i >= state.barrier
        row[col["line_from_top"]] = math.log1p(i)
        row[col["line_from_bottom"]] = math.log1p(n - 1 - i)
        row[col["span_share"]] = f.chars / span_chars if in_span[i] else 0.0
        reason = reasons[i]
        if reason is not None:
            for name, prefix in LINE_VERDICTS:
                if reason.startswith(prefix):
                    row[col["verdict_" + name]] = 1.0
                    break
    from .blockmodel import add_neighbours

    return add_neighbours(x, col, _LINE_NEIGHBOUR)


_LINE_FLAGS = {
    "prose": ("reads as prose", "not prose-like"), "kept": ("the rules keep it", "the rules drop it"),
    "sentence_end": ("ends like a sentence", "no sentence end"), "statement_end": ("ends in a full stop", None),
    "in_span": ("inside the article span", "outside the article span"), "before_span": ("before the article", None),
    "after_span": ("after the article", None), "chrome": ("page chrome", None), "repeated": ("printed twice on the page", None),
    "structured": ("part of a list or table", None), "sentence_like": ("reads as a statement", None),
    "ends_colon": ("ends in ':'", None), "list_mark": ("list item", None), "has_url": ("holds a URL or handle", None),
    "has_pipe": ("holds '|'", None), "after_barrier": ("after a comments heading", None),
}


def describe_line_feature(name: str, value: float) -> Optional[str]:
    """Words for one feature's value in a line-model explanation (None: not worth saying)."""
    from .blockmodel import describe

    return describe(name, value, _LINE_FLAGS, "line", _describe_line_only)


def _describe_line_only(name: str, value: float) -> Optional[str]:
    if name == "span_distance":
        return "%d lines from the article" % round(math.expm1(value))
    return None


def _model_verdicts(lines: Sequence[str], state: _State, model=None) -> List[Optional[str]]:
    """The line model's decision per line, explained; a dropped line keeps the rules' reason
    when they dropped it too, with the model's score beside it (rule ``low-content`` either way)."""
    from .blockmodel import decide, load_model

    if not lines:
        return []
    if model is None:
        model = load_model(LINE_MODEL)
    return decide(model, line_matrix(lines, state), state.reasons, describe_line_feature, "line-model")
