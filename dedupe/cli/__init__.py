"""Command line: a thin layer over the library (argument parsing, progress, exit codes).

One module per command group, all importing the library and ``common`` (shared options,
progress, the error-to-exit-code map) and never imported by the library:

* ``batch``: ``dedupe run``, ``dedupe clean``, ``dedupe rules``;
* ``hooks``: ``dedupe fix``, ``dedupe check`` (the pre-commit hooks);
* ``index``: ``dedupe index add|query|remove|prune|stats``;
* ``review``: ``dedupe report`` (the HTML review page of a run).
"""
from __future__ import annotations

import click

from .. import __version__
from .common import EXIT_CODES, Failure, SignalGroup, exit_code, setup_logging, verbose_option

__all__ = ["main", "EXIT_CODES", "Failure", "exit_code"]

#: Command name -> (module, attribute).  A command's module is imported when the command
#: is, so ``dedupe check`` does not load the batch pipeline and the index stores: the
#: pre-commit hook pays ~0.2 s less at every start.
_COMMANDS = {
    "run": ("batch", "run"), "clean": ("batch", "clean"), "rules": ("batch", "rules"),
    "fix": ("hooks", "fix"), "check": ("hooks", "check"), "index": ("index", "index"),
    "report": ("review", "report"),
}


def _commands(group: click.Group):
    for cmd in group.commands.values():
        yield cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd)


class LazyGroup(SignalGroup):
    """The top-level group: its commands are loaded on first use (the pattern of click's
    documentation, "Lazily Loading Subcommands"), each with ``-v`` appended."""

    def list_commands(self, ctx):
        return sorted(set(_COMMANDS) | set(self.commands))

    def get_command(self, ctx, name):
        if name not in self.commands and name in _COMMANDS:
            import importlib

            module, attr = _COMMANDS[name]
            cmd = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
            for sub in (cmd, *(_commands(cmd) if isinstance(cmd, click.Group) else ())):
                verbose_option(sub)  # appends -v to the command's own options
            self.add_command(cmd, name)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dedupe")
@click.option("-v", "--verbose", count=True, help="Log what is done (-vv for debug); also accepted after the command.")
def main(verbose: int) -> None:
    """Strip scraper noise from news articles and collapse near-duplicate paragraphs across sources."""
    setup_logging(verbose)


if __name__ == "__main__":  # pragma: no cover
    main()
