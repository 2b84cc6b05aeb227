"""The bad-input matrix: what a careful (or hostile) user feeds the command line.

Cases are data (``tests/cases/hostile_cases.json``): files to lay out, the command, the
exit code, a fragment of the message, and what must be left as it was.  Every case also
asserts that no traceback is shown and that nothing is left behind: no ``.tmp-`` or
``.old-`` folders beside the output, and each path under ``untouched`` byte-identical.

A file's content is text, or ``{"b64": ...}`` for bytes, or ``{"repeat": s, "times": n}``.
``{tmp}`` in arguments and file names is the case's folder.
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedupe.cli import main

CASES = json.loads((Path(__file__).parent / "cases" / "hostile_cases.json").read_text(encoding="utf-8"))


def _content(spec) -> bytes:
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if "b64" in spec:
        return base64.b64decode(spec["b64"])
    if "json" in spec:
        return (json.dumps(spec["json"]) + "\n").encode("utf-8")
    return (spec["repeat"] * spec["times"]).encode("utf-8")


def _snapshot(path: Path) -> dict:
    if not path.exists():
        return {}
    if path.is_file():
        return {".": path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _lay_out(tmp: Path, case: dict) -> None:
    for name, spec in case.get("files", {}).items():
        path = tmp / name.replace("{tmp}/", "")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_content(spec))
    for name in case.get("folders", []):
        (tmp / name).mkdir(parents=True, exist_ok=True)
    for name in case.get("fifos", []):
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(tmp / name)
    for link, target in case.get("symlinks", {}).items():
        (tmp / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target.replace("{tmp}", str(tmp)), tmp / link)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input_matrix(tmp_path, monkeypatch, case):
    _lay_out(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    before = {name: _snapshot(tmp_path / name) for name in case.get("untouched", [])}
    args = [a.replace("{tmp}", str(tmp_path)) for a in case["args"]]
    stdin = _content(case["stdin"]) if "stdin" in case else None
    result = CliRunner().invoke(main, args, input=stdin)
    shown = result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is never the answer
    assert result.exit_code == case["exit"], shown
    assert "Traceback" not in shown
    for fragment in case.get("message", []):
        assert fragment.replace("{tmp}", str(tmp_path)) in shown, shown
    for fragment in case.get("not_in_output", []):
        assert fragment not in shown, shown
    for name, snap in before.items():
        assert _snapshot(tmp_path / name) == snap, f"{name} changed"
    left = [p.name for p in tmp_path.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]
    assert not left, left
    for name in case.get("exists", []):
        assert (tmp_path / name).exists(), name
