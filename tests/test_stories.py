"""Collapse stages end to end through ``dedupe.run``: known-answer clusters and stories."""
from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import Config, run

from .conftest import CASES

P = [
    "The city council voted on Tuesday to close the Victoria Baths for two years of repairs, ending weeks of debate.",
    "Council leader Anne Moss said the building's roof had become unsafe and the pool's heating system was beyond repair.",
    "Swimming clubs that use the baths will be offered lanes at the Northgate leisure centre while the work is carried out.",
    "The repairs are expected to cost 4.2 million pounds, to be paid from the council's capital budget over three years.",
    "Campaigners had called for the baths to stay open during the repairs, but engineers said that was not possible.",
]
UNRELATED = [
    "Harwick Town beat Millbrook Rovers 3-1 in the county cup final on Saturday, with two goals from striker Leon Price.",
    "The win gives Harwick their first trophy in eleven years and a place in next season's regional shield competition.",
    "The club did not respond to a request for comment.",
]


def _doc(doc_id, source, paragraphs):
    return {"id": doc_id, "source": source, "text": "\n\n".join(paragraphs)}


def test_republished_story_collapses_with_every_unique_paragraph():
    edited = P[1].replace("Council leader Anne Moss said", "Anne Moss, the council leader, said")
    extra = "A petition to keep the baths open had gathered more than 3,000 signatures by Monday evening."
    docs = [
        _doc("wire/1", "wire", P),
        _doc("herald/1", "herald", [P[0], edited, extra, P[2], P[3]]),  # edited, one extra, one dropped
        _doc("sport/1", "sport", UNRELATED),
    ]
    result = run(docs)
    stories = {s.documents: s for s in result.stories}
    assert set(stories) == {("wire/1", "herald/1"), ("sport/1",)}
    text = stories[("wire/1", "herald/1")].text.split("\n\n")
    # Every shared paragraph once, each unique paragraph kept, in reading order.
    assert text == [P[0], P[1], extra, P[2], P[3], P[4]] or text == [P[0], edited, extra, P[2], P[3], P[4]]
    assert stories[("sport/1",)].text.split("\n\n") == UNRELATED


def test_one_stock_sentence_does_not_link_unrelated_articles():
    stock = "The company did not respond to a request for comment on Monday."
    a = ["Shares in Corvane Aviation fell 8% after regulators grounded its regional jets for inspections.", stock,
         "Analysts said the grounding could cost the airline up to 40 million dollars in lost revenue."]
    b = ["A chemical plant in Ohio will close next spring, putting 600 people out of work, its owner said.", stock,
         "Local officials said they would seek new tenants for the site, which opened in 1974."]
    result = run([_doc("a", "x", a), _doc("b", "y", b)])
    assert [s.documents for s in result.stories] == [("a",), ("b",)]
    assert result.report.clusters == 1  # the stock sentence itself is still found as a duplicate


def test_short_stock_lines_do_not_link_unrelated_articles():
    # A poll's "Yes." / "No." and a bare name on two unrelated pages, left by the cleaner (its
    # content filter is off here): three shared clusters, yet they are not shared reporting.
    a = ["Shares in Corvane Aviation fell 8% after regulators grounded its regional jets for inspections.",
         "Yes.", "No.", "Kim Jong Un"]
    b = ["A chemical plant in Ohio will close next spring, putting 600 people out of work, its owner said.",
         "Yes.", "No.", "Kim Jong Un"]
    kept = Config(content_filter=False)
    result = run([_doc("a", "x", a), _doc("b", "y", b)], kept)
    assert [s.documents for s in result.stories] == [("a",), ("b",)]
    assert result.report.clusters == 3  # still collapsed as duplicates
    # With the floor off they chain the two pages into one story, as they did before it.
    loose = run([_doc("a", "x", a), _doc("b", "y", b)], replace(kept, story_min_shingles=0))
    assert [s.documents for s in loose.stories] == [("a", "b")]


def test_abridged_copy_joins_the_story_and_longest_variant_is_canonical():
    trimmed = P[3].split(",")[0] + "."
    result = run([_doc("full", "wire", P), _doc("short", "metro", [P[0], trimmed, P[1]])])
    (story,) = result.stories
    assert story.documents == ("full", "short")
    assert story.text.split("\n\n") == P
    by_text = {p.text: p for p in story.paragraphs}
    assert by_text[P[0]].documents == ("full", "short")
    assert by_text[P[4]].documents == ("full",)


