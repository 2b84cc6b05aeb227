"""Typed errors raised by the library.

The library never exits; the CLI maps each class to a documented exit code
(see ``dedupe.cli.common.EXIT_CODES``).
"""
from __future__ import annotations


class DedupeError(Exception):
    """Base class of every error dedupe raises on purpose."""


class InputError(DedupeError):
    """Input that cannot be read: missing path, malformed JSONL, undecodable bytes.

    The message names the file (and line for JSONL), e.g.
    ``data/x.jsonl:17: not valid JSON``.
    """


class ConfigError(DedupeError):
    """A configuration value that is out of range or inconsistent."""


class OutputError(DedupeError):
    """The output location cannot be written."""


class IndexSettingsError(DedupeError):
    """A persistent index was opened with settings other than the ones it was built with."""


class IndexStoreError(DedupeError):
    """A persistent index is unusable (corrupt, wrong format version, unreachable server)."""


class EngineError(DedupeError):
    """The Spark engine's job failed (an executor out of memory, a lost cluster): the
    message says what Spark reported and, where it can, what to change."""
