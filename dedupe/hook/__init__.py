"""pre-commit hooks: ``dedupe fix`` (strip noise in place) and ``dedupe check`` (noise and duplicates).

The repository publishes both in ``.pre-commit-hooks.yaml``.  Choices, and why:

* **Split-independent verdicts.**  pre-commit splits long file lists over several calls
  (in parallel) and stashes unstaged changes.  The fixer's change to a file depends on
  that file's bytes and the settings only (``dedupe.hook.fix``).  The checker compares
  with the whole configured data folder(s) on every call -- as git has them staged -- and
  the given files only select which findings to print (``dedupe.hook.check``); unchanged
  files are answered from a cache in the git directory (``dedupe.hook.cache``).  It is
  marked ``require_serial``: parallel calls would only queue on the cache's lock.
* **Accepted findings** live in a committed, sorted baseline file written by
  ``dedupe check --write-baseline`` (default ``.dedupe-baseline.json``).
* **Settings** come from ``[tool.dedupe]`` in pyproject.toml or ``[dedupe]`` in setup.cfg
  (``dedupe.hook.settings``): ``data`` folders, ``baseline`` path and any ``Config`` field.
"""
from .check import Finding, check, find_all
from .settings import HookSettings, load_settings

__all__ = ["Finding", "FixResult", "HookSettings", "check", "find_all", "fix_file", "fix_text", "load_settings"]


def __getattr__(name: str):
    """The fixer loads on first use: it imports the cleaner, which ``dedupe check`` answered
    from its cache does not need (PEP 562)."""
    if name in ("FixResult", "fix_file", "fix_text"):
        from . import fix

        return getattr(fix, name)
    raise AttributeError(f"module 'dedupe.hook' has no attribute {name!r}")
