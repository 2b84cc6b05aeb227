"""HTML page -> main article text, with a reason for every block left out (bs4 + lxml).

Method (no other extractor is called):

1. *Walk*: one iterative pass over the parsed tree turns the page into a flat list of
   blocks (the text of one block-level element: paragraph, heading, list item, cell ...).
   Invisible subtrees (script, style, ``hidden``, ``display:none``) are skipped; each block
   remembers its block-level ancestors and the boilerplate hints around it (``<nav>``,
   ``<aside>``, class/id words such as ``comment``, ``share``, ``related``; see
   ``STRUCTURAL_TAGS`` and ``HINT_RULES``) and how much of its text sits inside links.
2. *Container*: every block gets a value (+length for prose-like text, -length for link
   lists and hinted boilerplate, 0 for short neutral text); the block-level element whose
   blocks sum to the highest value is the article container (a maximum-sum subtree: it
   takes in all the prose it can while paying for the boilerplate it would swallow).
3. *Blocks*: inside the container each block is kept or dropped by its own features
   (hints below the container, link density, headline) and short blocks take the class of
   their prose neighbours (jusText's context idea), so bylines, dates and "Advertisement"
   at the edges go while subheadings between paragraphs stay, and so does a short statement
   right at the body's edge ("Officials declined to comment.", not "Share it with a friend!").
   Class words of table rows and cells name their data ("player", "date"), so only strong
   hints apply there; a social post the article embeds ("social-media-embed") is text.

Two or more ``<br>`` in a row end a paragraph (the block is split there); one ``<br>`` is a
line break inside it.

``html_page`` parses a page once: every block with its verdict (``reason`` is None for kept
blocks), the invisible script/hidden text, the page's title and URL (``page_title``,
``page_url``) and, from ``Page.removals``, one named ``html-*`` Removal per dropped block
(``HTML_REMOVAL_RULES``).  ``html_to_blocks`` and ``html_to_text`` are its views.
"""
from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

from ..errors import InputError
from ..model import Removal
from . import stopwords
from .content import UNSPACED_PROSE_WORDS, reads_as_sentence
from .stopwords import stopword_density

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# Rules as data


@dataclass(frozen=True)
class HintRule:
    """A class/id word pattern that marks boilerplate; ``strong`` rules win over positive hints."""

    name: str
    pattern: str
    reason: str
    strong: bool = True


#: Subtrees never rendered as text.
INVISIBLE_TAGS = frozenset(
    "script style noscript template svg head iframe object embed canvas button select "
    "input textarea option datalist map video audio source track picture img".split()
)

#: Invisible subtrees that hold code or fallback text, reported as ``html-script`` removals.
SCRIPT_TAGS = frozenset("script style noscript template".split())

#: Page furniture by HTML5 semantics: boilerplate unless the container itself is one.
STRUCTURAL_TAGS: Dict[str, str] = {
    "nav": "navigation (<nav>)",
    "header": "page or article header (<header>)",
    "footer": "page or article footer (<footer>)",
    "aside": "side content (<aside>)",
    "menu": "menu (<menu>)",
    "dialog": "dialog (<dialog>)",
    "figure": "figure and its caption (<figure>)",
    "figcaption": "caption (<figcaption>)",
    "form": "form (<form>)",
    "label": "form label (<label>)",
}

HINT_RULES: Tuple[HintRule, ...] = (
    HintRule("comments", r"comments?|disqus|replies|respond", "reader comments"),
    HintRule("share", r"share|sharing|sharebar|sharetools|social|socials|addthis|sociallinks", "share buttons / social links"),
    HintRule("related", r"related|recirc|recirculation|more|moreon|morestories|recommended|recommendations?|outbrain|taboola|trending|popular|mostread|mostpopular|readmore|readnext|upnext|next", "links to other articles"),
    HintRule("promo", r"promos?|promotion|newsletters?|subscribe|subscription|signup|paywall|cta|offer|membership|donate", "promotion / newsletter / subscription prompt"),
    HintRule("ad", r"ads?|advert|adverts|advertisement|advertising|adslot|adunit|dfp|gpt|sponsored?|sponsors?|dotcom|adsense|taboola", "advertisement"),
    HintRule("navigation", r"nav|navbar|navigation|menu|mainmenu|submenu|breadcrumbs?|pagination|pager|skip|skiplink|toc|jumplinks?", "site navigation"),
    HintRule("page-furniture", r"footer|masthead|sidebar|rail|widgets?|modal|popup|overlay|cookie|cookies|gdpr|consent|banner|toolbar|tools", "page furniture"),
    HintRule("meta", r"byline|bylines|author|authors|dateline|timestamp|date|published|updated|meta|metadata|tags?|topics?|keywords|categories|credit|credits|copyright", "article metadata", strong=False),
    HintRule("media", r"caption|captions|figcaption|gallery|slideshow|slider|carousel|photo|image|video|player|media|embed", "media / caption", strong=False),
    HintRule("header", r"header|hed|headline|title|kicker|eyebrow|dek", "headline area", strong=False),
    HintRule("screen-reader", r"sronly|screenreader|visuallyhidden|offscreen|hidden|hide|hdn", "hidden helper text", strong=False),
)
#: An element whose words say both "embedded" and a social network holds a post the article
#: quotes ("social-media-embed", "embedded-tweet"): text, not share buttons or a video player.
EMBED_WORDS = frozenset({"embed", "embedded", "embeds"})
SOCIAL_POST_WORDS = frozenset({"social", "tweet", "twitter", "instagram", "facebook", "tiktok"})
#: Class/id words that mark the article body; they cancel the weak hints above.
POSITIVE_HINT = re.compile(r"^(article|articles|body|content|entry|main|post|story|text|blog|prose|copy|richtext)$")

