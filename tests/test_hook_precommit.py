"""The hooks under the real pre-commit, in a throw-away git repository.

Most tests install the hooks of this checkout's ``.pre-commit-hooks.yaml`` as ``repo: local``
hooks with ``language: system`` and this interpreter's ``python -m dedupe`` as entry: the
manifest's ids, arguments, file patterns and ``require_serial`` are the published ones, but
nothing is downloaded, so they are fast and work offline.  One test
(``test_published_manifest_installs_with_try_repo``) lets pre-commit build the package from
this checkout in its own virtualenv (``pre-commit try-repo``), as users get it; it needs
PyPI (~25 s) and is skipped when the checkout is not a git repository with the manifest
tracked, or when DEDUPE_SKIP_TRY_REPO is set.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dedupe.config import Config
from dedupe.hook.fix import fix_text

pytest.importorskip("pre_commit")
yaml = pytest.importorskip("yaml")
if shutil.which("git") is None:  # pragma: no cover
    pytest.skip("git is not installed", allow_module_level=True)

CHECKOUT = Path(__file__).resolve().parent.parent
MANIFEST = CHECKOUT / ".pre-commit-hooks.yaml"

P1 = "The city council voted on Tuesday to close the old harbour bridge for repairs that engineers say are long overdue."
P2 = "The closure will last at least six months, and ferries will run every twenty minutes during the morning rush."
P3 = "Residents of the east bank complained that the council had ignored warnings about the bridge for a decade."
P4 = "A new exhibition of maritime paintings opened at the town museum, drawing crowds despite the heavy rain."
P5 = "The curator said the collection had been stored in a basement for forty years before a donor paid for restoration."


def _env(tmp_path: Path) -> dict:
    """Git and pre-commit isolated from the user's configuration, caches and hooks."""
    env = dict(os.environ)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Hook Test\n\temail = hook@example.invalid\n[init]\n\tdefaultBranch = main\n")
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               PRE_COMMIT_COLOR="never", NO_COLOR="1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "PRE_COMMIT"):
        env.pop(name, None)
    return env


class Repo:
    def __init__(self, root: Path, env: dict):
        self.root, self.env = root, env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(args), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=240)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("git", *args, check=check)

    def write(self, name: str, text: str, newline: str = "\n") -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.replace("\n", newline).encode("utf-8"))
        return path


def _local_config(parallel_check: bool = False) -> str:
    """The published hooks as `repo: local` hooks running this interpreter's dedupe."""
    hooks = yaml.safe_load(MANIFEST.read_text())
    for hook in hooks:
        args = shlex.split(hook["entry"])
        assert args[0] == "dedupe"
        hook["entry"] = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "dedupe", *args[1:]])
        hook["language"] = "system"
        if parallel_check and hook["id"] == "dedupe-check":
            hook["require_serial"] = False  # let pre-commit split the list over parallel calls
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False)


@pytest.fixture
def repo(tmp_path):
    r = Repo(tmp_path / "news", _env(tmp_path))
    r.root.mkdir()
    r.git("init", "-q")
    r.write("pyproject.toml", '[tool.dedupe]\ndata = ["data"]\n')
    r.write("data/wire/bridge.txt", f"Bridge to close\n\n{P1}\n\n{P2}\n\n{P3}\n")
    r.write("data/herald/museum.txt", f"Museum opens\n\n{P4}\n\n{P5}\n")
    r.write("docs/notes.txt", "show image\n")  # outside the data folder: never touched
    r.write(".pre-commit-config.yaml", _local_config())
    r.git("add", ".")
    r.git("commit", "-q", "-m", "base")  # no hooks yet
    r.run(sys.executable, "-m", "pre_commit", "install")
    return r


