"""Clean stage: scraped text (or HTML) -> kept lines + every removal with its rule.

Order: HTML extraction (``kind="html"``), then per line the named rules of
``dedupe.clean.rules``, the lines this source repeats on its other pages
(``dedupe.clean.learned``), the repeated-headline rule (with the masthead above a headline
printed twice) and the link-list rules, and finally the
content filter for naive scrapes (``dedupe.clean.content``).  The output has one paragraph per kept
line, separated by a blank line.  Cleaning is idempotent and never adds text: the rules
run to a fixed point and only ever drop whole lines.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import FrozenSet, List, Mapping, Optional, Sequence, Tuple

from ..config import Config
from ..errors import ConfigError, InputError
from ..model import CleanedDocument, Document, Removal
from ..normalize import normalize_for_hashing
from . import rules as R

#: A line after a 'Related Articles' heading is a link title, not prose, when it has at
#: most this many words and does not end like a sentence.  Link titles are headlines
#: (rarely over 20 words); article paragraphs after such a block end in punctuation.
LINK_TITLE_MAX_WORDS = 20
#: How many lines from the top a repeated headline may be looked for (headline, dateline,
#: byline, then the repeat).
HEADLINE_LOOKAHEAD = 4
#: The first line left by the rules is kept as the headline when it has at most this many
#: words (headlines run 5-20 words; a longer first line is judged like any other).
HEADLINE_MAX_WORDS = 25
#: A masthead ("Daily Herald | Local news you can trust") has at most this many words.
MASTHEAD_MAX_WORDS = 12  # outlet names and taglines run 4-10 words; a headline with a "|" kicker that is repeated stays the headline
_MASTHEAD_SEP = re.compile(r"\s+[|\-\u2013\u2014\u2022\u00b7]\s+")
_SENTENCE_END = tuple('.!?"\u201d\u2019)\u00bb')
#: At most this many passes to the fixed point (each pass only removes lines).
_MAX_PASSES = 5


#: The only line breaks: ``str.splitlines`` also breaks at form feed, \x1c-\x1e, \x85 and
#: U+2028/U+2029, which scraped text carries inside lines; splitting there would let a
#: noise-line removal cut or join the lines around it.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def text_lines(text: str, keepends: bool = False) -> List[str]:
    """The lines of ``text``, split at ``\\n``, ``\\r\\n`` and ``\\r`` only (``keepends``: each
    with its line break, so ``"".join`` gives ``text`` back, as ``str.splitlines(True)`` does).

    >>> text_lines("a\\x0cb\\r\\nc\\u2028d\\re")
    ['a\\x0cb', 'c\\u2028d', 'e']
    >>> text_lines("a\\x85b\\r\\nc\\n", keepends=True)
    ['a\\x85b\\r\\n', 'c\\n']
    """
    if keepends:
        pieces = _LINE_BREAK.split(text)
        breaks = _LINE_BREAK.findall(text)
        out = [p + b for p, b in zip(pieces, breaks)]
        if pieces[-1]:
            out.append(pieces[-1])
        return out
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # a final line break ends the last line, like str.splitlines
    return lines


def split_lines(text: str) -> List[str]:
    """Non-empty stripped lines, in order (see ``text_lines`` for where lines break)."""
    return [line.strip() for line in text_lines(text) if line.strip()]


def numbered_lines(text: str) -> Tuple[List[str], List[int]]:
    """Non-empty stripped lines and their 1-based line numbers in ``text``."""
    pairs = [(line.strip(), n) for n, line in enumerate(text_lines(text), 1) if line.strip()]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _is_teaser(line: str) -> bool:
    """An ad teaser: a link title or one or two short sentences ("Get fit before the holidays.")."""
    return len(line.split()) <= LINK_TITLE_MAX_WORDS


def _is_link_title(line: str) -> bool:
    return _is_teaser(line) and not line.endswith(_SENTENCE_END)


def _text_above(lines: Sequence[str], i: int) -> bool:
    """A line longer than a link title (article text) comes before line ``i``."""
    return not all(_is_teaser(lines[k]) for k in range(i))


def _is_masthead(line: str) -> bool:
    """Shaped like an outlet's name and tagline: short, two or more parts around " | " or " - "."""
    parts = _MASTHEAD_SEP.split(line)
    return (len(parts) >= 2 and all(p.strip() for p in parts) and len(line.split()) <= MASTHEAD_MAX_WORDS
            and not line.endswith(_SENTENCE_END))


