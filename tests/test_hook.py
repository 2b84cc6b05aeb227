"""dedupe.hook without pre-commit: the fixer's byte-exact edits, settings, the checker and its baseline."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedupe.cli import main
from dedupe.config import Config
from dedupe.errors import ConfigError
from dedupe.hook.check import check, find_all
from dedupe.hook.fix import fix_file, fix_text
from dedupe.hook.settings import load_settings

P1 = "The city council voted on Tuesday to close the old harbour bridge for repairs that engineers say are long overdue."
P2 = "The closure will last at least six months, and ferries will run every twenty minutes during the morning rush."
P3 = "Residents of the east bank complained that the council had ignored warnings about the bridge for a decade."
P4 = "A new exhibition of maritime paintings opened at the town museum, drawing crowds despite the heavy rain."
P5 = "The curator said the collection had been stored in a basement for forty years before a donor paid for restoration."
P6 = "Tickets are free for children under twelve, and the museum will stay open late on Fridays until the spring."

CFG = Config()

# (input, expected output): noise lines go, every other byte stays.
FIX_CASES = [
    ("show image\n\n" + P1 + "\n\n" + P2 + "\n", P1 + "\n\n" + P2 + "\n"),
    (P1 + "\n\nAdvertisement\n\n" + P2 + "\n", P1 + "\n\n" + P2 + "\n"),
    (P1 + "\nAdvertisement\n" + P2 + "\n", P1 + "\n" + P2 + "\n"),
    (P1 + "\r\n\r\nAdvertisement\r\n\r\n" + P2 + "\r\n", P1 + "\r\n\r\n" + P2 + "\r\n"),
    (P1 + "\n\n\nAdvertisement\n\n" + P2, P1 + "\n\n\n" + P2),
    (P1 + "\n\nAdvertisement", P1),
    (P1 + "\n\nAdvertisement\n", P1 + "\n"),
    ("  " + P1 + "  \n \t\nshow image\n\n" + P2 + "\n\n", "  " + P1 + "  \n \t\n" + P2 + "\n\n"),
    (P1 + "\n\n" + P2 + "\n", P1 + "\n\n" + P2 + "\n"),  # nothing to do: untouched
]


@pytest.mark.parametrize("text, expected", FIX_CASES)
def test_fix_text_removes_only_noise_lines(text, expected):
    fixed, removals = fix_text(text, CFG)
    assert fixed == expected
    assert fix_text(fixed, CFG) == (fixed, [])  # idempotent
    assert all(r.text in text for r in removals)


def test_fix_text_reports_file_line_numbers():
    _, removals = fix_text(P1 + "\n\nAdvertisement\n\n" + P2 + "\n\nshow image\n", CFG)
    assert [(r.where, r.rule) for r in removals] == [("line 3", "advertisement"), ("line 7", "show-image")]


def _jsonl(tmp_path: Path) -> Path:
    lines = [
        '{"id": "a",  "text": "show image\\n\\n' + P1 + ' caf\\u00e9", "n": 1.50, "url": "https://x.example/a"}',
        '{"text":"' + P2 + ' café\\r\\nAdvertisement", "id":"b","z":[1, 2]}',
        '{"id": "c", "text": "' + P3 + '"}',
        "",
    ]
    path = tmp_path / "feed.jsonl"
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    return path


def test_fix_jsonl_rewrites_only_the_text_value(tmp_path):
    path = _jsonl(tmp_path)
    before = path.read_bytes().split(b"\r\n")
    result = fix_file(str(path), CFG)
    assert result.changed and [r.where for r in result.removals] == ["line 1", "line 2"]
    after = path.read_bytes().split(b"\r\n")
    # Escaping style kept: an ASCII-escaped value stays escaped, a raw UTF-8 one stays raw.
    assert after[0] == ('{"id": "a",  "text": "' + P1 + ' caf\\u00e9", "n": 1.50, "url": "https://x.example/a"}').encode()
    assert after[1] == ('{"text":"' + P2 + ' café", "id":"b","z":[1, 2]}').encode()
    assert after[2:] == before[2:]
    assert list(json.loads(after[1])) == ["text", "id", "z"]
    assert not fix_file(str(path), CFG).changed


def test_fix_file_keeps_bom_permissions_and_gzip_header(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_bytes(b"\xef\xbb\xbf" + (P1 + "\n\nshow image\n\n" + P2 + "\n").encode())
    os.chmod(txt, 0o640)
    assert fix_file(str(txt), CFG).changed
    assert txt.read_bytes() == b"\xef\xbb\xbf" + (P1 + "\n\n" + P2 + "\n").encode()
    assert oct(txt.stat().st_mode & 0o777) == oct(0o640)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left

    gz = tmp_path / "b.txt.gz"
    gz.write_bytes(gzip.compress(("Advertisement\n" + P3 + "\n").encode(), mtime=1234567))
    assert fix_file(str(gz), CFG).changed
    data = gz.read_bytes()
    assert gzip.decompress(data) == (P3 + "\n").encode()
    assert int.from_bytes(data[4:8], "little") == 1234567


def test_fix_file_never_rewrites_html_and_dry_run_writes_nothing(tmp_path):
    html = tmp_path / "p.html"
    html.write_text("<html><body><p>show image</p><p>" + P1 + "</p></body></html>")
    assert not fix_file(str(html), CFG).changed
    txt = tmp_path / "a.txt"
    txt.write_text("show image\n" + P1 + "\n")
    assert fix_file(str(txt), CFG, write=False).changed
    assert txt.read_text() == "show image\n" + P1 + "\n"


def test_fix_file_keeps_undecodable_bytes_with_replace(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_bytes(b"show image\n" + P1.encode() + b" \xff\xfe\n")
    with pytest.raises(Exception, match="not valid UTF-8"):
        fix_file(str(txt), CFG)
    assert fix_file(str(txt), Config(decode_errors="replace")).changed
    assert txt.read_bytes() == P1.encode() + b" \xff\xfe\n"


# --- settings ----------------------------------------------------------------------------


def test_settings_from_pyproject_and_setup_cfg(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dedupe]\ndata = ["corpus/", "more"]\nbaseline = "accepted.json"\n'
        'disabled-rules = ["photo-credit"]\njaccard-threshold = 0.6\ncontent_filter = false\n')
    s = load_settings(tmp_path)
    assert s.data == ("corpus", "more") and s.baseline == "accepted.json"
    assert s.config.disabled_rules == ("photo-credit",) and s.config.jaccard_threshold == 0.6
    assert s.config.content_filter is False
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "setup.cfg").write_text(
        "[dedupe]\ndata =\n    corpus\n    more\nnum-perm = 64\nbands = 16\nstory_min_share = 0.7\n"
        "content-filter = no\ndisabled-rules = photo-credit, ui-label\n")
    s = load_settings(tmp_path)
    assert s.data == ("corpus", "more") and s.config.num_perm == 64 and s.config.story_min_share == 0.7
    assert s.config.content_filter is False and s.config.disabled_rules == ("photo-credit", "ui-label")


@pytest.mark.parametrize("body, message", [
    ('[tool.dedupe]\ndatta = ["x"]\n', "unknown setting 'datta'"),
    ('[tool.dedupe]\nnum-perm = "many"\n', "'num-perm' must be a int"),
    ('[tool.dedupe]\njaccard-threshold = 2.0\n', "jaccard_threshold must be in"),
    ('[tool.dedupe]\ndisabled-rules = ["no-such-rule"]\n', "unknown rule 'no-such-rule'"),
    ('[tool.dedupe]\ndata = "x"\n', "'data' must be a list of strings"),
])
def test_settings_errors_name_the_key(tmp_path, body, message):
    (tmp_path / "pyproject.toml").write_text(body)
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(tmp_path)
    assert "pyproject.toml [tool.dedupe]" in str(err.value)


def test_settings_in_two_places_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dedupe]\n")
    (tmp_path / "setup.cfg").write_text("[dedupe]\n")
    with pytest.raises(ConfigError, match="both"):
        load_settings(tmp_path)


# --- checker -----------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository (the working directory) with a data folder: two outlets carry one story."""
    files = {
        "data/wire/bridge.txt": f"Bridge to close\n\n{P1}\n\n{P2}\n\n{P3}\n",
        "data/herald/bridge.txt": f"Harbour bridge shut\n\n{P1}\n\nAdvertisement\n\n{P2}\n",
        "data/herald/museum.txt": f"Museum opens\n\n{P4}\n\n{P5}\n",
        "data/feed.jsonl": json.dumps({"id": "m1", "source": "gazette", "text": P6 + "\n\nshow image"}) + "\n",
        "notes/README.txt": "show image\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_reports_noise_and_duplicates_against_the_whole_folder(repo):
    settings = load_settings(repo)
    found, accepted = check(settings, [str(repo / "data/herald/bridge.txt")])
    assert [f.message for f in found] == [
        "data/herald/bridge.txt: same story as data/wire/bridge.txt (2 near-duplicate paragraphs)",
        "data/herald/bridge.txt:5: advertisement: Advertisement",
    ]
    assert accepted == []
    found, _ = check(settings, [str(repo / "data/feed.jsonl"), str(repo / "notes/README.txt")])
    assert [f.message for f in found] == ["data/feed.jsonl:1: show-image: show image"]


def test_check_paragraph_level_message(repo):
    (repo / "data/herald/museum.txt").write_text(f"Museum opens\n\n{P4}\n\n{P5}\n\n{P6}\n\n{P1}\n")
    found, _ = check(load_settings(repo), ["data/herald/museum.txt"])
    assert [f.message for f in found] == [
        "data/herald/museum.txt: paragraph 4 near-duplicates data/herald/bridge.txt paragraph 1 (jaccard 1.00)",
        "data/herald/museum.txt: paragraph 4 near-duplicates data/wire/bridge.txt paragraph 1 (jaccard 1.00)",
        # A one-paragraph record carried whole is one story with the page (story_min_share).
        "data/herald/museum.txt: same story as data/feed.jsonl:1 (1 near-duplicate paragraph)",
    ]


def test_check_only_sees_files_git_has(repo):
    (repo / "data/wire/copy.txt").write_text(f"Copy\n\n{P4}\n\n{P5}\n")  # untracked: not part of a commit
    found, _ = check(load_settings(repo), ["data/herald/museum.txt"])
    assert found == []
    _git(repo, "add", "data/wire/copy.txt")
    found, _ = check(load_settings(repo), ["data/herald/museum.txt"])
    assert [f.message for f in found] == ["data/herald/museum.txt: same story as data/wire/copy.txt (2 near-duplicate paragraphs)"]


def test_verdict_does_not_depend_on_how_files_are_split(repo):
    settings = load_settings(repo)
    files = sorted(str(p.relative_to(repo)) for p in (repo / "data").rglob("*") if p.is_file())
    whole = [f.message for f in check(settings, files)[0]]
    assert len(whole) == 4
    for k in range(len(files) + 1):
        parts = [f.message for chunk in (files[:k], files[k:]) for f in check(settings, chunk)[0]]
        assert sorted(parts) == whole
    singles = sorted(f.message for name in files for f in check(settings, [name])[0])
    assert singles == whole
    assert whole == [f.message for f in find_all(settings)]


def test_baseline_accepts_known_findings_and_is_deterministic(repo):
    runner = CliRunner()
    result = runner.invoke(main, ["check", "data/herald/bridge.txt"])
    assert result.exit_code == 1 and "same story as" in result.output
    assert runner.invoke(main, ["check", "--write-baseline"]).exit_code == 0
    first = (repo / ".dedupe-baseline.json").read_bytes()
    assert runner.invoke(main, ["check", "--write-baseline"]).exit_code == 0
    assert (repo / ".dedupe-baseline.json").read_bytes() == first
    data = json.loads(first)
    assert data["duplicates"] == [["data/herald/bridge.txt", "data/wire/bridge.txt"]]
    assert {"document": "data/feed.jsonl#m1", "rule": "show-image", "text": "show image"} in data["noise"]
    assert data["noise"] == sorted(data["noise"], key=lambda e: (e["document"], e["rule"], e["text"]))
    result = runner.invoke(main, ["check", "data/herald/bridge.txt", "data/feed.jsonl"])
    assert result.exit_code == 0, result.output
    # A new noise line in an accepted file is still a finding.
    (repo / "data/herald/bridge.txt").write_text(f"Harbour bridge shut\n\n{P1}\n\nAdvertisement\n\n{P2}\n\nshow image\n")
    result = runner.invoke(main, ["check", "data/herald/bridge.txt"])
    assert result.exit_code == 1 and result.output.splitlines()[0] == "data/herald/bridge.txt:9: show-image: show image"


def test_cli_fix_and_exit_codes(repo):
    runner = CliRunner()
    result = runner.invoke(main, ["fix", "data/herald/bridge.txt", "data/wire/bridge.txt", "notes/README.txt"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "fixed data/herald/bridge.txt (1 noise line removed)"
    assert (repo / "notes/README.txt").read_text() == "show image\n"  # outside the data folder
    assert runner.invoke(main, ["fix", "data/herald/bridge.txt"]).exit_code == 0
    (repo / "pyproject.toml").write_text('[tool.dedupe]\ndata = ["nowhere"]\n')
    result = runner.invoke(main, ["check", "data/herald/bridge.txt"])
    assert result.exit_code == 5 and "data folder 'nowhere' does not exist" in result.output


def test_cli_fix_never_writes_through_a_link_outside_the_data_folders(repo):
    outside = repo / "notes" / "target.txt"
    outside.write_text("Title\n\nshow image\n\nThe mayor resigned on Monday after a long inquiry.\n")
    before = outside.read_bytes()
    link = repo / "data" / "herald" / "linked.txt"
    link.symlink_to(outside)
    result = CliRunner().invoke(main, ["fix", "data/herald/linked.txt"])
    assert result.exit_code == 0, result.output
    assert outside.read_bytes() == before and link.is_symlink()


def test_fix_text_breaks_lines_only_at_cr_and_lf():
    body = "Title of it\n\na\x0cb and more words here\n\nshow image\n\nx\u2028y and\x85 more\x1c words\n"
    fixed, removals = fix_text(body, Config())
    assert [r.text for r in removals] == ["show image"]
    assert fixed == "Title of it\n\na\x0cb and more words here\n\nx\u2028y and\x85 more\x1c words\n"


def test_fix_file_keeps_form_feed_and_line_separator_bytes(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_bytes("Title\r\n\r\na\x0cb words\r\n\r\nshow image\r\n\r\nx\u2028y words\r\n".encode())
    assert fix_file(str(txt), Config()).changed
    assert txt.read_bytes() == "Title\r\n\r\na\x0cb words\r\n\r\nx\u2028y words\r\n".encode()
