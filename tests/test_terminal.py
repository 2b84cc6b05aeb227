"""The commands at a real terminal: stdin, stdout and stderr on a pseudo-terminal.

A suite that only ever ran with pipes missed a crash of the README's first command (the
progress display raised on a stage with no known total).  These run the installed console
script under ``pty`` and assert exit 0 and a drawn progress bar.
"""
from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
DEDUPE = [sys.executable, "-m", "dedupe"]

pytestmark = pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a POSIX pseudo-terminal")


def run_in_pty(args, cwd, stdout_file=None, timeout=120):
    """(exit code, everything the terminal showed); stdout goes to ``stdout_file`` when given."""
    master, slave = pty.openpty()
    out = open(stdout_file, "wb") if stdout_file else slave
    try:
        proc = subprocess.Popen(args, cwd=cwd, stdin=slave, stdout=out, stderr=slave, close_fds=True,
                                env={**os.environ, "COLUMNS": "100", "TERM": "xterm"})
    finally:
        os.close(slave)
        if stdout_file:
            out.close()
    shown = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    code = proc.wait(timeout=10)
    return code, shown.decode("utf-8", "replace")


def test_run_draws_progress_at_a_terminal(tmp_path):
    code, shown = run_in_pty([*DEDUPE, "run", str(SAMPLES), "-o", str(tmp_path / "out")], tmp_path)
    assert code == 0, shown
    assert "Traceback" not in shown
    assert "read" in shown and "items" in shown  # the unknown-total stage: a count, not a crash
    assert "100%|" in shown                       # a stage with a total draws a full bar
    assert "stories" in shown and (tmp_path / "out" / "stories.jsonl").is_file()
    assert "write" in shown  # the last stage has a bar too


def test_run_quiet_at_a_terminal_is_silent(tmp_path):
    code, shown = run_in_pty([*DEDUPE, "run", "-q", str(SAMPLES), "-o", str(tmp_path / "out")], tmp_path)
    assert code == 0, shown
    assert shown.strip() == ""


def test_run_without_a_terminal_draws_nothing(tmp_path):
    proc = subprocess.run([*DEDUPE, "run", str(SAMPLES), "-o", str(tmp_path / "out")], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "%|" not in proc.stderr and "items" not in proc.stderr
    assert proc.stderr.startswith("dedupe: 25 documents")


def test_index_add_draws_progress_at_a_terminal(tmp_path):
    code, shown = run_in_pty([*DEDUPE, "index", "add", "--index", str(tmp_path / "i.db"), str(SAMPLES / "seeds")],
                             tmp_path, stdout_file=tmp_path / "added.jsonl")
    assert code == 0, shown
    assert "add" in shown and "items" in shown and "Traceback" not in shown
    assert len((tmp_path / "added.jsonl").read_text().splitlines()) == 2


def test_check_draws_progress_at_a_terminal(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLES / "news", repo / "data")
    (repo / "pyproject.toml").write_text('[tool.dedupe]\ndata = ["data"]\n')
    code, shown = run_in_pty([*DEDUPE, "check"], repo)
    assert code in (0, 1), shown  # 1: findings, which the samples may well have
    assert "100%|" in shown and "Traceback" not in shown
