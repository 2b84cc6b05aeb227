"""The review page: one self-contained HTML file that shows what a run did.

Built from a run's output folder (``stories.jsonl``, ``documents.jsonl``, ``report.json``),
never from the pipeline's internals, so it works on any earlier run.  The page is rendered
by Jinja2 with autoescaping on (everything that comes from the input is text, never
markup); its CSS and its one script are inline, and a Content-Security-Policy allows that
script alone (by its hash): no request leaves the page, and a ``<script>`` that escaped
escaping still would not run.

Size is bounded for large runs: the ``max_stories`` stories with the most sources are
shown in full (canonical text, source chips, every variant with a word-level diff), the
next ``max_listed`` are listed by title, and the documents shown in full are those of the
stories shown, up to ``max_documents``; the page says what it left out.  The same output
folder and options give the same bytes (the run's time comes from ``report.json``).

>>> from dedupe.review import word_diff
>>> [(op, text) for op, text in word_diff("the mayor resigned on Monday", "the mayor quit on Monday")]
[('same', 'the mayor '), ('del', 'resigned'), ('ins', 'quit'), ('same', ' on Monday')]
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from .. import __version__
from ..errors import InputError, OutputError
from . import charts

#: Stories shown in full, stories listed after them, documents shown in full (defaults of
#: ``dedupe report``): at 100k documents the page stays a few MB (README, "Review a run").
MAX_STORIES = 100
MAX_LISTED = 2000
MAX_DOCUMENTS = 500
#: Variants shown under one canonical paragraph (the rest are counted).
MAX_VARIANTS = 40
#: Characters of the lede that name a story without a headline.
_LEDE = 90
#: Other stories named beside a paragraph whose cluster they carry too.
_OTHER_STORIES = 3
#: Sources in the noise table and in the learned-lines list; learned lines per source.
MAX_SOURCES = 40
MAX_LEARNED_LINES = 12

_RULES_LEARNED = ("learned-template", "corpus-boilerplate")
#: The counts of report.json the overview shows ("?" for one an output lacks).
_REPORT_FIELDS = ("documents", "paragraphs", "clusters", "duplicate_paragraphs", "stories", "removals", "bytes_in",
                  "bytes_out", "seconds", "skipped")


@dataclass(frozen=True)
class Variant:
    """One paragraph of a cluster as one document carried it."""
    document: str
    anchor: Optional[str]  # the paragraph's id in the Documents section, when shown there
    source: str
    diff: Tuple[Tuple[str, str], ...]  # word_diff against the canonical paragraph; () when identical
    canonical: bool  # the paragraph the canonical text was taken from
    identical: bool
    match: Optional[dict]  # duplicate_of: the earlier paragraph it was verified against


@dataclass(frozen=True)
class StoryParagraph:
    text: str
    cluster: Optional[str]
    sources: Tuple[str, ...]
    documents: int
    chosen_from: str
    variants: Tuple[Variant, ...]  # the copies in the story's documents (the canonical's among them)
    more_variants: int  # ... not shown (beyond MAX_VARIANTS or max_documents)
    elsewhere: int  # the cluster's paragraphs outside this story's documents
    other_stories: Tuple[Tuple[str, Optional[str]], ...]  # (story id, its anchor when shown) of some of them


@dataclass(frozen=True)
class Story:
    id: str
    title: Optional[str]
    sources: Tuple[str, ...]
    documents: Tuple[str, ...]
    paragraphs: Tuple[StoryParagraph, ...]
    titles: Tuple[dict, ...]

    @property
    def lede(self) -> str:
        """The opening words of the text: what names a story that has no headline."""
        text = self.paragraphs[0].text if self.paragraphs else ""
        return text if len(text) <= _LEDE else text[:_LEDE].rsplit(" ", 1)[0] + " …"


@dataclass(frozen=True)
class Listed:
    """A story the page lists without showing it."""
    id: str
    title: Optional[str]
    sources: int
    documents: int
    paragraphs: int


@dataclass(frozen=True)
class DocParagraph:
    anchor: str
    text: str
    cluster: Optional[str]
    duplicate_of: Optional[dict]
    duplicate_anchor: Optional[str]


@dataclass(frozen=True)
class ShownDocument:
    anchor: str
    id: str
    source: str
    url: Optional[str]
    title: Optional[str]
    story: Optional[str]
    encoding: Optional[str]
    paragraphs: Tuple[DocParagraph, ...]
    removed: Tuple[dict, ...]


@dataclass(frozen=True)
class SourceNoise:
    source: str
    documents: int
    removed_lines: int
    kept_chars: int
    removed_chars: int

    @property
    def share(self) -> float:
        total = self.kept_chars + self.removed_chars
        return self.removed_chars / total if total else 0.0


@dataclass
class _Tally:
    """What the page needs of every document, gathered in one pass over ``documents.jsonl``."""
    jaccard: List[int] = field(default_factory=lambda: [0] * charts.SIMILARITY_BINS)
    containment: List[int] = field(default_factory=lambda: [0] * charts.SIMILARITY_BINS)
    matched: int = 0
    cluster_sizes: Counter = field(default_factory=Counter)
    per_source: Dict[str, List[int]] = field(default_factory=dict)  # docs, removed lines, kept chars, removed chars
    learned: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    documents: int = 0
    #: For each cluster a shown story carries: the stories that carry it, the first few.
    carried: Dict[str, List[str]] = field(default_factory=dict)


_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(canonical: str, variant: str) -> List[Tuple[str, str]]:
    """``[(op, text)]`` turning ``canonical`` into ``variant`` word by word (``op``: same,
    del, ins), by ``difflib.SequenceMatcher`` over words and the spaces between them."""
    a, b = _WORDS.findall(canonical), _WORDS.findall(variant)
    out: List[Tuple[str, str]] = []

    def put(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            put("same", "".join(a[i1:i2]))
        else:
            if i2 > i1:
                put("del", "".join(a[i1:i2]))
            if j2 > j1:
                put("ins", "".join(b[j1:j2]))
    return out


def _jsonl(path: Path, only: Optional[set] = None) -> Iterator[Tuple[int, dict]]:
    """``(line number from 0, record)`` of each non-blank line; with ``only``, just those
    lines (the others are not parsed)."""
    with open(path, encoding="utf-8") as f:
        n = -1
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            if only is not None and n not in only:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{number}: not a JSON object")
            yield n, record


def _output_files(out: Path) -> Tuple[Path, Path, Path]:
    """``(stories, documents, report.json)`` of an output folder: the JSONL files, or the
    Parquet folders of ``--output-format parquet`` (or of the Spark engine)."""
    if not out.is_dir():
        what = "is a file, not a folder" if out.exists() else "no such folder"
        raise InputError(f"{out}: {what} (give the output folder of a `dedupe run`)")
    files = [out / f"{name}.jsonl" if (out / f"{name}.jsonl").is_file() or not (out / name).is_dir() else out / name
             for name in ("stories", "documents")] + [out / "report.json"]
    missing = [p.name for p in files if not p.exists()]
    if missing:
        raise InputError(f"{out}: not a dedupe output folder (no {', '.join(missing)})")
    return files[0], files[1], files[2]


def _records(path: Path, only: Optional[set] = None) -> Iterator[Tuple[int, dict]]:
    """``_jsonl`` of a JSONL file, or the same of a Parquet folder's rows."""
    if not path.is_dir():
        yield from _jsonl(path, only)
        return
    from ..write_parquet import read_table

    try:
        for n, record in enumerate(read_table(path)):
            if only is None or n in only:
                yield n, record
    except OSError as err:  # pyarrow's errors are OSError or ArrowInvalid (a ValueError)
        raise InputError(f"{path}: cannot read: {err}") from None
    except ValueError as err:
        raise InputError(f"{path}: not a readable Parquet table ({err})") from None