def test_commit_refused_fixed_then_accepted(repo):
    # CRLF file: noise and a copy of the committed wire story.
    noisy = f"Harbour bridge shut\n\nshow image\n\n{P1}\n\nAdvertisement\n\n{P2}\n"
    repo.write("data/herald/bridge.txt", noisy, newline="\r\n")
    repo.git("add", "data/herald/bridge.txt")
    refused = repo.git("commit", "-m", "add bridge", check=False)
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "fixed data/herald/bridge.txt (2 noise lines removed)" in out
    assert "data/herald/bridge.txt:3: show-image: show image" in out
    assert "data/herald/bridge.txt: same story as data/wire/bridge.txt (2 near-duplicate paragraphs)" in out
    # The fixer removed exactly the noise lines; the CRLF line endings stay.
    fixed = (repo.root / "data/herald/bridge.txt").read_bytes()
    assert fixed == f"Harbour bridge shut\r\n\r\n{P1}\r\n\r\n{P2}\r\n".encode()

    repo.git("add", "data/herald/bridge.txt")
    refused = repo.git("commit", "-m", "add bridge", check=False)
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "fixed " not in out
    assert not re.search(r"^data/herald/bridge.txt:\d+:", out, re.MULTILINE)  # no noise left
    assert "same story as data/wire/bridge.txt" in out

    # Accept the known duplicate: the baseline is committed with the file.
    repo.run(sys.executable, "-m", "dedupe", "check", "--write-baseline")
    assert json.loads((repo.root / ".dedupe-baseline.json").read_text())["duplicates"] == [
        ["data/herald/bridge.txt", "data/wire/bridge.txt"]]
    repo.git("add", ".dedupe-baseline.json", "data/herald/bridge.txt")
    repo.git("commit", "-q", "-m", "add bridge, a known copy")

    # A clean, original file commits; unstaged noise in it is not judged and survives the stash.
    repo.write("data/herald/fair.txt", "Fair day\n\nThe county fair returned after two years, with a record "
               "number of prize pumpkins entered by local growers.\n")
    repo.git("add", "data/herald/fair.txt")
    with (repo.root / "data/herald/fair.txt").open("a") as fh:
        fh.write("\nAdvertisement\n")
    repo.git("commit", "-q", "-m", "add fair")
    assert (repo.root / "data/herald/fair.txt").read_text().endswith("\nAdvertisement\n")
    assert repo.git("status", "--porcelain").stdout.strip() == "M data/herald/fair.txt"
    assert (repo.root / "docs/notes.txt").read_text() == "show image\n"


def test_same_verdict_however_pre_commit_splits_the_files(repo):
    repo.write(".pre-commit-config.yaml", _local_config(parallel_check=True))
    names = []
    for k in range(24):
        body = [f"Item {k}", f"Brief {k}: {P4 if k % 3 == 0 else 'the harbour authority published its quarterly figures'} "
                f"and {k} other notes were filed today by the desk.", "show image" if k % 2 else P5 if k % 5 == 0 else ""]
        names.append(f"data/bulk/item{k:02d}.txt")
        repo.write(names[-1], "\n\n".join(line for line in body if line) + "\n")
    repo.git("add", ".")
    before = {n: (repo.root / n).read_text() for n in names}

    direct = repo.run(sys.executable, "-m", "dedupe", "check", *names, check=False)
    expected = sorted(line for line in direct.stdout.splitlines() if line)
    assert direct.returncode == 1 and expected

    fix = repo.run(sys.executable, "-m", "pre_commit", "run", "dedupe-fix", "--files", *names, check=False)
    assert fix.returncode == 1
    for n in names:
        assert (repo.root / n).read_text() == fix_text(before[n], Config())[0]
    repo.git("add", ".")

    expected = sorted(line for line in repo.run(sys.executable, "-m", "dedupe", "check", *names, check=False)
                      .stdout.splitlines() if line)
    run = repo.run(sys.executable, "-m", "pre_commit", "run", "dedupe-check", "--verbose", "--files", *names, check=False)
    assert run.returncode == 1
    got = sorted(line for line in run.stdout.splitlines() if line.startswith("data/"))
    assert got == expected
    if multiprocessing.cpu_count() > 1 and not os.environ.get("PRE_COMMIT_NO_CONCURRENCY"):
        assert run.stdout.count("dedupe check: ") >= 2  # pre-commit really split the list
    # Each half alone, as pre-commit may call it, says the same about its files.
    halves = []
    for part in (names[::2], names[1::2]):
        halves += repo.run(sys.executable, "-m", "dedupe", "check", *part, check=False).stdout.splitlines()
    assert sorted(line for line in halves if line) == expected


def test_published_manifest_installs_with_try_repo(tmp_path, repo):
    if os.environ.get("DEDUPE_SKIP_TRY_REPO"):
        pytest.skip("DEDUPE_SKIP_TRY_REPO is set")
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", ".pre-commit-hooks.yaml", "dedupe/hook/check.py"],
                             cwd=CHECKOUT, capture_output=True)
    if tracked.returncode != 0:
        pytest.skip("the checkout is not a git repository with the hooks committed (try-repo clones it)")
    repo.write("data/herald/bridge.txt", f"Harbour bridge shut\n\n{P1}\n\nAdvertisement\n\n{P2}\n")
    repo.git("add", ".")
    run = repo.run(sys.executable, "-m", "pre_commit", "try-repo", str(CHECKOUT), "--files", "data/herald/bridge.txt",
                   check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "fixed data/herald/bridge.txt (1 noise line removed)" in out
    assert "data/herald/bridge.txt: same story as data/wire/bridge.txt (2 near-duplicate paragraphs)" in out
