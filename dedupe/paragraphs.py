"""Paragraph stage: cleaned documents -> paragraphs (blank-line separated units, reading order)."""
from __future__ import annotations

from typing import Iterable, Iterator

from .model import CleanedDocument, Paragraph


def split_paragraphs(text: str) -> list:
    """Blank-line separated units of a text, stripped, empty ones dropped.

    >>> split_paragraphs("One.\\n\\n\\nTwo\\nlines.\\n")
    ['One.', 'Two\\nlines.']
    """
    return [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]


def paragraphs_of(docs: Iterable[CleanedDocument]) -> Iterator[Paragraph]:
    """Every paragraph of every document, documents in the given order."""
    for cleaned in docs:
        doc = cleaned.document
        for index, text in enumerate(cleaned.paragraphs):
            yield Paragraph(doc_id=doc.id, index=index, text=text, source=doc.source)
