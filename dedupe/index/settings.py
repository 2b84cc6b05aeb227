"""The metadata record an index stores, and the check made when it is opened.

Persisted state that was built with other fingerprint settings can never match new
paragraphs (other bands give other bucket keys, another seed other signatures), so
opening it with other settings is an ``IndexSettingsError`` that names every difference;
a store that is not a dedupe index, or one of another format version, is an
``IndexStoreError``.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Mapping

from ..config import Config
from ..errors import IndexSettingsError, IndexStoreError
from ..fingerprint import fingerprint_batch

#: Version of the stored layout (tables/keys and record encodings).  Bump on any change.
#: 2: SQLite keeps each paragraph's band keys beside it (buckets are built in memory) and
#: each document's pid range; band keys lose their final mix.  3: band keys fold one more
#: multiplication instead (Redis bucket keys change too).
FORMAT_VERSION = 3
#: The MinHash scheme of ``dedupe.fingerprint`` (datasketch 2.x "affine32").
MINHASH_SCHEME = "affine32"
#: A fixed text whose shingle hashes and signature, under the default Config, detect a
#: change of the hashing code itself (tokeniser, shingle hash, datasketch permutations),
#: which no setting would reveal.
_PROBE_TEXT = "The quick brown fox jumps over the lazy dog, 1 2 3; Zürich – Ελλάδα."
#: Stored for information only, never compared (a patch release keeps sketches comparable).
INFORMATIONAL = ("datasketch_version",)


def hash_scheme_probe() -> str:
    """16 hex digits that change when shingle hashing or MinHash permutations change."""
    sets, sigs = fingerprint_batch([_PROBE_TEXT], Config())
    digest = hashlib.sha256(sets[0].astype("<u4").tobytes() + sigs[0].astype("<u4").tobytes())
    return digest.hexdigest()[:16]


def settings_record(config: Config) -> Dict[str, Any]:
    """Everything a stored sketch depends on (compared on open), plus informational fields."""
    import datasketch

    version = datasketch.__version__
    return {
        "datasketch_major": int(version.split(".")[0]),
        "minhash_scheme": MINHASH_SCHEME,
        "hash_scheme_probe": hash_scheme_probe(),
        **config.fingerprint_settings(),
        "datasketch_version": version,
    }


def encode_meta(config: Config) -> str:
    """The metadata record as stored: JSON with the format version and the settings."""
    return json.dumps({"format_version": FORMAT_VERSION, "settings": settings_record(config)}, sort_keys=True)


def check_meta(raw: Any, config: Config, where: str) -> Dict[str, Any]:
    """Parse a stored metadata record and compare it with ``config``; returns the stored settings.

    Raises IndexStoreError for an unreadable record or another format version, and
    IndexSettingsError listing each differing setting as ``name: stored X, requested Y``.
    """
    try:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        meta = json.loads(raw)
        version = meta["format_version"]
        stored = meta["settings"]
        if not isinstance(stored, dict):
            raise TypeError("settings is not an object")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise IndexStoreError(f"{where}: unreadable index metadata record ({err})") from None
    if version != FORMAT_VERSION:
        raise IndexStoreError(
            f"{where}: index format version {version!r}, this dedupe reads version {FORMAT_VERSION}; "
            "rebuild the index"
        )
    differences = describe_differences(stored, settings_record(config))
    if differences:
        raise IndexSettingsError(
            f"{where}: index was built with other settings ({'; '.join(differences)}); "
            "open it with the stored settings or build a new index"
        )
    return stored


def describe_differences(stored: Mapping[str, Any], requested: Mapping[str, Any]) -> list:
    """``name: stored X, requested Y`` for every compared setting that differs (sorted by name)."""
    out = []
    for name in sorted(set(stored) | set(requested)):
        if name in INFORMATIONAL:
            continue
        have, want = stored.get(name, "<missing>"), requested.get(name, "<missing>")
        if have != want:
            out.append(f"{name}: stored {have!r}, requested {want!r}")
    return out