_HINT_RES = tuple((rule, re.compile(r"^(?:%s)$" % rule.pattern)) for rule in HINT_RULES)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+")
#: Fused class words ("screen-reader-text" -> "screenreadertext") checked by prefix too.
_FUSED = (("sronly", "sr-only"), ("screenreader", "screen-reader"), ("visuallyhidden", "visually-hidden"))

#: Rows and cells of a data table: their class words name the data ("player", "date", "title"),
#: so only strong hints count on them.
TABLE_PART_TAGS = frozenset("tr td th thead tbody tfoot".split())

BLOCK_TAGS = frozenset(
    """address article aside blockquote body center dd details dialog dir div dl dt fieldset
    figcaption figure footer form frameset h1 h2 h3 h4 h5 h6 header hgroup hr html legend li
    main menu nav ol p pre section summary table tbody td tfoot th thead tr ul caption label""".split()
)
HEADING_TAGS = frozenset("h2 h3 h4 h5 h6".split())
#: Tags never chosen as "the article container" even when they win the sum (they are rows/cells).
NON_CONTAINER_TAGS = frozenset("tr tbody thead tfoot li dt dd p h1 h2 h3 h4 h5 h6 pre".split())

# --------------------------------------------------------------------------------------
# Tuned constants

#: A block with this share of its characters inside links is a link list / navigation item.
MAX_LINK_DENSITY = 0.5  # menus and "related" lists sit at 0.8-1.0; prose with a few links below 0.2
#: ... and for short blocks (< SHORT_WORDS words) a lower bar: one linked phrase in a teaser.
MAX_LINK_DENSITY_SHORT = 0.34
#: Blocks with fewer words than this are "short": judged by their neighbours, not alone.
SHORT_WORDS = 10  # subheadings, captions, datelines, "Advertisement" are below it; prose is above
#: A hinted element holding this share of the page's prose is a layout wrapper, not boilerplate.
WRAPPER_PROSE_SHARE = 0.5  # an article is most of a page's prose; sidebars and comment-free furniture hold little
#: A block this short equal to the page <title> or one of its " | "-separated parts is the headline repeated.
TITLE_MAX_WORDS = 30  # headlines run 5-20 words; a paragraph quoting the whole title is longer
#: A prose block ends like a sentence or carries function words.
MIN_STOPWORD_DENSITY = 0.22  # running text in Latin-script languages sits at 0.3-0.5; lists/menus below 0.15
#: A link-poor block this long is prose in any language (scripts without spaces or stopword lists too).
LONG_CHARS = 200  # menus, captions and labels are far shorter; a two-sentence paragraph is longer
_TITLE_SEP = re.compile(r"\s+[|\-\u2013\u2014:\u00bb\u00b7]\s+")
_SENTENCE_END = re.compile(r"[.!?…:;\"'”’»)\]。！？｡」』।؟።]\s*$")
_WS = re.compile(r"[ \t\r\f\v\n\u00a0\u200b]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
#: Stands for a <br> in a block's text buffer (compared by identity).
_BR = object()
_OUTSIDE = "outside the article container"
_SKIP_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)


@dataclass(frozen=True)
class Block:
    """One block of the page: its text, tag, and the verdict (``reason`` None = kept)."""

    index: int
    text: str
    tag: str
    link_density: float
    reason: Optional[str] = None

    @property
    def kept(self) -> bool:
        return self.reason is None


@dataclass
class _Raw:
    """A block while it is being judged (mutable scratch, never leaves this module)."""

    text: str
    tag: str
    path: Tuple[int, ...]  # node ids of block-level ancestors, outermost first (incl. own element)
    link_chars: int
    hints: Tuple[Tuple[int, int, str], ...]  # (depth in path where the hinted element starts, its id, reason)
    words: int = 0
    ld: float = 0.0
    prose: bool = False


# --------------------------------------------------------------------------------------
# Walk


def _hint_for(tag: Tag) -> Optional[str]:
    """The boilerplate reason a tag's class/id words give, or None (memoised: a page repeats
    its class names on hundreds of tags)."""
    attrs = tag.attrs
    if not attrs:
        return None
    cls, ident, role = attrs.get("class"), attrs.get("id"), attrs.get("role")
    if cls is None and ident is None and role is None:
        return None
    key = (cls if isinstance(cls, str) else " ".join(cls or ()), ident if isinstance(ident, str) else None,
           role if isinstance(role, str) else None, tag.name in TABLE_PART_TAGS)
    got = _HINTS.get(key, _UNSEEN)
    if got is _UNSEEN:
        if len(_HINTS) >= _HINTS_MAX:  # ids are often unique: keep the memo bounded
            _HINTS.clear()
        got = _HINTS[key] = _hint_words(*key)
    return got


