"""Bad data through the public API raises a DedupeError subclass with a message (issue 11.9, 19.4, 11.8)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from dedupe import Config, Index
from dedupe.cli import main
from dedupe.errors import ConfigError, IndexStoreError, InputError

TEXT = "The mayor resigned on Monday after a long inquiry into the city budget and its auditors."


def test_remove_takes_one_id_or_many_never_a_strings_letters(tmp_path):
    with Index.open(tmp_path / "i.db", Config(learn_min_documents=10**9)) as index:
        index.add([{"id": i, "source": "x", "text": f"{TEXT} {i}"} for i in ("a", "b", "c", "abc")])
        assert index.remove("abc") == 1
        assert index.stats().documents == 3
        assert index.remove(["a", "b"]) == 2
        assert index.remove(("c",)) == 1
        with pytest.raises(InputError, match="document id"):
            index.remove(5)


@pytest.mark.parametrize("url", [
    "redis://:secret@127.0.0.1:1/0",
    "redis://user:secret@127.0.0.1:1/0",
    "rediss://user:secret@127.0.0.1:1/0",
    "redis://secret@127.0.0.1:1/0",
    "redis://127.0.0.1:1/0?password=secret",
    "unix://:secret@/nonexistent/redis.sock",
])
def test_redis_password_never_in_messages(url, caplog):
    pytest.importorskip("redis")
    with pytest.raises(IndexStoreError) as err:
        Index.open(url)
    assert "secret" not in str(err.value) and "***" in str(err.value)
    result = CliRunner().invoke(main, ["index", "stats", "--index", url])
    assert result.exit_code == 7
    assert "secret" not in result.output and "secret" not in caplog.text


@pytest.mark.parametrize("call, args, error, fragment", [
    (Config, {"jaccard_threshold": "0.6"}, ConfigError, "jaccard_threshold must be a number"),
    (Config, {"num_perm": 1.5}, ConfigError, "num_perm must be an integer"),
    (Config, {"num_perm": True}, ConfigError, "num_perm must be an integer, not bool"),
    (Config, {"content_filter": 1}, ConfigError, "content_filter must be true or false"),
    (Config, {"text_field": 5}, ConfigError, "text_field must be a string"),
    (Config, {"disabled_rules": "abc"}, ConfigError, "disabled_rules must be a tuple of strings"),
    (Config, {"disabled_rules": ("nosuch",)}, ConfigError, "unknown rule 'nosuch'; known: "),
    (Config, {"source_priority": ["a"]}, ConfigError, "source_priority must be a tuple of strings"),
    (Config, {"source_priority": (1,)}, ConfigError, "source_priority must be a tuple of strings"),
])
def test_config_types(call, args, error, fragment):
    with pytest.raises(error, match=fragment):
        call(**args)


def test_config_accepts_int_for_float_and_lists_via_from_mapping():
    assert Config(jaccard_threshold=1).jaccard_threshold == 1
    assert Config.from_mapping({"source-priority": ["a"]}).source_priority == ("a",)
    assert Config(disabled_rules=("show-image",)).disabled_rules == ("show-image",)


@pytest.mark.parametrize("args, fragment", [
    ((5,), "must be a mapping"),
    (({"num_perm": "x"},), "num_perm must be an integer"),
    (({"nosuch": 1},), "unknown setting 'nosuch'"),
    (({1: 2},), "setting names must be strings"),
])
def test_from_mapping_errors(args, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Config.from_mapping(*args)


@pytest.mark.parametrize("docs, fragment", [
    ([{"id": "a"}], "no 'text' field"),
    ([5], "expected a Document or a dict"),
    ([{"id": "a", "source": "s", "text": 5}], "non-string 'text'"),
    ([{"id": "a", "source": "s", "text": "x\udc80y"}], "lone surrogate"),
])
def test_run_bad_documents_are_input_errors(docs, fragment):
    import dedupe

    with pytest.raises(InputError, match=fragment):
        dedupe.run(docs)


def test_cli_disable_rule_unknown_is_exit_5(tmp_path):
    (tmp_path / "a.txt").write_text(TEXT + "\n")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "a.txt"), "-o", str(tmp_path / "out"), "--disable-rule", "nosuch"])
    assert result.exit_code == 5 and "unknown rule 'nosuch'" in result.output


def _doc_file(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "source": "x", "text": "%s"}\n' % TEXT)
    return str(path)


@pytest.mark.parametrize("command", [["stats"], ["query", "X"], ["remove", "a"], ["prune", "--older-than", "1d"]])
def test_cli_index_commands_never_create_a_missing_index(tmp_path, command):
    db = tmp_path / "none.db"
    args = ["index"] + [_doc_file(tmp_path) if c == "X" else c for c in command] + ["--index", str(db)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 7, result.output
    assert f"no index at {db}" in result.output and "dedupe index add" in result.output
    assert not db.exists()


def test_cli_index_opens_with_its_own_settings(tmp_path):
    db = str(tmp_path / "i.db")
    docs = _doc_file(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["index", "add", docs, "--index", db, "--num-perm", "64", "--bands", "16"]).exit_code == 0
    result = runner.invoke(main, ["index", "stats", "--index", db])
    assert result.exit_code == 0, result.output
    assert '"documents": 1' in result.output.replace(" ", " ")
    assert runner.invoke(main, ["index", "query", docs, "--index", db]).exit_code == 0
    assert runner.invoke(main, ["index", "stats", "--index", db, "--num-perm", "64"]).exit_code == 0
    result = runner.invoke(main, ["index", "stats", "--index", db, "--num-perm", "128"])
    assert result.exit_code == 6 and "num_perm: stored 64, requested 128" in result.output
    assert runner.invoke(main, ["index", "remove", "a", "--index", db]).exit_code == 0


def test_index_with_non_default_min_containment_opens(tmp_path):
    db = tmp_path / "i.db"
    with Index.open(db, Config(min_containment_shingles=3)) as index:
        index.add([{"id": "a", "source": "x", "text": TEXT}])
    with Index.open(db) as index:
        assert index.config.min_containment_shingles == 3 and index.stats().documents == 1
    result = CliRunner().invoke(main, ["index", "stats", "--index", str(db)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, fragment", [
    ((5,), "index location must be a path"),
    (("i.db", 5), "config must be a dedupe.Config"),
    (("i.db", None, 5), "index name must be a string"),
])
def test_index_open_bad_arguments(tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=fragment):
        Index.open(*args)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call, args, error, fragment", [
    ("prune", ("x",), ConfigError, "datetime or a Unix timestamp"),
    ("add", ([5],), InputError, "expected a Document or a dict"),
    ("add", ("abc",), InputError, "expected a Document or a dict"),
    ("query", ([{"id": "a"}],), InputError, "no 'text' field"),
    ("add", ([{"id": "a", "source": "s", "text": TEXT}], 0), ConfigError, "batch_size"),
])
def test_index_methods_bad_data(tmp_path, call, args, error, fragment):
    with Index.open(tmp_path / "i.db") as index:
        with pytest.raises(error, match=fragment):
            getattr(index, call)(*args)


@pytest.mark.parametrize("call, args, error, fragment", [
    ("clean_text", (5,), "InputError", "not int"),
    ("clean_text", (b"show image",), "InputError", "decode bytes first"),
    ("clean_text", ("text", {"jaccard_threshold": 0.5}), "ConfigError", "dedupe.Config"),
    ("clean_and_explain", ("text", None, "pdf"), "InputError", "kind must be"),
    ("html_to_text", (None,), "InputError", "not NoneType"),
])
def test_one_document_helpers_reject_what_is_not_text(call, args, error, fragment):
    import dedupe

    with pytest.raises(getattr(dedupe, error), match=fragment):
        getattr(dedupe, call)(*args)


def test_a_source_priority_no_document_has_is_warned_about(caplog):
    import dedupe

    with caplog.at_level("WARNING", logger="dedupe.pipeline"):
        dedupe.run([{"id": "a", "source": "reuters", "text": "A sentence long enough to be one paragraph of news."}],
                   dedupe.Config(canonical_policy="source-priority", source_priority=("reuter",)))
    assert "no document has source 'reuter'" in caplog.text and "reuters" in caplog.text
