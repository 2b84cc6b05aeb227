"""What every command shares: the error-to-exit-code map, progress, common options.

Exit codes (documented in the README):

==== =====================================================
0    success
1    internal error (a bug: please report the traceback)
2    usage error (bad option or argument; click's own code)
3    input error (unreadable path, malformed JSONL, undecodable bytes)
4    output error (cannot write the output folder)
5    configuration error (out-of-range or inconsistent setting)
6    index settings differ from the ones the index was built with
7    index unusable (corrupt, other format version, unreachable server)
130  interrupted (SIGINT, Ctrl-C)
143  terminated (SIGTERM)
==== =====================================================
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional, Tuple

import click

from ..config import Config
from ..errors import ConfigError, DedupeError, EngineError, IndexSettingsError, IndexStoreError, InputError, OutputError
from ..hook.settings import load_settings
from ..read import FORMATS

log = logging.getLogger("dedupe.cli")

EXIT_CODES = {InputError: 3, OutputError: 4, ConfigError: 5, IndexSettingsError: 6, IndexStoreError: 7,
              EngineError: 8}


def exit_code(err: DedupeError) -> int:
    for cls, code in EXIT_CODES.items():
        if isinstance(err, cls):
            return code
    return 1


class Failure(click.ClickException):
    """A library error shown as one line on stderr, with its documented exit code."""

    def __init__(self, err: DedupeError):
        super().__init__(str(err))
        self.exit_code = exit_code(err)

    def show(self, file=None) -> None:
        click.echo(f"dedupe: error: {self.format_message()}", err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM as an exception, so that ``finally`` blocks (temporary output folders, the
    spool, the worker pool) unwind exactly as they do for Ctrl-C."""


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough; a second must not interrupt the cleanup
    raise Terminated()


def install_signal_handlers() -> dict:
    """SIGTERM raises ``Terminated``; SIGINT keeps Python's KeyboardInterrupt.  The handlers
    replaced, to restore (a caller's process, e.g. a test runner, keeps its own afterwards);
    nothing outside the main thread, where Python cannot set handlers."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    before = {signal.SIGTERM: signal.getsignal(signal.SIGTERM), signal.SIGINT: signal.getsignal(signal.SIGINT)}
    signal.signal(signal.SIGTERM, _raise_terminated)
    if before[signal.SIGINT] is not signal.SIG_IGN:  # ignored, e.g. started in the background by a shell
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return before


class SignalGroup(click.Group):
    """A group whose commands end on SIGINT / SIGTERM with one line on stderr and exit code
    130 / 143 (128 + the signal), after the cleanup has run, instead of click's "Aborted!"."""

    def invoke(self, ctx: click.Context):
        before = install_signal_handlers()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as err:
            terminated = isinstance(err, Terminated)
            click.echo("dedupe: terminated" if terminated else "dedupe: interrupted", err=True)
            ctx.exit(128 + (signal.SIGTERM if terminated else signal.SIGINT))
        finally:
            for signum, handler in before.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


class StageProgress:
    """One tqdm bar per stage on stderr, shown on a terminal only; a stage whose total is
    unknown (reading a stream) shows a count and a rate instead of a bar."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.stage: Optional[str] = None
        self.bar = None  # a tqdm bar (tqdm is imported on the first one: ~0.08 s of every start)
        self.done = 0

    def __call__(self, stage: str, done: int, total: Optional[int]) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=f"{stage:<12}", file=sys.stderr, unit=" items", leave=True,
                            mininterval=0.2, **_width())
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.stage = None


def _width() -> dict:
    """Follow the terminal's size; a terminal that reports none (0 x 0: ``script`` without a
    size, some CI ptys) gets 80 x 24, or tqdm would hide the bar as "below the screen"."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((0, 0))
    if size.columns > 0 and size.lines > 0:
        return {"dynamic_ncols": True}
    return {"ncols": size.columns or 80, "nrows": size.lines or 24}


def progress_for(quiet: bool) -> StageProgress:
    """Progress on stderr when it is a terminal and the user did not ask for quiet."""
    return StageProgress(enabled=not quiet and sys.stderr.isatty())