_HINTS: Dict[Tuple[str, Optional[str], Optional[str], bool], Optional[str]] = {}
_HINTS_MAX = 100_000
_UNSEEN = object()


def _hint_words(cls: str, ident: Optional[str], role: Optional[str], table_part: bool) -> Optional[str]:
    words = cls.split()
    if ident is not None:
        words.append(ident)
    if role in ("navigation", "banner", "contentinfo", "complementary", "dialog", "menu", "menubar"):
        return "page furniture (role=%s)" % role
    if not words:
        return None
    tokens: List[str] = []
    for w in words:
        fused = w.lower().replace("-", "").replace("_", "")
        for key, label in _FUSED:
            if fused.startswith(key):
                return "hidden helper text (class %s)" % label
        tokens.extend(t.lower() for t in _WORD_SPLIT.split(_CAMEL.sub(" ", w)) if t)
    if EMBED_WORDS.intersection(tokens) and SOCIAL_POST_WORDS.intersection(tokens):
        return None
    weak_ok = not any(POSITIVE_HINT.match(t) for t in tokens) and not table_part
    for i, t in enumerate(tokens):
        if i and tokens[i - 1] in ("has", "no", "with", "without", "show", "is"):
            continue  # state flags such as "has-sidebar", "no-comments"
        for rule, rx in _HINT_RES:
            if rx.match(t) and (rule.strong or weak_ok):
                return "%s (class/id word %r)" % (rule.reason, t)
    return None


def _invisible(tag: Tag) -> bool:
    attrs = tag.attrs
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    return isinstance(style, str) and bool(_HIDDEN_STYLE.search(style))


def _walk(root: Tag, skipped: Optional[List[Tuple[int, str, str, str]]] = None) -> List[_Raw]:
    """Flatten the tree into blocks (iterative: some pages nest deeper than the recursion limit).

    ``skipped`` collects the invisible subtrees that hold text, as (blocks before it, tag,
    text, "script" or "hidden"), for the removal report."""
    blocks: List[_Raw] = []
    buf: List[Tuple[object, bool]] = []  # (text, inside a link), or (_BR, False) for a <br>
    path: List[int] = []
    tags: List[str] = []
    hints: List[Tuple[int, int, str]] = []
    next_id = [0]

    def flush() -> None:
        # Two or more <br> in a row (whitespace between allowed) end a paragraph: the block is
        # split there; a single <br> is a line break inside the paragraph (a space).
        parts: List[Tuple[List[str], int]] = [([], 0)]
        brs = 0
        for piece, linked in buf:
            if piece is _BR:
                brs += 1
                continue
            if brs:
                if not piece.strip():
                    continue  # whitespace between or after <br>s
                if brs >= 2 and "".join(parts[-1][0]).strip():
                    parts.append(([], 0))
                else:
                    parts[-1][0].append(" ")
                brs = 0
            parts[-1][0].append(piece)
            if linked:
                parts[-1] = (parts[-1][0], parts[-1][1] + len(piece.strip()))
        for pieces, link_chars in parts:
            text = _WS.sub(" ", "".join(pieces)).strip()
            if text:
                blocks.append(_Raw(text, tags[-1] if tags else "", tuple(path), min(link_chars, len(text)), tuple(hints)))
        buf.clear()

    in_link = 0
    stack: List[Tuple[object, int]] = [(root, 0)]  # 0 = enter, 1 = leave, 2 = leave and pop a hint
    while stack:
        node, state = stack.pop()
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIP_STRINGS):
                buf.append((str(node), bool(in_link)))
            continue
        if not isinstance(node, Tag):
            continue
        name = (node.name or "").lower()
        if state:
            if name in BLOCK_TAGS:
                flush()
                path.pop()
                tags.pop()
            elif name == "a":
                in_link -= 1
            if state == 2:
                flush()  # a hinted inline element is a block of its own
                hints.pop()
            continue
        if name in INVISIBLE_TAGS or _invisible(node):
            if skipped is not None and (name in SCRIPT_TAGS or (name not in INVISIBLE_TAGS and _invisible(node))):
                text = _WS.sub(" ", node.get_text(" ")).strip()
                if text:
                    skipped.append((len(blocks), name, text, "script" if name in SCRIPT_TAGS else "hidden"))
            continue
        if name == "br":
            buf.append((_BR, False))
            continue
        reason = STRUCTURAL_TAGS.get(name) or _hint_for(node)
        if name in ("html", "body", "main", "article"):
            reason = None  # the page and its declared main content are never boilerplate by name
        if reason or name in BLOCK_TAGS:
            flush()
        if reason:
            hints.append((len(path), next_id[0], reason))
            next_id[0] += 1
        if name in BLOCK_TAGS:
            path.append(next_id[0])
            next_id[0] += 1
            tags.append(name)
        elif name == "a":
            in_link += 1
        stack.append((node, 2 if reason else 1))
        stack.extend((c, 0) for c in reversed(node.contents))
    flush()
    return blocks


# --------------------------------------------------------------------------------------
# Judge


def _features(b: _Raw) -> None:
    b.words = stopwords.word_count(b.text)
    b.ld = b.link_chars / max(1, len(b.text))
    b.prose = b.ld <= MAX_LINK_DENSITY and (
        len(b.text) >= LONG_CHARS
        or (b.words >= SHORT_WORDS and (bool(_SENTENCE_END.search(b.text)) or stopword_density(b.text) >= MIN_STOPWORD_DENSITY))
        or (b.words >= UNSPACED_PROSE_WORDS and not b.text.isascii() and stopwords.is_unspaced(b.text))
    )


