"""``dedupe report``: the review page of a run's output folder."""
from __future__ import annotations

import click

from ..errors import DedupeError
from ..review import MAX_DOCUMENTS, MAX_LISTED, MAX_STORIES, write_review
from .common import Failure, progress_for

limit_options = [
    click.option("--stories", "max_stories", type=click.IntRange(0), default=MAX_STORIES, show_default=True,
                 help="Stories shown in full (those with the most sources)."),
    click.option("--listed", "max_listed", type=click.IntRange(0), default=MAX_LISTED, show_default=True,
                 help="Stories listed by title after those."),
    click.option("--documents", "max_documents", type=click.IntRange(0), default=MAX_DOCUMENTS, show_default=True,
                 help="Documents shown in full (those of the stories shown)."),
]


def with_limits(cmd):
    for option in reversed(limit_options):
        cmd = option(cmd)
    return cmd


@click.command()
@click.argument("out", type=click.Path())
@click.option("-o", "--output", "dest", type=click.Path(dir_okay=False),
              help="The HTML file to write [OUT/review.html].")
@with_limits
def report(out, dest, **limits) -> None:
    """Write a self-contained HTML review of the run whose output folder is OUT."""
    progress = progress_for(False)
    try:
        path = write_review(out, dest, progress=progress, **limits)
    except DedupeError as err:
        raise Failure(err) from None
    finally:
        progress.close()
    click.echo(f"dedupe: wrote {path}", err=True)
