"""The learned block and line models: packaged data, numpy inference, explained verdicts."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from dedupe import html_to_text
from dedupe.clean import content, html
from dedupe.clean.blockmodel import FORMAT_VERSION, _as_model, load_model
from dedupe.clean.html import BLOCK_FEATURES, html_page
from dedupe.clean.content import LINE_FEATURES

WEIGHTS = Path(html.__file__).parent / "weights"
SCORE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "score.py"

PARAS = [
    "The city council voted on Tuesday to expand the bus network, adding four routes that will serve the "
    "northern suburbs from next spring, officials said after a long debate.",
    "Supporters argued that the new routes would cut commuting times by a third for thousands of residents, "
    "while critics said the plan was too expensive for a city that is already in debt.",
    "The mayor said she was pleased with the result and that the first buses would run in March if the "
    "regional authority approved the budget in time.",
]
PAGE = ("<html><head><title>Bus network grows</title></head><body><nav><ul>"
        + "".join(f'<li><a href="/{w}">{w}</a></li>' for w in ("Home", "News", "Sport", "Weather", "Travel"))
        + "</ul></nav><main><h1>Bus network grows</h1>" + "".join(f"<p>{p}</p>" for p in PARAS)
        + '</main><div class="related"><ul>'
        + "".join(f'<li><a href="/s{i}">Another story about something else entirely, number {i}</a></li>' for i in range(5))
        + "</ul></div><footer>© 2024 Example News</footer></body></html>")


@pytest.mark.parametrize("name,features", [("html_blocks", BLOCK_FEATURES), ("text_lines", LINE_FEATURES)])
def test_weight_file_is_plain_data_naming_its_features_seed_and_training_sets(name, features):
    doc = json.loads((WEIGHTS / f"{name}.json").read_text(encoding="utf-8"))
    assert doc["format"] == FORMAT_VERSION and doc["name"] == name
    assert tuple(doc["features"]) == features  # the code computes exactly what the trees were fitted on
    assert doc["seed"] == 42 and doc["fit"]["estimator"].endswith("HistGradientBoostingClassifier")
    assert {"dragnet", "l3s-gn1", "readability", "scrapinghub-dev"} <= set(doc["trained_on"])
    assert all(v["licence"] for v in doc["trained_on"].values())
    assert 0.0 < doc["cutoff"] <= doc["cutoff_dropped"] <= 1.01


def test_inference_matches_a_hand_walk_of_the_trees():
    model = load_model("html_blocks")
    doc = json.loads((WEIGHTS / "html_blocks.json").read_text(encoding="utf-8"))
    rng = np.random.RandomState(0)
    x = rng.rand(7, len(BLOCK_FEATURES)) * 3 - 1
    expect = []
    for row in x:
        raw = doc["baseline"]
        for t in doc["trees"]:
            n = 0
            while t["feature"][n] >= 0:
                n = t["left"][n] if row[t["feature"][n]] <= t["threshold"][n] else t["right"][n]
            raw += t["value"][n]
        expect.append(1 / (1 + np.exp(-raw)))
    assert np.allclose(model.scores(x), expect)


def test_contributions_add_up_to_the_score():
    model = load_model("text_lines")
    x = content.line_matrix(["Home", "News"] + PARAS + ["© 2024 Example News"])
    raw, _ = model.raw(x)
    contrib = model.contributions(x)
    roots = model.value[:, 0].sum()
    assert np.allclose(contrib.sum(axis=1), raw - model.baseline - roots)


def test_verdicts_are_deterministic_and_every_model_removal_is_explained():
    model = load_model("html_blocks")
    first = html_page(PAGE, model=model)
    assert html_page(PAGE, model=model) == first
    assert first.text.split("\n\n") == PARAS
    assert html_to_text(PAGE).split("\n\n") == PARAS  # the rules alone (the default) agree here
    for b in first.blocks:
        if b.reason and "block-model" in b.reason:
            assert "score 0." in b.reason and "(" in b.reason
    rules = {r.rule for r in first.removals()}
    assert "html-headline" in rules  # the headline is the title: a rule, whatever the model says


def test_line_model_verdicts_name_it_with_its_score():
    lines = ["Home", "News", "Sport", "Weather", "Bus network grows"] + PARAS + [
        "Most read", "Another story about something", "And one more story here", "© 2024 Example News"]
    verdicts = content.filter_lines(lines, model=load_model("text_lines"))
    assert [l for l, v in zip(lines, verdicts) if v is None][-3:] == PARAS
    dropped = [v for v in verdicts if v]
    assert dropped and all("line-model" in v and "score" in v for v in dropped)


def test_a_format_it_does_not_know_is_refused():
    doc = json.loads((WEIGHTS / "text_lines.json").read_text(encoding="utf-8"))
    doc["format"] = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="format"):
        _as_model(doc)


@pytest.mark.skipif(not SCORE.exists(), reason="benchmark harness absent (../shared/bench/score.py)")
def test_training_metric_is_the_benchmark_metric():
    from dedupe.clean import training

    spec = importlib.util.spec_from_file_location("bench_score", SCORE)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    rng = np.random.RandomState(1)
    pages = []
    for k in range(30):
        texts = [" ".join(rng.choice(["a", "b", "c", "d", "e", "f"], size=rng.randint(0, 12))) for _ in range(rng.randint(0, 9))]
        gold = "\n".join(t for t in texts if rng.rand() < 0.6)
        pages.append((k, texts, None, None, None, gold))
    keeps = [rng.rand(len(p[1])) < 0.5 for p in pages]
    fast = training.fast_metrics(score, training._fasts(pages, {}, {}), keeps)
    slow = score.shingle_metrics([score.shingle_tp_fp_fn(p[5], "\n\n".join(t for t, k in zip(p[1], kk) if k))
                                  for p, kk in zip(pages, keeps)])
    assert fast == pytest.approx(slow)
