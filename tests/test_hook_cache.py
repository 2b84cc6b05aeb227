"""dedupe check's cache: a cached call prints what an uncached one does, whatever changed
since the cache was written; and the cache is never stale, never corrupt, never in the way."""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import dedupe.hook.cache as hook_cache
from dedupe.hook.check import cache_folder, find_all
from dedupe.hook.settings import load_settings

WORDS = ("council harbour bridge repairs engineers ferries morning residents warnings decade museum exhibition "
         "paintings crowds curator collection basement donor restoration tickets children spring mayor budget "
         "election minister parliament police station court trial witness storm flood rescue hospital doctors "
         "school teachers strike union wages market prices farmers harvest drought river water supply").split()
#: A few real paragraphs that documents share (wire copy), and noise a source or the corpus repeats.
POOL = [" ".join(random.Random(k).choice(WORDS) for _ in range(random.Random(k + 99).randrange(14, 40))).capitalize() + "."
        for k in range(14)]
NOISE = ["Advertisement", "show image", "Follow us on Twitter for the latest news", "Scroll down for videos",
         "Newsletter Sign Up"]
SOURCES = ("wire", "herald", "gazette", "post")
#: Small corpus thresholds, so templates and corpus boilerplate are learned (and change) here.
PYPROJECT = """[tool.dedupe]
data = ["data"]
learn-min-documents = 3
learn-min-count = 2
corpus-min-documents = 3
corpus-min-stories = 2
corpus-min-sources = 2
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _article(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(1, 6)):
        roll = rng.random()
        if roll < 0.45:
            parts.append(rng.choice(POOL))
        elif roll < 0.65:  # an edited copy: a word changed, or cut short (containment)
            words = rng.choice(POOL).split()
            if rng.random() < 0.5:
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            else:
                words = words[: max(8, len(words) * 2 // 3)]
            parts.append(" ".join(words))
        elif roll < 0.85:
            parts.append(rng.choice(NOISE))
        else:
            parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(10, 30))) + ".")
    return "\n\n".join(parts) + "\n"


def _records(rng: random.Random) -> str:
    return "".join(json.dumps({"id": f"r{k}", "text": _article(rng)}) + "\n" for k in range(rng.randrange(1, 3)))


class Repo:
    """A data folder under git whose files the test edits; mtimes move forward explicitly, so
    the cache's stat shortcut is exercised (real edits in one test run land in one clock tick)."""

    def __init__(self, root: Path):
        self.root = root
        self.clock = int(time.time()) - 100_000
        (root / "pyproject.toml").write_text(PYPROJECT)
        _git(root, "init", "-q")
        _git(root, "config", "user.email", "t@example.invalid")
        _git(root, "config", "user.name", "t")

    def files(self):
        return sorted(p.relative_to(self.root).as_posix() for p in (self.root / "data").rglob("*") if p.is_file())

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.clock += 10
        os.utime(path, (self.clock, self.clock))

    def apply(self, op: str, rng: random.Random) -> None:
        files = self.files()
        if op == "add" or not files:
            source = rng.choice(SOURCES)
            if rng.random() < 0.2:
                self.write(f"data/{source}/feed{rng.randrange(10**6)}.jsonl", _records(rng))
            else:
                self.write(f"data/{source}/a{rng.randrange(10**6)}.txt", _article(rng))
        elif op == "edit":
            rel = rng.choice(files)
            self.write(rel, _records(rng) if rel.endswith(".jsonl") else _article(rng))
        elif op == "delete":
            _git(self.root, "rm", "-q", "-f", rng.choice(files))
        elif op == "rename":
            old = rng.choice(files)
            new = f"data/{rng.choice(SOURCES)}/m{rng.randrange(10**6)}{Path(old).suffix}"
            (self.root / new).parent.mkdir(parents=True, exist_ok=True)
            _git(self.root, "mv", old, new)
        elif op == "touch":
            path = self.root / rng.choice(files)
            self.clock += 10
            os.utime(path, (self.clock, self.clock))
        _git(self.root, "add", "-A", "data")


