"""Fit the cleaner's learned models on labelled pages, and measure them leave-one-set-out.

    pip install -e '.[train]'
    python -m dedupe.clean.training --data ~/.cache/dedupe-bench --scrapinghub ../shared/bench/data \\
        [--model html_blocks|text_lines|all] [--loso] [--write]

The data are the score.py-format sets of ``../shared/bench`` (unpack the training pool with
``python ../shared/bench/unpack_train.py ~/.cache/dedupe-bench``): ``html/<id>.html`` or
``input/<id>.txt`` with ``gold/<id>.txt``.  Every page is turned into the rows the cleaner
itself computes (``html.block_features`` for HTML blocks, ``content.line_matrix`` for the
lines of a naive scrape), each row labelled by how much of its text is in the gold (word
4-gram shingles, the benchmark's own unit) and weighted by its share of the page's article
text, so each page counts about once, as in the benchmark's per-page averages.

``--loso`` prints the leave-one-set-out table: for each set, a model fitted on the other
sets (cutoff chosen on them too) scored on it, with the same metric as score.py.  ``--write``
fits on every set and writes ``dedupe/clean/weights/<model>.json``: plain arrays (trees,
thresholds, feature names), the seed, the sets it was fitted on and its in-sample figures.
The fit is deterministic (fixed seed, no subsampling): the same data give the same file.

Needs scikit-learn (the ``train`` extra) for fitting only; the cleaner's inference is numpy.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import pickle
import re
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .blockmodel import FORMAT_VERSION, _as_model

#: Fixed seed of every fit.
SEED = 42
#: The sets of the training pool, in the order the table prints them.
SETS = ("dragnet", "l3s-gn1", "cleaneval-final", "cleaneval-dev", "readability", "cleanportaleval", "scrapinghub-dev")
#: Licences as the sets' manifests state them (named in the weight file and the README).
LICENCES = {
    "dragnet": "AGPL-3.0 (seomoz/dragnet_data)", "l3s-gn1": "research use only (L3S-GN1, Kohlschütter et al. 2010)",
    "cleaneval-final": "none stated (CleanEval 2007)", "cleaneval-dev": "none stated (CleanEval 2007)",
    "readability": "Apache-2.0 (mozilla/readability test pages)", "cleanportaleval": "none stated (CleanPortalEval, Endrédy & Novák 2013)",
    "scrapinghub-dev": "ScrapingHub article-extraction-benchmark (dev half)",
}
#: A row is article text when at least this share of its shingles is in the gold.
LABEL_SHARE = 0.5
#: Gradient boosting settings (scikit-learn HistGradientBoostingClassifier).
FIT = dict(max_iter=150, learning_rate=0.1, max_leaf_nodes=24, max_depth=7, min_samples_leaf=40,
           l2_regularization=1.0, early_stopping=False)
_TOKEN = re.compile(r"\w+")


def _score_module(bench: Path):
    spec = importlib.util.spec_from_file_location("bench_score", bench / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def set_dir(data: Path, shared: Path, name: str, text: bool) -> Path:
    if name.startswith("scrapinghub"):
        return shared / ("scrapinghub-text-dev" if text else "scrapinghub-dev")
    return data / (name + "-text" if text else name)


# --------------------------------------------------------------------------------------
# Rows and labels


def _grams(tokens: Sequence[str], n: int) -> List[Tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))] if tokens else []


def labels(texts: Sequence[str], gold: str) -> Tuple[np.ndarray, np.ndarray]:
    """(share of each text's shingles in the gold, each text's weight)."""
    gt = _TOKEN.findall(gold)
    gold_sets = {n: set(_grams(gt, n)) for n in (1, 2, 3, 4)}
    share = np.zeros(len(texts))
    toks = np.zeros(len(texts))
    for i, t in enumerate(texts):
        tt = _TOKEN.findall(t)
        toks[i] = len(tt)
        if not tt:
            continue
        n = min(4, len(tt))
        grams = _grams(tt, n)
        share[i] = sum(g in gold_sets[n] for g in grams) / len(grams)
    pos = toks[share >= LABEL_SHARE].sum()
    weight = np.minimum(1.0, np.maximum(toks, 1.0) / max(pos, 50.0))
    return share, weight


def _html_page_rows(args):
    path, gold_path = args
    from . import html as H

    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    gold = Path(gold_path).read_text(encoding="utf-8")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        soup = H.parse(text)
    blocks = H._walk(soup.body or soup, [])
    if not blocks:
        return [], np.zeros((0, len(H.BLOCK_FEATURES))), np.zeros(0), np.zeros(0), gold
    titles = H._page_titles(soup)
    reasons, inside, container = H._judge_full(blocks, titles)
    x = H.block_features(blocks, reasons, inside, container, titles)
    share, weight = labels([b.text for b in blocks], gold)
    return [b.text for b in blocks], x, share, weight, gold


def _text_page_rows(args):
    path, gold_path = args
    from . import content as C
    from .cleaner import split_lines
    from . import rules as R

    text = Path(path).read_text(encoding="utf-8", errors="replace")
    gold = Path(gold_path).read_text(encoding="utf-8")
    lines = [line for line in split_lines(text) if R.match_line(line) is None]
    x = C.line_matrix(lines)
    share, weight = labels(lines, gold)
    return lines, x, share, weight, gold


def page_rows(kind: str, d: Path, cache: Path, workers: int = 2):
    """[(page id, texts, X, label share, weight, gold)] of one set (cached by feature names)."""
    from . import content as C
    from . import html as H

    names = H.BLOCK_FEATURES if kind == "html" else C.LINE_FEATURES
    key = hashlib.sha1(("\n".join(names) + str(d.resolve()) + _code_stamp(kind)).encode()).hexdigest()[:12]
    cache_file = cache / f"{d.name}-{kind}-{key}.pkl"
    if cache_file.exists():
        with open(cache_file, "rb") as fh:
            return pickle.load(fh)
    meta = [json.loads(line) for line in (d / "meta.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    sub = "html" if kind == "html" else "input"
    ext = "html" if kind == "html" else "txt"
    jobs = [(str(d / sub / f"{m['id']}.{ext}"), str(d / "gold" / f"{m['id']}.txt")) for m in meta]
    fn = _html_page_rows if kind == "html" else _text_page_rows
    with Pool(workers) as pool:
        rows = pool.map(fn, jobs, chunksize=8)
    out = [(m["id"],) + tuple(r) for m, r in zip(meta, rows)]
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache_file, "wb") as fh:
        pickle.dump(out, fh)
    return out


def _code_stamp(kind: str) -> str:
    """A hash of the code the rows come from, so a changed feature invalidates the cache."""
    here = Path(__file__).parent
    files = ["html.py", "stopwords.py", "content.py", "rules.py"] if kind == "html" else ["content.py", "stopwords.py", "rules.py", "cleaner.py"]
    return hashlib.sha1(b"".join((here / f).read_bytes() for f in files)).hexdigest()


# --------------------------------------------------------------------------------------
# Fit, export, score


#: A set of this many pages or fewer weighs a page at 1; a larger one shares this much weight
#: among its pages, so Dragnet's 1,381 pages do not outvote the other sets' conventions.
SET_PAGES = 400
#: The CleanEval sets count almost all running text of a page as content (comments, teasers,
#: link descriptions), which the product does not want as article text: they weigh this much.
BROAD_GOLD_WEIGHT = {"cleaneval-final": 0.3, "cleaneval-dev": 0.3}


def fit(sets: Dict[str, list], features: Sequence[str], seed: int = SEED):
    """The fitted trees over every row of ``sets`` (``{set name: pages}``), weighted as above.

    Rows the rules decide alone (``forced`` in the features: the headline) are left out."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    forced = features.index("forced") if "forced" in features else None
    xs, ys, ws = [], [], []
    for name, pages in sets.items():
        per_page = min(1.0, SET_PAGES / max(1, len(pages))) * BROAD_GOLD_WEIGHT.get(name, 1.0)
        for p in pages:
            if not len(p[1]):
                continue
            keep = np.ones(len(p[1]), bool) if forced is None else p[2][:, forced] == 0
            xs.append(p[2][keep])
            ys.append(p[3][keep] >= LABEL_SHARE)
            ws.append(p[4][keep] * per_page)
    clf = HistGradientBoostingClassifier(random_state=seed, **FIT)
    clf.fit(np.vstack(xs), np.concatenate(ys).astype(int), sample_weight=np.concatenate(ws))
    return clf


