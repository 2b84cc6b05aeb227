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


# --- issue 13: every cluster once, nothing lost to a chain, one headline and one lede ---------

W = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
     "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def _chain():
    """Three paragraphs A~B, B~C (Jaccard >= 0.5 each) while A and C are far apart."""
    a = " ".join(W[0:16]) + "."
    b = " ".join(W[4:20]) + "."
    c = " ".join(W[8:24]) + "."
    return a, b, c


def _verifies(x: str, y: str) -> bool:
    import numpy as np

    from dedupe.candidates import verify
    from dedupe.fingerprint import shingle_hashes_batch
    cfg = Config()
    return bool(verify(np.array([[0, 1]]), shingle_hashes_batch([x, y], cfg), cfg))


def test_a_chain_is_split_so_every_member_verifies_against_its_canonical():
    a, b, c = _chain()
    assert _verifies(a, b) and _verifies(b, c) and not _verifies(a, c)
    lede = "The harbour authority said on Monday that the bridge would close for repairs over two weekends."
    docs = [_doc("one", "x", [lede, a]), _doc("two", "y", [lede, b]), _doc("three", "z", [lede, c])]
    result = run(docs)
    texts = [p.text for p in result.paragraphs]
    for cluster in result.clusters:
        canon = texts[cluster.canonical]
        assert all(_verifies(texts[m], canon) for m in cluster.members if m != cluster.canonical)
    (story,) = result.stories  # the chain still links the three documents (they share the lede too)
    shown = [p.text for p in story.paragraphs]
    clusters = [p.cluster for p in story.paragraphs if p.cluster]
    assert len(clusters) == len(set(clusters))  # every cluster once
    # Every member paragraph is shown, or verifies directly against the variant shown for it.
    by_cluster = {p.cluster: p.text for p in story.paragraphs if p.cluster}
    of = {m: cl.id for cl in result.clusters for m in cl.members}
    for i, text in enumerate(texts):
        assert text in shown or _verifies(text, by_cluster[of[i]])


def test_parts_of_a_merged_paragraph_in_another_story_are_shown_once_each():
    """A report that prints two wire paragraphs as one is the canonical of a star holding
    both (each is contained in it); a story that carries the two, but not that report, shows
    each once, as clusters of their own, since they do not verify against each other."""
    first, second = P[0], P[1]
    assert not _verifies(first, second)
    digest = ["A new ferry timetable starts in March, with an extra crossing to the islands on weekday evenings.",
              "The county library will open on Sundays from next month after volunteers offered to staff the desk.",
              "Roadworks on the coast road near Bellport are due to finish a fortnight early, the highways office said.",
              "A rare orchid found on the downs last summer has flowered again, to the delight of local botanists."]
    merged = _doc("digest", "d", [digest[0], first + " " + second] + digest[1:])
    carrier = _doc("carrier", "c", [first, second, UNRELATED[0]])
    result = run([merged, carrier])
    assert len(result.stories) == 2  # one shared paragraph on the digest's side: not one story
    story = next(s for s in result.stories if s.documents == ("carrier",))
    assert [p.text for p in story.paragraphs] == [first, second, UNRELATED[0]]  # each once, nothing lost
    clusters = [p.cluster for p in story.paragraphs if p.cluster]
    assert len(clusters) == len(set(clusters)) >= 1
    texts = [p.text for p in result.paragraphs]
    for cluster in result.clusters:  # every cluster is still a star
        assert all(_verifies(texts[m], texts[cluster.canonical]) for m in cluster.members if m != cluster.canonical)


def test_a_paragraph_printed_twice_in_the_base_is_shown_once():
    docs = [_doc("wire", "w", P[:3] + [P[1]] + P[3:]), _doc("herald", "h", P)]
    (story,) = run(docs).stories
    assert story.text.split("\n\n") == P