def _headline(lines: Sequence[str], verdicts: List[Optional[R.Rule]], disabled: Tuple[str, ...]) -> Optional[int]:
    """Index of the headline, marking its second copy ``repeated-headline`` and a masthead above it.

    The headline is the first line no line rule or template removed ("show image" may precede
    it), unless that line is not repeated and the next one is: a line followed by its own
    repeat is the headline, and the short "Name | tagline" line before it is the masthead.
    """
    kept = [i for i, v in enumerate(verdicts) if v is None][: HEADLINE_LOOKAHEAD + 2]
    if not kept or R.REPEATED_HEADLINE.name in disabled:
        return kept[0] if kept else None
    keys = [normalize_for_hashing(lines[i]) for i in kept]
    head = 0
    if not any(k == keys[0] for k in keys[1:HEADLINE_LOOKAHEAD + 1]) and len(kept) > 2 \
            and any(k == keys[1] for k in keys[2:]) and _is_masthead(lines[kept[0]]):
        head = 1
        if R.MASTHEAD.name not in disabled:
            verdicts[kept[0]] = R.MASTHEAD
    for i, k in zip(kept[head + 1: head + 1 + HEADLINE_LOOKAHEAD], keys[head + 1:]):
        if k == keys[head]:
            verdicts[i] = R.REPEATED_HEADLINE
    return kept[head]


def _pass(lines: Sequence[str], config: Config, learned: FrozenSet[str],
          corpus: Mapping[str, str] = {}) -> List[Optional[R.Rule]]:
    """One pass: the rule removing each line, or None to keep it."""
    disabled = config.disabled_rules
    verdicts: List[Optional[R.Rule]] = [R.match_line(line, disabled) for line in lines]

    use_learned = bool(learned) and R.LEARNED.name not in disabled
    use_corpus = bool(corpus) and R.CORPUS.name not in disabled
    if use_learned or use_corpus:
        for i, line in enumerate(lines):
            if verdicts[i] is None:
                key = normalize_for_hashing(line)  # once per line, for both
                if use_learned and key in learned:
                    verdicts[i] = R.LEARNED
                elif use_corpus and key in corpus:
                    verdicts[i] = R.CORPUS

    headline = _headline(lines, verdicts, disabled)

    for heading in R.LINK_LIST_HEADINGS:
        if heading.name in disabled:
            continue
        teasers = heading.name in R.TEASER_HEADINGS
        item = _is_teaser if teasers else _is_link_title
        i = 0
        while i < len(lines):
            # a heading another rule, the source's template or the corpus already removes
            # ("Ads by Adblade" is an advertisement line too) still leads its list
            if heading.pattern.fullmatch(lines[i]):
                verdicts[i] = verdicts[i] or heading
                j = i + 1
                # ad teasers are taken only inside the article (text above the heading): at the
                # top of the page they run straight into its headline, which is shaped like one
                take = not teasers or _text_above(lines, i)
                while take and j < len(lines) and (verdicts[j] is not None or item(lines[j])):
                    verdicts[j] = verdicts[j] or heading
                    j += 1
                # A heading followed by prose is a section title inside the article: keep its prose.
                i = j
            else:
                i += 1

    if config.content_filter and R.CONTENT.name not in disabled:
        from .content import filter_lines  # local import keeps the optional stage optional

        kept = [i for i, v in enumerate(verdicts) if v is None]
        reasons = filter_lines([lines[i] for i in kept], config)
        # The headline (first line left by the rules, or the line printed twice) is article text,
        # however short, when the article follows it closely (on a naive scrape the first line
        # is a menu item).
        head = kept.index(headline) if headline in kept else 0
        body = next((k for k, reason in enumerate(reasons) if reason is None and k > head), None)
        if (kept and len(lines[kept[head]].split()) <= HEADLINE_MAX_WORDS
                and (body is None or body - head <= HEADLINE_LOOKAHEAD)):
            reasons[head] = None
        for i, reason in zip(kept, reasons):
            if reason:
                verdicts[i] = R.Rule(R.CONTENT.name, reason)
    return verdicts