def export(clf, name: str, features: Sequence[str]) -> dict:
    """The fitted trees as plain arrays (internal node values: count-weighted means of their
    children, used only to explain a verdict)."""
    trees = []
    depth = 1
    for (pred,) in clf._predictors:
        nodes = pred.nodes
        value = nodes["value"].astype(float).copy()
        order = sorted(range(len(nodes)), key=lambda i: -int(nodes["depth"][i]))
        for i in order:
            if not nodes["is_leaf"][i]:
                l, r = int(nodes["left"][i]), int(nodes["right"][i])
                cl, cr = float(nodes["count"][l]), float(nodes["count"][r])
                value[i] = (cl * value[l] + cr * value[r]) / max(cl + cr, 1.0)
        depth = max(depth, int(nodes["depth"].max()) + 1)
        trees.append({
            "feature": [int(f) if not leaf else -1 for f, leaf in zip(nodes["feature_idx"], nodes["is_leaf"])],
            "threshold": [float(t) for t in nodes["num_threshold"]],
            "left": [int(v) for v in nodes["left"]], "right": [int(v) for v in nodes["right"]],
            "value": [round(float(v), 10) for v in value],
            "missing_left": [int(v) for v in nodes["missing_go_to_left"]],
        })
    return {"format": FORMAT_VERSION, "name": name, "features": list(features),
            "baseline": float(np.ravel(clf._baseline_prediction)[0]), "depth": depth, "cutoff": 0.5, "trees": trees}


