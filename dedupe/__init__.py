"""dedupe: strip scraper noise from news articles and collapse near-duplicate paragraphs across sources.

One-document helpers::

    dedupe.clean_text(raw)       # scraped text -> cleaned text
    dedupe.html_to_text(html)    # HTML page -> article text
    dedupe.clean_and_explain(raw)  # cleaned text + every removal with its rule

A whole batch (what ``dedupe run`` does)::

    result = dedupe.run(documents, dedupe.Config())
    result.stories, result.documents, result.report
"""
from .clean.cleaner import clean_and_explain, clean_text
from .config import Config
from .errors import ConfigError, DedupeError, IndexSettingsError, IndexStoreError, InputError, OutputError
from .model import (CleanedDocument, Cluster, Document, Match, Paragraph, Removal, Report, Result, Story,
                    StoryParagraph, StoryTitle)
from .pipeline import run
from .read import read_paths
from .write import result_records, write_output

__all__ = [
    "clean_text", "clean_and_explain", "html_to_text", "run", "Index", "read_paths", "write_output", "result_records",
    "Config", "Document", "CleanedDocument", "Removal", "Paragraph", "Match", "Cluster", "Story",
    "StoryParagraph", "StoryTitle", "Report", "Result",
    "DedupeError", "InputError", "ConfigError", "OutputError", "IndexSettingsError", "IndexStoreError",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``html_to_text`` and ``Index`` load on first use: their modules import
    beautifulsoup4 and the index stores, ~0.15 s of every command's start that ``dedupe
    check`` on a cached folder does not need (PEP 562)."""
    if name == "html_to_text":
        from .clean.html import html_to_text

        return html_to_text
    if name == "Index":
        from .index import Index

        return Index
    raise AttributeError(f"module 'dedupe' has no attribute {name!r}")
