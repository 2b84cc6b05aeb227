"""Worker processes for the per-document stages, and the spool that feeds them text.

The pipeline (``dedupe.pipeline``) decides what runs where; this module only knows how:

* ``executor``: a process pool, forked where the platform can, with the collector's
  objects frozen first so that a worker never writes to (and so never copies) the
  parent's pages.
* ``Spool``: the input texts of a streamed run, UTF-8, in an unlinked temporary file
  (in ``TMPDIR``) opened before the workers are forked.  Jobs carry ``(offset, length)``
  spans and the workers read them with ``os.pread`` on the inherited descriptor, so the
  corpus is neither held by the parent process (as Python ``str``, 1 to 4 bytes a
  character) nor pickled through a pipe twice (once per pass).
* ``submit``: a job to the pool, or run here at once when there is no pool.
* ``collector_paused``: the cyclic garbage collector off for the length of a run.
* ``forked_map``: a function over a few large slices of arrays, one forked child each.
* ``worker_setup``: in every worker and forked child, Ctrl-C is left to the parent (which
  terminates the pool on any exception, KeyboardInterrupt included) and the child dies
  with its parent, even a SIGKILLed one (``PR_SET_PDEATHSIG``), freeing the spool.

``--workers`` above the available cores is capped to them (a warning says so); the
output never depends on the number of workers.  A spool that cannot be written (a full
``TMPDIR``) is an ``OutputError``.

Forking a process that runs other threads (a caller's) is what multiprocessing's "fork"
context does as well: a child runs only this package's code (numpy, pickle) and leaves
with ``os._exit``.  Where the platform cannot fork, the pool spawns workers and texts
travel in the jobs; ``forked_map`` runs serially.
"""
from __future__ import annotations

import ctypes
import errno
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

from .config import available_cores
from .errors import OutputError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: A text as a job carries it: the string itself, or its ``(offset, length)`` in the spool.
Text = Union[str, Tuple[int, int]]