def _value(b: _Raw) -> float:
    """What including this block in the container is worth (for the maximum-sum choice)."""
    n = len(b.text)
    if b.hints or b.ld > MAX_LINK_DENSITY:
        return -float(n)
    if b.prose:
        return n * (1.0 - b.ld)
    return 0.0


def _choose_container(blocks: Sequence[_Raw], use_hints: bool) -> Tuple[Optional[int], float]:
    """(node id, score) of the block-level element whose blocks sum to the highest value."""
    score: Dict[int, float] = {}
    depth: Dict[int, int] = {}
    for b in blocks:
        v = _value(b) if use_hints else (-float(len(b.text)) if b.ld > MAX_LINK_DENSITY else (len(b.text) if b.prose else 0.0))
        if v == 0.0:
            continue
        for d, nid in enumerate(b.path):
            score[nid] = score.get(nid, 0.0) + v
            depth[nid] = d
    own_tag = {}
    for b in blocks:
        if b.path:
            own_tag.setdefault(b.path[-1], b.tag)
    best, best_score = None, 0.0
    for nid in sorted(score):  # document order; ties go to the inner (later-opened) element
        if own_tag.get(nid) in NON_CONTAINER_TAGS:
            continue
        if score[nid] >= best_score and score[nid] > 0:
            best, best_score = nid, score[nid]
    return best, best_score


#: The element around the headline is the article's when its prose is worth this share of the
#: best element's: a short post under its headline beats the longer comment thread or sidebar.
HEADLINE_CONTAINER_SHARE = 0.25


def _headline_container(blocks: Sequence[_Raw], titles: Sequence[str], best: Optional[int], best_score: float) -> Optional[int]:
    """The innermost element holding the headline (the first <h1> or block repeating the page
    title) and prose worth ``HEADLINE_CONTAINER_SHARE`` of the best element, when the best
    element lies elsewhere on the page (neither holds the other); else ``best``."""
    head = next((b for b in blocks if b.tag == "h1" or _is_title(b, titles)), None)
    if head is None or best is None or best in head.path:
        return best
    score: Dict[int, float] = {}
    for b in blocks:
        v = _value(b)
        if v > 0:
            for nid in b.path:
                score[nid] = score.get(nid, 0.0) + v
    for nid in reversed(head.path):
        if score.get(nid, 0.0) >= HEADLINE_CONTAINER_SHARE * best_score:
            inner = [b for b in blocks if best in b.path]
            return best if inner and nid in inner[0].path else nid
    return best


def _void_wrapper_hints(blocks: List[_Raw]) -> None:
    """Drop hints of elements that hold most of the page's prose: layout wrappers ("content-sidebar-wrap")."""
    total = sum(len(b.text) for b in blocks if b.prose)
    inside: Dict[int, int] = {}
    reason_of: Dict[int, str] = {}
    for b in blocks:
        for _, hid, r in b.hints:
            reason_of[hid] = r
            if b.prose:
                inside[hid] = inside.get(hid, 0) + len(b.text)
    void = {h for h, n in inside.items() if n >= WRAPPER_PROSE_SHARE * total and not reason_of[h].startswith("reader comments")}
    if void:
        for b in blocks:
            if b.hints:
                b.hints = tuple(h for h in b.hints if h[1] not in void)


def _title_key(text: str) -> str:
    return " ".join(stopwords.words(text))


def _page_titles(soup: BeautifulSoup) -> Tuple[str, ...]:
    """The page's own titles (<title>, og:title, twitter:title) as word keys, for spotting the repeated headline."""
    found = []
    if soup.title and soup.title.string:
        found.append(str(soup.title.string))
    for meta in soup.find_all("meta"):
        key = meta.get("property") or meta.get("name")
        if key in ("og:title", "twitter:title") and isinstance(meta.get("content"), str):
            found.append(meta["content"])
    parts = [p for t in found for p in (t, *_TITLE_SEP.split(t))]
    return tuple(sorted({k for k in map(_title_key, parts) if len(k.split()) >= 2}))


def _is_title(b: _Raw, titles: Sequence[str]) -> bool:
    if b.words > TITLE_MAX_WORDS or not titles:
        return False
    return _title_key(b.text) in titles


def _judge(blocks: List[_Raw], titles: Sequence[str] = ()) -> List[Optional[str]]:
    """The rules' verdict per block (None = kept); see ``_judge_full``."""
    return _judge_full(blocks, titles)[0]