def _tally(record: dict, tally: _Tally) -> None:
    tally.documents += 1
    source = str(record.get("source"))
    row = tally.per_source.setdefault(source, [0, 0, 0, 0])
    removed = record.get("removed") or ()
    row[0] += 1
    row[1] += len(removed)
    row[2] += len(record.get("text") or "")
    row[3] += sum(len(r.get("text") or "") for r in removed)
    for r in removed:
        if r.get("rule") in _RULES_LEARNED:
            tally.learned[source][(str(r.get("rule")), str(r.get("text")))] += 1
    for p in record.get("paragraphs") or ():
        if p.get("cluster") is not None:
            tally.cluster_sizes[p["cluster"]] += 1
            seen = tally.carried.get(p["cluster"])
            if seen is not None and len(seen) < _OTHER_STORIES + 1 and record.get("story") not in seen:
                seen.append(record.get("story"))
        dup = p.get("duplicate_of")
        if dup:
            tally.matched += 1
            tally.jaccard[charts.bin_of(dup.get("jaccard", 0.0))] += 1
            tally.containment[charts.bin_of(dup.get("containment", 0.0))] += 1


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _match(dup) -> Optional[dict]:
    """A paragraph's ``duplicate_of`` with the fields the page shows (None: not a duplicate)."""
    if not isinstance(dup, dict):
        return None
    return {key: dup.get(key) for key in ("document", "paragraph", "source", "jaccard", "containment")}