def page_scores(model, pages) -> List[np.ndarray]:
    """Per page, the model's score per row (a row the rules decide alone scores 0)."""
    forced = model.features.index("forced") if "forced" in model.features else None
    out = []
    for p in pages:
        if not len(p[1]):
            out.append(np.zeros(0))
            continue
        s = model.scores(p[2])
        if forced is not None:
            s = np.where(p[2][:, forced] > 0, 0.0, s)
        out.append(s)
    return out


def keep_mask(model_or_features, x: np.ndarray, scores: np.ndarray, cutoff: float, cutoff_dropped: float) -> np.ndarray:
    """Rows kept: the rules' kept rows scoring at least ``cutoff``, their dropped rows at least
    ``cutoff_dropped`` (the model overrides the rules' "drop" only when it is sure)."""
    names = getattr(model_or_features, "features", model_or_features)
    kept = x[:, names.index("kept")] > 0
    return np.where(kept, scores >= cutoff, scores >= cutoff_dropped)


class _Fast:
    """One page's rows as token-id arrays and its gold's 4-gram counts: score.py's shingle
    metric for any choice of kept rows in a few numpy calls (tested equal to score.py)."""

    def __init__(self, texts: Sequence[str], gold: str, vocab: Dict[str, int]):
        def ids(t: str) -> np.ndarray:
            return np.array([vocab.setdefault(w, len(vocab) + 1) for w in _TOKEN.findall(t)], dtype=np.int64)

        self.rows = [ids(t) for t in texts]
        self.gold = self._counts(ids(gold))

    @staticmethod
    def _counts(tok: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        if len(tok) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if len(tok) < 4:
            h = np.array([hash(tuple(tok.tolist())) & 0x7FFFFFFFFFFFFFFF | (1 << 62)], dtype=np.int64)
        else:
            m = np.int64(1_000_003)
            h = ((tok[:-3] * m + tok[1:-2]) * m + tok[2:-1]) * m + tok[3:]
        return np.unique(h, return_counts=True)

    def prf(self, keep: np.ndarray) -> Tuple[float, float, float]:
        """(tp, fp, fn) of the kept rows' text, as score.shingle_tp_fp_fn (unnormalised)."""
        parts = [r for r, k in zip(self.rows, keep) if k]
        pred = self._counts(np.concatenate(parts) if parts else np.zeros(0, np.int64))
        g_h, g_c = self.gold
        p_h, p_c = pred
        common, gi, pi = np.intersect1d(g_h, p_h, assume_unique=True, return_indices=True)
        tp = float(np.minimum(g_c[gi], p_c[pi]).sum())
        return tp, float(p_c.sum()) - tp, float(g_c.sum()) - tp


def fast_metrics(score, fasts: Sequence[_Fast], keeps: Sequence[np.ndarray]) -> Dict[str, float]:
    tfns = []
    for f, k in zip(fasts, keeps):
        tp, fp, fn = f.prf(k)
        tot = tp + fp + fn
        tfns.append((tp / tot, fp / tot, fn / tot) if tot > 0 else (tp, fp, fn))
    return score.shingle_metrics(tfns)


def _fasts(pages, cache: Dict[int, _Fast], vocab: Dict[str, int]) -> List[_Fast]:
    out = []
    for p in pages:
        f = cache.get(id(p))
        if f is None:
            f = cache[id(p)] = _Fast(p[1], p[5], vocab)
        out.append(f)
    return out


_FAST: Dict[int, _Fast] = {}
_VOCAB: Dict[str, int] = {}


def evaluate(score, model, pages, cutoff: float, cutoff_dropped: float, scores=None) -> Dict[str, float]:
    scores = page_scores(model, pages) if scores is None else scores
    keeps = [keep_mask(model, p[2], s, cutoff, cutoff_dropped) if len(p[1]) else np.zeros(0, bool)
             for p, s in zip(pages, scores)]
    return fast_metrics(score, _fasts(pages, _FAST, _VOCAB), keeps)


#: Cutoffs tried when choosing them on the training sets.
CUTOFFS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
#: What a set's F1 below the rules' costs in the cutoff choice, per point of mean F1.
HARM_PENALTY = 4.0
CUTOFFS_DROPPED = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)


def rules_metrics(score, model, pages) -> Dict[str, float]:
    """The rules alone on ``pages`` (every row keeps the rules' verdict): what the model must beat."""
    return evaluate(score, model, pages, -1.0, 2.0, [np.zeros(len(p[1])) for p in pages])


