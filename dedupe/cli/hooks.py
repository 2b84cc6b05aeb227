"""``dedupe fix`` and ``dedupe check``: the pre-commit hooks' command lines .

Both read their settings from the repository in the working directory (pre-commit runs
hooks at the repository root) and act only on files inside the configured data folders.
Exit codes: 0 clean; ``PROBLEMS_EXIT`` (1, as pre-commit's own fixers and most linters)
when ``fix`` changed a file or ``check`` has findings; errors as the rest of the CLI.
"""
from __future__ import annotations

import click

from ..errors import DedupeError
from ..hook.check import baseline_text, check as run_check, data_files, find_all, require_data_folders
from ..hook.settings import load_settings
from .common import Failure, progress_for

#: Exit code of a fix that changed files or a check with findings.
PROBLEMS_EXIT = 1


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("-n", "--dry-run", is_flag=True, help="Say what would be fixed; write nothing.")
def fix(files, dry_run) -> None:
    """Strip scraper noise from FILES in place (.txt, .jsonl; .gz too; HTML is never rewritten).

    Only files inside the configured data folders are touched (no FILES: all of them).
    Nothing but the noise lines changes; exits 1 when a file was (or would be) fixed.
    """
    from ..hook.fix import fix_file

    try:
        settings = load_settings()
        require_data_folders(settings)
        targets = [settings.relative(f) for f in files] if files else data_files(settings)
        changed = []
        for rel in targets:
            if not settings.in_data(rel):
                continue
            result = fix_file(str(settings.root / rel), settings.config, write=not dry_run)
            if result.changed:
                changed.append((rel, result))
    except DedupeError as err:
        raise Failure(err) from None
    verb = "would fix" if dry_run else "fixed"
    for rel, result in changed:
        n = len(result.removals)
        click.echo(f"{verb} {rel} ({n} noise line{'s' if n != 1 else ''} removed)")
        for r in result.removals:
            click.echo(f"  {rel}:{r.where.split()[1]}: {r.rule}: {r.text}")
    if changed:
        raise SystemExit(PROBLEMS_EXIT)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--write-baseline", is_flag=True,
              help="Accept every current finding in all data folders: write the baseline file and exit 0.")
@click.option("--no-cache", is_flag=True,
              help="Read and fingerprint every data file afresh; neither use nor update the cache "
                   "(.git/dedupe/). The findings are the same.")
def check(files, write_baseline, no_cache) -> None:
    """Fail when FILES hold noise or near-duplicate any document in the data folders.

    Every call compares against the whole data folder(s), so the verdict does not depend on
    how the file list is split.  No FILES: check every data file.  One line per finding.
    Unchanged files are taken from a cache in the repository's git directory.
    """
    try:
        settings = load_settings()
        if write_baseline:
            findings = find_all(settings, use_cache=not no_cache)
            text = baseline_text(findings)
            write_atomic_new(settings.root / settings.baseline, text.encode("utf-8"))
            click.echo(f"dedupe check: wrote {settings.baseline} accepting {len(findings)} findings", err=True)
            return
        progress = progress_for(quiet=False)
        try:
            found, accepted = run_check(settings, list(files) if files else None, progress, use_cache=not no_cache)
        finally:
            progress.close()
    except DedupeError as err:
        raise Failure(err) from None
    if found:  # one write: click.echo per line was a second of a folder with 70k findings
        click.echo("\n".join(finding.message for finding in found))
    if found or accepted:
        click.echo(f"dedupe check: {len(found)} finding{'s' if len(found) != 1 else ''}"
                   + (f" ({len(accepted)} more accepted by {settings.baseline})" if accepted else ""), err=True)
    if found:
        raise SystemExit(PROBLEMS_EXIT)


def write_atomic_new(path, data: bytes) -> None:
    """Write ``path`` atomically, creating it (mode 0644 less the umask) when it does not exist."""
    from ..hook.fix import write_atomic

    if not path.exists():
        path.touch()
    write_atomic(path, data)