def _judge_full(blocks: List[_Raw], titles: Sequence[str] = ()) -> Tuple[List[Optional[str]], List[bool], Optional[int]]:
    """(verdict per block, whether each block is inside the article container, the container's node id)."""
    for b in blocks:
        _features(b)
    _void_wrapper_hints(blocks)
    container, best = _choose_container(blocks, use_hints=True)
    container = _headline_container(blocks, titles, container, best)
    total_prose = sum(len(b.text) for b in blocks if b.prose)
    in_container = [container is not None and container in b.path for b in blocks]
    kept_prose = sum(len(b.text) for b, inside in zip(blocks, in_container) if inside and b.prose)
    if container is None or kept_prose < 0.2 * total_prose:
        # the hints hid the article (a wrapper with an unlucky class name): choose again without them
        container, _ = _choose_container(blocks, use_hints=False)
        in_container = [container is not None and container in b.path for b in blocks]
    reasons: List[Optional[str]] = []
    for b, inside in zip(blocks, in_container):
        if not inside:
            # named after the innermost hint around it (<nav>, class "share" ...) when it has one
            reasons.append(_OUTSIDE + (": " + b.hints[-1][2] if b.hints else ""))
            continue
        cdepth = b.path.index(container)
        inner = [r for d, _, r in b.hints if d > cdepth]
        if inner:
            reasons.append(inner[-1])
        elif b.tag == "h1":
            reasons.append("headline (<h1>)")
        elif _is_title(b, titles):
            reasons.append("headline (repeats the page title)")
        elif b.ld > (MAX_LINK_DENSITY if b.words >= SHORT_WORDS else MAX_LINK_DENSITY_SHORT):
            reasons.append("link list: %.0f%% of the text is links" % (100 * b.ld))
        else:
            reasons.append(None)
    return _context(blocks, reasons), in_container, container


def _context(blocks: Sequence[_Raw], reasons: List[Optional[str]]) -> List[Optional[str]]:
    """Short kept blocks stay only between prose (subheadings, short paragraphs), not at the edges."""
    n = len(blocks)
    alive = [i for i in range(n) if reasons[i] is None]
    prose = [i for i in alive if blocks[i].prose]
    if not prose:
        return reasons
    first, last = prose[0], prose[-1]
    # A short sentence right next to the body is its first or last line ("Officials declined to comment.").
    while last + 1 < n and reasons[last + 1] is None and reads_as_sentence(blocks[last + 1].text):
        last += 1
    while first > 0 and reasons[first - 1] is None and reads_as_sentence(blocks[first - 1].text):
        first -= 1
    out = list(reasons)
    for i in alive:
        if blocks[i].prose:
            continue
        if i < first:
            out[i] = "short text before the article body (byline, date, label)"
        elif i > last:
            out[i] = "short text after the article body (tags, credits, prompts)"
    return out


# --------------------------------------------------------------------------------------
# Model features: what the block model (``blockmodel``, weights ``html_blocks``) sees

#: The rules' verdict classes, by the start of the reason (one-hot features).
VERDICT_CLASSES: Tuple[Tuple[str, str], ...] = (
    ("outside", _OUTSIDE), ("h1", "headline (<h1>)"), ("title", "headline (repeats"),
    ("linklist", "link list"), ("edge", "short text"),
)
#: Blocks the rules drop alone, whatever the model says: the headline (an <h1>, or a block
#: repeating the page title) is the document's title (``page_title``), not a paragraph of its
#: body, a <figure>/<figcaption> is a picture's caption and credit, and a short block marked as
#: a byline, date or tags (class words, ``html-meta``) is metadata.  The training sets
#: disagree on both (L3S-GN1's gold starts with the headline; some keep captions), so the
#: product's convention is a rule, not something to learn.
FORCED_TAGS = frozenset({"h1", "figcaption"})
_FORCED_REASONS = ("headline (", "figure and its caption", "caption (<figcaption>)")


def _forced(b: "_Raw", reason: Optional[str], titles: Sequence[str]) -> bool:
    if b.tag in FORCED_TAGS or _is_title(b, titles):
        return True
    if b.words < SHORT_WORDS and any(html_rule(h) == "html-meta" for _, _, h in b.hints):
        return True  # a byline, dateline or tag list: the document's metadata, not its text
    if reason is None:
        return False
    if reason.startswith(_OUTSIDE + ": "):
        reason = reason[len(_OUTSIDE) + 2:]
    return reason.startswith(_FORCED_REASONS)


def _forced_reason(b: "_Raw", reason: Optional[str], titles: Sequence[str]) -> str:
    if reason is not None and not reason.startswith(_OUTSIDE):
        return reason
    if b.tag == "h1":
        return "headline (<h1>)"
    if _is_title(b, titles):
        return "headline (repeats the page title)"
    if b.tag == "figcaption":
        return "caption (<figcaption>)"
    meta = [h for _, _, h in b.hints if html_rule(h) == "html-meta"]
    return reason or (meta[-1] if meta else "figure and its caption (<figure>)")
#: Block tags the model tells apart (the rest count as "other").
FEATURE_TAGS: Tuple[Tuple[str, frozenset], ...] = (
    ("p", frozenset({"p"})), ("heading", HEADING_TAGS), ("h1", frozenset({"h1"})), ("li", frozenset({"li", "dt", "dd"})),
    ("cell", frozenset({"td", "th"})), ("div", frozenset({"div", "section", "article", "main", "body", "center"})),
    ("quote", frozenset({"blockquote", "pre"})), ("caption", frozenset({"figcaption", "caption", "figure"})),
)
#: Hint kinds on the block's ancestors (html_rule names of the hint reasons).
FEATURE_HINTS: Tuple[str, ...] = (
    "html-nav", "html-header", "html-footer", "html-aside", "html-figure", "html-form", "html-comments",
    "html-share", "html-related", "html-promo", "html-ad", "html-furniture", "html-meta", "html-hidden",
)
_NEIGHBOUR = ("prose", "link_density", "chars", "in_container", "kept")


