"""One Config for every stage, every default documented here with its reason.

Pass the object, never its fields one by one.  ``Config()`` is the default run;
``dataclasses.replace(cfg, field=value)`` or ``Config.from_mapping({...})`` make variants.
"""
from __future__ import annotations

import os

from dataclasses import dataclass, fields
from typing import Any, Mapping, Tuple

from .errors import ConfigError


#: Field annotations (strings, under ``from __future__ import annotations``) -> a check and
#: the type's name for the message.  bool is not accepted as an int (True is a typo, not 1);
#: an int is accepted where a float is expected.  Tuples must be real tuples of str in
#: ``Config(...)``; ``Config.from_mapping`` turns lists (config files, JSON) into tuples.
_TYPE_CHECKS = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "float": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "Tuple[str, ...]": (lambda v: isinstance(v, tuple) and all(isinstance(i, str) for i in v),
                        "a tuple of strings"),
}


def _check_types(config: "Config") -> None:
    """ConfigError for a field whose value is not of its annotated type (before range checks)."""
    for f in fields(config):
        check = _TYPE_CHECKS.get(str(f.type))
        if check is None:
            raise ConfigError(f"internal: no type check for Config field {f.name} ({f.type})")
        value = getattr(config, f.name)
        if not check[0](value):
            raise ConfigError(f"{f.name} must be {check[1]}, not {type(value).__name__} {value!r}")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; the CPU count off Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


#: ``Config.encoding`` values that impose no encoding on documents (``read.encoding.override``).
NO_IMPOSED_ENCODING = ("utf-8", "utf8", "auto")


def _unknown_encoding(label: str) -> bool:
    from .read.encoding import lookup  # lazily: only a label other than the defaults needs the table

    return lookup(label) is None


#: WARC 1.1's record types.
WARC_RECORD_TYPES = ("warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion",
                     "continuation")


