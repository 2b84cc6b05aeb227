"""The data model every stage speaks: frozen dataclasses, nothing else.

Flow: Document -> CleanedDocument (+ Removal) -> Paragraph -> Match -> Cluster -> Story,
with a Report of counts and a Result bundling them (see ``dedupe.pipeline``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple


@dataclass(frozen=True, slots=True)
class Document:
    """One input article.

    ``kind`` is ``"text"`` or ``"html"``; HTML is turned into text by the clean stage.
    ``origin`` says where it was read from (``path``, ``path:line``, ``path@offset``) for
    messages.  ``date``: when it was published or fetched, as given (a WARC record's
    WARC-Date).  ``encoding`` and ``encoding_source``: the encoding its bytes were decoded
    with and the rule that chose it (``dedupe.read.encoding``); None for text handed over
    as text (JSONL fields, library calls).
    """

    id: str
    source: str
    text: str
    url: Optional[str] = None
    title: Optional[str] = None
    kind: str = "text"
    origin: str = ""
    date: Optional[str] = None
    encoding: Optional[str] = None
    encoding_source: Optional[str] = None


#: The file every output folder holds (``dedupe.write``): a later run replaces such a folder,
#: and the read stage never takes one found inside an input folder for input.
OUTPUT_MARKER = ".dedupe-output"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input item that was not read, under ``on_error="skip"``: where it was
    (``path`` or ``path:line``) and why (the message the error would have had)."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class Removal:
    """One piece of text the cleaner removed, and why.

    ``rule`` is the name of the rule (see ``dedupe.clean.rules``), ``where`` a
    human location such as ``"line 3"``, ``reason`` the rule's one-line reason.
    """

    rule: str
    text: str
    where: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CleanedDocument:
    """A document after cleaning: the kept paragraphs (one per kept line, in order) plus
    every removal.  ``text`` joins them with blank lines; it is not stored, so a corpus's
    cleaned text is held once, shared with its ``Paragraph`` objects."""

    document: Document
    paragraphs: Tuple[str, ...]
    removals: Tuple[Removal, ...] = ()

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph of a cleaned document; ``index`` counts from 0 in reading order."""

    doc_id: str
    index: int
    text: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """A verified near-duplicate pair of paragraphs (by position in the paragraph list).

    ``jaccard`` is the exact Jaccard similarity of the two shingle sets,
    ``containment`` the share of the smaller set found in the larger one.
    """

    a: int
    b: int
    jaccard: float
    containment: float


@dataclass(frozen=True, slots=True)
class Cluster:
    """A set of near-duplicate paragraphs (indices into the paragraph list), with its canonical one."""

    id: str
    members: Tuple[int, ...]
    canonical: int


@dataclass(frozen=True, slots=True)
class StoryParagraph:
    """One paragraph of a story's canonical text and where it came from."""

    text: str
    cluster: Optional[str]
    documents: Tuple[str, ...]
    sources: Tuple[str, ...]
    chosen_from: str


@dataclass(frozen=True, slots=True)
class StoryTitle:
    """One headline of a story's members, and the members (document ids) that carry it."""

    text: str
    documents: Tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Story:
    """Documents linked by shared near-duplicate paragraphs, with one canonical text.

    ``title`` is the headline of the member whose text the story follows (its base), or
    the earliest member's headline when the base has none; ``titles`` every member's
    headline with the members carrying it.  Headlines are not part of ``paragraphs``
    (see ``dedupe.canonical``).
    """

    id: str
    documents: Tuple[str, ...]
    sources: Tuple[str, ...]
    paragraphs: Tuple[StoryParagraph, ...]
    title: Optional[str] = None
    titles: Tuple[StoryTitle, ...] = ()

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)


@dataclass(frozen=True, slots=True)
class Report:
    """Counts of one run; ``seconds`` is the only field that varies between identical runs."""

    documents: int = 0
    paragraphs: int = 0
    removals_by_rule: Tuple[Tuple[str, int], ...] = ()
    duplicate_paragraphs: int = 0
    clusters: int = 0
    stories: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Result:
    """Everything ``dedupe.run`` returns.

    ``matches`` is a read-only sequence of ``Match`` sorted by (a, b): every paragraph's
    earliest verified match, plus the verified pairs that join clusters those leave apart
    (not every pair: a cluster of n copies has n(n-1)/2), among them pairs found through
    containment keys only (abridged or extended copies: ``matches.banded`` is False for
    those, which are never a paragraph's ``duplicate_of``).
    """

    documents: Tuple[CleanedDocument, ...]
    paragraphs: Tuple[Paragraph, ...]
    matches: Sequence[Match]
    clusters: Tuple[Cluster, ...]
    stories: Tuple[Story, ...]
    report: Report = field(default_factory=Report)