def choose_cutoffs(score, model, sets: Dict[str, list]) -> Tuple[float, float]:
    """The (cutoff, cutoff_dropped) with the best weighted mean F1 over ``sets`` (a set's
    weight: 1, or its ``BROAD_GOLD_WEIGHT``), less ``HARM_PENALTY`` times every set's loss
    against the rules alone: the model may not buy a gain on one kind of page with a loss
    on another (every set counts fully there, CleanEval too: it guards against over-deletion)."""
    scored = {name: page_scores(model, pages) for name, pages in sets.items()}
    weights = {name: BROAD_GOLD_WEIGHT.get(name, 1.0) for name in sets}
    rules = {n: rules_metrics(score, model, pages)["f1"] for n, pages in sets.items()}
    best, best_c = -1e9, (-1.0, 2.0)
    for c in CUTOFFS:
        for d in CUTOFFS_DROPPED:
            if d < c:
                continue
            f1 = {n: evaluate(score, model, pages, c, d, scored[n])["f1"] for n, pages in sets.items()}
            f = sum(weights[n] * f1[n] for n in sets) / sum(weights.values())
            f -= HARM_PENALTY * sum(max(0.0, rules[n] - f1[n]) for n in sets) / len(sets)
            if f > best + 1e-9:
                best, best_c = f, (c, d)
    return best_c


def rules_outputs(pages, kind: str) -> List[str]:
    """What the rules alone keep (the ``kept`` feature), for the before/after table."""
    from . import content as C
    from . import html as H

    names = H.BLOCK_FEATURES if kind == "html" else C.LINE_FEATURES
    k = names.index("kept")
    joiner = "\n\n" if kind == "html" else "\n"
    return [joiner.join(t for t, row in zip(p[1], p[2]) if row[k]) for p in pages]


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path.home() / ".cache" / "dedupe-bench")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "bench")
    ap.add_argument("--model", choices=("html_blocks", "text_lines", "all"), default="all")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--loso", action="store_true", help="print the leave-one-set-out table")
    ap.add_argument("--write", action="store_true", help="fit on every set and write the weight file")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "weights")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "dedupe-bench" / "rows")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    score = _score_module(args.shared)
    sets = [s for s in args.sets.split(",") if s]
    for name in (["html_blocks", "text_lines"] if args.model == "all" else [args.model]):
        kind = "html" if name == "html_blocks" else "text"
        from . import content as C
        from . import html as H

        features = H.BLOCK_FEATURES if kind == "html" else C.LINE_FEATURES
        t0 = time.perf_counter()
        data = {s: page_rows(kind, set_dir(args.data, args.shared / "data", s, kind == "text"), args.cache, args.workers) for s in sets}
        print(f"# {name}: rows of {sum(len(v) for v in data.values())} pages in {time.perf_counter() - t0:.0f} s", flush=True)
        if args.loso:
            print("| set | pages | rules F1 | model F1 (P / R) | cutoffs (kept / dropped by the rules) |")
            print("|---|---|---|---|---|")
            for held in sets:
                train = {s: v for s, v in data.items() if s != held}
                clf = fit(train, features)
                model = _as_model(export(clf, name, features))
                cut = choose_cutoffs(score, model, train)
                m = evaluate(score, model, data[held], *cut)
                r = rules_metrics(score, model, data[held])
                print(f"| {held} | {len(data[held])} | {r['f1']:.3f} | {m['f1']:.3f} ({m['precision']:.3f} / {m['recall']:.3f}) | {cut[0]:.2f} / {cut[1]:.2f} |", flush=True)
        if args.write:
            clf = fit(data, features)
            doc = export(clf, name, features)
            model = _as_model(doc)
            doc["cutoff"], doc["cutoff_dropped"] = choose_cutoffs(score, model, data)
            doc["seed"] = SEED
            doc["fit"] = dict(FIT, estimator="sklearn.ensemble.HistGradientBoostingClassifier",
                              sklearn=__import__("sklearn").__version__)
            doc["trained_on"] = {s: {"pages": len(data[s]), "licence": LICENCES.get(s, ""),
                                     "weight_per_page": round(min(1.0, SET_PAGES / max(1, len(data[s]))) * BROAD_GOLD_WEIGHT.get(s, 1.0), 4)}
                                 for s in sets}
            doc["in_sample"] = {s: round(evaluate(score, model, data[s], doc["cutoff"], doc["cutoff_dropped"])["f1"], 4)
                                for s in sets}
            args.out.mkdir(parents=True, exist_ok=True)
            target = args.out / f"{name}.json"
            target.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
            print(f"wrote {target} (cutoffs {doc['cutoff']} / {doc['cutoff_dropped']}, in-sample F1 {doc['in_sample']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