def _own_features() -> Tuple[str, ...]:
    own = ["forced", "chars", "words", "link_density", "stopwords", "sentence_end", "prose", "in_container", "kept",
           "digits", "upper_start", "commas", "named_rule", "chrome", "repeated", "title_like",
           "position", "before_body", "after_body", "body_distance", "depth_below_container",
           "text_before", "container_share", "page_blocks", "page_prose_share", "inner_hints"]
    own += ["verdict_" + v for v, _ in VERDICT_CLASSES]
    own += ["tag_" + t for t, _ in FEATURE_TAGS]
    own += ["hint_" + h[5:] for h in FEATURE_HINTS]
    return tuple(own)


_OWN = _own_features()
#: Every feature, in the weight file's order: the block's own, then its neighbours'.
BLOCK_FEATURES: Tuple[str, ...] = _OWN + tuple(f"{side}_{n}" for side in ("prev", "next", "prev2", "next2") for n in _NEIGHBOUR)


def block_features(blocks: Sequence[_Raw], reasons: Sequence[Optional[str]], in_container: Sequence[bool],
                   container: Optional[int], titles: Sequence[str] = ()):
    """The (blocks, ``BLOCK_FEATURES``) matrix for the block model (after ``_judge_full``)."""
    import numpy as np

    from . import rules as R
    from .content import chrome_of, digit_share, upper_share

    n = len(blocks)
    x = np.zeros((n, len(BLOCK_FEATURES)))
    if not n:
        return x
    col = {name: i for i, name in enumerate(BLOCK_FEATURES)}
    kept = [r is None for r in reasons]
    kept_prose = [i for i in range(n) if kept[i] and blocks[i].prose]
    first = kept_prose[0] if kept_prose else n
    last = kept_prose[-1] if kept_prose else -1
    total_chars = sum(len(b.text) for b in blocks) or 1
    total_prose = sum(len(b.text) for b in blocks if b.prose) or 1
    container_chars = sum(len(b.text) for b, inside in zip(blocks, in_container) if inside) or 1
    counts: Dict[str, int] = {}
    keys = [_title_key(b.text) for b in blocks]
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    hint_col = {h: col["hint_" + h[5:]] for h in FEATURE_HINTS}
    before = 0
    for i, b in enumerate(blocks):
        row = x[i]
        text = b.text
        chars = len(text)
        row[col["chars"]] = math.log1p(chars)
        row[col["words"]] = math.log1p(b.words)  # stopwords.word_count, from _features
        row[col["link_density"]] = b.ld
        row[col["stopwords"]] = stopword_density(text) if b.words <= 400 else stopword_density(text[:4000])
        row[col["sentence_end"]] = bool(_SENTENCE_END.search(text))
        row[col["prose"]] = b.prose
        row[col["in_container"]] = in_container[i]
        row[col["kept"]] = kept[i]
        row[col["digits"]] = digit_share(text)
        row[col["upper_start"]] = upper_share(text)
        row[col["commas"]] = text.count(",") / max(1, b.words)
        row[col["named_rule"]] = b.words <= 60 and R.match_line(text) is not None
        row[col["chrome"]] = b.words < 60 and chrome_of(text) is not None
        row[col["repeated"]] = counts[keys[i]] > 1 and bool(keys[i])
        row[col["title_like"]] = _is_title(b, titles)
        row[col["position"]] = i / n
        row[col["before_body"]] = i < first
        row[col["after_body"]] = i > last
        row[col["body_distance"]] = math.log1p(first - i if i < first else (i - last if i > last else 0))
        cdepth = b.path.index(container) if container is not None and container in b.path else -1
        row[col["depth_below_container"]] = len(b.path) - cdepth if cdepth >= 0 else -1
        row[col["text_before"]] = before / total_chars
        before += chars
        row[col["container_share"]] = chars / container_chars if in_container[i] else 0.0
        row[col["page_blocks"]] = math.log1p(n)
        row[col["page_prose_share"]] = total_prose / total_chars
        row[col["inner_hints"]] = sum(1 for d, _, _ in b.hints if d > cdepth) if cdepth >= 0 else len(b.hints)
        reason = reasons[i]
        row[col["forced"]] = _forced(b, reason, titles)
        if reason is not None:
            for name, prefix in VERDICT_CLASSES:
                if reason.startswith(prefix):
                    row[col["verdict_" + name]] = 1.0
                    break
        for name, tags in FEATURE_TAGS:
            if b.tag in tags:
                row[col["tag_" + name]] = 1.0
                break
        for _, _, hint in b.hints:
            c = hint_col.get(html_rule(hint))
            if c is not None:
                row[c] = 1.0
    from .blockmodel import add_neighbours

    return add_neighbours(x, col, _NEIGHBOUR)


#: The packaged block model the HTML stage applies (``None``: the rules alone decide).  Off:
#: left out of fitting it beats the rules on the mean (leave-one-set-out F1 0.924 against 0.922;
#: see ``dedupe.clean.training``) but loses on CleanEval-dev and ScrapingHub, and it runs at
#: 0.68x the pages per second.  ``html_page(page, model=load_model("html_blocks"))`` applies it.
BLOCK_MODEL: Optional[str] = None


