"""``Index``: incremental near-duplicate detection against a persistent store.

What an add does, per batch of documents:

1. clean each document with the same cleaner as ``dedupe.run`` (named rules and the
   content filter; *not* per-source learned templates, which need the whole corpus),
   split paragraphs, fingerprint them (``dedupe.fingerprint``) -- outside any lock;
2. inside one store transaction (SQLite write lock / Redis index lock): look up the
   paragraphs' LSH band keys in the stored buckets, verify the candidates on the stored
   shingle sets by ``dedupe.candidates.verify``'s rule (same thresholds as a batch run;
   ``dedupe.index.matching``), and store everything;
3. compare the batch with itself the way a batch run does.

A query does the same without storing; one document asked about reads the SQLite store
in one statement, without a transaction (``SqliteStore.read``).

A paragraph is a *duplicate* when a verified match was added before it (earlier batch,
or earlier in this batch, in the order given); it then points to the **earliest added**
matching paragraph (smallest add sequence number), which never changes as more is
added.  Duplicates are stored too, so removing an original leaves its copies findable,
and feeding documents one at a time gives the decisions of one batch ``dedupe.run``
(with learned templates off): a paragraph is a duplicate there exactly when it has a
verified match earlier in the input.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import fingerprint
from ..clean.cleaner import clean_document
from ..config import Config
from ..errors import ConfigError, IndexStoreError, InputError
from ..model import Document, Paragraph
from ..paragraphs import paragraphs_of
from ..read import as_documents
from .bands import BandCoder, live_rows, pack_shingles
from .matching import batch_matches, query_document, stored_matches
from .results import DUPLICATE, NEW, DocumentStatus, IndexStats, ParagraphStatus
from .settings import check_meta, encode_meta

log = logging.getLogger(__name__)

#: Documents per batch: large enough to amortise a transaction and the numpy passes
#: (~1,600 paragraphs of news), small enough that a lock is held well under a second.
BATCH_DOCUMENTS = 1000

DocumentLike = Union[Document, Mapping[str, Any]]


def open_store(location: str, name: str):
    """The store for a location: ``redis://``, ``rediss://`` or ``unix://`` URL, else a SQLite file path."""
    text = str(location)
    if text.startswith(("redis://", "rediss://", "unix://")):
        from .redisstore import RedisStore

        return RedisStore(text, name)
    from .sqlite import SqliteStore

    return SqliteStore(text, name)


def _adopted(stored: Any, config: Config) -> Config:
    """``config`` with the fingerprint settings of a stored metadata record (unreadable: unchanged,
    so the check that follows names the problem)."""
    import dataclasses
    import json

    try:
        settings = json.loads(stored.decode("utf-8") if isinstance(stored, bytes) else stored)["settings"]
        values = {k: settings[k] for k in config.fingerprint_settings() if k in settings}
        return dataclasses.replace(config, **values)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, ConfigError):
        return config


