"""Shared fixtures: paths to the repository's samples and the shared benchmark data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
CASES = Path(__file__).resolve().parent / "cases"
SHARED_BENCH = ROOT.parent / "shared" / "bench"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


def run_cli(*args):
    from dedupe.cli import main

    return CliRunner().invoke(main, list(map(str, args)), catch_exceptions=False)


# --- the review page's runs (tests/test_review.py, tests/test_review_browser.py) -------------

@pytest.fixture(scope="module")
def samples_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("review") / "out"
    result = run_cli("run", SAMPLES, "-o", out, "-q", "--review")
    assert result.exit_code == 0, result.output
    return out


HOSTILE = [
    {"id": "evil-1", "source": "<b>bold</b>-wire", "title": "<img src=x onerror=\"window.__pwned=2\">Title",
     "text": "<script>window.__pwned = 1</script> The council voted on Tuesday to close the old baths after an "
             "inspection found the roof unsafe, and it promised a new pool within four years.\n\n"
             "Residents said they would fight the closure at the next public meeting of the town council."},
    {"id": "evil-2\"'><script>window.__pwned=3</script>", "source": "other-wire", "title": "Baths",
     "text": "<script>window.__pwned = 1</script> The council voted on Tuesday to close the old baths after an "
             "inspection found the roof unsafe, and it promised a new pool within four years.\n\n"
             "Residents said they would fight the closure at the next public meeting of the town council, organisers said."},
]


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    feed = folder / "feed.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in HOSTILE), encoding="utf-8")
    out = folder / "out"
    result = run_cli("run", feed, "-o", out, "-q", "--review")
    assert result.exit_code == 0, result.output
    return out