def _messages(settings, targets, use_cache):
    return [f.message for f in find_all(settings, targets, use_cache=use_cache)]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = Repo(tmp_path)
    rng = random.Random(5)
    for _ in range(12):
        r.apply("add", rng)
    return r


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), ops=st.lists(st.sampled_from(["add", "edit", "delete", "rename", "touch"]),
                                                 min_size=1, max_size=6),
       delta_max=st.sampled_from([0, 300, hook_cache.DELTA_MAX]), hit_step=st.sampled_from([1, 40, hook_cache.HIT_STEP]),
       slack=st.sampled_from([0, hook_cache.PAIRS_SLACK]))
def test_cached_verdict_equals_uncached_after_any_edits(tmp_path_factory, seed, ops, delta_max, hit_step, slack):
    """Random sequences of adds, edits, deletes, renames and touches: after each, every file's
    findings, all files' and a random split's, equal what ``--no-cache`` finds.  The postings
    base is rewritten often or never and looked up in small steps or at once, and the pairs
    of documents gone are compacted away early or late."""
    saved = hook_cache.DELTA_MAX, hook_cache.HIT_STEP, hook_cache.PAIRS_SLACK
    hook_cache.DELTA_MAX, hook_cache.HIT_STEP, hook_cache.PAIRS_SLACK = delta_max, hit_step, slack
    try:
        _edits_keep_the_verdict(tmp_path_factory.mktemp("repo"), seed, ops)
    finally:
        hook_cache.DELTA_MAX, hook_cache.HIT_STEP, hook_cache.PAIRS_SLACK = saved


def _edits_keep_the_verdict(root, seed, ops):
    repo = Repo(root)
    rng = random.Random(seed)
    for _ in range(8):
        repo.apply("add", rng)
    settings = load_settings(root)
    assert _messages(settings, None, True) == _messages(settings, None, False)
    for op in ops:
        repo.apply(op, rng)
        settings = load_settings(root)
        files = repo.files()
        part = sorted(rng.sample(files, k=rng.randrange(len(files) + 1))) if files else []
        cold_all = _messages(settings, None, False)
        assert _messages(settings, part, True) == _messages(settings, part, False), op
        assert _messages(settings, None, True) == cold_all, op
        split = [m for chunk in (part, sorted(set(files) - set(part))) for m in _messages(settings, chunk, True)]
        assert sorted(split) == cold_all  # however pre-commit splits the list


def test_the_corpus_learns_templates_and_boilerplate(repo):
    """The fixture data exercise what the cache must keep exact: learned template and corpus
    lines are among the findings (a test of the test data, so the property above means something)."""
    messages = _messages(load_settings(repo.root), None, False)
    assert any(": learned-template: " in m or ": corpus-boilerplate: " in m for m in messages), messages
    assert any("near-duplicates" in m or "same story" in m for m in messages)


def test_cache_lives_in_the_git_dir_and_is_reused(repo, caplog):
    settings = load_settings(repo.root)
    first = _messages(settings, None, True)
    folder = cache_folder(settings)
    assert folder == repo.root / ".git" / "dedupe" and (folder / hook_cache.FILENAME).is_file()
    assert "dedupe" not in subprocess.run(["git", "status", "--porcelain"], cwd=repo.root, capture_output=True,
                                          text=True).stdout
    assert _messages(settings, None, True) == first


def test_a_changed_setting_rebuilds_the_cache_and_says_why(repo, caplog):
    settings = load_settings(repo.root)
    _messages(settings, None, True)
    (repo.root / "pyproject.toml").write_text(PYPROJECT + "jaccard-threshold = 0.6\n")
    settings = load_settings(repo.root)
    with caplog.at_level("WARNING"):
        warm = _messages(settings, None, True)
    assert "rebuilt: settings changed (jaccard_threshold)" in caplog.text
    assert warm == _messages(settings, None, False)