def test_a_story_has_one_title_and_the_text_repeats_no_headline():
    base_head = "Victoria Baths to close for two years of repairs"
    other_head = "Council shuts Victoria Baths as roof becomes unsafe"
    other_lede = "Swimmers in Harwick will have to find another pool from next month, the council decided."
    docs = [_doc("wire", "w", [base_head] + P),
            _doc("herald", "h", [other_head, other_lede] + P[1:4]),
            {"id": "metro", "source": "m", "title": "Baths close", "text": "\n\n".join(P[:3])}]
    (story,) = run(docs).stories
    assert story.title == base_head  # the base (most paragraphs) gives the title
    assert [(t.text, t.documents) for t in story.titles] == [
        (base_head, ("wire",)), (other_head, ("herald",)), ("Baths close", ("metro",))]
    text = story.text.split("\n\n")
    assert base_head not in text and other_head not in text
    assert text[0] == P[0]  # the base's lede opens the text
    # The other member's own lede is kept, after the base's lede, before the paragraph it precedes.
    assert text == [P[0], other_lede, P[1], P[2], P[3], P[4]]


def test_a_headline_is_a_title_only_when_worded_like_one():
    from dedupe.canonical import headline
    body = ["The rest of the article."]
    assert headline(None, ["Council shuts Victoria Baths as roof becomes unsafe"] + body)
    assert headline(None, ["华为表示愿意签署无间谍协议"] + body)
    for first in ["The council voted on Tuesday to close the baths.", "By Sylvia Westall", "BOSTON -", "Boston|",
                  "Updated at 11:45 p.m. ET", "Hailed as a hero: Kevin Vickers. Photo: Reuters"]:
        assert not headline(None, [first] + body), first
    assert not headline(None, ["Council shuts Victoria Baths"])  # a one-paragraph document keeps its text
    assert headline("Baths close", ["Baths  close"] + body) and not headline("Baths close", ["Other words"] + body)


def test_story_records_carry_title_and_titles(tmp_path):
    from dedupe import write_output
    docs = [_doc("wire", "w", ["Victoria Baths to close for two years of repairs"] + P), _doc("herald", "h", P)]
    write_output(run(docs), tmp_path / "out")
    (record,) = [json.loads(line) for line in (tmp_path / "out" / "stories.jsonl").read_text().splitlines()]
    assert record["title"] == "Victoria Baths to close for two years of repairs"
    assert record["titles"] == [{"documents": ["wire"], "text": record["title"]}]
    assert record["text"].split("\n\n") == P


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_story_text_holds_every_member_paragraph_once(rnd):
    """Random documents mixing chained, shared, merged (two paragraphs printed as one) and
    unique paragraphs: every cluster is shown at most once per story, and every member
    paragraph is shown or verifies directly against the variant shown for its cluster."""
    merged = [P[0] + " " + P[1], P[2] + " " + P[3]]  # contain their parts: stars of paragraphs that differ
    pool = [" ".join(W[k:k + 16]) + "." for k in range(0, 10, 2)] + P + UNRELATED + merged
    docs = [_doc(f"d{i}", f"s{i % 3}", rnd.sample(pool, rnd.randint(2, 6))) for i in range(8)]
    result = run(docs)
    of = {m: cl for cl in result.clusters for m in cl.members}
    for story in result.stories:
        titles = {t.text for t in story.titles}
        shown = {}
        for p in story.paragraphs:
            shown.setdefault(p.cluster, []).append(p.text)
        for cid, variants in shown.items():
            assert cid is None or len(variants) == 1, (story.id, cid, variants)
        for i, p in enumerate(result.paragraphs):
            if p.doc_id not in story.documents or p.text in titles:
                continue
            cl = of.get(i)
            if cl is None:
                assert p.text in shown.get(None, [])  # a paragraph in no cluster is shown as itself
            else:
                assert any(v == p.text or _verifies(p.text, v) for v in shown[cl.id])


def test_a_page_title_loses_the_site_name():
    from dedupe.canonical import without_site
    assert without_site("Valley Gazette - Corvane fleet grounded after engine cracks", "valley-gazette") == \
        "Corvane fleet grounded after engine cracks"
    assert without_site("Corvane fleet grounded | The Valley Gazette", "valley-gazette") == "Corvane fleet grounded"
    assert without_site("BBC News - Quake hits Chile", "www.bbc.co.uk") == "Quake hits Chile"
    for title in ["Chile quake: no tsunami", "Fed holds rates - markets rally", "Gazette"]:
        assert without_site(title, "valley-gazette") == title
    docs = [{"id": "a", "source": "valley-gazette", "title": "Valley Gazette - Baths to close", "text": "\n\n".join(P)},
            _doc("b", "wire", P[:3])]
    (story,) = run(docs).stories
    assert story.title == "Baths to close" and story.text.split("\n\n") == P
