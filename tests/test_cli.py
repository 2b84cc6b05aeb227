"""The command line: outputs, summaries, exit codes, atomic output, determinism."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedupe.cli import main

from .conftest import ROOT, SAMPLES


def _run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def _read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_on_samples_writes_three_files_and_summary(tmp_path):
    out = tmp_path / "out"
    result = _run("run", str(SAMPLES), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [".dedupe-output", "documents.jsonl", "report.json", "stories.jsonl"]
    report = json.loads((out / "report.json").read_text())
    documents = _read_jsonl(out / "documents.jsonl")
    stories = _read_jsonl(out / "stories.jsonl")
    assert report["documents"] == len(documents) == 25
    assert report["stories"] == len(stories)
    assert sorted(d for s in stories for d in s["documents"]) == sorted(d["id"] for d in documents)
    assert report["removals"] == sum(len(d["removed"]) for d in documents) > 0
    assert "25 documents" in result.stderr and "stories" in result.stderr


def test_samples_group_into_the_expected_stories(tmp_path):
    out = tmp_path / "out"
    assert _run("run", str(SAMPLES), "-o", str(out), "-q").exit_code == 0
    groups = sorted(sorted(s["documents"]) for s in _read_jsonl(out / "stories.jsonl"))
    multi = [g for g in groups if len(g) > 1]
    assert multi == sorted([
        sorted(["news/wire-service/corvane-jets-grounded.txt", "news/daily-herald/corvane-jets-grounded.txt",
                "news/metro-times/corvane-jets-grounded.txt", "html/valley-gazette/corvane-jets-grounded.html",
                "regional-briefs-0091"]),
        sorted(["news/wire-service/halvorsen-ohio-plant.txt", "news/daily-herald/halvorsen-ohio-plant.txt",
                "news/tech-ledger/halvorsen-ohio-plant.txt", "html/northern-star/halvorsen-ohio-plant.html",
                "regional-briefs-0092"]),
        sorted(["news/wire-service/chile-quake.txt", "news/metro-times/chile-quake.txt",
                "news/coastal-courier/chile-quake.txt", "andes-post-20190317-quake"]),
    ])
    assert len(groups) == 3 + 11


def test_story_text_has_shared_paragraphs_once(tmp_path):
    out = tmp_path / "out"
    _run("run", str(SAMPLES / "news"), "-o", str(out), "-q")
    for story in _read_jsonl(out / "stories.jsonl"):
        paragraphs = story["text"].split("\n\n")
        assert len(paragraphs) == len(set(paragraphs)) == len(story["paragraphs"])
        clusters = [p["cluster"] for p in story["paragraphs"] if p["cluster"]]
        assert len(clusters) == len(set(clusters))
    for doc in _read_jsonl(out / "documents.jsonl"):
        for noise in ("Advertisement", "Share this article", "show image", "All rights reserved"):
            assert noise not in doc["text"].split("\n\n")


def _tree_bytes(out: Path):
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    report = json.loads(files.pop("report.json"))
    report.pop("seconds")
    return files, report


def test_output_is_byte_identical_across_hash_seeds(tmp_path):
    outputs = []
    for seed in ("0", "12345"):
        out = tmp_path / f"out{seed}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-m", "dedupe", "run", str(SAMPLES), "-o", str(out), "-q"],
                       check=True, env=env, cwd=ROOT)
        outputs.append(_tree_bytes(out))
    assert outputs[0] == outputs[1]


def test_clean_filter_and_explain(tmp_path):
    seed = SAMPLES / "seeds" / "004_073e3bd72a811505.txt"
    result = _run("clean", "--explain", str(seed))
    assert result.exit_code == 0
    assert "More news:" not in result.stdout and "Huawei says willing" in result.stdout
    assert "more-news" in result.stderr and "line 19" in result.stderr
    piped = _run("clean", input="show image\n\nThe minister resigned on Friday after the vote.\n")
    assert piped.stdout == "The minister resigned on Friday after the vote.\n"
    html = _run("clean", "--format", "html", input="<html><body><nav>Home</nav><article><p>"
                + "The minister resigned on Friday after losing a confidence vote in parliament. " * 3
                + "</p></article></body></html>")
    assert "The minister resigned" in html.stdout and "Home" not in html.stdout


@pytest.mark.parametrize("content, code, message", [
    (b'{"text": "ok"}\n{broken\n', 3, r"bad\.jsonl:2: not valid JSON"),
    (b"\xff\xfe broken", 3, "not valid UTF-8"),
])
def test_input_errors_exit_3_with_one_line_and_no_output(tmp_path, content, code, message):
    name = "bad.jsonl" if content.startswith(b"{") else "bad.txt"
    (tmp_path / name).write_bytes(content)
    out = tmp_path / "out"
    result = _run("run", str(tmp_path / name), "-o", str(out))
    assert result.exit_code == code
    assert result.stderr.startswith("dedupe: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert pytest.importorskip("re").search(message, result.stderr)
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_input_error_mid_stream_stops_the_workers_and_exits_3(tmp_path):
    """A bad record after many good ones: the workers already have chunks, the error still
    ends the run at once with its line, no output and no collector left switched off."""
    import gc

    good = "".join(json.dumps({"id": f"d{i}", "text": f"Paragraph {i} of a story about the harbour."}) + "\n"
                   for i in range(9000))
    (tmp_path / "big.jsonl").write_text(good + "{broken\n", encoding="utf-8")
    result = _run("run", str(tmp_path / "big.jsonl"), "-o", str(tmp_path / "out"), "--workers", "2")
    assert result.exit_code == 3 and "big.jsonl:9001: not valid JSON" in result.stderr
    assert not (tmp_path / "out").exists() and gc.isenabled()


def test_missing_path_and_bad_option_codes(tmp_path):
    assert _run("run", str(tmp_path / "nope"), "-o", str(tmp_path / "o")).exit_code == 3
    assert _run("run", str(SAMPLES), "-o", str(tmp_path / "o"), "--bands", "64").exit_code == 5
    assert _run("run", str(SAMPLES)).exit_code == 2
    assert _run("clean", str(SAMPLES / "jsonl" / "feed.jsonl")).exit_code == 3


def test_output_error_leaves_previous_output_intact(tmp_path):
    target = tmp_path / "out"
    target.write_text("a file, not a folder")
    result = _run("run", str(SAMPLES / "seeds"), "-o", str(target))
    assert result.exit_code == 4 and target.read_text() == "a file, not a folder"


def test_rerun_replaces_output(tmp_path):
    out = tmp_path / "out"
    _run("run", str(SAMPLES / "news"), "-o", str(out), "-q")
    _run("run", str(SAMPLES / "seeds"), "-o", str(out), "-q")
    assert len(_read_jsonl(out / "documents.jsonl")) == 2


def test_empty_input_gives_empty_valid_output(tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    assert _run("run", str(tmp_path / "empty"), "-o", str(out), "-q").exit_code == 0
    assert (out / "stories.jsonl").read_text() == "" and json.loads((out / "report.json").read_text())["documents"] == 0


def test_rules_lists_every_rule():
    result = _run("rules")
    for name in ("show-image", "related-articles", "learned-template", "low-content"):
        assert name in result.stdout
