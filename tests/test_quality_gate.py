"""Quality gate: dev-set F1/P/R of the cleaners may not fall below what they reach today.

Floors are the measured figures minus ~0.005 (measured with benchmarks/quality.py on the
dev halves; the other halves are held out).  Skips when ../shared/bench is absent.
"""
from __future__ import annotations

import pytest

from benchmarks.quality import DEFAULT_BENCH, HTML_SET, TEXT_SET, load_harness, run_one

#: measured 2026-11-21 (benchmarks/quality.py): html_to_text F1 0.972 P 0.967 R 0.978;
#: clean_text F1 0.935 P 0.905 R 0.966 (issue 3 targets: html F1 >= 0.965 and P >= 0.95;
#: text F1 >= 0.90 and R >= 0.95)
FLOORS = {
    (HTML_SET, "py:benchmarks.quality:dedupe_html"): {"f1": 0.967, "precision": 0.962, "recall": 0.973},
    (TEXT_SET, "py:benchmarks.quality:dedupe_clean"): {"f1": 0.930, "precision": 0.900, "recall": 0.961},
}


@pytest.fixture(scope="module")
def harness():
    score = load_harness(DEFAULT_BENCH)
    if score is None:
        pytest.skip(f"benchmark data absent: {DEFAULT_BENCH}/score.py not found")
    return score


@pytest.mark.parametrize("dataset,extractor", sorted(FLOORS))
def test_dev_quality_floor(harness, dataset, extractor):
    path = DEFAULT_BENCH / "data" / dataset
    if not (path / "manifest.json").is_file():
        pytest.skip(f"benchmark dataset absent: {path}")
    m = run_one(harness, path, extractor, n_bootstrap=10)
    for key, floor in FLOORS[(dataset, extractor)].items():
        assert m[key] >= floor, f"{dataset} {key} {m[key]:.3f} fell below the floor {floor:.3f}"