def _paragraphs(text: str, count: int) -> List[str]:
    parts = text.split("\n\n") if text else []
    return parts + [""] * (count - len(parts))


def build(out_dir, *, max_stories: int = MAX_STORIES, max_listed: int = MAX_LISTED,
          max_documents: int = MAX_DOCUMENTS, progress: Optional[Callable[[str, int, Optional[int]], None]] = None) -> dict:
    """The page's data (what the template renders) from the output folder ``out_dir``;
    ``progress(stage, done, total)`` is told how many documents are read (stage ``"review"``)."""
    out = Path(out_dir)
    stories_path, documents_path, report_path = _output_files(out)
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{report_path}: not valid JSON ({err})") from None
    if not isinstance(report, dict):
        raise InputError(f"{report_path}: not a JSON object")

    # Stories: a light row for each, the full records only of those shown.
    rows = []
    for n, s in _records(stories_path):
        rows.append((-len(s.get("sources") or ()), -len(s.get("documents") or ()), n, s.get("id"), s.get("title"),
                     len(s.get("paragraphs") or ())))
    rows.sort()
    shown_numbers = {row[2] for row in rows[:max_stories]}
    listed = [Listed(str(r[3]), r[4], -r[0], -r[1], r[5]) for r in rows[max_stories:max_stories + max_listed]]
    unlisted = max(0, len(rows) - max_stories - max_listed)
    by_number = dict(_records(stories_path, shown_numbers))
    full = [by_number[row[2]] for row in rows[:max_stories]]

    # The documents shown in full: those of the stories shown, in story order.
    wanted: Dict[str, int] = {}
    for s in full:
        for doc_id in [*(s.get("documents") or ()), *(d for p in s.get("paragraphs") or () for d in p.get("documents") or ())]:
            if doc_id not in wanted and len(wanted) < max_documents:
                wanted[doc_id] = len(wanted)
    tally = _Tally(carried={p["cluster"]: [] for s in full for p in s.get("paragraphs") or ()
                            if isinstance(p, dict) and p.get("cluster") is not None})
    records: Dict[str, dict] = {}
    total = report.get("documents") if isinstance(report.get("documents"), int) else None
    for _, record in _records(documents_path):
        _tally(record, tally)
        if progress is not None and (tally.documents % 2000 == 0 or tally.documents == total):
            progress("review", tally.documents, total)
        doc_id = record.get("id")
        if doc_id in wanted and doc_id not in records:
            records[doc_id] = record
    anchors = {doc_id: f"d{wanted[doc_id]}" for doc_id in records}
    story_anchors = {str(s.get("id")): f"story-{k}" for k, s in enumerate(full)}

    def anchor_of(doc_id: Optional[str], index: Optional[int]) -> Optional[str]:
        a = anchors.get(doc_id)  # type: ignore[arg-type]
        return None if a is None or index is None else f"{a}p{index}"

    stories = [_story(s, records, anchor_of, tally.cluster_sizes, tally.carried, story_anchors) for s in full]
    documents = [_document(records[d], anchors[d], anchor_of) for d in sorted(records, key=wanted.__getitem__)]
    sources = [SourceNoise(src, *row) for src, row in tally.per_source.items()]
    sources.sort(key=lambda s: (-s.documents, s.source))
    learned = [(src, [(rule, text, n) for (rule, text), n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))][:MAX_LEARNED_LINES],
                len(c)) for src, c in sorted(tally.learned.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))]
    thresholds = report.get("thresholds") if isinstance(report.get("thresholds"), dict) else {}
    by_rule = sorted(((str(rule), n) for rule, n in _mapping(report.get("removals_by_rule")).items() if isinstance(n, int)),
                     key=lambda kv: (-kv[1], kv[0]))
    story_sources = Counter(src for s in stories for src in s.sources)
    return {
        "version": __version__,
        "folder": out.name,
        "report": {key: report.get(key, "?") for key in _REPORT_FIELDS},
        "thresholds": thresholds,
        "rules_chart": charts.bars([(rule, n) for rule, n in by_rule]),
        "cluster_chart": charts.histogram(charts.size_bins(tally.cluster_sizes.values())),
        "jaccard_chart": charts.histogram(charts.similarity_bins(tally.jaccard), marker=thresholds.get("jaccard")),
        "containment_chart": charts.histogram(charts.similarity_bins(tally.containment),
                                              marker=thresholds.get("containment")),
        "matched": tally.matched,
        "clusters_seen": len(tally.cluster_sizes),
        "sources": sources[:MAX_SOURCES],
        "sources_total": len(sources),
        "learned": learned[:MAX_SOURCES],
        "learned_total": len(learned),
        "stories": stories,
        "stories_total": len(rows),
        "listed": listed,
        "unlisted": unlisted,
        "documents": documents,
        "documents_total": tally.documents,
        "filter_sources": [src for src, _ in sorted(story_sources.items(), key=lambda kv: (-kv[1], kv[0]))],
        "limits": {"stories": max_stories, "listed": max_listed, "documents": max_documents},
        "documents_cut": len(wanted) >= max_documents,
    }


