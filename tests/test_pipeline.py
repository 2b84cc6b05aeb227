"""The pipeline at scale: worker processes, chunking and learned templates never change the output."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedupe
from dedupe import pipeline
from dedupe.clean.learned import learn_template_keys, learn_templates, line_key, page_keys
from dedupe.config import Config
from dedupe.normalize import normalize_for_hashing
from dedupe.write import document_records, story_records

from .conftest import SHARED_BENCH

NEWS = SHARED_BENCH / "data" / "news-paragraphs.jsonl"


def _corpus(count: int = 400):
    """Documents of real news paragraphs: outlets with a template line, edited copies."""
    if not NEWS.is_file():
        pytest.skip(f"benchmark data absent: {NEWS}")
    rng = random.Random(3)
    with NEWS.open(encoding="utf-8") as fh:
        rows = [json.loads(line)["text"] for _, line in zip(range(1200), fh)]
    docs = []
    for d in range(count):
        source = f"outlet-{d % 5}"
        body = [rows[rng.randrange(len(rows))] for _ in range(rng.randint(1, 6))]
        if d % 3 == 0:  # a republished copy, lightly edited
            body = [p.replace(" the ", " a ", 1) for p in body]
        lines = [f"Headline number {d}", *body, f"Follow {source} on social media"]
        docs.append({"id": f"d{d:04d}", "source": source, "text": "\n\n".join(lines)})
    return docs


def _records(result):
    return [json.dumps(r, sort_keys=True) for r in (*story_records(result), *document_records(result))]


def test_output_does_not_depend_on_workers_or_chunks(monkeypatch):
    docs = _corpus()
    expected = _records(dedupe.run(docs, Config(workers=1)))
    monkeypatch.setattr(pipeline, "CHUNK_DOCUMENTS", 37)  # many chunks: several per worker
    for workers in (1, 2, 3):
        assert _records(dedupe.run(docs, Config(workers=workers))) == expected
    result = dedupe.run(docs, Config(workers=2))
    assert any(r.rule == "learned-template" for c in result.documents for r in c.removals)  # templates learned in workers
    assert result.clusters and len(result.stories) < len(docs)


def test_streamed_input_goes_through_the_spool_with_the_same_output(monkeypatch):
    """A generator (what the CLI passes) is read into the spool while the workers start on
    it; HTML pages, many chunks and any number of workers give the list's output."""
    docs = _corpus(300)
    for d in docs[::7]:  # some pages arrive as HTML
        body = "".join(f"<p>{p}</p>" for p in d["text"].split("\n\n"))
        d.update(kind="html", text=f"<html><body><nav><a href='/'>Home</a></nav><article>{body}</article></body></html>")
    expected = _records(dedupe.run(docs, Config(workers=1)))
    monkeypatch.setattr(pipeline, "CHUNK_DOCUMENTS", 23)
    for workers in (2, 3):
        result = dedupe.run((d for d in docs), Config(workers=workers))
        assert _records(result) == expected
        assert [c.document.text for c in result.documents] == [d["text"] for d in docs]  # keep_input_text
        assert result.report.bytes_in == sum(len(d["text"].encode("utf-8")) for d in docs)
    lean = dedupe.run(iter(docs), Config(workers=2, keep_input_text=False))
    assert _records(lean) == expected and {c.document.text for c in lean.documents} == {""}


def test_without_text_keeps_every_other_field():
    from dataclasses import fields, replace

    from dedupe.model import Document

    doc = Document(**{f.name: f"{f.name}-value" for f in fields(Document)})
    assert pipeline._without_text(doc) == replace(doc, text="")


def test_lone_surrogate_in_streamed_input_is_caught_by_the_spool():
    from dedupe.errors import InputError

    docs = [{"id": f"d{i}", "text": f"Paragraph {i} about the harbour."} for i in range(50)]
    docs[30]["text"] = "Broken \ud800 text."
    with pytest.raises(InputError, match="item 30: text holds a lone surrogate"):
        dedupe.run((d for d in docs), Config(workers=2))
    result = dedupe.run((d for d in docs), Config(workers=2, decode_errors="replace"))
    assert result.documents[30].text == "Broken \ufffd text."


def test_duplicate_of_is_the_earliest_verified_match():
    """duplicate_of is the earliest verified band candidate (what ``dedupe index`` answers);
    pairs found through containment keys only join clusters."""
    docs = _corpus(120)
    result = dedupe.run(docs, Config(workers=1))
    every = dedupe.pipeline.all_matches(result.paragraphs, Config(), containment=False)
    earliest = {}
    for m in every:
        earliest[m.b] = min(earliest.get(m.b, m.a), m.a)
    got = {}
    position = {(p.doc_id, p.index): i for i, p in enumerate(result.paragraphs)}
    for rec in document_records(result):
        for p in rec["paragraphs"]:
            of = p["duplicate_of"]
            if of is not None:
                got[position[(rec["id"], p["index"])]] = position[(of["document"], of["paragraph"])]
    assert got == earliest and got


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_line_key_is_the_hash_of_the_normalised_line(text):
    from hashlib import blake2b

    slow = int.from_bytes(blake2b(normalize_for_hashing(text).encode("utf-8"), digest_size=8).digest(), "little")
    assert line_key(text) == slow


def test_learning_by_keys_equals_learning_by_lines():
    pages = [("s", [f"Headline {i}", "Follow us", "Share", f"Body of the article number {i}."]) for i in range(6)]
    pages += [("t", ["Only one page", "Follow us"])]
    by_lines = learn_templates(pages, Config())
    by_keys = learn_template_keys([(s, *page_keys(lines)) for s, lines in pages], Config())
    assert {s: ({line_key(x) for x in lines}, n) for s, (lines, n) in by_lines.items()} == \
        {s: (set(keys), n) for s, (keys, n) in by_keys.items()}


def test_document_records_from_a_hand_built_result_equal_the_pipelines():
    """document_records reads the match arrays of dedupe.run, or any sequence of Match (whose
    pairs all count as band matches: the pipeline's containment-only pairs are left out)."""
    import dataclasses

    result = dedupe.run(_corpus(120), Config(workers=1))
    banded = result.matches.banded
    assert banded is not None and not banded.all(), "the corpus should hold containment-only pairs"
    plain = dataclasses.replace(result, matches=tuple(m for m, b in zip(result.matches, banded.tolist()) if b))
    assert list(document_records(plain)) == list(document_records(result))
    assert any(p["duplicate_of"] for rec in document_records(plain) for p in rec["paragraphs"])
