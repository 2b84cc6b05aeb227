"""Frozen result records of the persistent index (what ``Index.add``/``query`` return)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from ..model import Removal

NEW = "new"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class DuplicateOf:
    """The stored paragraph a paragraph duplicates: the earliest added verified match.

    ``jaccard`` / ``containment`` are the exact similarities of the two shingle sets
    (rounded to 4 decimals, as ``dedupe.candidates.verify`` reports them).
    """

    doc_id: str
    index: int
    source: str
    jaccard: float
    containment: float

    @property
    def document(self) -> str:
        """The JSON name of ``doc_id`` (``documents.jsonl`` and ``dedupe index`` both say ``document``)."""
        return self.doc_id

    @property
    def paragraph(self) -> int:
        """The JSON name of ``index``: the paragraph's position in its document, from 0."""
        return self.index


@dataclass(frozen=True)
class ParagraphStatus:
    """One paragraph of a document: ``status`` is ``"new"`` or ``"duplicate"`` (then ``duplicate_of`` is set)."""

    index: int
    text: str
    status: str
    duplicate_of: Optional[DuplicateOf] = None

    @property
    def is_duplicate(self) -> bool:
        return self.status == DUPLICATE


@dataclass(frozen=True)
class DocumentStatus:
    """The verdict on every paragraph of one document, with the cleaner's removals.

    ``replaced`` is true when the index already held a document with this id: ``add``
    replaced it (``query``: would replace it); it is never compared with its old version.
    """

    doc_id: str
    source: str
    paragraphs: Tuple[ParagraphStatus, ...]
    removals: Tuple[Removal, ...] = ()
    replaced: bool = False

    @property
    def new_paragraphs(self) -> Tuple[ParagraphStatus, ...]:
        return tuple(p for p in self.paragraphs if not p.is_duplicate)

    def to_record(self) -> Dict[str, Any]:
        """A JSON-ready dict (one JSONL line of ``dedupe index add|query``)."""
        paras = []
        for p in self.paragraphs:
            rec: Dict[str, Any] = {"index": p.index, "status": p.status, "text": p.text}
            if p.duplicate_of is not None:
                d = p.duplicate_of
                # "document"/"paragraph" as in documents.jsonl; "doc"/"index" are the names
                # before 0.2, kept for one release (README, "One vocabulary").
                rec["duplicate_of"] = {"document": d.doc_id, "paragraph": d.index, "source": d.source,
                                       "jaccard": d.jaccard, "containment": d.containment,
                                       "doc": d.doc_id, "index": d.index}
            paras.append(rec)
        return {
            "id": self.doc_id,
            "source": self.source,
            "replaced": self.replaced,
            "paragraphs": paras,
            "removals": [{"rule": r.rule, "where": r.where, "text": r.text} for r in self.removals],
        }


@dataclass(frozen=True)
class IndexStats:
    """Counts and settings of an index; ``oldest``/``newest`` are add timestamps (None when empty)."""

    backend: str
    location: str
    name: str
    documents: int
    paragraphs: int
    band_keys: int
    oldest: Optional[float]
    newest: Optional[float]
    settings: Tuple[Tuple[str, Any], ...]

    def to_record(self) -> Dict[str, Any]:
        return {
            "backend": self.backend, "location": self.location, "name": self.name,
            "documents": self.documents, "paragraphs": self.paragraphs, "band_keys": self.band_keys,
            "oldest": self.oldest, "newest": self.newest, "settings": dict(self.settings),
        }
