"""Write stage: the fast JSON lines are byte for byte ``json.dumps`` of the documented records."""
from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import dedupe
from dedupe.config import Config
from dedupe.model import Document
from dedupe.read import read_paths
from dedupe.write import _document_lines, _dumps, _story_lines, document_records, story_records, write_output

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _same_bytes(result):
    assert list(_story_lines(result)) == [_dumps(r) for r in story_records(result)]
    assert list(_document_lines(result)) == [_dumps(r) for r in document_records(result)]


def test_fast_lines_equal_dumps_of_the_records_on_the_samples():
    result = dedupe.run(read_paths([str(SAMPLES)], Config()), Config(workers=1))
    assert result.clusters and any(p["duplicate_of"] for r in document_records(result) for p in r["paragraphs"])
    _same_bytes(result)


_ODD = st.text(alphabet=st.sampled_from('ab "\\\n\t\x00\x1f\x7fé€𝄞\u2028/<>'), max_size=12)


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(_ODD, min_size=2, max_size=4, unique=True), source=_ODD, title=st.none() | _ODD,
       url=st.none() | _ODD, noise=_ODD)
def test_fast_lines_equal_dumps_of_the_records_on_odd_strings(ids, source, title, url, noise):
    body = "The harbour authority said the new quay would open to ferries in the spring of next year."
    docs = [Document(id=i, source=source, title=title, url=url,
                     text=f"Advertisement {noise}\n\n{body}\n\nA line of its own {noise} ends here.")
            for i in ids]
    result = dedupe.run(docs, Config(workers=1))
    assert result.clusters  # the shared body: duplicate_of and cluster fields are filled
    _same_bytes(result)


def test_written_files_are_the_records(tmp_path):
    result = dedupe.run(read_paths([str(SAMPLES)], Config()), Config(workers=1))
    out = write_output(result, tmp_path / "out")
    stories = [json.loads(line) for line in (out / "stories.jsonl").read_text(encoding="utf-8").splitlines()]
    documents = [json.loads(line) for line in (out / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert stories == json.loads(json.dumps(list(story_records(result))))
    assert documents == json.loads(json.dumps(list(document_records(result))))
    assert (out / "documents.jsonl").read_bytes().endswith(b"}\n")


def test_fast_lines_escape_cluster_ids_a_caller_made_up():
    """A Result built by hand may name clusters anything; their JSON is escaped like the rest."""
    from dataclasses import replace

    result = dedupe.run(read_paths([str(SAMPLES)], Config()), Config(workers=1))
    odd = {c.id: f'k"{n}\\é' if n % 2 else f"c{n}" for n, c in enumerate(result.clusters)}
    stories = tuple(replace(s, paragraphs=tuple(replace(p, cluster=odd.get(p.cluster)) for p in s.paragraphs))
                    for s in result.stories)
    clusters = tuple(replace(c, id=odd[c.id]) for c in result.clusters)
    _same_bytes(replace(result, clusters=clusters, stories=stories))


def test_fast_lines_when_stories_do_not_follow_the_documents():
    """Story lines are made in step with the document lines, reusing a one-document story's
    encoded text; stories out of document order, and a document that repeats a paragraph
    (its story drops the copy), still give the records' bytes."""
    from dataclasses import replace

    body = "The harbour authority said the new quay would open to ferries in the spring of next year."
    edited = body.replace("the spring", "the early spring")
    docs = [Document(id="a", source="s", text=f"{body}\n\nA second paragraph that ends here.\n\n{edited}"),
            Document(id="b", source="t", text="Something else entirely, about the weather in the hills today.")]
    result = dedupe.run(docs, Config(workers=1))
    assert result.stories[0].text != result.documents[0].text  # the repeat is in the story once
    _same_bytes(result)
    _same_bytes(replace(result, stories=tuple(reversed(result.stories))))
