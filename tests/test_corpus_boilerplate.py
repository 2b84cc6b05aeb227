"""Corpus-wide boilerplate: short lines that recur across many documents of many stories."""
from __future__ import annotations

from dataclasses import replace

from dedupe.clean.learned import CorpusLine, corpus_keys, learn_corpus_keys, line_key
from dedupe.config import Config
from dedupe.model import Document
from dedupe.pipeline import clean_documents

TOPICS = ["harbour dredging", "school meals", "bridge repairs", "tram fares", "library hours", "flood defences",
          "bus lanes", "park lighting"]


def _story(topic: str, k: int) -> list:
    return [f"Council approves new plan for {topic} after a long debate on Tuesday evening in the town hall.",
            f"Officials said the work on {topic} would cost about {k + 2} million and take two years to finish.",
            f"Residents who spoke at the meeting were divided over whether {topic} should be the priority this year."]


def _doc(i: int, source: str, topic: str, extra=()) -> Document:
    lines = _story(topic, i)
    return Document(id=f"d{i}", source=source, text="\n\n".join([lines[0], *extra, *lines[1:]]))


def test_a_placeholder_on_many_stories_of_many_sources_is_learned_and_removed_with_its_counts():
    docs = [_doc(i, f"site{i % 4}", TOPICS[i], ["Tap to expand the map"] if i < 6 else []) for i in range(8)]
    cleaned = clean_documents(docs, Config())
    for c in cleaned[:6]:
        assert "Tap to expand the map" not in c.paragraphs
        (r,) = [r for r in c.removals if r.rule == "corpus-boilerplate"]
        assert "6 documents of 6 different stories (4 sources)" in r.reason
    assert all(len(c.paragraphs) == 3 for c in cleaned)


def test_a_wire_line_carried_by_many_outlets_of_one_story_is_text():
    # one story republished by six outlets, each with the same short subheading
    docs = [_doc(i, f"site{i}", "harbour dredging", ["What happens next"]) for i in range(6)]
    cleaned = clean_documents(docs, replace(Config(), learn_min_documents=100))
    assert all("What happens next" in c.paragraphs for c in cleaned)


def test_a_sentence_is_never_corpus_boilerplate():
    docs = [_doc(i, f"site{i % 4}", TOPICS[i], ["He declined to comment."]) for i in range(8)]
    cleaned = clean_documents(docs, Config())
    assert all("He declined to comment." in c.paragraphs for c in cleaned)


def test_thresholds_and_switch():
    docs = [("s%d" % (i % 3), (i, i, i, i), frozenset({line_key("Video loading")})) for i in range(3)]
    assert learn_corpus_keys(docs, Config()) == {line_key("Video loading"): CorpusLine(3, 3, 3)}
    assert learn_corpus_keys(docs[:2], Config()) == {}  # too few documents
    same_story = [(s, (7, i, i, i), k) for i, (s, _, k) in enumerate(docs)]  # all share one MinHash
    assert learn_corpus_keys(same_story, Config()) == {}  # one story, however many copies
    assert learn_corpus_keys(docs, replace(Config(), corpus_min_documents=0)) == {}  # switched off
    off = [_doc(i, f"site{i % 4}", TOPICS[i], ["Tap to expand the map"]) for i in range(8)]
    kept = clean_documents(off, replace(Config(), disabled_rules=("corpus-boilerplate",)))
    assert all("Tap to expand the map" in c.paragraphs for c in kept)


def test_story_key_is_shared_by_copies_and_candidates_exclude_sentences():
    a = _story("tram fares", 1) + ["Video loading", "He declined to comment."]
    story_a, short_a = corpus_keys(a)
    story_b, _ = corpus_keys(list(reversed(a)))
    assert story_a == story_b
    assert short_a == frozenset({line_key("Video loading")})
