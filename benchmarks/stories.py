#!/usr/bin/env python3
"""How well stories hold together, on real news with labels (issue 13's table).

    python benchmarks/stories.py [--data FILE] [--limit N] [--no-docmh] [--show K]

For the FNC-1 dev set (``../shared/bench/data/fnc1-train-bodies.jsonl``: 1,683 real scraped
bodies, each with the ``claim`` it reports on) and for ``samples/`` (whose README says which
documents make each story), it runs ``dedupe.run`` and prints:

* **story precision**: of the document pairs put in one story, the share that carry the same
  label (claim; for the samples, the README's story);
* **story recall**: of the document pairs that truly share reporting, the share put in one
  story.  "Truly share" is found by brute force, independent of the LSH: every pair of
  paragraphs of different documents that has a shingle in common (the same shingles as the
  pipeline: ``Config.shingle_size`` words) is verified with the pipeline's own rule (exact
  Jaccard >= ``jaccard_threshold``, or containment >= ``containment_threshold`` with at least
  ``min_containment_shingles`` shingles in the smaller).  Two documents share reporting when
  at least ``story_min_shared`` paragraphs of each have a verified partner in the other, or
  those make ``story_min_share`` of the smaller document (the one with fewer shingles: a report
  printed as one long paragraph is not "smaller" than a ten-paragraph item it quotes; the
  recall against the older measure, smaller = fewer paragraphs, is printed too), counting only
  pairs whose longer
  paragraph has ``story_min_shingles`` shingles ("Yes.", a name or a label is not reporting);
* **paragraph-pair recall**: of those verified paragraph pairs, the share that end in one
  cluster, split into pairs that pass on Jaccard and pairs that pass on containment only;
* **clusters printed twice**: (story, cluster) pairs where the cluster is shown more than once
  in the story's text;
* **member paragraphs lost**: paragraphs of a story's documents that the story's text neither
  shows nor represents by a variant that verifies against them directly ("chain only": their
  cluster is shown, by a variant that matches them only through other members);
* **stories with several openings**: stories whose text opens with the first paragraphs
  (headline or lede) of more than one of its documents, one after the other (a member's
  rewritten lede shown after the base's lede counts too);
* **text before the base's lede**: stories whose text shows a paragraph its base (the member
  with the most paragraphs after its headline) does not carry before the base's first one;
  and **headlines in the text**: story paragraphs equal to one of the story's ``titles``;

and the same story precision and recall for document-level MinHash (datasketch, word
5-grams, LSH threshold 0.7, documents linked when LSH pairs them, as text-dedup does it),
unless ``--no-docmh``.  Exit 0 whatever the figures: it measures, it does not gate.
Without the bench data it measures the samples only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dedupe  # noqa: E402
from dedupe.candidates import verify  # noqa: E402
from dedupe.cluster import connected_components  # noqa: E402
from dedupe.fingerprint import shingle_hashes_batch  # noqa: E402

DATA = ROOT.parent / "shared" / "bench" / "data" / "fnc1-train-bodies.jsonl"
#: A shingle on more paragraphs than this is not used to find brute-force pairs (a stock
#: phrase: "said in a statement").  Two paragraphs that verify share many shingles, so at
#: least one of them is rarer than this unless both are made of stock phrases only.
MAX_POSTING = 400

#: The samples' stories, as samples/README.md gives them (every other document stands alone).
SAMPLE_STORIES = {
    "A": ("news/wire-service/corvane-jets-grounded.txt", "news/daily-herald/corvane-jets-grounded.txt",
          "news/metro-times/corvane-jets-grounded.txt", "html/valley-gazette/corvane-jets-grounded.html",
          "regional-briefs-0091"),
    "B": ("news/wire-service/halvorsen-ohio-plant.txt", "news/daily-herald/halvorsen-ohio-plant.txt",
          "news/tech-ledger/halvorsen-ohio-plant.txt", "html/northern-star/halvorsen-ohio-plant.html",
          "regional-briefs-0092"),
    "C": ("news/wire-service/chile-quake.txt", "news/metro-times/chile-quake.txt",
          "news/coastal-courier/chile-quake.txt", "andes-post-20190317-quake"),
}


def _pairs_in(groups: Sequence[Sequence[int]]) -> set:
    out = set()
    for g in groups:
        g = sorted(g)
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                out.add((g[i], g[j]))
    return out


def verified_pairs(sets: Sequence[np.ndarray], doc_of: np.ndarray, config) -> Dict[Tuple[int, int], Tuple[float, float]]:
    """``{(p, q): (jaccard, containment)}`` for every pair of paragraphs of different documents
    that passes the pipeline's verification (``candidates.verify`` on the exact shingle sets),
    tried on every pair that has a shingle in common (brute force, no LSH)."""
    postings: Dict[int, List[int]] = defaultdict(list)
    for p, s in enumerate(sets):
        for h in s.tolist():  # sorted and unique already
            postings[h].append(p)
    tried = set()
    for ps in postings.values():
        if len(ps) < 2 or len(ps) > MAX_POSTING:
            continue
        for i in range(len(ps)):
            a = ps[i]
            for b in ps[i + 1:]:
                if doc_of[a] != doc_of[b]:
                    tried.add((a, b))
    matches = verify(np.array(sorted(tried), dtype=np.int64).reshape(-1, 2), sets, config)
    return {(m.a, m.b): (m.jaccard, m.containment) for m in matches}


def sharing_documents(pairs, doc_of: np.ndarray, n_paras: np.ndarray, config, doc_size: np.ndarray = None) -> set:
    """Document pairs that truly share reporting (see the module docstring).  ``doc_size``
    (each document's shingles) says which document is the smaller; without it, the one
    with fewer paragraphs (the measure before containment candidates: a report printed as
    one long paragraph then counted as "smaller" than a ten-paragraph item it quotes)."""
    partners: Dict[Tuple[int, int], Tuple[set, set]] = defaultdict(lambda: (set(), set()))
    for a, b in pairs:
        da, db = int(doc_of[a]), int(doc_of[b])
        if da > db:
            da, db, a, b = db, da, b, a
        left, right = partners[(da, db)]
        left.add(a)
        right.add(b)
    out = set()
    for (da, db), (left, right) in partners.items():
        k = min(len(left), len(right))
        if doc_size is None:
            smaller = min(n_paras[da], n_paras[db])
        else:
            smaller = n_paras[da] if doc_size[da] <= doc_size[db] else n_paras[db]
        if k >= config.story_min_shared or k >= config.story_min_share * smaller:
            out.add((da, db))
    return out


def precision_recall(groups: Sequence[Sequence[int]], labels: Sequence[str], truth: set) -> Tuple[float, float, int, int]:
    linked = _pairs_in(groups)
    same = sum(1 for a, b in linked if labels[a] == labels[b])
    found = sum(1 for p in truth if p in linked)
    return (same / len(linked) if linked else 1.0, found / len(truth) if truth else 1.0, len(linked) - same, len(truth) - found)


def document_minhash(texts: Sequence[str], threshold: float = 0.7, num_perm: int = 128) -> List[List[int]]:
    """Groups of documents linked by document-level MinHash LSH (word 5-grams), text-dedup's method."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sketches = []
    for i, t in enumerate(texts):
        words = t.lower().split()
        grams = {" ".join(words[k:k + 5]) for k in range(max(1, len(words) - 4))}
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([g.encode("utf-8") for g in grams])
        sketches.append(m)
        lsh.insert(str(i), m)
    edges = []
    for i, m in enumerate(sketches):
        for j in lsh.query(m):
            if int(j) != i:
                edges.append((i, int(j)))
    labels = connected_components(len(texts), np.array(edges, dtype=np.int64).reshape(-1, 2))
    groups: Dict[int, List[int]] = defaultdict(list)
    for i, lab in enumerate(labels.tolist()):
        groups[lab].append(i)
    return list(groups.values())


def measure(name: str, documents: List[dedupe.Document], labels: Dict[str, str], docmh: bool, show: int) -> dict:
    config = dedupe.Config()
    t = time.perf_counter()
    result = dedupe.run(documents, config)
    seconds = time.perf_counter() - t
    ids = [c.document.id for c in result.documents]
    pos = {d: i for i, d in enumerate(ids)}
    lab = [labels[d] for d in ids]
    paras = result.paragraphs
    doc_of = np.array([pos[p.doc_id] for p in paras], dtype=np.int64)
    n_paras = np.bincount(doc_of, minlength=len(ids))
    sets = shingle_hashes_batch([p.text for p in paras], config)
    pairs = verified_pairs(sets, doc_of, config)
    evidence = [p for p in pairs if max(len(sets[p[0]]), len(sets[p[1]])) >= config.story_min_shingles]
    doc_size = np.bincount(doc_of, weights=np.array([len(x) for x in sets], dtype=np.float64), minlength=len(ids))
    truth = sharing_documents(evidence, doc_of, n_paras, config, doc_size)
    truth_by_count = sharing_documents(evidence, doc_of, n_paras, config)

    groups = [[pos[d] for d in s.documents] for s in result.stories]
    prec, rec, false_pairs, missed = precision_recall(groups, lab, truth)
    _, rec_by_count, _, missed_by_count = precision_recall(groups, lab, truth_by_count)

    cluster_of = {}
    for c in result.clusters:
        for m in c.members:
            cluster_of[m] = c.id
    # Candidate generation found a pair when its paragraphs are joined by verified matches
    # (a component; a cluster is a star of it, which the text shows as one paragraph).
    found = [(m.a, m.b) for m in result.matches]
    component = connected_components(len(paras), np.array(found, dtype=np.int64).reshape(-1, 2))
    same_cluster = {(a, b) for (a, b) in pairs if component[a] == component[b]}
    jac = [p for p, (j, _) in pairs.items() if j >= config.jaccard_threshold]
    cont = [p for p, (j, _) in pairs.items() if j < config.jaccard_threshold]
    jac_rec = sum(p in same_cluster for p in jac) / len(jac) if jac else 1.0
    cont_rec = sum(p in same_cluster for p in cont) / len(cont) if cont else 1.0

    # story text: clusters twice, paragraphs lost, openings
    by_doc: Dict[str, List[int]] = defaultdict(list)
    for i, p in enumerate(paras):
        by_doc[p.doc_id].append(i)
    text_index: Dict[str, List[int]] = defaultdict(list)
    for i, p in enumerate(paras):
        text_index[p.text].append(i)

    twice = lost = openings = stories_twice = heads_in_text = before_lede = 0
    examples: List[str] = []
    against: Dict[int, List[int]] = {}  # a member paragraph not shown -> the variants shown for its cluster
    for s in result.stories:
        shown = s.paragraphs
        counts: Dict[str, int] = defaultdict(int)
        for sp in shown:
            if sp.cluster:
                counts[sp.cluster] += 1
        twice += sum(1 for c in counts.values() if c > 1)
        shown_texts = {sp.text for sp in shown} | {t.text for t in getattr(s, "titles", ())}
        title_texts = {t.text for t in getattr(s, "titles", ())}
        heads_in_text += sum(1 for sp in shown if sp.text in title_texts)
        if len(s.documents) > 1:
            # The base: the member with the most paragraphs after its headline (earliest on ties).
            body = {d: len(by_doc[d]) - (bool(by_doc[d]) and paras[by_doc[d][0]].text in title_texts) for d in s.documents}
            base = max(s.documents, key=lambda d: (body[d], -s.documents.index(d)))
            lede_at = next((k for k, sp in enumerate(shown) if base in sp.documents), 0)
            before_lede += lede_at > 0
        shown_by_cluster: Dict[str, List[int]] = defaultdict(list)
        for sp in shown:
            if sp.cluster:
                shown_by_cluster[sp.cluster] += [i for i in text_index[sp.text] if cluster_of.get(i) == sp.cluster]
        first_paras = {by_doc[d][0] for d in s.documents if by_doc[d]}
        opened = 0  # the story's leading paragraphs that are each some document's first
        for sp in shown:
            if not (any(i in first_paras for i in text_index[sp.text])
                    or (sp.cluster and any(cluster_of.get(i) == sp.cluster for i in first_paras))):
                break
            opened += 1
        openings += opened > 1
        stories_twice += any(c > 1 for c in counts.values())
        for d in s.documents:
            for i in by_doc[d]:
                if paras[i].text in shown_texts:
                    continue
                c = cluster_of.get(i)
                variants = shown_by_cluster.get(c, []) if c else []
                if not variants:
                    lost += 1
                    if len(examples) < show:
                        examples.append(f"lost from {s.id}: {paras[i].text[:100]}")
                else:
                    against[i] = variants
    checked = np.array([(min(i, v), max(i, v)) for i, vs in against.items() for v in vs], dtype=np.int64).reshape(-1, 2)
    direct = {i for m in verify(checked, sets, config) for i in (m.a, m.b)} if checked.size else set()
    chained = sum(1 for i in against if i not in direct)
    row = {"documents": len(ids), "paragraphs": len(paras), "stories": len(result.stories),
           "multi_document_stories": sum(1 for s in result.stories if len(s.documents) > 1),
           "story_precision": prec, "false_pairs": false_pairs, "story_recall": rec, "missed_pairs": missed,
           "story_recall_smaller_by_paragraphs": rec_by_count, "true_document_pairs_smaller_by_paragraphs": len(truth_by_count),
           "true_document_pairs": len(truth), "paragraph_pairs": len(pairs), "jaccard_pairs": len(jac),
           "jaccard_pair_recall": jac_rec, "containment_only_pairs": len(cont), "containment_pair_recall": cont_rec,
           "clusters_printed_twice": twice, "stories_with_a_cluster_twice": stories_twice, "member_paragraphs_lost": lost, "member_paragraphs_chain_only": chained,
           "stories_with_several_openings": openings,
           "headlines_in_text": heads_in_text, "stories_with_text_before_the_base_lede": before_lede, "seconds": seconds}
    if docmh:
        texts = [c.text for c in result.documents]
        dg = document_minhash(texts)
        dprec, drec, dfalse, dmissed = precision_recall(dg, lab, truth)
        row.update({"docmh_precision": dprec, "docmh_false_pairs": dfalse, "docmh_recall": drec})
    print(f"\n{name}: {row['documents']} documents, {row['paragraphs']} paragraphs, {row['stories']} stories "
          f"({row['multi_document_stories']} of several documents), {seconds:.1f} s")
    print("| measure | dedupe | document MinHash |\n|---|---|---|")
    print(f"| story precision (pairs with the same label) | {prec:.3f} ({false_pairs} false pairs) | "
          + (f"{row['docmh_precision']:.3f} ({row['docmh_false_pairs']} false pairs) |" if docmh else "- |"))
    print(f"| story recall (of {len(truth)} document pairs sharing reporting) | {rec:.3f} ({missed} missed) | "
          + (f"{row['docmh_recall']:.3f} |" if docmh else "- |"))
    print(f"| story recall, smaller = fewer paragraphs (of {len(truth_by_count)}) | {rec_by_count:.3f} ({missed_by_count} missed) | - |")
    print(f"| paragraph-pair recall, Jaccard pairs ({len(jac)}) | {jac_rec:.3f} | - |")
    print(f"| paragraph-pair recall, containment-only pairs ({len(cont)}) | {cont_rec:.3f} | - |")
    print(f"| clusters printed twice in a story (stories with one) | {twice} ({stories_twice}) | - |")
    print(f"| member paragraphs lost / shown only through a chain | {lost} / {chained} | - |")
    print(f"| stories opening with more than one document's first paragraph | {openings} | - |")
    print(f"| stories showing another member's paragraph before the base's lede | {before_lede} | - |")
    print(f"| member headlines (a story's titles) repeated in its text | {heads_in_text} | - |")
    for e in examples:
        print("  " + e)
    return row


def fnc1(path: Path, limit: int) -> Tuple[List[dedupe.Document], Dict[str, str]]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    if limit:
        rows = rows[:limit]
    # No source field: each body is its own source, so per-source templates cannot apply.
    docs = [dedupe.Document(id=str(r["id"]), source=str(r["id"]), text=r["text"]) for r in rows]
    return docs, {str(r["id"]): str(r["claim"]) for r in rows}


def samples() -> Tuple[List[dedupe.Document], Dict[str, str]]:
    docs = list(dedupe.read_paths([str(ROOT / "samples")], dedupe.Config()))
    story = {d: k for k, members in SAMPLE_STORIES.items() for d in members}
    return docs, {d.id: story.get(d.id, "alone:" + d.id) for d in docs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="labelled bodies (JSON lines with id, text, claim)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N bodies (a quick look)")
    ap.add_argument("--no-docmh", action="store_true", help="skip the document-level MinHash comparison")
    ap.add_argument("--show", type=int, default=0, help="print up to K lost paragraphs")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    out = {}
    if args.data.is_file():
        docs, labels = fnc1(args.data, args.limit)
        out["fnc1"] = measure(f"FNC-1 bodies ({args.data.name})", docs, labels, not args.no_docmh, args.show)
    else:
        print(f"{args.data} not found: the FNC-1 figures are skipped (the bench data is not part of the product)")
    docs, labels = samples()
    out["samples"] = measure("samples/", docs, labels, not args.no_docmh, args.show)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
