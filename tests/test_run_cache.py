"""dedupe run --cache DIR: a re-run of a growing corpus reuses unchanged files' work and
writes what a run without the cache writes."""
from __future__ import annotations

import json
import os
import random
import shutil
import time

import pytest
from click.testing import CliRunner

from dedupe.cli import main

from .conftest import SAMPLES


def _run(args):
    result = CliRunner().invoke(main, ["run", "-q", "--force", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _outputs(out):
    report = json.loads((out / "report.json").read_text())
    report.pop("seconds")
    return (out / "stories.jsonl").read_bytes(), (out / "documents.jsonl").read_bytes(), report


def _age(*paths, seconds=100):
    """Files written long enough ago that their stat signature is trusted (not racy)."""
    past = time.time() - seconds
    for path in paths:
        os.utime(path, (past, past))


def test_cached_reruns_write_what_uncached_runs_write(tmp_path, caplog):
    data = tmp_path / "in"
    shutil.copytree(SAMPLES, data)
    _age(*(p for p in data.rglob("*") if p.is_file()))
    cache = tmp_path / "cache"
    rng = random.Random(4)
    texts = sorted(p for p in data.rglob("*.txt"))
    for step in range(4):
        _run([str(data), "-o", str(tmp_path / "plain")])
        with caplog.at_level("INFO"):
            _run([str(data), "-o", str(tmp_path / "cached"), "--cache", str(cache), "-v"])
        assert _outputs(tmp_path / "cached") == _outputs(tmp_path / "plain"), step
        if step:
            read = [line for line in caplog.text.splitlines() if "files read" in line][-1]
            assert " 1 of " in read or " 2 of " in read, read  # only what changed is read
        caplog.clear()
        # grow and edit the corpus: a new copy of one article, an edited one, a noise line
        src = rng.choice(texts)
        copy = data / "news" / f"copy{step}.txt"
        copy.write_text(src.read_text() + "\n\nAdvertisement\n")
        edited = rng.choice(texts)
        edited.write_text(edited.read_text().replace(" the ", " a ", 1))
        _age(copy, edited)


def test_stdin_cannot_be_cached(tmp_path):
    result = CliRunner().invoke(main, ["run", "-", "-o", str(tmp_path / "o"), "--cache", str(tmp_path / "c")],
                                input="Some text of an article.\n")
    assert result.exit_code != 0 and "standard input" in result.output


def test_a_corrupt_run_cache_is_rebuilt(tmp_path, caplog):
    cache = tmp_path / "cache"
    _run([str(SAMPLES), "-o", str(tmp_path / "a"), "--cache", str(cache)])
    (cache / "cache.sqlite3").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (cache / f"cache.sqlite3{suffix}").unlink(missing_ok=True)
    with caplog.at_level("WARNING"):
        _run([str(SAMPLES), "-o", str(tmp_path / "b"), "--cache", str(cache)])
    assert "rebuilt: corrupt" in caplog.text
    _run([str(SAMPLES), "-o", str(tmp_path / "c")])
    assert _outputs(tmp_path / "b") == _outputs(tmp_path / "c")


@pytest.mark.parametrize("setting", [["--jaccard", "0.6"], ["--shingle-size", "4"]])
def test_a_changed_setting_rebuilds_the_run_cache(tmp_path, caplog, setting):
    cache = tmp_path / "cache"
    _run([str(SAMPLES), "-o", str(tmp_path / "a"), "--cache", str(cache)])
    with caplog.at_level("WARNING"):
        _run([str(SAMPLES), "-o", str(tmp_path / "b"), "--cache", str(cache), *setting])
    assert "rebuilt: settings changed" in caplog.text
    _run([str(SAMPLES), "-o", str(tmp_path / "c"), *setting])
    assert _outputs(tmp_path / "b") == _outputs(tmp_path / "c")
