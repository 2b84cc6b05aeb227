"""Hook settings read from the repository: ``[tool.dedupe]`` in pyproject.toml or ``[dedupe]`` in setup.cfg.

Two keys belong to the hook; every other key is a ``Config`` field (dashes or underscores)
and goes through ``Config.from_mapping``, so an unknown key is a ``ConfigError`` naming it::

    [tool.dedupe]
    data = ["data"]                       # folders the hooks look after (default: ["data"])
    baseline = ".dedupe-baseline.json"    # accepted findings (default shown)
    disabled-rules = ["photo-credit"]     # any Config field, e.g. thresholds:
    jaccard-threshold = 0.6

In setup.cfg lists are one item a line (or comma separated) and numbers are parsed by the
type of the field's default.  Configuring both files is an error (one place, one truth).
"""
from __future__ import annotations

import configparser
import logging
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from ..config import Config
from ..errors import ConfigError

log = logging.getLogger(__name__)

#: Keys of the hook itself (everything else is a Config field).
HOOK_KEYS = ("data", "baseline")
DEFAULT_DATA = ("data",)
DEFAULT_BASELINE = ".dedupe-baseline.json"


@dataclass(frozen=True)
class HookSettings:
    """Where the data lives, where the baseline is, and the run Config; paths relative to ``root``."""

    root: Path
    data: Tuple[str, ...] = DEFAULT_DATA
    baseline: str = DEFAULT_BASELINE
    config: Config = field(default_factory=Config)
    #: Where the settings came from, for messages ("defaults" when no file configures dedupe).
    origin: str = "defaults"

    def relative(self, path: str) -> str:
        """``path`` (absolute or relative to the working directory) relative to the root, posix style."""
        return Path(os.path.relpath(os.path.abspath(path), self.root)).as_posix()

    def in_data(self, rel: str) -> bool:
        """Whether a root-relative path lies inside one of the data folders, by name *and* by
        its real path: a symlink to a file outside the data folders is not in them, so
        ``dedupe fix`` never writes through it (logged as a warning)."""
        def inside(name: str) -> bool:
            return any(folder in (".", "") or name == folder or name.startswith(folder.rstrip("/") + "/")
                       for folder in self.data)

        if not inside(rel):
            return False
        root = Path(os.path.realpath(self.root))
        real = Path(os.path.realpath(self.root / rel))
        try:
            real_rel = real.relative_to(root).as_posix()
        except ValueError:
            real_rel = None
        if real_rel is None or real_rel.startswith("../") or not inside(real_rel):
            log.warning("%s: skipped: it is a link to %s, outside the data folders", rel, real)
            return False
        return True


def _split_list(value: str) -> Tuple[str, ...]:
    return tuple(item.strip() for line in value.splitlines() for item in line.split(",") if item.strip())


def _coerce_ini(name: str, value: str, default: Any) -> Any:
    """A setup.cfg string as the type of the field's default."""
    text = value.strip()
    try:
        if isinstance(default, bool):
            lowered = text.lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise ConfigError(f"setting {name!r}: {text!r} is not a {type(default).__name__}") from None
    if isinstance(default, tuple):
        return list(_split_list(text))
    return text


def _check_toml_type(name: str, value: Any, default: Any) -> None:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        want = "a list of strings" if isinstance(default, tuple) else f"a {type(default).__name__}"
        raise ConfigError(f"setting {name!r} must be {want}, not {value!r}")


def _toml():
    """tomllib (3.11+) or its backport tomli (a dependency on 3.10 only)."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - exercised on 3.10 only
        import tomli
    except ImportError:  # pragma: no cover
        raise ConfigError("reading pyproject.toml on Python 3.10 needs tomli (pip install tomli)") from None
    return tomli  # pragma: no cover


def _read_pyproject(path: Path) -> Mapping[str, Any] | None:
    if not path.is_file():
        return None
    tomllib = _toml()
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    section = doc.get("tool", {}).get("dedupe")
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.dedupe] must be a table")
    return section


def _read_setup_cfg(path: Path) -> Mapping[str, str] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        return None
    except (OSError, configparser.Error, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    return dict(parser["dedupe"]) if parser.has_section("dedupe") else None


def settings_from_mapping(values: Mapping[str, Any], root: Path, origin: str, from_ini: bool = False) -> HookSettings:
    """HookSettings from a config section; unknown keys and bad values are ConfigErrors naming ``origin``."""
    defaults = {f.name: f.default for f in fields(Config)}
    hook: Dict[str, Any] = {}
    run: Dict[str, Any] = {}
    try:
        for key, value in values.items():
            name = key.replace("-", "_")
            if name in HOOK_KEYS:
                if from_ini:
                    value = _split_list(value) if name == "data" else value.strip()
                elif name == "data":
                    _check_toml_type(key, value, ())
                else:
                    _check_toml_type(key, value, "")
                hook[name] = tuple(v.strip("/") or "." for v in value) if name == "data" else value
            elif name in defaults:
                if from_ini:
                    value = _coerce_ini(key, value, defaults[name])
                else:
                    _check_toml_type(key, value, defaults[name])
                run[key] = value
            else:
                known = sorted(set(HOOK_KEYS) | set(defaults))
                raise ConfigError(f"unknown setting {key!r}; known: {', '.join(known)}")
        config = Config.from_mapping(run)  # Config itself refuses unknown rule names
        if "data" in hook and not hook["data"]:
            raise ConfigError("data: name at least one folder")
    except ConfigError as err:
        raise ConfigError(f"{origin}: {err}") from None
    return HookSettings(root=root, config=config, origin=origin, **hook)


def load_settings(root: str | os.PathLike = ".") -> HookSettings:
    """The hook settings of the repository at ``root`` (defaults when neither file configures dedupe)."""
    base = Path(root).resolve()
    toml = _read_pyproject(base / "pyproject.toml")
    ini = _read_setup_cfg(base / "setup.cfg")
    if toml is not None and ini is not None:
        raise ConfigError("dedupe is configured in both pyproject.toml [tool.dedupe] and setup.cfg [dedupe]; keep one")
    if toml is not None:
        return settings_from_mapping(toml, base, "pyproject.toml [tool.dedupe]")
    if ini is not None:
        return settings_from_mapping(ini, base, "setup.cfg [dedupe]", from_ini=True)
    return HookSettings(root=base)
