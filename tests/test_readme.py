"""The README runs as written: every ```python block, every `dedupe ...` line of every ```sh
block, and every ```toml configuration block.

Placeholders a reader replaces with their own data (``raw_text``, ``incoming/``, ``ID...``)
are bound to files made from ``samples/`` by the table below, so a block that drifts from the
code (a missing import, a renamed option, a command that no longer exists) fails here.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLES = ROOT / "samples"
SEED = SAMPLES / "seeds" / "000_305b4e1e439dfe75.txt"
PAGE = SAMPLES / "html" / "northern-star" / "halvorsen-ohio-plant.html"


def blocks(lang: str):
    return [m.group(1) for m in re.finditer(rf"^```{lang}\n(.*?)^```", README, re.S | re.M)]


def shell_lines():
    for block in blocks("sh"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("dedupe "):
                yield line


#: Placeholder -> what it stands for in the sandbox (a literal the reader would type).
PLACEHOLDERS = {
    "ID...": "wire-service/chile-quake.txt",
    "PATH...": "incoming/",
    "OUT": "out/",
    "[PATH|-]": "article.txt",
}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    shutil.copytree(SAMPLES / "news", tmp_path / "incoming")
    shutil.copytree(SAMPLES, tmp_path / "samples")  # "Review a run"
    shutil.copy(SEED, tmp_path / "article.txt")
    from .test_warc import sample_pages, write_warc

    write_warc(tmp_path / "crawl.warc.gz", sample_pages())  # "From a crawl"
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("n", range(len(blocks("python"))))
def test_python_block_runs(sandbox, n):
    docs = [{"id": f"d{i}", "source": p.parent.name, "text": p.read_text(encoding="utf-8")}
            for i, p in enumerate(sorted((SAMPLES / "news").rglob("*.txt")))]
    namespace = {
        "raw_text": SEED.read_text(encoding="utf-8"),
        "html": PAGE.read_text(encoding="utf-8"),
        "batch_of_dicts_or_documents": docs[:12],
        "more_documents": docs[12:],
    }
    code = blocks("python")[n].replace('"redis://localhost:6379/0"', '"news.db"')  # only in a comment today
    exec(compile(code, f"README.md python block {n}", "exec"), namespace)


def test_there_are_blocks_to_run():
    assert len(blocks("python")) >= 2 and len(list(shell_lines())) >= 5


def _dedupe(line: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        line = line.replace(placeholder, value)
    return line.replace("dedupe ", f"{sys.executable} -m dedupe ", 1)


def test_shell_lines_run_in_order(sandbox):
    ran = 0
    for line in shell_lines():
        if "redis://" in line or "unix://" in line:
            continue  # the Redis CLI runs in tests/test_index_redis.py against a real server
        proc = subprocess.run(_dedupe(line), shell=True, cwd=sandbox, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert proc.returncode == 0, f"README line failed: {line}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, line
        ran += 1
    assert ran >= 5


@pytest.mark.parametrize("n", range(len(blocks("toml"))))
def test_toml_block_is_a_valid_configuration(sandbox, n):
    repo = sandbox / "repo"
    shutil.copytree(SAMPLES / "news", repo / "data")
    (repo / "pyproject.toml").write_text(blocks("toml")[n], encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "dedupe", "check"], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr  # 1: findings; 5 would be a configuration the README gets wrong


def test_samples_readme_names_commands_that_exist(sandbox):
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"`(dedupe [^`]+)`", text)
    assert commands
    for command in commands:
        proc = subprocess.run(_dedupe(command.replace("samples/", str(SAMPLES) + "/")), shell=True, cwd=sandbox,
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert proc.returncode == 0, f"samples/README.md: {command}\n{proc.stderr}"
