"""Incremental dedup against a persistent index (SQLite file or Redis server).

Usage::

    from dedupe.index import Index
    with Index.open("news.db") as index:               # or "redis://host:6379/0"
        for doc in index.add(documents):
            print(doc.doc_id, [p.status for p in doc.paragraphs])

See ``dedupe.index.core`` for what "duplicate of" means and why results equal a batch run.
"""
from .core import BATCH_DOCUMENTS, Index
from .results import DUPLICATE, NEW, DocumentStatus, DuplicateOf, IndexStats, ParagraphStatus
from .settings import FORMAT_VERSION

__all__ = ["Index", "DocumentStatus", "ParagraphStatus", "DuplicateOf", "IndexStats", "NEW", "DUPLICATE",
           "FORMAT_VERSION", "BATCH_DOCUMENTS"]
