"""Command line: a thin layer over the library (argument parsing, progress, exit codes).

One module per command group, all importing the library and ``common`` (shared options,
progress, the error-to-exit-code map) and never imported by the library:

* ``batch``: ``dedupe run``, ``dedupe clean``, ``dedupe rules``;
* ``hooks``: ``dedupe fix``, ``dedupe check`` (the pre-commit hooks);
* ``index``: ``dedupe index add|query|remove|prune|stats``.
"""
from __future__ import annotations

import click

from .. import __version__
from . import batch, hooks, index
from .common import EXIT_CODES, Failure, SignalGroup, exit_code, setup_logging, verbose_option

__all__ = ["main", "EXIT_CODES", "Failure", "exit_code"]


@click.group(cls=SignalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dedupe")
@click.option("-v", "--verbose", count=True, help="Log what is done (-vv for debug); also accepted after the command.")
def main(verbose: int) -> None:
    """Strip scraper noise from news articles and collapse near-duplicate paragraphs across sources."""
    setup_logging(verbose)


def _commands(group: click.Group):
    for cmd in group.commands.values():
        yield cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd)


for _cmd in (batch.run, batch.clean, batch.rules, hooks.fix, hooks.check, index.index):
    main.add_command(_cmd)
for _cmd in _commands(main):
    verbose_option(_cmd)  # appends -v to the command's own options


if __name__ == "__main__":  # pragma: no cover
    main()
