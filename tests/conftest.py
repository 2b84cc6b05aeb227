"""Shared fixtures: paths to the repository's samples and the shared benchmark data."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
CASES = Path(__file__).resolve().parent / "cases"
SHARED_BENCH = ROOT.parent / "shared" / "bench"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES
