"""Learned keep/drop verdicts for page blocks and scraped lines: inference over a data file.

The models are gradient-boosted trees fitted by ``dedupe.clean.training`` (scikit-learn,
a training-only dependency) on labelled pages and stored as plain arrays in
``dedupe/clean/weights/<name>.json``: feature names, the trees' node tables, the decision
threshold, the training data, seed and the figures the fit reached.  Inference is numpy
only: every tree is walked for all rows at once, one level per step.

A verdict is explained like a rule's: the score (probability that the block is article
text) and the features that pushed it down most, each with its value, from the trees'
path contributions (the change of a node's value along the path, summed per feature:
Saabas' method, exact for the score the trees give).

>>> m = load_model("html_blocks")
>>> m.name, len(m.features) > 10
('html_blocks', True)
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

#: The weight files' format; ``load_model`` refuses any other.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TreeModel:
    """A fitted ensemble of binary trees over named features (arrays: one row per tree)."""

    name: str
    features: Tuple[str, ...]
    feature: np.ndarray = field(repr=False)     # (trees, nodes) feature index; -1 at a leaf
    threshold: np.ndarray = field(repr=False)   # (trees, nodes) go left when x <= threshold
    left: np.ndarray = field(repr=False)        # (trees, nodes) child ids; a leaf points to itself
    right: np.ndarray = field(repr=False)
    value: np.ndarray = field(repr=False)       # (trees, nodes) raw score of the node (leaf: its output)
    missing_left: np.ndarray = field(repr=False)
    baseline: float = 0.0
    depth: int = 1
    #: A row the rules keep stays when it scores at least ``cutoff``; a row the rules drop comes
    #: back only when it scores at least ``cutoff_dropped`` (the model overrides a drop when sure).
    cutoff: float = 0.5
    cutoff_dropped: float = 0.5
    meta: Dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def raw(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(raw scores, leaf node per row and tree) for a (rows, features) matrix."""
        rows = x.shape[0]
        trees = self.feature.shape[0]
        node = np.zeros((rows, trees), dtype=np.int64)
        t_idx = np.arange(trees)[None, :]
        for _ in range(self.depth):
            f = self.feature[t_idx, node]
            leaf = f < 0
            v = np.take_along_axis(x, np.where(leaf, 0, f), axis=1)
            go_left = np.where(np.isnan(v), self.missing_left[t_idx, node], v <= self.threshold[t_idx, node])
            nxt = np.where(go_left, self.left[t_idx, node], self.right[t_idx, node])
            node = np.where(leaf, node, nxt)
        return self.baseline + self.value[t_idx, node].sum(axis=1), node

    def keep(self, scores: np.ndarray, rules_kept: Sequence[bool]) -> np.ndarray:
        """Which rows stay, given their scores and the rules' verdicts."""
        return np.where(np.asarray(rules_kept, dtype=bool), scores >= self.cutoff, scores >= self.cutoff_dropped)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Probability of "article text" per row."""
        if x.shape[0] == 0:
            return np.zeros(0)
        raw, _ = self.raw(x)
        return 1.0 / (1.0 + np.exp(-raw))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(rows, features): how much each feature moved each row's raw score (Saabas)."""
        rows = x.shape[0]
        trees = self.feature.shape[0]
        out = np.zeros((rows, len(self.features)))
        node = np.zeros((rows, trees), dtype=np.int64)
        t_idx = np.arange(trees)[None, :]
        r_idx = np.repeat(np.arange(rows)[:, None], trees, axis=1)
        for _ in range(self.depth):
            f = self.feature[t_idx, node]
            leaf = f < 0
            fi = np.where(leaf, 0, f)
            v = np.take_along_axis(x, fi, axis=1)
            go_left = np.where(np.isnan(v), self.missing_left[t_idx, node], v <= self.threshold[t_idx, node])
            nxt = np.where(go_left, self.left[t_idx, node], self.right[t_idx, node])
            nxt = np.where(leaf, node, nxt)
            delta = self.value[t_idx, nxt] - self.value[t_idx, node]
            np.add.at(out, (r_idx[~leaf], fi[~leaf]), delta[~leaf])
            node = nxt
        return out


def _as_model(data: dict) -> TreeModel:
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"weights format {data.get('format')!r}, expected {FORMAT_VERSION}")
    trees = data["trees"]
    width = max(len(t["feature"]) for t in trees)

    def table(key: str, fill, dtype) -> np.ndarray:
        arr = np.full((len(trees), width), fill, dtype=dtype)
        for i, t in enumerate(trees):
            arr[i, : len(t[key])] = t[key]
        return arr

    left = table("left", 0, np.int64)
    right = table("right", 0, np.int64)
    feature = table("feature", -1, np.int64)
    for i, t in enumerate(trees):  # a leaf points to itself, so walking past it stays put
        for n, f in enumerate(t["feature"]):
            if f < 0:
                left[i, n] = right[i, n] = n
    return TreeModel(
        name=data["name"], features=tuple(data["features"]), feature=feature,
        threshold=table("threshold", 0.0, np.float64), left=left, right=right,
        value=table("value", 0.0, np.float64), missing_left=table("missing_left", 0, np.bool_),
        baseline=float(data["baseline"]), depth=int(data["depth"]), cutoff=float(data["cutoff"]),
        cutoff_dropped=float(data.get("cutoff_dropped", data["cutoff"])),
        meta={k: v for k, v in data.items() if k not in ("trees", "features")},
    )


@lru_cache(maxsize=None)
def load_model(name: str) -> TreeModel:
    """The packaged model ``dedupe/clean/weights/<name>.json`` (read once per process)."""
    text = resources.files("dedupe.clean").joinpath("weights", f"{name}.json").read_text(encoding="utf-8")
    return _as_model(json.loads(text))


def model_from_file(path: str) -> TreeModel:
    """A model from a weights file anywhere (a retrained one, before it is packaged)."""
    with open(path, encoding="utf-8") as fh:
        return _as_model(json.load(fh))


Describe = Callable[[str, float], Optional[str]]


def explain(model: TreeModel, x: np.ndarray, rows: Sequence[int], describe: Describe,
            scores: Optional[np.ndarray] = None, top: int = 3, agreed: Sequence[int] = ()) -> Dict[int, str]:
    """``{row: "score 0.12 (link density 0.81, 4 words, after the article)"}`` for ``rows``:
    the features that pushed the score down most, described by ``describe(name, value)``
    (None skips a feature: the second half of a one-hot pair says nothing new).  Rows in
    ``agreed`` (the rules drop them too, and name why) get their score alone: the path
    contributions, the costly part, are computed only where the model decides against the rules."""
    agreed_set = set(agreed)
    out: Dict[int, str] = {}
    if agreed_set:
        all_scores = scores if scores is not None else model.scores(x)
        for r in rows:
            if r in agreed_set:
                out[r] = "score %.2f (agrees with the rules)" % float(all_scores[r])
        rows = [r for r in rows if r not in agreed_set]
    if not len(rows):
        return out
    sub = x[list(rows)]
    contrib = model.contributions(sub)
    if scores is None:
        scores = model.scores(sub)
        pick = {r: float(s) for r, s in zip(rows, scores)}
    else:
        pick = {r: float(scores[r]) for r in rows}
    for k, r in enumerate(rows):
        order = np.argsort(contrib[k], kind="stable")
        said: List[str] = []
        for j in order:
            if contrib[k, j] >= 0 or len(said) >= top:
                break
            text = describe(model.features[j], float(sub[k, j]))
            if text and text not in said:
                said.append(text)
        out[r] = "score %.2f (%s)" % (pick[r], ", ".join(said) if said else "no single feature stands out")
    return out


def decide(model: TreeModel, x: np.ndarray, reasons: Sequence[Optional[str]], describe: Describe, label: str,
           exempt: Sequence[int] = ()) -> List[Optional[str]]:
    """The model's verdict per row (None: kept), explained: a row the rules drop too keeps their
    reason with the model's score beside it ("<reason>; <label> score 0.08 ..."), a row only the
    model drops is "<label>: score 0.12 (...)".  Rows in ``exempt`` are left to the caller (None)."""
    scores = model.scores(x)
    keep = model.keep(scores, [r is None for r in reasons])
    skip = set(exempt)
    drop = [i for i in range(len(reasons)) if not keep[i] and i not in skip]
    why = explain(model, x, drop, describe, scores, agreed=[i for i in drop if reasons[i]])
    out: List[Optional[str]] = [None] * len(reasons)
    for i in drop:
        out[i] = ("%s; %s %s" % (reasons[i], label, why[i])) if reasons[i] else "%s: %s" % (label, why[i])
    return out


def describe(name: str, value: float, flags: Dict[str, Tuple[Optional[str], Optional[str]]], unit: str,
             special: Optional[Callable[[str, float], Optional[str]]] = None) -> Optional[str]:
    """Words for one feature's value in an explanation (None: not worth saying).

    ``prev_``/``next_``/``prev2_``/``next2_`` features are the neighbour ``unit``'s ("block before:
    ..."); ``flags`` gives the words for a yes/no feature; counts are shown as counts (they are
    stored as ``log_count``); ``special`` words the stage's own features first."""
    side = ""
    for prefix, label in (("prev2_", "two before: "), ("next2_", "two after: "), ("prev_", f"{unit} before: "), ("next_", f"{unit} after: ")):
        if name.startswith(prefix):
            side, name = label, name[len(prefix):]
            if value < 0:
                return side + "none"
            break
    if name in flags:
        text = flags[name][0 if value else 1]
        return side + text if text else None
    if name in ("chars", "words"):
        return side + "%d %s" % (round(math.expm1(value)), "characters" if name == "chars" else "words")
    if name in ("link_density", "stopwords"):
        return side + ("link density %.2f" if name == "link_density" else "function words %.2f") % value
    if name.startswith("verdict_"):
        return side + "rules: " + name[8:] if value else None
    if name == "position":
        return side + "at %d%% of the page" % round(100 * value)
    if name == "text_before":
        return side + "%d%% of the page's text before it" % round(100 * value)
    text = special(name, value) if special else None
    return side + (text if text is not None else "%s %.2f" % (name.replace("_", " "), value))


#: The neighbours whose features each row also gets: (name prefix, offset).
NEIGHBOURS = (("prev", 1), ("next", -1), ("prev2", 2), ("next2", -2))


def add_neighbours(x: np.ndarray, col: Dict[str, int], names: Sequence[str]) -> np.ndarray:
    """Fill ``<side>_<name>`` columns of ``x`` with the neighbour rows' ``name`` columns (-1 past
    either end of the page), in place; returns ``x``."""
    own = [col[n] for n in names]
    for side, shift in NEIGHBOURS:
        dst = [col[f"{side}_{n}"] for n in names]
        if shift > 0:
            x[shift:, dst] = x[:-shift, own]
            x[:shift, dst] = -1.0
        else:
            x[:shift, dst] = x[-shift:, own]
            x[shift:, dst] = -1.0
    return x


def log_count(n: float) -> float:
    """The scale counts are given to the models in: log(1 + n)."""
    return math.log1p(n)