#: prctl option: the signal this process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def worker_setup(parent: Optional[int] = None) -> None:
    """In a worker or forked child: leave Ctrl-C to the parent (which stops the pool), and
    die with SIGTERM when the parent dies (even by SIGKILL), so the unlinked spool's disk
    space is freed.  Linux only (prctl); elsewhere only the SIGINT part."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handler raises; a worker just ends
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            return
    if parent is not None and os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers now (on an interrupt or error): pending jobs are dropped."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.terminate()
        except (OSError, AttributeError):  # already gone
            pass
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.join(1)


def can_fork() -> bool:
    """Whether workers can be forked (and so inherit the spool's file descriptor)."""
    return "fork" in multiprocessing.get_all_start_methods()


@contextmanager
def executor(processes: int) -> Iterator[Optional[ProcessPoolExecutor]]:
    """A pool of ``processes`` workers, started now; None when ``processes`` is 1 or less.

    Workers are forked where the platform can (no ``if __name__ == "__main__"`` guard
    needed in a caller's script, no re-import), with ``gc.freeze`` first: a worker's
    garbage collection then never writes to the parent's pages, which stay shared.
    """
    cores = available_cores()
    if processes > cores:
        log.warning("--workers %d is more than the %d available cores; using %d", processes, cores, cores)
        processes = cores
    if processes <= 1:
        yield None
        return
    context = multiprocessing.get_context("fork" if can_fork() else "spawn")
    gc.freeze()
    try:
        pool = ProcessPoolExecutor(max_workers=processes, mp_context=context,
                                   initializer=worker_setup, initargs=(os.getpid(),))
        try:
            list(pool.map(int, range(processes)))  # start the workers now (forked while this process is small)
            yield pool
        except BaseException:
            _stop(pool)
            raise
        else:
            pool.shutdown(wait=True)
    finally:
        gc.unfreeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Cyclic garbage collection off while a run builds (or writes) the millions of objects
    it keeps: every full collection rescans all of them (at 1M paragraphs, 21 collections
    took 4 s).  A run makes no reference cycles to speak of; reference counting frees the rest."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def forked_map(fn: Callable[[T], R], items: Sequence[T]) -> List[R]:
    """``[fn(x) for x in items]``: the first item here, each other one in a child forked
    for it (its result pickled back through a pipe), all at the same time.

    For work on numpy arrays this process already holds: a child reads them in place
    (copy-on-write copies nothing that is only read), with no job to pickle.  In order;
    a child's exception is raised here.  Serial where the platform cannot fork.
    """
    if len(items) < 2 or not can_fork():
        return [fn(x) for x in items]
    children: List[Tuple[int, int]] = []
    parent = os.getpid()
    gc.freeze()  # a child's collector must not write to (and so copy) this process's pages
    try:
        for item in items[1:]:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: compute, send, leave without running any of the parent's cleanup
                status = 1
                try:
                    worker_setup(parent)
                    os.close(read_end)
                    try:
                        data = pickle.dumps((True, fn(item)), protocol=pickle.HIGHEST_PROTOCOL)
                    except BaseException as err:  # sent to the parent, raised there
                        data = pickle.dumps((False, RuntimeError(f"forked worker failed: {err!r}")))
                    with os.fdopen(write_end, "wb") as pipe:
                        pipe.write(data)
                    status = 0
                finally:
                    os._exit(status)
            os.close(write_end)
            children.append((pid, read_end))
    finally:
        gc.unfreeze()
    try:
        out = [fn(items[0])]
    except BaseException:  # an interrupt (or error) here: the children's work is not wanted
        for pid, _ in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        raise
    finally:
        results = []
        for pid, read_end in children:  # always reap every child
            with os.fdopen(read_end, "rb") as pipe:
                data = pipe.read()
            os.waitpid(pid, 0)
            results.append(data)
    for data in results:
        if not data:
            raise RuntimeError("forked worker died without a result")
        ok, value = pickle.loads(data)  # our own child's bytes
        if not ok:
            raise value
        out.append(value)
    return out


def submit(pool: Optional[ProcessPoolExecutor], fn: Callable, job) -> Future:
    """``fn(job)`` in the pool, or done here now (a finished Future) without one."""
    if pool is not None:
        return pool.submit(fn, job)
    done: Future = Future()
    done.set_result(fn(job))
    return done


class Spool:
    """Texts appended as UTF-8 to an unlinked temporary file; read back by span anywhere the
    descriptor is (this process, and workers forked after the spool was opened).

    ``add`` only encodes; ``flush`` writes what was added since in one system call (at
    a chunk's end: a write per document cost ~0.5 s more at 1M paragraphs).  Text that is
    not Unicode (a lone surrogate) raises UnicodeEncodeError and is not added.
    """

    def __init__(self) -> None:
        try:
            self._file = tempfile.TemporaryFile(prefix="dedupe-spool-", buffering=0)
        except OSError as err:
            raise _spool_error(err) from None
        self.fd = self._file.fileno()
        self.size = 0
        self._pending: List[bytes] = []

    def add(self, text: str) -> Tuple[int, int]:
        """Append ``text``; its ``(offset, length)``, readable once ``flush`` has run."""
        data = text.encode("utf-8")
        self._pending.append(data)
        span = (self.size, len(data))
        self.size += len(data)
        return span

    def flush(self) -> None:
        data = b"".join(self._pending)
        self._pending = []
        done = 0
        with memoryview(data) as view:
            while done < len(data):
                try:
                    done += os.write(self.fd, view[done:])
                except OSError as err:
                    raise _spool_error(err) from None

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _spool_error(err: OSError) -> OutputError:
    """A spool that cannot be written (a full disk, most often) as an output error naming TMPDIR."""
    where = tempfile.gettempdir()
    full = err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    why = "no space left" if full else (err.strerror or str(err))
    return OutputError(f"cannot write the input spool in the temporary folder {where} (TMPDIR): {why}; "
                       f"point TMPDIR at a folder with more room, e.g. TMPDIR=/bigger/disk dedupe run ...")


def read_text(fd: Optional[int], text: Text) -> Tuple[str, int]:
    """``(text, its size in UTF-8 bytes)`` of a job's text: a string, or a span of the spool at ``fd``."""
    if isinstance(text, str):
        return text, len(text.encode("utf-8"))
    offset, length = text
    parts, done = [], 0
    while done < length:  # pread may return less than asked (signals); a spool never ends early
        data = os.pread(fd, length - done, offset + done)
        if not data:
            raise OSError(f"spool ended at byte {offset + done}, expected {offset + length}")
        parts.append(data)
        done += len(data)
    return (parts[0] if len(parts) == 1 else b"".join(parts)).decode("utf-8"), length