def _story(s: dict, records: Dict[str, dict], anchor_of, cluster_sizes: Counter, carried: Dict[str, List[str]],
           story_anchors: Dict[str, str]) -> Story:
    paragraphs = s.get("paragraphs") or []
    texts = _paragraphs(s.get("text") or "", len(paragraphs))
    out = []
    for text, p in zip(texts, paragraphs):
        cluster = p.get("cluster")
        variants: List[Variant] = []
        more = 0
        carriers = p.get("documents") or ()
        for doc_id in carriers:
            record = records.get(doc_id)
            if record is None:
                more += 1  # beyond max_documents: counted, not shown
                continue
            doc_paragraphs = record.get("paragraphs") or []
            parts = _paragraphs(record.get("text") or "", len(doc_paragraphs))
            for dp, part in zip(doc_paragraphs, parts):
                if cluster is None:
                    if doc_id != p.get("chosen_from") or part != text:
                        continue
                elif dp.get("cluster") != cluster:
                    continue
                if len(variants) >= MAX_VARIANTS:
                    more += 1
                    continue
                variants.append(Variant(
                    document=doc_id, anchor=anchor_of(doc_id, dp.get("index")), source=str(record.get("source")),
                    diff=tuple(word_diff(text, part)) if part != text else (),
                    canonical=doc_id == p.get("chosen_from") and part == text, identical=part == text,
                    match=_match(dp.get("duplicate_of"))))
                if cluster is None:
                    break
        out.append(StoryParagraph(text=text, cluster=cluster, sources=tuple(p.get("sources") or ()),
                                  documents=len(carriers), chosen_from=str(p.get("chosen_from")),
                                  variants=tuple(variants), more_variants=more,
                                  elsewhere=max(0, cluster_sizes[cluster] - len(variants) - more) if cluster else 0,
                                  other_stories=tuple((str(o), story_anchors.get(str(o))) for o in carried.get(cluster, ())
                                                      if o is not None and str(o) != str(s.get("id")))[:_OTHER_STORIES]))
    return Story(id=str(s.get("id")), title=s.get("title"), sources=tuple(s.get("sources") or ()),
                 documents=tuple(s.get("documents") or ()), paragraphs=tuple(out),
                 titles=tuple({"text": t.get("text"), "documents": t.get("documents") or ()}
                              for t in s.get("titles") or () if isinstance(t, dict)))