@pytest.mark.parametrize("damage", ["garbage", "truncate", "state", "pairs"])
def test_a_corrupt_cache_is_rebuilt_never_trusted(repo, caplog, damage):
    settings = load_settings(repo.root)
    expected = _messages(settings, None, False)
    _messages(settings, None, True)
    path = cache_folder(settings) / hook_cache.FILENAME
    if damage == "garbage":
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.write_bytes(b"not a database at all" * 100)
    elif damage == "truncate":
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif damage == "pairs":  # tables out of step with the state: the pair count catches it
        conn = sqlite3.connect(str(path))
        conn.execute("UPDATE pairs SET data = substr(data, 1, length(data) - 32)")  # one pair short
        conn.commit()
        conn.close()
    else:  # a flipped byte in the state record: the checksum catches it
        conn = sqlite3.connect(str(path))
        blob = bytearray(conn.execute("SELECT data FROM state WHERE name = 'check'").fetchone()[0])
        blob[len(blob) // 2] ^= 0xFF
        conn.execute("UPDATE state SET data = ? WHERE name = 'check'", (bytes(blob),))
        conn.commit()
        conn.close()
    repo.apply("add", random.Random(1))  # a change, so the state is read and used
    expected = _messages(settings, None, False)
    with caplog.at_level("WARNING"):
        assert _messages(settings, None, True) == expected
    assert "rebuilt: corrupt" in caplog.text
    assert _messages(settings, None, True) == expected  # and the rebuilt one is good


def test_an_update_that_fails_midway_leaves_the_previous_state(repo, monkeypatch):
    """The write is one transaction: an error while writing (as a kill would be) rolls it
    back, and the next call answers right from what was there before."""
    settings = load_settings(repo.root)
    _messages(settings, None, True)
    repo.apply("add", random.Random(2))

    def broken(value):
        raise KeyboardInterrupt

    monkeypatch.setattr(hook_cache, "pack_state", broken)
    with pytest.raises(KeyboardInterrupt):
        _messages(settings, None, True)
    monkeypatch.undo()
    repo.apply("edit", random.Random(3))
    assert _messages(settings, None, True) == _messages(settings, None, False)


def test_a_stat_identical_rewrite_in_the_same_tick_is_seen(repo):
    """The racy case: a file rewritten with the same size and mtime right after the cache
    recorded it is hashed again, not trusted."""
    settings = load_settings(repo.root)
    rel = repo.files()[0]
    path = repo.root / rel
    os.utime(path, None)  # now: within RACY_SECONDS of the call below
    st = path.stat()
    _messages(settings, None, True)
    text = path.read_text()
    path.write_text(text.swapcase())  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _messages(settings, None, True) == _messages(settings, None, False)


def _dedupe(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dedupe", "check", *args], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_two_checks_at_once_neither_corrupt_nor_block(repo):
    expected = subprocess.run([sys.executable, "-m", "dedupe", "check", "--no-cache"], cwd=repo.root,
                              capture_output=True).stdout
    procs = [_dedupe(repo.root) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode in (0, 1) for p in procs), [e for _, e in outs]
    assert all(out == expected for out, _ in outs)
    assert subprocess.run([sys.executable, "-m", "dedupe", "check"], cwd=repo.root, capture_output=True).stdout == expected


def test_a_killed_check_leaves_a_usable_cache(repo):
    rng = random.Random(9)
    for _ in range(30):
        repo.apply("add", rng)
    expected = subprocess.run([sys.executable, "-m", "dedupe", "check", "--no-cache"], cwd=repo.root,
                              capture_output=True).stdout
    for delay in (0.3, 0.6, 0.9):
        repo.apply("edit", rng)
        expected = subprocess.run([sys.executable, "-m", "dedupe", "check", "--no-cache"], cwd=repo.root,
                                  capture_output=True).stdout
        proc = _dedupe(repo.root)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert subprocess.run([sys.executable, "-m", "dedupe", "check"], cwd=repo.root,
                              capture_output=True).stdout == expected


def test_deleting_the_cache_is_safe(repo):
    settings = load_settings(repo.root)
    first = _messages(settings, None, True)
    import shutil

    shutil.rmtree(cache_folder(settings))
    assert _messages(settings, None, True) == first


def test_a_missing_file_named_on_the_command_line_fails_as_without_the_cache(repo):
    from dedupe.errors import InputError

    settings = load_settings(repo.root)
    _messages(settings, None, True)
    errors = []
    for use_cache in (True, False):
        with pytest.raises(InputError) as err:
            find_all(settings, ["data/wire/missing.txt"], use_cache=use_cache)
        errors.append(str(err.value))
    assert errors[0] == errors[1]