def _model_verdicts(blocks: Sequence[_Raw], titles: Sequence[str], reasons: List[Optional[str]],
                    in_container: Sequence[bool], container: Optional[int], model=None) -> List[Optional[str]]:
    """The block model's verdict per block, explained: it sees the rules' verdicts as features and
    keeps a block when its score reaches the model's cutoff.  A dropped block keeps the rules'
    reason (and rule name) when they dropped it too, with the model's score beside it."""
    from .blockmodel import decide, load_model

    if model is None:
        if BLOCK_MODEL is None or not blocks:
            return reasons
        model = load_model(BLOCK_MODEL)
    x = block_features(blocks, reasons, in_container, container, titles)
    c = BLOCK_FEATURES.index("forced")
    forced = [i for i in range(len(blocks)) if x[i, c]]  # ``_forced``, as block_features found it
    out = decide(model, x, reasons, describe_block_feature, "block-model", exempt=forced)
    for i in forced:
        out[i] = _forced_reason(blocks[i], reasons[i], titles)
    return out


_DESCRIBE_FLAGS = {
    "in_container": ("inside the article container", "outside the article container"),
    "prose": ("reads as prose", "not prose-like"),
    "kept": ("the rules keep it", "the rules drop it"),
    "sentence_end": ("ends like a sentence", "no sentence end"),
    "before_body": ("before the article", None), "after_body": ("after the article", None),
    "named_rule": ("matches a named noise rule", None), "chrome": ("page chrome", None),
    "repeated": ("printed twice on the page", None), "title_like": ("repeats the page title", None),
}


def describe_block_feature(name: str, value: float) -> Optional[str]:
    """Words for one feature's value in a block-model explanation (None: not worth saying)."""
    from .blockmodel import describe

    return describe(name, value, _DESCRIBE_FLAGS, "block", _describe_block_only)


def _describe_block_only(name: str, value: float) -> Optional[str]:
    if name.startswith("tag_"):
        return "<%s>" % name[4:] if value else "not <%s>" % name[4:]
    if name.startswith("hint_"):
        return "inside %s markup" % name[5:] if value else "not inside %s markup" % name[5:]
    if name == "body_distance":
        return "%d blocks from the article body" % round(math.expm1(value))
    if name == "inner_hints":
        return "%d boilerplate hints around it" % round(value)
    if name == "container_share":
        return "%d%% of the article container's text" % round(100 * value) if value else "not in the article container"
    return None


# --------------------------------------------------------------------------------------
# API


@dataclass(frozen=True)
class Page:
    """What the HTML stage makes of a page: its blocks with verdicts, the invisible subtrees
    that held text (``(blocks before it, tag, text, "script" | "hidden")``) and the page's
    own title and URL (see ``page_title`` and ``page_url``; None when it has none)."""

    blocks: Tuple[Block, ...] = ()
    skipped: Tuple[Tuple[int, str, str, str], ...] = ()
    title: Optional[str] = None
    url: Optional[str] = None

    @property
    def text(self) -> str:
        """The kept blocks separated by blank lines."""
        return "\n\n".join(b.text for b in self.blocks if b.kept)

    def removals(self) -> Tuple[Removal, ...]:
        """One ``Removal`` per dropped block and per invisible subtree with text, in page order
        (``where`` is ``html block N``; text cut to ``REMOVAL_TEXT_CHARS``)."""
        out: List[Tuple[int, int, Removal]] = []
        for at, tag, text, kind in self.skipped:
            rule, reason = (("html-script", f"<{tag}>: code or fallback text, never rendered") if kind == "script"
                            else ("html-hidden", f"<{tag}> hidden (hidden, aria-hidden or display:none)"))
            out.append((at, 0, Removal(rule, _cut(text), f"html block {at}", reason)))
        for b in self.blocks:
            if not b.kept:
                out.append((b.index, 1, Removal(html_rule(b.reason), _cut(b.text), f"html block {b.index}", b.reason)))
        return tuple(r for _, _, r in sorted(out, key=lambda t: (t[0], t[1])))


#: Removal text is cut to this many characters (the report names the block; it need not copy it).
REMOVAL_TEXT_CHARS = 80

#: Rule name of an HTML-stage removal, by the start of its reason (first match wins).
HTML_REMOVAL_RULES: Tuple[Tuple[str, str], ...] = (
    ("navigation (", "html-nav"), ("menu (", "html-nav"), ("site navigation", "html-nav"),
    ("page or article header", "html-header"), ("headline area", "html-header"),
    ("page or article footer", "html-footer"),
    ("side content", "html-aside"),
    ("dialog", "html-dialog"),
    ("figure", "html-figure"), ("caption", "html-figure"), ("media / caption", "html-figure"),
    ("form", "html-form"),
    ("reader comments", "html-comments"),
    ("share buttons", "html-share"),
    ("links to other articles", "html-related"),
    ("promotion", "html-promo"),
    ("advertisement", "html-ad"),
    ("page furniture", "html-furniture"),
    ("article metadata", "html-meta"),
    ("hidden helper text", "html-hidden"),
    ("outside the article container", "html-outside-article"),
    ("headline (", "html-headline"),
    ("link list", "html-link-list"),
    ("short text", "html-edge-text"),
    ("block-model", "block-model"),
)


