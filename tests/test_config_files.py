"""One project, one configuration: ``dedupe run`` reads the ``[tool.dedupe]`` the hooks read,
options override it, ``--no-config`` ignores it, and ``-v`` says where settings came from."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cwd, *args):
    return subprocess.run([sys.executable, "-m", "dedupe", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_settings_origin_and_override_are_logged(tmp_path):
    (tmp_path / ".git").mkdir()  # the search for a configuration stops at the repository root
    (tmp_path / "pyproject.toml").write_text("[tool.dedupe]\njaccard-threshold = 0.9\n")
    sub = tmp_path / "work" / "in" / "s"
    sub.mkdir(parents=True)
    (sub / "x.txt").write_text("The council approved the new budget on Tuesday after a long debate.\n")
    proc = _run(tmp_path / "work", "run", "-v", "in", "-o", "out", "--jaccard", "0.6")
    assert proc.returncode == 0, proc.stderr
    assert f"settings: {tmp_path / 'pyproject.toml'} [tool.dedupe]; from the command line: jaccard_threshold" \
        in proc.stderr
    proc = _run(tmp_path / "work", "run", "-v", "--no-config", "in", "-o", "out")
    assert "settings: defaults" in proc.stderr


def test_search_stops_at_the_repository_root(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dedupe]\njacard-threshold = 0.9\n")  # a typo, outside the repo
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "x.txt").write_text("The council approved the new budget on Tuesday after a long debate.\n")
    proc = _run(repo, "run", "-v", "x.txt", "-o", "out")
    assert proc.returncode == 0, proc.stderr
    assert "settings: defaults" in proc.stderr
