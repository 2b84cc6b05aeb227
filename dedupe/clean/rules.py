"""Named cleaning rules, kept as data: a name, a reason and a pattern.

A line rule removes a whole line whose stripped text ``fullmatch``-es its pattern
(case-insensitive unless the rule says otherwise).  Rules are deliberately anchored to
the whole line so an article sentence that merely mentions an image, the news,
sharing or reading is never touched: only lines that are *nothing but* the noise go.

Four rules are predicates over the document, not single lines (``repeated-headline``,
``masthead``, and the link-list headings ``related-articles`` and ``most-popular``); they are implemented in ``dedupe.clean.cleaner`` and listed here
so ``--explain`` and ``dedupe rules`` can name them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Pattern, Tuple


@dataclass(frozen=True)
class Rule:
    """One cleaning rule.  ``pattern`` is None for document-level rules."""

    name: str
    reason: str
    pattern: Optional[Pattern[str]] = None


#: Optional decoration around a noise line: bullets, pipes, arrows, brackets, colons.
_DECOR_BEFORE, _DECOR_AFTER = r"[\s|•·»›>\-–—:\[\(]*", r"[\s|•·»›<:.…!\]\)]*"


def _rx(body: str, flags: int = re.IGNORECASE) -> Pattern[str]:
    return re.compile(_DECOR_BEFORE + "(?:" + body + ")" + _DECOR_AFTER, flags)


_SHARE_WORD = (
    r"share(?: this(?: article| story| post| page| video)?)?|share on \w+|share via \w+|tweet(?: this)?|"
    r"e-?mail(?: this(?: article| story)?)?|print(?: this(?: article| story| page)?)?|copy link|comments?|"
    r"facebook|twitter|x|linkedin|whatsapp|reddit|pinterest|telegram|messenger|flipboard|"
    r"teilen|partager|compartir|condividi"
)

#: Line rules, tried in order; the first that matches names the removal.
LINE_RULES: Tuple[Rule, ...] = (
    Rule("show-image", "scraped image/gallery widget label, not text",
         _rx(r"(?:show|view|hide|enlarge|open|expand|close)\s+(?:image|photo|picture|gallery|slideshow)s?|"
             r"view gallery|\d+\s+(?:photos|images)|image \d+ of \d+")),
    Rule("read-more-topic", "heading of a list of links to other articles",
         _rx(r"read more on (?:this|these) (?:topics?|subjects?|stories)")),
    Rule("more-news", "link to another article, prefixed 'More news:'",
         _rx(r"more (?:news|stories)\s*:.*")),
    Rule("file-photo-caption", "photo caption of a wire picture ('FILE PHOTO: ...')",
         re.compile(r"\s*(?:FILE PHOTO|FILE PICTURE|REUTERS PHOTO)\s*[:\-–—].*|\s*FILE\s*[-–—]\s+.*\b(?:photo|file photo)\b.*")),
    Rule("advertisement", "ad slot label",
         _rx(r"(?:advertisement|advertising|sponsored(?: content)?|ad|ads by \w+|anzeige|werbung|publicidad|"
             r"publicité|pubblicità|reklame|story continues below(?: advertisement)?)(?:\s+continue reading the main story)?|"
             r"continue reading the main story")),
    Rule("share-prompt", "social share buttons",
         _rx(r"(?:" + _SHARE_WORD + r")(?:[\s|/,•·]+(?:" + _SHARE_WORD + r"))*")),
    Rule("newsletter-prompt", "newsletter sign-up prompt",
         _rx(r"(?:sign up|subscribe|get|join|enter your e-?mail|register)\b.{0,120}?"
             r"\b(?:newsletters?|inbox|e-?mail updates|daily briefing|bulletins?)\b.{0,80}|"
             r"newsletters?\s+sign[- ]?up|newsletter")),
    Rule("image-caption", "BBC-style caption label ('Image caption ...')",
         _rx(r"(?:image|media|video) caption\b.*")),
    Rule("image-copyright", "picture credit ('Image copyright ...')",
         _rx(r"image (?:copyright|source)\b[\s:©]*[^.!?]{0,60}")),
    Rule("photo-credit", "short photo credit ('Photo: AFP', 'Foto: dpa')",
         _rx(r"(?:photo|photograph|picture|image|pic|foto|bild|crédit photo|credit|credits)s?\s*(?::|/|by\b|©)\s*"
             r"[^.!?]{1,60}?(?:/\s*[^.!?]{1,40})?")),
    # "{0,300}+" is possessive: the class cannot hold the "(" that must follow, so giving
    # characters back can never help and a line without the credit fails in one scan.
    Rule("caption-credit", "photo caption ending in its credit ('Protesters in the square (Image: Getty)')",
         _rx(r"[^()]{0,300}+\((?:images?|photos?|pictures?|pic|credit|foto|bild|photograph)\s*:\s*[^()]{1,60}\)")),
    Rule("read-more", "cross-link to another article ('Read more: ...')",
         _rx(r"(?:read more|read also|also read|related|see also|more on this|lire aussi|à lire aussi|a lire aussi|"
             r"lesen sie auch|mehr zum thema|lee también|leer más|lea también)\s*[:»>|].*|read more|continue reading|click here to read more|"
             # a heading glued to the first link title by a scrape that drops the line break: "RelatedEbola patient ..."
             r"more:\s.{1,150}|(?-i:(?:Related|Read more|See also|Also read)(?=[A-Z][a-z])).*")),
    Rule("ui-label", "label of a page widget (video player, loader, gallery), not text",
         _rx(r"scroll down for (?:videos?|more)|(?:video|poll|gallery|player|slideshow)?\s*loading(?:\s*(?:…|\.\.\.))?|"
             r"watch(?: the)? video|play video|photos?|videos?|gallery|slideshow|"
             r"skip (?:to main )?(?:content|ad)|close|back to top|toggle navigation|menu|"
             r"please enable javascript to (?:watch|view)(?: this video)?|view on (?:instagram|twitter|facebook|youtube)")),
    Rule("comment-prompt", "prompt to comment, or a notice that comments are closed",
         _rx(r"(?:(?:additional reporting by [^.!?]{1,60}\.\s*)?have something to add to this story\?\s*)?share (?:it|them|your (?:thoughts|views|story)) "
             r"(?:with us )?in the comments(?: (?:below|section))?|have something to add to this story\?|"
             r"(?:sorry,? )?we are not (?:currently )?accepting comments on this (?:article|story)|comments are (?:now )?closed(?: on this (?:article|story))?|"
             r"(?:leave|post|add) a comment(?: below)?|join the (?:conversation|discussion)(?: below)?|"
             r"(?:got|have) something to say\?\s*(?:start the (?:conversation|discussion)(?:,| and)? )?(?:and )?be the first to comment|"
             r"be the first to comment(?: on this (?:article|story))?")),
    Rule("click-prompt", "prompt to click through to a video, gallery or another site ('Click for more from ...')",
         _rx(r"(?:(?:on|using) a mobile device\??|for mobile users,?|mobile users:?)?\s*click (?:here |the photo |photo |image )?"
             r"(?:for|to (?:see|watch|view|read)|and see)\s(?:more from [^.!?]{1,60}|(?:the |a |our )?(?:full )?"
             r"(?:video|videos|slideshow|gallery|photos|pictures|images|story)(?: [^.!?]{0,40})?)")),
    Rule("follow-prompt", "prompt to follow an account ('Follow @name on Twitter')",
         _rx(r"(?:—+\s*>*\s*)?(?:>>\s*)?follow (?:me |us )?(?:[\w.' ]{1,40} )?\(?@\w{1,30}\)?(?: on (?:twitter|instagram|facebook|x))?")),
    # "(?=[^@]*+@)": a line without "@" fails in one scan, before the 300-character text part.
    Rule("social-embed-meta", "an embedded post: its byline ('— Name (@handle) October 5, 2014'), or its text "
         "with the byline glued on ('... http://t.co/x— Name (@handle) February 26, 2015'), 'A photo posted by ...'",
         _rx(r"(?=[^@]*+@)(?:[^\n]{0,300}?(?<=\S))?(?:—|–|-|&mdash;)\s*[^()]{0,60}\(@\w{1,30}\)\s+\w+\.? \d{1,2},? \d{4}|"
             r"a (?:photo|video|post) (?:posted|shared) by [^()]{1,60}\(@\w{1,30}\)(?: on [\w ,:]{1,40})?|"
             r"pic\.twitter\.com/\w+")),
    Rule("agency-photo-credit", "wire photo credit, alone or before its caption ('AP Photo/Name', 'AFP PHOTO/...')",
         re.compile(r"\s*\(?(?:AP|AFP|EPA|Reuters|REUTERS|Getty Images|Getty|PA|Xinhua|Anadolu)\s+(?:Photo|PHOTO|Images|IMAGES|Pictures)\s*/.*")),
    # "(?=.{0,200}+$)": a line longer than the first form can be fails at once, not after
    # backtracking through 100 characters looking for "contributed".
    Rule("contributor-credit", "who else reported the story ('X contributed to this report', 'Reporting by ...; Editing by ...')",
         _rx(r"(?=.{0,200}+$)[^.!?]{0,100}\bcontributed (?:to )?(?:this |the )?(?:report|story|article|reporting)\b[^.!?]{0,60}|"
             r"(?:additional )?reporting by [^.!?]{1,80}(?:;\s*(?:writing|editing) by [^.!?]{1,80})*|"
             r"(?:writing|editing) by [^.!?]{1,80}(?:;\s*(?:writing|editing) by [^.!?]{1,80})*|"
             r"with (?:news )?wire services|\(?(?:with|additional) (?:agencies|wires)\)?|"
             r"(?:h/t|hat tip)\b\s*:?\s*[^.!?]{1,60}")),
    # Raw markup a naive scrape leaves as text: an ad tag, a script or embed.  Only lines that
    # open with such a tag: an article quoting markup in a sentence is untouched.
    Rule("raw-markup", "raw HTML markup or script left as text by the scraper (an ad tag, an embed, a <script>)",
         re.compile(r"\s*<(?:script|/script|noscript|iframe|style|img|a\s+href|div|span|embed|object|param|input|form|"
                    r"link|meta)\b.*", re.IGNORECASE)),
    # A scraped image's file name in place of its caption: "DSC_0042.JPG".  (A bare slug such as
    # "profilel-r-copy" is left: dates, phone numbers and package names are shaped the same.)
    Rule("image-file-name", "an image's file name where its caption would be ('IMG_2041.jpg')",
         re.compile(r"\s*[\w-]+\.(?:jpe?g|png|gif|webp|JPE?G|PNG|GIF)\s*")),
)

#: Document-level rules (implemented by the cleaner; listed for --explain).
REPEATED_HEADLINE = Rule("repeated-headline", "headline printed twice at the top: the second copy goes")
MASTHEAD = Rule("masthead", "outlet name and tagline ('Daily Herald | Local news you can trust') above a headline printed twice")
RELATED_ARTICLES = Rule(
    "related-articles", "'Related Articles' heading and the list of link titles after it",
    _rx(r"related(?: (?:articles|stories|content|coverage|news|posts|links|reading|topics))?|see all related|read next|"
        r"read more|read also|also read|"
        r"you may also like|you might also like|more on this story|recommended(?: for you| stories)?|"
        r"more from [\w\s]{1,40}|weitere artikel|articles liés|artículos relacionados|noticias relacionadas"),
)
MOST_POPULAR = Rule(
    "most-popular", "site-wide popular-links heading and the list of link titles after it",
    _rx(r"most (?:popular|read|viewed|shared|commented|watched)(?: (?:stories|articles|news|now|today))?|"
        r"trending(?: now| stories)?|top stories|editor'?s picks|popular now|meistgelesen|les plus lus|lo más leído"),
)
SPONSORED = Rule(
    "sponsored-links", "ad-network heading ('Ads by Adblade', 'Sponsored links', 'From around the web') and the ad "
    "teasers after it",
    _rx(r"ads by \w+(?: \w+)?|sponsored (?:links|content|stories|posts)|promoted (?:links|content|stories)|"
        r"(?:more )?from (?:around )?the web|around the web|paid (?:content|links)|partner content|recommended by \w+"),
)
#: Headings whose following link titles go with them (until the first line of prose).
LINK_LIST_HEADINGS = (RELATED_ARTICLES, MOST_POPULAR, SPONSORED)
#: Of those, the headings whose items are ad teasers: short lines that may end like sentences
#: ("Get fit before the holidays."), taken up to the first line of article length.
TEASER_HEADINGS = frozenset({SPONSORED.name})
LEARNED = Rule("learned-template", "line this source repeats on many of its own pages (site template)")
CORPUS = Rule("corpus-boilerplate", "short line that recurs across many documents of many stories in this run "
              "(ad slug, newsletter prompt, video placeholder): boilerplate even where no one source repeats it often")
CONTENT = Rule("low-content", "navigation or page chrome by its features (see dedupe.clean.content)")

#: What the HTML stage drops, by block (``dedupe.clean.html.HTML_REMOVAL_RULES`` maps each block's
#: reason to one of these names; the removal's own reason says which element or hint it was).
HTML_RULES: Tuple[Rule, ...] = tuple(Rule(name, "HTML stage: " + reason) for name, reason in (
    ("html-script", "script, style, noscript or template content, never rendered"),
    ("html-hidden", "hidden element (hidden, aria-hidden, display:none, screen-reader-only text)"),
    ("html-nav", "navigation or menu (<nav>, <menu>, class 'nav'/'menu'/'breadcrumb')"),
    ("html-header", "page header (<header>, class 'header')"),
    ("html-footer", "page footer (<footer>)"),
    ("html-aside", "side content (<aside>)"),
    ("html-dialog", "dialog (<dialog>)"),
    ("html-figure", "figure, caption or media block"),
    ("html-form", "form or form label"),
    ("html-comments", "reader comments"),
    ("html-share", "share buttons / social links"),
    ("html-related", "links to other articles (related, recommended, most read)"),
    ("html-promo", "promotion / newsletter / subscription prompt"),
    ("html-ad", "advertisement"),
    ("html-furniture", "page furniture (sidebar, banner, cookie notice, widget)"),
    ("html-meta", "article metadata (byline, date, tags) at the edge of the article"),
    ("html-outside-article", "outside the element that holds the article"),
    ("html-headline", "the headline (<h1>, or a block repeating the page title): it is the document's title"),
    ("html-link-list", "block made mostly of links"),
    ("html-edge-text", "short text before or after the article body (byline, date, label)"),
    ("block-model", "the learned block model scores it as boilerplate (dedupe/clean/weights/html_blocks.json)"),
    ("html-other", "dropped by the HTML stage for another reason (see the removal's reason)"),
))

ALL_RULES: Tuple[Rule, ...] = LINE_RULES + (REPEATED_HEADLINE, MASTHEAD) + LINK_LIST_HEADINGS + (LEARNED, CORPUS, CONTENT) + HTML_RULES
RULES_BY_NAME = {rule.name: rule for rule in ALL_RULES}


def _any_of(rules: Tuple[Rule, ...]) -> Pattern[str]:
    """One alternation of the rules' patterns (each with its own case flag): fullmatches iff one of them does.

    The case-insensitive ``_rx`` rules share one copy of the decoration around their bodies
    (``before(?:a|b|...)after`` fullmatches iff one ``before(?:a)after`` does, as the engine
    backtracks through every alternative): the decoration is tried once a line, not once a rule.
    """
    bodies, others = [], []
    for r in rules:
        p = r.pattern.pattern
        if r.pattern.flags & re.IGNORECASE and p.startswith(_DECOR_BEFORE + "(?:") and p.endswith(")" + _DECOR_AFTER):
            bodies.append(p[len(_DECOR_BEFORE):len(p) - len(_DECOR_AFTER)])
        else:
            others.append(("(?i:%s)" if r.pattern.flags & re.IGNORECASE else "(?:%s)") % p)
    shared = ["(?i:%s(?:%s)%s)" % (_DECOR_BEFORE, "|".join(bodies), _DECOR_AFTER)] if bodies else []
    return re.compile("|".join(shared + others))


#: Every line rule in one pattern: a line no rule matches (most lines) costs one regex call.
_ANY_LINE_RULE = _any_of(LINE_RULES)


def match_line(line: str, disabled: Tuple[str, ...] = ()) -> Optional[Rule]:
    """The first line rule whose pattern matches the whole (stripped) line, or None.

    >>> match_line("show image").name
    'show-image'
    >>> match_line("The image shows the crew on the launch pad.") is None
    True
    """
    text = line.strip()
    if not text or not _ANY_LINE_RULE.fullmatch(text):
        return None
    for rule in LINE_RULES:
        if rule.name not in disabled and rule.pattern.fullmatch(text):
            return rule
    return None