def html_rule(reason: Optional[str]) -> str:
    """The rule name of a dropped block's reason (``html-other`` for a reason not in the table).

    A block outside the container is named after the hint around it ("outside the article
    container: navigation (<nav>)" is ``html-nav``), else ``html-outside-article``.
    """
    if reason and reason.startswith(_OUTSIDE + ": "):
        rule = html_rule(reason[len(_OUTSIDE) + 2:])
        return rule if rule != "html-other" else "html-outside-article"
    for prefix, rule in HTML_REMOVAL_RULES:
        if reason and reason.startswith(prefix):
            return rule
    return "html-other"


def _cut(text: str) -> str:
    return text if len(text) <= REMOVAL_TEXT_CHARS else text[: REMOVAL_TEXT_CHARS - 1].rstrip() + "\u2026"


def _meta(soup: BeautifulSoup, key: str) -> Optional[str]:
    """The stripped content of the first ``<meta property|name=key>`` that has one."""
    for meta in soup.find_all("meta"):
        if key in (meta.get("property"), meta.get("name")):
            content = meta.get("content")
            if isinstance(content, str) and content.strip():
                return _WS.sub(" ", content).strip()
    return None


#: The separator before a site name at the end of a <title>.
_SITE_SUFFIX_SEP = re.compile(r"\s+[|\-\u2013\u2014\u00b7\u00bb:]\s+")
#: A " | " suffix this short is a site name even without og:site_name ("... | Daily Example").
SITE_SUFFIX_MAX_WORDS = 4  # outlet names run 1-4 words; a " | " part of a headline is rarely that short and last


def page_title(soup: BeautifulSoup) -> Optional[str]:
    """The page's headline: og:title, else <title> without a trailing site name.

    The suffix goes when it follows " | ", " - ", " – " or " — " and equals og:site_name, or,
    without og:site_name, when it follows " | " and has at most ``SITE_SUFFIX_MAX_WORDS`` words
    (" - " is common inside headlines, so it is only trusted with og:site_name).
    """
    og = _meta(soup, "og:title")
    if og:
        return og
    raw = soup.title.get_text() if soup.title else ""
    title = _WS.sub(" ", raw).strip()
    if not title:
        return None
    site = _meta(soup, "og:site_name")
    parts = _SITE_SUFFIX_SEP.split(title)
    seps = _SITE_SUFFIX_SEP.findall(title)
    if len(parts) >= 2:
        last, head = parts[-1], title[: len(title) - len(parts[-1]) - len(seps[-1])].strip()
        if site and last.casefold() == site.casefold():
            return head or title
        if not site and seps[-1].strip() == "|" and len(last.split()) <= SITE_SUFFIX_MAX_WORDS and head:
            return head
    return title


def page_url(soup: BeautifulSoup) -> Optional[str]:
    """The page's own absolute URL: <link rel=canonical>, else og:url (http or https only)."""
    for link in soup.find_all("link"):
        rel = link.get("rel") or ()
        rels = rel.split() if isinstance(rel, str) else rel
        href = link.get("href")
        if "canonical" in [r.lower() for r in rels] and isinstance(href, str) and _ABSOLUTE.match(href.strip()):
            return href.strip()
    og = _meta(soup, "og:url")
    return og if og and _ABSOLUTE.match(og) else None


_ABSOLUTE = re.compile(r"https?://\S+$", re.I)


def parse(html: str) -> BeautifulSoup:
    """The page's tree, as the HTML stage reads it (``html_page``, and the model's training)."""
    with warnings.catch_warnings():  # an XHTML page is parsed as HTML on purpose, as browsers do
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        # Attributes stay strings (``class`` is split where it is read): bs4's splitting of
        # every multi-valued attribute costs ~6% of a page's time.
        return BeautifulSoup(html, "lxml", multi_valued_attributes=None)


def html_page(html: str, model=None) -> Page:
    """The page parsed once: blocks with verdicts, invisible text, title and URL (``model``: a
    ``blockmodel.TreeModel`` to decide the blocks with, instead of ``BLOCK_MODEL``)."""
    if not html or not html.strip():
        return Page()
    soup = parse(html)
    root = soup.body or soup
    skipped: List[Tuple[int, str, str, str]] = []
    raw = _walk(root, skipped)
    title, url = page_title(soup), page_url(soup)
    if not raw:
        return Page((), tuple(skipped), title, url)
    titles = _page_titles(soup)
    reasons = _model_verdicts(raw, titles, *_judge_full(raw, titles), model=model)
    out = tuple(
        Block(i, b.text, b.tag, round(b.ld, 3), r) for i, (b, r) in enumerate(zip(raw, reasons))
    )
    log.debug("html_page: %d blocks, %d kept", len(out), sum(b.kept for b in out))
    return Page(out, tuple(skipped), title, url)


def html_to_blocks(html: str) -> Tuple[Block, ...]:
    """Every text block of the page in reading order, each with its verdict."""
    return html_page(html).blocks


def html_to_text(html: str) -> str:
    """The main article text of an HTML page: kept blocks separated by blank lines."""
    if not isinstance(html, str):
        raise InputError(f"expected the page as str, not {type(html).__name__}"
                         + (" (decode bytes first)" if isinstance(html, (bytes, bytearray)) else ""))
    return html_page(html).text