def _document(record: dict, anchor: str, anchor_of) -> ShownDocument:
    paragraphs = record.get("paragraphs") or []
    parts = _paragraphs(record.get("text") or "", len(paragraphs))
    shown = []
    for p, text in zip(paragraphs, parts):
        dup = _match(p.get("duplicate_of"))
        shown.append(DocParagraph(anchor=f"{anchor}p{p.get('index')}", text=text, cluster=p.get("cluster"),
                                  duplicate_of=dup,
                                  duplicate_anchor=anchor_of(dup.get("document"), dup.get("paragraph")) if dup else None))
    return ShownDocument(anchor=anchor, id=str(record.get("id")), source=str(record.get("source")), url=record.get("url"),
                         title=record.get("title"), story=record.get("story"), encoding=record.get("encoding"),
                         paragraphs=tuple(shown),
                         removed=tuple({key: r.get(key, "") for key in ("where", "rule", "reason", "text")}
                                       for r in record.get("removed") or () if isinstance(r, dict)))


def _environment():
    try:
        import jinja2
    except ImportError:  # pragma: no cover - jinja2 is a core dependency
        raise OutputError("the review page needs Jinja2: pip install jinja2") from None
    env = jinja2.Environment(loader=jinja2.PackageLoader("dedupe.review", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    # Numbers from report.json and documents.jsonl; anything else (a hand-edited output) is shown as it is.
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, (int, float)) else str(n)
    env.filters["percent"] = lambda x: f"{100 * x:.1f}%"
    env.filters["similarity"] = lambda x: f"{x:.2f}" if isinstance(x, (int, float)) else "?"
    return env


def _pieces(out_dir, **options) -> Iterator[str]:
    env = _environment()
    data = build(out_dir, **options)
    script = env.get_template("review.js").render()
    style = env.get_template("review.css").render()
    return env.get_template("review.html.j2").generate(**data, script=script, style=style, script_hash=_csp_hash(script),
                                                       style_hash=_csp_hash(style))


def render(out_dir, **options) -> str:
    """The review page of the output folder ``out_dir`` as one HTML string (``options``: those of ``build``)."""
    return "".join(_pieces(out_dir, **options))


def _csp_hash(text: str) -> str:
    """The Content-Security-Policy source that allows exactly this inline script or style."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def write_review(out_dir, dest=None, **options) -> Path:
    """Render the review of ``out_dir`` into ``dest`` (default ``OUT/review.html``), atomically
    (a temporary file beside it, then renamed); ``options``: those of ``build``."""
    target = Path(dest) if dest is not None else Path(out_dir) / "review.html"
    pieces = _pieces(out_dir, **options)  # reads the output first: nothing is made for a missing one
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give the file to write (e.g. {target / 'review.html'})")
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(pieces)  # streamed: the page joined in memory would cost ~40x its size at 100k documents
        os.replace(tmp, target)
    except BaseException as err:  # Ctrl-C too: no temporary file is left behind
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # never made (its folder could not be)
        if isinstance(err, OSError):
            raise OutputError(f"{target}: cannot write the review page: {err.strerror or err}") from None
        raise
    return target


__all__ = ["build", "render", "write_review", "word_diff", "MAX_STORIES", "MAX_LISTED", "MAX_DOCUMENTS"]