def test_source_priority_policy_picks_the_preferred_variant():
    edited = P[0].replace("on Tuesday", "on Tuesday evening")
    docs = [_doc("a", "blog", [edited] + P[1:]), _doc("b", "wire", P)]
    cfg = Config(canonical_policy="source-priority", source_priority=("wire",))
    (story,) = run(docs, cfg).stories
    assert story.paragraphs[0].text == P[0] and story.paragraphs[0].chosen_from == "b"
    (story,) = run(docs).stories
    assert story.paragraphs[0].text == edited  # longest by default


def test_documents_report_duplicates_with_similarity():
    result = run([_doc("a", "x", P), _doc("b", "y", P[:3])])
    assert result.report.clusters == 3 and result.report.duplicate_paragraphs == 3
    for m in result.matches:
        assert m.jaccard == 1.0 and result.paragraphs[m.a].doc_id == "a"


KNOWN = json.loads((CASES / "cluster_cases.json").read_text(encoding="utf-8")) if (CASES / "cluster_cases.json").exists() else []


@pytest.mark.parametrize("case", KNOWN, ids=[c["name"] for c in KNOWN])
def test_known_answer_stories(case):
    result = run(case["documents"])
    assert sorted(sorted(s.documents) for s in result.stories) == sorted(sorted(s) for s in case["expected_stories"])


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_clusters_partition_and_stories_independent_of_input_order(rnd):
    docs = [_doc("wire", "w", P), _doc("herald", "h", [P[0], P[2], P[4]]), _doc("sport", "s", UNRELATED),
            _doc("metro", "m", [P[1], P[3], UNRELATED[2]])]
    shuffled = docs[:]
    rnd.shuffle(shuffled)
    base, other = run(docs), run(shuffled)
    members = [i for c in other.clusters for i in c.members]
    assert len(members) == len(set(members))  # a paragraph is in at most one cluster
    assert sorted(d for s in other.stories for d in s.documents) == sorted(d["id"] for d in docs)
    assert sorted(sorted(s.documents) for s in base.stories) == sorted(sorted(s.documents) for s in other.stories)
    assert sorted(s.text for s in base.stories) == sorted(s.text for s in other.stories) or rnd is None


def test_empty_input_gives_empty_result():
    result = run([])
    assert result.stories == () and result.report.documents == 0


def test_random_documents_never_lose_a_paragraph():
    rnd = random.Random(7)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho".split()
    docs = [_doc(f"d{i}", f"s{i % 3}", [" ".join(rnd.choices(words, k=rnd.randint(5, 30))) + "." for _ in range(4)])
            for i in range(30)]
    result = run(docs)
    story_texts = [s.text for s in result.stories]
    clustered = {i: c for c in result.clusters for i in c.members}
    for i, p in enumerate(result.paragraphs):
        story = next(s for s in result.stories if p.doc_id in s.documents)
        if i not in clustered:
            assert p.text in story.text.split("\n\n")
    assert len(story_texts) == len(result.stories)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=40),
       st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["ab", "abc", "b", "abcd"])), min_size=30, max_size=30),
       st.sampled_from(["longest", "source-priority"]))
def test_build_clusters_equals_grouping_by_hand(edges, shapes, policy):
    """Clusters: components of two or more, in order of their smallest member, members in
    order, the canonical by the documented policy (vectorised "longest" included)."""
    from collections import defaultdict

    from dedupe.canonical import build_clusters
    from dedupe.cluster import connected_components
    from dedupe.model import Paragraph

    paragraphs = [Paragraph(f"d{i}", 0, text, f"s{i % 3}") for i, (_, text) in enumerate(shapes)]
    sizes = [size for size, _ in shapes]
    config = Config(canonical_policy=policy, source_priority=("s2", "s1"))
    labels = connected_components(len(shapes), edges)
    groups = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        groups[label].append(i)
    expected = []
    for label in sorted(groups):
        members = groups[label]
        if len(members) < 2:
            continue
        pool = members
        if policy == "source-priority":
            ranked = [i for i in members if paragraphs[i].source in ("s2", "s1")]
            if ranked:
                top = min(("s2", "s1").index(paragraphs[i].source) for i in ranked)
                pool = [i for i in ranked if ("s2", "s1").index(paragraphs[i].source) == top]
        expected.append((tuple(members), min(pool, key=lambda i: (-sizes[i], -len(paragraphs[i].text), i))))
    clusters, cluster_of = build_clusters(labels, paragraphs, sizes, config)
    assert [(c.members, c.canonical) for c in clusters] == expected
    assert cluster_of == {i: c.id for c in clusters for i in c.members}
    assert [c.id for c in clusters] == [f"c{k:06d}" for k in range(1, len(clusters) + 1)]
