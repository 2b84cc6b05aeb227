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
from .clean.html import html_to_text
from .config import Config
from .errors import ConfigError, DedupeError, IndexSettingsError, IndexStoreError, InputError, OutputError
from .model import (CleanedDocument, Cluster, Document, Match, Paragraph, Removal, Report, Result, Story,
                    StoryParagraph, StoryTitle)
from .index import Index
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
