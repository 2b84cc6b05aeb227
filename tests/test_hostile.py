"""The bad-input matrix: what a careful (or hostile) user feeds the command line.

Cases are data (``tests/cases/hostile_cases.json``): files to lay out, the command, the
exit code, a fragment of the message, and what must be left as it was.  Every case also
asserts that no traceback is shown and that nothing is left behind: no ``.tmp-`` or
``.old-`` folders beside the output, and each path under ``untouched`` byte-identical.

``report`` checks fields of ``out/report.json``; ``errors`` the ``where`` of each line of
``out/errors.jsonl``.  A file's content is text, or ``{"b64": ...}`` for bytes, or ``{"repeat": s, "times": n}``.
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
    for key, value in case.get("report", {}).items():
        assert json.loads((tmp_path / "out" / "report.json").read_text())[key] == value, key
    if "errors" in case:
        lines = (tmp_path / "out" / "errors.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["where"] for line in lines] == case["errors"]


def _unreadable_subfolder(monkeypatch):
    """``os.walk`` as it behaves on a folder the user may not read (root reads any folder,
    so a chmod cannot show it in CI): the error goes to ``onerror`` and the walk goes on."""
    import dedupe.read as read

    real_walk = os.walk

    def walk(top, onerror=None, followlinks=False):
        for folder, dirs, files in real_walk(top, followlinks=followlinks):
            if Path(folder).name == "locked":
                onerror(PermissionError(13, "Permission denied", folder))
                dirs[:] = []
                continue
            yield folder, dirs, files

    monkeypatch.setattr(read.os, "walk", walk)


@pytest.mark.parametrize("mode,code", [("fail", 3), ("skip", 0)])
def test_an_unreadable_subfolder_is_an_error_or_a_listed_skip(tmp_path, monkeypatch, mode, code):
    (tmp_path / "in" / "locked").mkdir(parents=True)
    (tmp_path / "in" / "locked" / "x.txt").write_text("hidden")
    (tmp_path / "in" / "y.txt").write_text("A sentence of an article long enough to be kept by the cleaner, surely.")
    _unreadable_subfolder(monkeypatch)
    result = CliRunner().invoke(main, ["run", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--on-error", mode])
    assert result.exit_code == code, result.stderr
    if mode == "fail":
        assert "locked: cannot read folder: Permission denied" in result.stderr
    else:
        (line,) = (tmp_path / "out" / "errors.jsonl").read_text().splitlines()
        assert json.loads(line)["where"].endswith("locked")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_a_real_unreadable_subfolder_is_an_error(tmp_path):
    locked = tmp_path / "in" / "locked"
    locked.mkdir(parents=True)
    (locked / "x.txt").write_text("hidden")
    locked.chmod(0)
    try:
        result = CliRunner().invoke(main, ["run", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 3 and "cannot read folder" in result.stderr


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40),
                    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_records = st.dictionaries(st.sampled_from(["id", "text", "source", "url", "title", "kind", "x"]), _values, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), name=st.sampled_from(["a.txt", "a.html", "a.jsonl", "a.txt.gz", "a.jsonl.gz"]))
def test_random_bytes_never_end_in_a_traceback(tmp_path_factory, data, name):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "in").mkdir()
    (root / "in" / name).write_bytes(data)
    for mode in ("fail", "skip"):
        result = CliRunner().invoke(main, ["run", "-q", str(root / "in"), "-o", str(root / f"out-{mode}"), "--on-error", mode])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code in ((0, 3) if mode == "fail" else (0,)), result.stderr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_records, max_size=5))
def test_random_json_records_never_end_in_a_traceback(tmp_path_factory, records):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "in").mkdir()
    (root / "in" / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for mode in ("fail", "skip"):
        result = CliRunner().invoke(main, ["run", "-q", str(root / "in"), "-o", str(root / f"out-{mode}"), "--on-error", mode])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code in ((0, 3) if mode == "fail" else (0,)), result.stderr