@dataclass(frozen=True)
class Config:
    # --- read --------------------------------------------------------------------------
    #: JSONL field names (text, id, source, url, title).  A record without the text
    #: field is an input error; the others are optional.
    text_field: str = "text"
    id_field: str = "id"
    source_field: str = "source"
    url_field: str = "url"
    title_field: str = "title"
    #: "strict": undecodable UTF-8 is an InputError naming the file.  "replace":
    #: decode with U+FFFD replacement characters and log a warning (documented fallback).
    decode_errors: str = "strict"
    #: "fail": the first unreadable file or invalid record is an InputError (exit 3).
    #: "skip": it is skipped, counted in ``report.json`` and listed with its reason in
    #: ``OUT/errors.jsonl`` (nothing is dropped silently).
    on_error: str = "fail"
    #: Largest document (decompressed bytes: a file, a JSONL record's text) read; a larger
    #: one is an input error (or skipped).  50 MB: ~100x the largest real news page seen,
    #: yet a gzip bomb or a runaway log file stops here before memory grows.
    max_document_bytes: int = 50_000_000
    #: Encoding of ``.txt`` files and text on stdin: "utf-8" (undecodable bytes follow
    #: ``decode_errors``), "auto" (a BOM, else UTF-8 when valid, else detected), or any
    #: WHATWG label ("windows-1251", "shift_jis", ...).  HTML pages are decoded as a
    #: browser does (``dedupe.read.encoding``); a label other than "utf-8" and "auto"
    #: overrides their declarations too, as a browser's encoding menu does.
    encoding: str = "utf-8"
    #: WARC records read as documents: their WARC-Type ...
    warc_record_types: Tuple[str, ...] = ("response",)
    #: ... their HTTP status (for records that carry HTTP) ...
    warc_statuses: Tuple[str, ...] = ("200",)
    #: ... and their payload's media type (HTML; "text/plain" is read as text).  The rest
    #: is skipped and counted by reason in ``report.json`` (``warc_skipped``).
    warc_content_types: Tuple[str, ...] = ("text/html", "application/xhtml+xml")

    # --- clean -------------------------------------------------------------------------
    #: Names of rules (see ``dedupe.clean.rules``) to switch off.
    disabled_rules: Tuple[str, ...] = ()
    #: A source needs this many documents before lines it repeats are learned as its
    #: template: with fewer pages one cannot tell a template from a shared quote.
    learn_min_documents: int = 4
    #: ... and a line must appear on at least this share of that source's documents ...
    learn_min_fraction: float = 0.5
    #: ... and on at least this many of them (guards small sources: 2 of 4 is a coincidence).
    learn_min_count: int = 3
    #: Corpus-wide boilerplate (rule ``corpus-boilerplate``): a short line that is not a sentence
    #: and recurs on at least this many documents of the run (0 switches it off) ...
    corpus_min_documents: int = 3
    #: ... of at least this many different stories (a wire line carried by 30 outlets is one story) ...
    corpus_min_stories: int = 3
    #: ... that are at least this share of those documents ...
    corpus_min_story_share: float = 0.5
    #: ... and of at least this many sources (or all of them, in a run with fewer).  "Scroll down
    #: for video" on 37 of 1,683 scraped bodies of 32 stories is boilerplate; no single outlet
    #: repeats it on half its pages, so the per-source template cannot learn it.
    corpus_min_sources: int = 3
    #: Drop navigation/boilerplate lines of naive scrapes by content features
    #: (see ``dedupe.clean.content``); named rules and learned lines run regardless.
    content_filter: bool = True

    # --- fingerprint -------------------------------------------------------------------
    #: Word n-gram size.  3: a one-word edit in a 25-word wire paragraph still leaves
    #: Jaccard ~0.8 (with 5-grams it falls to ~0.65), while unrelated news paragraphs
    #: stay below 0.1.  Paragraphs shorter than n words are one shingle of all their words.
    shingle_size: int = 3
    #: MinHash permutations (datasketch default; 32 bands x 4 rows).
    num_perm: int = 128
    #: MinHash seed (datasketch default, so sketches interoperate with datasketch's).
    seed: int = 1

    # --- candidates / verify -----------------------------------------------------------
    #: LSH bands x rows = num_perm.  32 x 4 puts the S-curve's midpoint near Jaccard
    #: 0.42, below the 0.5 verification threshold, so a pair at 0.5 is a candidate
    #: with probability 0.87 and one at 0.7 with 0.9996.
    bands: int = 32
    rows: int = 4
    #: A candidate pair is a near-duplicate when the exact Jaccard of its shingle sets
    #: reaches this.  0.5: lightly edited wire copies (edited lede, changed attribution)
    #: stay above it; two reports of one event in different words stay far below.
    jaccard_threshold: float = 0.5
    #: ... or when this share of the smaller paragraph's shingles is in the larger
    #: (an abridged or extended copy) ...
    containment_threshold: float = 0.8
    #: ... provided the smaller paragraph has at least this many shingles, so a short
    #: stock sentence is not "contained" in every paragraph that quotes it.
    min_containment_shingles: int = 8
    #: Containment candidates: one shingle in this many (a fixed sample of hash values, so
    #: a shingle two paragraphs share is sampled in both or in neither) is a key, and
    #: paragraphs sharing a key are candidates.  Banding finds pairs of similar *sets*; an
    #: abridged copy (a wire paragraph cut by half) shares most of its own shingles with
    #: the original but not the original's MinHash bands.  4: a typical contained
    #: paragraph (25 shingles shared) has no key in common with probability (3/4)**25 =
    #: 8e-4; on FNC-1 0.989 of the containment-only pairs are found (3: 1.000, but 18 keys
    #: a paragraph of news instead of 14, each costing time at 1M paragraphs; 5: 0.958).
    #: 0 turns containment candidates off.
    containment_sample: int = 4
    #: A containment key gives candidates to the first this many paragraphs that carry it
    #: (in input order): a shingle common in the language ("one of the") is sampled in
    #: thousands of paragraphs, and a key shared by that many is no evidence.  The first
    #: ones still meet each other, so a story republished this many times is still found.
    containment_bucket_cap: int = 50

    # --- canonical / stories -----------------------------------------------------------
    #: "longest": the most complete variant (most shingles, then most characters).
    #: "source-priority": the first source of ``source_priority`` that carries the
    #: paragraph, falling back to "longest".
    canonical_policy: str = "longest"
    source_priority: Tuple[str, ...] = ()
    #: Two documents are one story when they share at least this many clusters ...
    story_min_shared: int = 2
    #: ... or when shared clusters make at least this share of the smaller document's
    #: paragraphs (a one-paragraph item fully contained in a longer report).
    story_min_share: float = 0.5
    #: Only clusters of paragraphs with at least this many shingles (about this many words
    #: plus two) count as shared reporting: "Yes.", "Outline", a name or a section label
    #: recurs on unrelated pages and would chain them into one story.  Such short clusters
    #: are still clusters (their copies are collapsed); they just do not link documents.
    story_min_shingles: int = 6  # a 8-word sentence; the stock lines that linked FNC-1 stories ran 1-4 shingles

    # --- execution ---------------------------------------------------------------------
    #: ``Result.documents[i].document.text`` keeps the input text.  ``dedupe run`` (which
    #: never writes it) turns this off, so a corpus's text is not held twice.
    keep_input_text: bool = True
    #: Worker processes for cleaning and fingerprinting; 0: one per available core.
    #: Output never depends on it; small inputs are done in-process whatever it says.
    workers: int = 0

    def __post_init__(self) -> None:
        def bad(msg: str) -> None:
            raise ConfigError(msg)

        _check_types(self)
        if self.disabled_rules:
            from .clean.rules import RULES_BY_NAME  # lazily: clean imports config

            unknown = [r for r in self.disabled_rules if r not in RULES_BY_NAME]
            if unknown:
                bad(f"disabled_rules: unknown rule {', '.join(map(repr, unknown))}; "
                    f"known: {', '.join(sorted(RULES_BY_NAME))}")
        if self.decode_errors not in ("strict", "replace"):
            bad(f"decode_errors must be 'strict' or 'replace', not {self.decode_errors!r}")
        if self.on_error not in ("fail", "skip"):
            bad(f"on_error must be 'fail' or 'skip', not {self.on_error!r}")
        if self.max_document_bytes < 1:
            bad("max_document_bytes must be at least 1")
        if self.encoding.lower() not in NO_IMPOSED_ENCODING and _unknown_encoding(self.encoding):
            bad(f"encoding: unknown encoding {self.encoding!r} (a WHATWG label such as 'windows-1252', "
                "'shift_jis', 'gbk', or 'auto')")
        unknown = sorted(set(self.warc_record_types) - set(WARC_RECORD_TYPES))
        if unknown:
            bad(f"warc_record_types: unknown WARC-Type {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(WARC_RECORD_TYPES)}")
        if any(not (s.isdigit() and len(s) == 3) and s != "any" for s in self.warc_statuses):
            bad(f"warc_statuses must be three-digit HTTP status codes or 'any', not {self.warc_statuses!r}")
        if self.shingle_size < 1:
            bad("shingle_size must be at least 1")
        if self.num_perm < 1:
            bad("num_perm must be at least 1")
        if self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm:
            bad(f"bands x rows ({self.bands} x {self.rows}) must be at most num_perm ({self.num_perm})")
        for name in ("jaccard_threshold", "containment_threshold", "learn_min_fraction", "story_min_share", "corpus_min_story_share"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                bad(f"{name} must be in (0, 1], not {value!r}")
        if self.canonical_policy not in ("longest", "source-priority"):
            bad(f"canonical_policy must be 'longest' or 'source-priority', not {self.canonical_policy!r}")
        if self.containment_sample < 0:
            bad("containment_sample must be 0 (off) or more")
        if self.containment_bucket_cap < 2:
            bad("containment_bucket_cap must be at least 2")
        if self.story_min_shared < 1:
            bad("story_min_shared must be at least 1")
        if self.story_min_shingles < 0:
            bad("story_min_shingles must be at least 0")
        if self.workers < 0:
            bad("workers must be 0 (one per core) or more")

    @property
    def processes(self) -> int:
        """Worker processes to use: ``workers``, or the cores this process may run on when 0."""
        return self.workers or available_cores()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Config":
        """Build a Config from a mapping (e.g. a config file section); unknown keys are errors.

        Keys may use dashes or underscores; list values become tuples (``Config(...)``
        itself wants real tuples: ``Config(source_priority=["a"])`` is a ConfigError).
        """
        if not isinstance(values, Mapping):
            raise ConfigError(f"settings must be a mapping of names to values, not {type(values).__name__}")
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if not isinstance(key, str):
                raise ConfigError(f"setting names must be strings, not {key!r}")
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
            if isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise ConfigError(str(err)) from err

    def fingerprint_settings(self) -> dict:
        """The settings a stored sketch depends on (persisted by indexes, compared on open)."""
        return {
            "num_perm": self.num_perm,
            "seed": self.seed,
            "shingle_size": self.shingle_size,
            "bands": self.bands,
            "rows": self.rows,
            "jaccard_threshold": self.jaccard_threshold,
            "containment_threshold": self.containment_threshold,
            "min_containment_shingles": self.min_containment_shingles,
        }