class Index:
    """A persistent near-duplicate index (SQLite file or Redis server).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "news.db")
    >>> text = "The mayor resigned on Monday after a long inquiry into the city budget."
    >>> with Index.open(path) as index:
    ...     first = index.add([{"id": "a", "source": "x", "text": text}])
    ...     again = index.query([{"id": "b", "source": "y", "text": text}])
    >>> first[0].paragraphs[0].status, again[0].paragraphs[0].duplicate_of.doc_id
    ('new', 'a')
    """

    def __init__(self, store, config: Config):
        self._store = store
        self.config = config
        self._band_keys = BandCoder(config)

    @classmethod
    def open(cls, location: Union[str, "os.PathLike"], config: Optional[Config] = None, name: str = "default",
             create: bool = True, adopt: Optional[bool] = None) -> "Index":
        """Open (creating if needed) the index at ``location``.

        A file path opens an embedded SQLite index; a ``redis://host:port/db`` or
        ``unix:///path/redis.sock`` URL a Redis one (keys namespaced by ``name``).
        Raises IndexSettingsError when the index was built with other fingerprint
        settings, IndexStoreError when it is unusable.  ``adopt`` (the default when no
        ``config`` is given): take the fingerprint settings the index stores instead of
        ``config``'s, so an index opens without repeating its build settings.
        ``create=False``: a missing index is an IndexStoreError, never a new empty one.
        """
        if config is not None and not isinstance(config, Config):
            raise ConfigError(f"config must be a dedupe.Config, not {type(config).__name__}")
        if not isinstance(location, (str, os.PathLike)):
            raise ConfigError(f"index location must be a path or a redis:// URL, not {type(location).__name__}")
        if not isinstance(name, str):
            raise ConfigError(f"index name must be a string, not {type(name).__name__}")
        location = os.fspath(location)
        if adopt is None:
            adopt = config is None  # no Config given: the index's own settings
        config = config or Config()
        if not name or any(c in name for c in ":{}\n"):
            raise ConfigError(f"index name must be non-empty without ':', braces or newlines, not {name!r}")
        text = str(location)
        is_url = text.startswith(("redis://", "rediss://", "unix://"))
        if not create and not is_url and not os.path.exists(text):
            raise IndexStoreError(f"no index at {text} (create one with `dedupe index add`)")
        store = open_store(text, name)
        try:
            if not create and is_url and not store.has_meta():
                raise IndexStoreError(f"no index at {store.location} (create one with `dedupe index add`)")
            stored = store.init_or_read_meta(encode_meta(config))
            if adopt:
                config = _adopted(stored, config)
            check_meta(stored, config, store.location)
            store.check_layout()
        except BaseException:
            store.close()
            raise
        return cls(store, config)

    @property
    def location(self) -> str:
        """Where the index lives, for messages (a Redis URL's password is ``***``)."""
        return self._store.location

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({self._store.location!r}, backend={self._store.backend!r}, name={self._store.name!r})"

    # --- public operations -----------------------------------------------------------
    def add(self, documents: Iterable[DocumentLike], batch_size: int = BATCH_DOCUMENTS,
            added_at: Optional[Union[datetime, float]] = None) -> List[DocumentStatus]:
        """Clean, check and store documents; the verdict on every paragraph, in input order.

        ``added_at`` (default: now) is the time ``prune`` compares with.  A document whose
        id is already stored replaces the stored one (``replaced=True``).
        """
        return list(self.iter_add(documents, batch_size, added_at))

    def query(self, documents: Iterable[DocumentLike], batch_size: int = BATCH_DOCUMENTS) -> List[DocumentStatus]:
        """What ``add`` would answer, storing nothing (documents of one call are compared in order)."""
        if type(documents) is list and len(documents) == 1 and type(documents[0]) is Document and batch_size >= 1:
            return self._process(documents, store=False, stamp=0.0)  # one document asked about: no batching
        return list(self.iter_query(documents, batch_size))

    def iter_add(self, documents: Iterable[DocumentLike], batch_size: int = BATCH_DOCUMENTS,
                 added_at: Optional[Union[datetime, float]] = None) -> Iterator[DocumentStatus]:
        """``add`` as a stream: each batch is committed before its results are yielded."""
        stamp = _timestamp(added_at) if added_at is not None else None
        for batch in self._batches(documents, batch_size):
            yield from self._process(batch, store=True, stamp=stamp if stamp is not None else time.time())
        self._store.settle()  # the call is done: a store may tidy up what it grew (see SqliteStore.settle)

    def iter_query(self, documents: Iterable[DocumentLike], batch_size: int = BATCH_DOCUMENTS) -> Iterator[DocumentStatus]:
        for batch in self._batches(documents, batch_size):
            yield from self._process(batch, store=False, stamp=0.0)

    def remove(self, doc_ids: Union[str, Iterable[str]]) -> int:
        """Remove documents by id: one id (a str) or an iterable of ids; unknown ids are ignored.

        Returns how many were removed. A str is one id, never its letters.
        """
        if isinstance(doc_ids, str):
            doc_ids = (doc_ids,)
        try:
            ids = list(dict.fromkeys(str(i) for i in doc_ids))
        except TypeError:
            raise InputError(f"remove() takes a document id or an iterable of ids, not {type(doc_ids).__name__}") from None
        with self._store.writing():
            return self._delete(ids)

    def prune(self, older_than: Union[datetime, float]) -> int:
        """Remove every document added before ``older_than`` (a datetime or a Unix timestamp)."""
        stamp = _timestamp(older_than)
        with self._store.writing():
            return self._delete(self._store.older_than(stamp))

    def stats(self) -> IndexStats:
        """Counts (documents, paragraphs, band keys), add-time range and stored settings."""
        with self._store.reading():
            docs, paras, keys, oldest, newest = self._store.counts()
        from .settings import settings_record

        return IndexStats(backend=self._store.backend, location=self._store.location, name=self._store.name,
                          documents=docs, paragraphs=paras, band_keys=keys, oldest=oldest, newest=newest,
                          settings=tuple(sorted(settings_record(self.config).items())))

    # --- internals -------------------------------------------------------------------
    def _batches(self, documents: Iterable[DocumentLike], batch_size: int) -> Iterator[List[Document]]:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
        batch: List[Document] = []
        for doc in as_documents(documents, self.config):
            batch.append(doc)
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _delete(self, doc_ids: Sequence[str]) -> int:
        if not doc_ids:
            return 0
        return self._store.delete(doc_ids, self._band_entries)

    def _band_entries(self, pids: np.ndarray, sets) -> Tuple[np.ndarray, np.ndarray]:
        """Band keys (flat uint64) of stored paragraphs and the pid of each, from their shingle sets."""
        if not pids.size:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        sigs = fingerprint.signatures(sets, self.config)
        live = live_rows(sigs)
        return self._band_keys(sigs[live]).ravel(), np.repeat(pids[live], self.config.bands)

    def _query_matches(self, ids: List[str], sets, keys: np.ndarray) -> Tuple[set, dict]:
        """(stored ids among ``ids``, stored matches); a replaced document is never compared
        with its old version."""
        replaced = set(self._store.existing(ids))
        return replaced, stored_matches(self._store, self.config, sets, keys, None, replaced)

    def _process(self, docs: List[Document], store: bool, stamp: float) -> List[DocumentStatus]:
        config = self.config
        ids = [d.id for d in docs]
        if len(set(ids)) != len(ids):
            seen, dup = set(), None
            for i in ids:
                if i in seen:
                    dup = i
                    break
                seen.add(i)
            raise InputError(f"document id {dup!r} appears twice in one batch; ids must be unique")
        cleaned = [clean_document(d, config) for d in docs]
        paras: List[Paragraph] = list(paragraphs_of(cleaned))
        sets, sigs = fingerprint.fingerprint_batch([p.text for p in paras], config)
        live = live_rows(sigs) if store else None  # a query looks up every row (see matching)
        keys = self._band_keys(sigs)

        if store:
            with self._store.writing():
                replaced = set(self._store.existing(ids))
                if replaced:
                    self._delete(sorted(replaced))
                stored_match = stored_matches(self._store, config, sets, keys, live, replaced)
                self._store.insert(
                    _doc_rows(cleaned, paras, stamp),
                    [(p.doc_id, p.index, p.source, pack_shingles(s)) for p, s in zip(paras, sets)],
                    keys, live,
                )
        elif len(ids) == 1:  # one document asked about: a read without a transaction (SqliteStore.read)
            replaced, stored_match = self._store.read(
                lambda: query_document(self._store, config, ids[0], sets, keys), optimistic=True)
        else:
            replaced, stored_match = self._store.read(lambda: self._query_matches(ids, sets, keys))
        batch_match = batch_matches(config, paras, sets, sigs, keys, live, stored_match)
        return _results(cleaned, paras, stored_match, batch_match, replaced)


