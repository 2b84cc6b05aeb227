"""dedupe: strip scraper noise from news articles and collapse near-duplicate paragraphs across sources.

One-document helpers::

    dedupe.clean_text(raw)       # scraped text -> cleaned text
    dedupe.html_to_text(html)    # HTML page -> article text
    dedupe.clean_and_explain(raw)  # cleaned text + every removal with its rule

A whole batch (what ``dedupe run`` does)::

    result = dedupe.run(documents, dedupe.Config())
    result.stories, result.documents, result.report
"""
from .config import Config
from .errors import ConfigError, DedupeError, IndexSettingsError, IndexStoreError, InputError, OutputError
from .model import (CleanedDocument, Cluster, Document, Match, Paragraph, Removal, Report, Result, Story,
                    StoryParagraph, StoryTitle)

__all__ = [
    "clean_text", "clean_and_explain", "html_to_text", "run", "Index", "read_paths", "write_output", "result_records",
    "Config", "Document", "CleanedDocument", "Removal", "Paragraph", "Match", "Cluster", "Story",
    "StoryParagraph", "StoryTitle", "Report", "Result",
    "DedupeError", "InputError", "ConfigError", "OutputError", "IndexSettingsError", "IndexStoreError",
]
__version__ = "0.1.0"

#: Functions whose modules load on first use (PEP 562): the cleaner, beautifulsoup4, the
#: pipeline and the index stores are ~0.3 s of every start that ``dedupe check`` answered
#: from its cache does not need.
_LAZY = {
    "clean_text": "clean.cleaner", "clean_and_explain": "clean.cleaner", "html_to_text": "clean.html",
    "run": "pipeline", "Index": "index", "read_paths": "read", "write_output": "write", "result_records": "write",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dedupe' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
