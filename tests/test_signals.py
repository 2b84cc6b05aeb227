"""Real signals to a real ``dedupe run``: Ctrl-C / SIGTERM end it with one line and 130 / 143,
no traceback, no temporary output folder, no surviving worker; SIGKILL of the parent takes
its workers with it (PR_SET_PDEATHSIG).  Also: a full TMPDIR is an OutputError, and
``--workers`` above the core count is capped."""
from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dedupe import parallel
from dedupe.errors import OutputError

BENCH = Path("/work/shared/bench/data/news-paragraphs.jsonl")
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and fork")


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    """~40k documents of a few paragraphs each: a run of several seconds on two cores."""
    path = tmp_path_factory.mktemp("signals") / "big.jsonl"
    rng = random.Random(7)
    if BENCH.exists():
        with BENCH.open(encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for _, line in zip(range(20000), f)]
    else:
        words = ["w%d" % i for i in range(5000)]
        texts = [" ".join(rng.choice(words) for _ in range(60)) for _ in range(20000)]
    with path.open("w", encoding="utf-8") as out:
        for i in range(40000):
            body = "\n\n".join(rng.choice(texts) for _ in range(3))
            out.write(json.dumps({"id": f"d{i}", "source": f"s{i % 50}", "text": body}) + "\n")
    return path


def _children(pid: int):
    """Every descendant of ``pid`` still alive (zombies excluded), by /proc scanning."""
    found, frontier = set(), {pid}
    while frontier:
        parents, frontier = frontier, set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) in parents and fields[0] != "Z" and int(entry) not in found:
                found.add(int(entry))
                frontier.add(int(entry))
    return found


def _start(big_input: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "dedupe", "run", str(big_input), "-o", str(out), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(ROOT),
                            start_new_session=True)


def _wait_for_workers(proc: subprocess.Popen) -> set:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids = _children(proc.pid)
        if len(kids) >= 2:
            time.sleep(0.8)  # well into reading and pass 1
            return _children(proc.pid)
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    pytest.fail("no workers started")


def _gone(pids, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists()
                 and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
        if not alive:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig, code, line", [(signal.SIGINT, 130, "dedupe: interrupted"),
                                             (signal.SIGTERM, 143, "dedupe: terminated")])
def test_signal_ends_run_cleanly(big_input, tmp_path, sig, code, line):
    out = tmp_path / "OUT"
    proc = _start(big_input, out)
    kids = _wait_for_workers(proc)
    assert proc.poll() is None, "the run ended before the signal; make the input bigger"
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.monotonic() - sent
    err = err.decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [line]
    assert took < 2, took
    assert not list(tmp_path.glob(".OUT.tmp-*"))
    assert _gone(kids, 1)


def test_sigkill_of_parent_ends_workers(big_input, tmp_path):
    proc = _start(big_input, tmp_path / "OUT")
    kids = _wait_for_workers(proc)
    assert kids
    proc.kill()
    proc.wait(5)
    assert _gone(kids, 3), "workers outlived a SIGKILLed parent"


def test_full_tmpdir_is_an_output_error(monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with parallel.Spool() as spool:
        spool.add("some text")
        monkeypatch.setattr(parallel.os, "write", full)
        with pytest.raises(OutputError) as caught:
            spool.flush()
    assert "TMPDIR" in str(caught.value) and "TMPDIR=/bigger/disk" in str(caught.value)


def test_full_tmpdir_exits_4_without_traceback(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dedupe.cli import main

    def full(self):
        raise parallel._spool_error(OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(parallel.Spool, "flush", full)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": f"paragraph number {i} here"}) + "\n" for i in range(50)))
    result = CliRunner().invoke(main, ["run", str(src), "-o", str(tmp_path / "out"), "--workers", "2"])
    assert result.exit_code == 4, result.output
    assert "TMPDIR" in result.output and "Traceback" not in result.output


def test_workers_above_cores_are_capped(caplog, monkeypatch):
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    with caplog.at_level("WARNING", logger="dedupe.parallel"):
        with parallel.executor(64) as pool:
            assert pool is not None and pool._max_workers == 2
    assert [r.getMessage() for r in caplog.records] == ["--workers 64 is more than the 2 available cores; using 2"]