def clean_lines(
    lines: Sequence[str], config: Config, learned: FrozenSet[str] = frozenset(), learned_note: str = "",
    numbers: Optional[Sequence[int]] = None, corpus: Mapping[str, str] = {},
) -> Tuple[List[str], List[Removal]]:
    """Kept lines and removals; ``where`` is ``line N`` with N from ``numbers`` (default: 1, 2, ...).

    ``learned``: the normalised lines of this source's template (reason ``learned_note``);
    ``corpus``: normalised corpus-wide boilerplate lines, each with its reason (the counts)."""
    positions = list(numbers) if numbers is not None else list(range(1, len(lines) + 1))
    current = list(lines)
    removals: List[Removal] = []
    for _ in range(_MAX_PASSES):
        verdicts = _pass(current, config, learned, corpus)
        if not any(verdicts):
            break
        next_lines, next_pos = [], []
        for pos, line, rule in zip(positions, current, verdicts):
            if rule is None:
                next_lines.append(line)
                next_pos.append(pos)
            else:
                reason = learned_note if rule.name == R.LEARNED.name and learned_note else rule.reason
                if rule.name == R.CORPUS.name:
                    reason = corpus.get(normalize_for_hashing(line), rule.reason)
                removals.append(Removal(rule=rule.name, text=line, where=f"line {pos}", reason=reason))
        current, positions = next_lines, next_pos
    removals.sort(key=lambda r: int(r.where.split()[1]))
    return current, removals


def extract_page(document: Document) -> Tuple[str, Tuple[Optional[str], Optional[str]]]:
    """The document's text and its page's ``(title, url)`` (``(None, None)`` for text)."""
    if document.kind == "html":
        from .html import html_page

        page = html_page(document.text)
        return page.text, (page.title, page.url)
    return document.text, (None, None)


def with_page_metadata(document: Document, title: Optional[str], url: Optional[str]) -> Document:
    """``document`` with the page's title and URL where it has none (its source is never changed)."""
    if (document.title is None and title) or (document.url is None and url):
        return replace(document, title=document.title if document.title is not None else title,
                       url=document.url if document.url is not None else url)
    return document


def extract(document: Document) -> str:
    """The document's text; HTML pages go through the HTML stage first."""
    if document.kind == "html":
        from .html import html_to_text

        return html_to_text(document.text)
    return document.text


def clean_document(document: Document, config: Config, learned: FrozenSet[str] = frozenset(),
                   learned_note: str = "", text: Optional[str] = None,
                   corpus: Mapping[str, str] = {}) -> CleanedDocument:
    """Clean one document; ``text`` is its already extracted text, when the caller has it.

    An HTML page cleaned from its markup (``text`` None) also reports what the HTML stage
    dropped (``html-*`` removals, ``where`` = ``html block N``, before the line removals) and
    takes its title and URL from the page (og:title or <title>; canonical link or og:url)
    where the document has none.  ``source`` stays as the reader set it (folder, record or
    option), never the URL's host: sources name outlets the way the user's data does.
    """
    html_removals: Tuple[Removal, ...] = ()
    if text is None and document.kind == "html":
        from .html import html_page

        page = html_page(document.text)
        text, html_removals = page.text, page.removals()
        document = with_page_metadata(document, page.title, page.url)
    lines, numbers = numbered_lines(extract(document) if text is None else text)
    kept, removals = clean_lines(lines, config, learned, learned_note, numbers, corpus)
    return CleanedDocument(document=document, paragraphs=tuple(kept), removals=html_removals + tuple(removals))


def clean_and_explain(raw: str, config: Optional[Config] = None, kind: str = "text") -> Tuple[str, Tuple[Removal, ...]]:
    """Clean one document's text and return it with every removal (rule, line, reason)."""
    if not isinstance(raw, str):
        raise InputError(f"expected the document's text as str, not {type(raw).__name__}"
                         + (" (decode bytes first)" if isinstance(raw, (bytes, bytearray)) else ""))
    if config is not None and not isinstance(config, Config):
        raise ConfigError(f"config must be a dedupe.Config, not {type(config).__name__}")
    if kind not in ("text", "html"):
        raise InputError(f"kind must be 'text' or 'html', not {kind!r}")
    cleaned = clean_document(Document(id="-", source="-", text=raw, kind=kind), config or Config())
    return cleaned.text, cleaned.removals


def clean_text(raw: str, config: Optional[Config] = None) -> str:
    """Scraper noise removed from one scraped article (plain text in, plain text out).

    >>> clean_text("show image\\n\\nHuawei denies the claims.\\n\\nRelated Articles\\nMore on Huawei")
    'Huawei denies the claims.'
    """
    return clean_and_explain(raw, config)[0]