def _doc_rows(cleaned, paras, stamp) -> List[Tuple[str, str, float, int]]:
    counts: dict = {}
    for p in paras:
        counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
    return [(c.document.id, c.document.source, stamp, counts.get(c.document.id, 0)) for c in cleaned]


def _results(cleaned, paras, stored_match, batch_match, replaced) -> List[DocumentStatus]:
    if len(cleaned) == 1:  # one document asked about: no grouping
        doc = cleaned[0].document
        statuses = []
        for i, p in enumerate(paras):
            dup = stored_match.get(i) or batch_match.get(i)
            statuses.append(ParagraphStatus(p.index, p.text, DUPLICATE if dup else NEW, dup))
        return [DocumentStatus(doc.id, doc.source, tuple(statuses), cleaned[0].removals, doc.id in replaced)]
    by_doc: dict = {}
    for i, p in enumerate(paras):
        dup = stored_match.get(i) or batch_match.get(i)
        status = ParagraphStatus(p.index, p.text, DUPLICATE if dup else NEW, dup)
        by_doc.setdefault(p.doc_id, []).append(status)
    return [
        DocumentStatus(doc_id=c.document.id, source=c.document.source,
                       paragraphs=tuple(by_doc.get(c.document.id, ())), removals=c.removals,
                       replaced=c.document.id in replaced)
        for c in cleaned
    ]


def _timestamp(value: Union[datetime, float, int]) -> float:
    """A Unix timestamp from a datetime (naive = local time, as ``datetime.timestamp``) or a number."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"expected a datetime or a Unix timestamp, not {value!r}")
