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

Forking a process that runs other threads (a caller's) is what multiprocessing's "fork"
context does as well: a child runs only this package's code (numpy, pickle) and leaves
with ``os._exit``.  Where the platform cannot fork, the pool spawns workers and texts
travel in the jobs; ``forked_map`` runs serially.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

T = TypeVar("T")
R = TypeVar("R")

#: A text as a job carries it: the string itself, or its ``(offset, length)`` in the spool.
Text = Union[str, Tuple[int, int]]


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
    if processes <= 1:
        yield None
        return
    context = multiprocessing.get_context("fork" if can_fork() else "spawn")
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            list(pool.map(int, range(processes)))  # start the workers now (forked while this process is small)
            yield pool
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
    gc.freeze()  # a child's collector must not write to (and so copy) this process's pages
    try:
        for item in items[1:]:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: compute, send, leave without running any of the parent's cleanup
                status = 1
                try:
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
        self._file = tempfile.TemporaryFile(prefix="dedupe-spool-", buffering=0)
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
                done += os.write(self.fd, view[done:])

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