def project_config(start: str = ".") -> Tuple[Config, str]:
    """The repository's ``[tool.dedupe]`` (pyproject.toml) or ``[dedupe]`` (setup.cfg) as a
    Config, and where it came from: the nearest configuring folder from ``start`` up to the
    repository root (a folder holding ``.git``), so ``dedupe run``, ``clean`` and ``index``
    use the settings the pre-commit hooks use.  ``(Config(), "defaults")`` when none does."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() or (folder / "setup.cfg").is_file():
            settings = load_settings(folder)
            if settings.origin != "defaults":
                return settings.config, f"{folder / settings.origin.split()[0]} {settings.origin.split(' ', 1)[1]}"
        if (folder / ".git").exists():
            break
    return Config(), "defaults"


def config_from_options(no_config: bool = False, **opts) -> Config:
    """The run's Config: defaults, then the project's configuration file (unless
    ``no_config``), then the options given on the command line, each overriding the last."""
    values = {k: v for k, v in opts.items() if v is not None and v != ()}
    base, origin = (Config(), "defaults") if no_config else project_config()
    log.info("settings: %s%s", origin,
             f"; from the command line: {', '.join(sorted(values))}" if values else "")
    try:
        return replace(base, **values)
    except TypeError as err:  # pragma: no cover - option names are ours
        raise ConfigError(str(err)) from None


def not_read_line(counts) -> str:
    """One line for WARC records that are not documents: ``12 WARC records not read (request 5, ...)``."""
    total = sum(counts.values())
    parts = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{total} WARC record{'s' if total != 1 else ''} not read ({parts})"


def _set_verbosity(ctx: click.Context, param, value: int) -> None:
    if value:
        logging.getLogger().setLevel(logging.INFO if value == 1 else logging.DEBUG)


#: ``-v`` on every command as well as before it (``dedupe run -v ...``, ``dedupe -v run ...``).
verbose_option = click.option("-v", "--verbose", count=True, expose_value=False, is_eager=True,
                              callback=_set_verbosity, help="Log what is done (-vv for debug).")


def setup_logging(verbose: int) -> None:
    logging.basicConfig(level={0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG),
                        format="dedupe: %(levelname)s: %(message)s", stream=sys.stderr)


def input_options(f):
    f = click.option("--format", "fmt", type=click.Choice(FORMATS), help="Format of stdin (default: sniffed).")(f)
    f = click.option("--text-field", help="JSONL field holding the text [text].")(f)
    f = click.option("--id-field", help="JSONL field holding the document id [id].")(f)
    f = click.option("--source-field", help="JSONL field holding the source/outlet [source].")(f)
    f = click.option("--url-field", help="JSONL field holding the URL [url].")(f)
    f = click.option("--title-field", help="JSONL field holding the title [title].")(f)
    f = click.option("--decode-errors", type=click.Choice(["strict", "replace"]),
                     help="strict: undecodable UTF-8 is an error (exit 3) [default]; replace: read with U+FFFD and warn.")(f)
    f = click.option("--disable-rule", "disabled_rules", multiple=True, metavar="NAME",
                     help="Switch a cleaning rule off (repeatable; see `dedupe rules`).")(f)
    f = click.option("--encoding", metavar="NAME",
                     help="Encoding of .txt files: utf-8 [default], auto (BOM, UTF-8, else detected) or a label "
                          "(windows-1251, shift_jis, ...); a label also overrides what HTML pages declare.")(f)
    f = click.option("--warc-content-type", "warc_content_types", multiple=True, metavar="TYPE",
                     help="... by payload media type (repeatable; text/plain is read as text) "
                          "[text/html, application/xhtml+xml].")(f)
    f = click.option("--warc-status", "warc_statuses", multiple=True, metavar="CODE",
                     help="... by HTTP status (repeatable; 'any' for all) [200].")(f)
    f = click.option("--warc-record-type", "warc_record_types", multiple=True, metavar="TYPE",
                     help="WARC records read as documents, by WARC-Type (repeatable) [response].")(f)
    f = click.option("--on-error", "on_error", type=click.Choice(["fail", "skip"]),
                     help="fail: the first unreadable file or invalid record is an error (exit 3) [default]; "
                          "skip: skip it, count it in report.json and list it in OUT/errors.jsonl.")(f)
    f = click.option("--max-document-bytes", type=click.IntRange(1), metavar="BYTES",
                     help="Largest document read, after decompression [50000000].")(f)
    f = click.option("--no-config", is_flag=True, default=False,
                     help="Ignore [tool.dedupe] (pyproject.toml) / [dedupe] (setup.cfg); use defaults and options only.")(f)
    f = click.option("--no-content-filter", "content_filter", flag_value=False, default=None,
                     help="Keep lines the content filter would drop (named rules still run).")(f)
    return f


