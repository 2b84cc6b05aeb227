"""Clean stage: the table of cleaner cases, the seeds, learned templates, idempotence."""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import clean_and_explain, clean_text, run
from dedupe.clean.cleaner import text_lines
from dedupe.clean.learned import learn_templates
from dedupe.clean.rules import ALL_RULES, RULES_BY_NAME
from dedupe.config import Config
from dedupe.normalize import tokens

from .conftest import CASES, SAMPLES

CLEAN_CASES = json.loads((CASES / "clean_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CLEAN_CASES, ids=[c["name"] for c in CLEAN_CASES])
def test_clean_case(case):
    text, removals = clean_and_explain(case["input"])
    assert text == case["expected"]
    assert sorted({r.rule for r in removals}) == sorted(set(case["rules"]))


def test_case_table_has_negatives_and_every_named_rule():
    negatives = [c for c in CLEAN_CASES if not c["rules"]]
    assert len(negatives) >= 15
    fired = {rule for c in CLEAN_CASES for rule in c["rules"]}
    for name in ("show-image", "read-more-topic", "more-news", "related-articles", "file-photo-caption",
                 "repeated-headline", "advertisement", "share-prompt", "newsletter-prompt", "image-caption",
                 "image-copyright", "photo-credit", "caption-credit", "most-popular", "read-more",
                 "sponsored-links", "image-file-name"):
        assert name in fired, name
        assert name in RULES_BY_NAME


SEED_NOISE = {
    "000_305b4e1e439dfe75.txt": ["show image", "Read more on this topic:"],
    "004_073e3bd72a811505.txt": ["More news:", "FILE PHOTO:", "Related Articles"],
}


@pytest.mark.parametrize("name", sorted(SEED_NOISE))
def test_seed_noise_gone_article_kept_headline_once(name):
    raw = (SAMPLES / "seeds" / name).read_text(encoding="utf-8")
    cleaned = clean_text(raw)
    for noise in SEED_NOISE[name]:
        assert noise not in cleaned
    headline = raw.strip().splitlines()[0] if name.startswith("004") else raw.strip().splitlines()[2]
    assert cleaned.count(headline) == 1
    kept = set(cleaned.split("\n\n"))
    noise_lines = [line for line in raw.splitlines() if any(line.startswith(n) for n in SEED_NOISE[name])]
    for line in raw.splitlines():
        if line.strip() and line not in noise_lines and line.strip() != headline:
            assert line.strip() in kept, line


def test_every_removal_names_a_rule_line_and_reason():
    raw = (SAMPLES / "seeds" / "004_073e3bd72a811505.txt").read_text(encoding="utf-8")
    _, removals = clean_and_explain(raw)
    names = {r.name for r in ALL_RULES}
    lines = raw.splitlines()
    for r in removals:
        assert r.rule in names and r.reason
        assert lines[int(r.where.split()[1]) - 1].strip() == r.text


def test_related_articles_tail_stops_at_prose():
    first = "The first paragraph of the story says what happened, where and when, as such paragraphs do."
    last = "The story goes on after the box of links, the officials said on Tuesday in a statement."
    raw = f"Headline\n\n{first}\n\nRelated Articles\nLink title one\nAnother link title\n\n{last}"
    assert clean_text(raw).split("\n\n") == ["Headline", first, last]


def test_disabled_rule_keeps_line():
    assert clean_text("show image\n\nBody text of the article.", Config(disabled_rules=("show-image",))).startswith("show image")


def test_learned_templates_per_source_and_not_from_one_story():
    pages = [("metro", [f"Headline number {i}", "Metro Times | Your city, every day",
                        f"Article body number {i}: what the council decided on Monday night."])
             for i in range(5)]
    # One story published three times by another source: its lines are not a template.
    pages += [("herald", ["Same headline", "Same body sentence of the one story, told at length."]) for _ in range(3)]
    pages += [("herald", [f"Other {i}", f"Body {i} of another story, told at some length."]) for i in range(2)]
    learned = learn_templates(pages, Config())
    assert learned["metro"][0] == frozenset({"metro times | your city, every day"})
    assert "herald" not in learned


def test_learned_templates_need_enough_pages():
    pages = [("small", [f"H{i}", "Footer line", f"Body {i}."]) for i in range(3)]
    assert learn_templates(pages, Config()) == {}


def test_learned_template_removed_in_run_with_reason():
    docs = [{"id": f"m{i}", "source": "metro",
             "text": f"Story {i} headline\n\n{'abcdefghij'[i]} happened in the city on day {i}, police said.\n\n"
                     "© 2019 Metro Times. All rights reserved."} for i in range(5)]
    result = run(docs)
    for cleaned in result.documents:
        assert "Metro Times" not in cleaned.text
        (removal,) = cleaned.removals
        assert removal.rule == "learned-template" and "5 pages" in removal.reason


_line = st.one_of(
    st.sampled_from(["a\x0cb", "line\u2028separator", "x\x85y", "\x1c", "show image", "Advertisement", "Related Articles", "Share on Facebook", "Photo: AFP",
                     "More news: Something happened", "Read more: elsewhere", "FILE PHOTO: a logo", ""]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=80),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_line, max_size=12))
def test_cleaning_is_idempotent_and_never_adds_text(lines):
    raw = "\n".join(lines)
    once = clean_text(raw)
    assert clean_text(once) == once
    # Never adds text: every output line is an input line, and no token appears more often.
    raw_lines = {line.strip() for line in text_lines(raw)}
    assert all(line in raw_lines for line in once.split("\n\n") if line)
    out_tokens, in_tokens = tokens(once), tokens(raw)
    for tok in set(out_tokens):
        assert out_tokens.count(tok) <= in_tokens.count(tok)


def test_rule_patterns_are_whole_line():
    # A noise phrase inside an article sentence is never a match.
    for sentence in ["He said the show image of the car was fake.", "Share this article, she urged readers.",
                     "The related articles were published in 2019 by the journal."]:
        assert clean_text(sentence) == sentence
    assert re.search("show-image", " ".join(r.name for r in ALL_RULES))


def test_site_templates_learned_from_a_multi_page_folder():
    """samples/news: each outlet's masthead/footer lines go as learned templates; article text stays."""
    from dedupe.read import read_paths

    docs = list(read_paths([str(SAMPLES / "news")], Config()))
    result = run(docs)
    by_source = {}
    for cleaned in result.documents:
        by_source.setdefault(cleaned.document.source, []).append(cleaned)
    for source, template in (("metro-times", "Follow @metrotimes for breaking news"),
                             ("daily-herald", "Daily Herald | Local news you can trust")):
        pages = by_source[source]
        assert len(pages) >= 4
        for cleaned in pages:
            learned = [r.text for r in cleaned.removals if r.rule == "learned-template"]
            assert template in learned
            for line in learned:  # only lines repeated across the outlet's pages, never a story's own
                assert sum(line in p.document.text for p in pages) >= 3
            assert template not in cleaned.text
            # Every line of the page that no rule removed is still in the cleaned text.
            removed = {r.text for r in cleaned.removals}
            for line in cleaned.document.text.splitlines():
                if line.strip() and line.strip() not in removed:
                    assert line.strip() in cleaned.text.split("\n\n")
    # Outlets with one page learn nothing.
    for cleaned in by_source["tech-ledger"] + by_source["coastal-courier"]:
        assert not [r for r in cleaned.removals if r.rule == "learned-template"]


@pytest.mark.parametrize("sep", ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x0b"])
def test_lines_break_only_at_newline_and_carriage_return(sep):
    """A noise-line removal never splits or joins other lines at a character splitlines breaks at."""
    para = f"The mayor said the plan{sep}would be voted on in March, officials said on Monday."
    raw = f"Mayor backs plan\r\n\r\n{para}\rshow image\n\nThe council meets on Friday."
    text, removals = clean_and_explain(raw)
    assert text.split("\n\n") == ["Mayor backs plan", para, "The council meets on Friday."]
    assert [(r.rule, r.where) for r in removals] == [("show-image", "line 4")]
    assert text_lines(f"a{sep}b\r\nc\rd\n") == [f"a{sep}b", "c", "d"]


@pytest.mark.parametrize("name", ["corvane-jets-grounded", "council-victoria-baths", "halvorsen-ohio-plant",
                                  "harwick-town-cup-final"])
def test_masthead_goes_and_headline_kept_once_without_a_learned_template(name):
    """Issue 19.2: one Daily Herald page alone (no template learned): the masthead goes, the
    headline is the first paragraph, its second copy goes."""
    raw = (SAMPLES / "news" / "daily-herald" / f"{name}.txt").read_text(encoding="utf-8")
    masthead, headline = [line for line in raw.splitlines() if line.strip()][:2]
    text, removals = clean_and_explain(raw)
    paras = text.split("\n\n")
    assert paras[0] == headline and paras.count(headline) == 1
    assert masthead not in paras
    assert [r.rule for r in removals if r.text in (masthead, headline)] == ["masthead", "repeated-headline"]


def test_text_lines_keepends_round_trips():
    for raw in ["", "a", "a\n", "a\r\nb\rc\n\nd", "x\x0cy\u2028z\r\n"]:
        assert "".join(text_lines(raw, keepends=True)) == raw
    assert text_lines("a\x0cb\nc", keepends=True) == ["a\x0cb\n", "c"]


def test_a_link_list_heading_in_the_source_template_still_takes_its_list():
    # "Related" is on every page of this outlet (a template line); the link titles under it
    # differ from page to page, and go with it
    from dedupe.config import Config
    from dedupe.model import Document
    from dedupe.pipeline import clean_documents

    topics = ["bus routes", "library hours", "school meals", "park lighting", "bin collections"]
    docs = []
    for n, topic in enumerate(topics):
        body = (f"Council votes on {topic}\n\n"
                f"The council voted on Tuesday to change the {topic} after a long debate, officials said, "
                f"and the changes will start next month if the budget is approved.\n\n"
                f"Related\nResidents split over plans for {topics[n - 1]}\nWhat the new {topics[n - 2]} rules mean for you\n\n"
                f"Supporters said the change to the {topic} would save money, while critics said the council "
                f"had not consulted residents before the vote.")
        docs.append(Document(id=f"d{n}", source="outlet", text=body))
    for c in clean_documents(docs, Config()):
        assert not any(p.startswith(("Related", "Residents split", "What the new")) for p in c.paragraphs), c.paragraphs
        assert any(p.startswith("Supporters said") for p in c.paragraphs)
