"""The output folder: replaced in one step, and never at the cost of what was there when
writing fails (the CLI cases are in the bad-input matrix, tests/cases/hostile_cases.json)."""
from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import dedupe.write as write
from dedupe.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _tree(path: Path) -> dict:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _run(*args):
    return CliRunner().invoke(main, ["run", "-q", *map(str, args)])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_an_earlier_output_is_exchanged_in_one_step(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert _run(SAMPLES / "news", "-o", out).exit_code == 0
    calls = []
    real = write._renameat2_exchange
    monkeypatch.setattr(write, "_renameat2_exchange", lambda a, b: calls.append(real(a, b)) or calls[-1])
    assert _run(SAMPLES / "seeds", "-o", out).exit_code == 0
    assert calls == [True]
    assert '"documents": 2' in (out / "report.json").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "x").write_text("a"), (b / "x").write_text("b")
    if not write._renameat2_exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_full_disk_mid_write_leaves_the_old_output_as_it_was(tmp_path, monkeypatch, exchange):
    out = tmp_path / "out"
    assert _run(SAMPLES / "news", "-o", out).exit_code == 0
    before = _tree(out)
    if not exchange:
        monkeypatch.setattr(write, "_renameat2_exchange", lambda a, b: False)

    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write, "_write_jsonl", full)
    result = _run(SAMPLES / "seeds", "-o", out)
    assert result.exit_code == 4
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_interrupt_mid_write_leaves_nothing_behind(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert _run(SAMPLES / "news", "-o", out).exit_code == 0
    before = _tree(out)

    def interrupted(*_args, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(write, "_write_jsonl", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write.write_output(dedupe_result(), out)
    assert _tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_errors_file_and_skipped_count(tmp_path):
    from dedupe.model import Skipped

    out = write.write_output(dedupe_result(), tmp_path / "out", errors=[Skipped("a.jsonl:3", "not valid JSON")])
    assert (out / "errors.jsonl").read_text() == '{"reason":"not valid JSON","where":"a.jsonl:3"}\n'
    assert '"skipped": 1' in (out / "report.json").read_text()
    out = write.write_output(dedupe_result(), tmp_path / "out")
    assert not (out / "errors.jsonl").exists() and '"skipped": 0' in (out / "report.json").read_text()


def dedupe_result():
    import dedupe

    return dedupe.run([{"id": "a", "text": "One short article about the harbour bridge repairs and their cost."}])


def test_out_inside_the_input_folder_is_never_read_on_reruns(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(SAMPLES / "news", data)
    alone = _run(data, "-o", tmp_path / "alone")
    assert alone.exit_code == 0
    for _ in range(2):  # the second run finds the first one's output inside its input
        assert _run(data, "-o", data / "out").exit_code == 0
        assert _tree(data / "out")["documents.jsonl"] == _tree(tmp_path / "alone")["documents.jsonl"]
