"""Bad data through the public API raises a DedupeError subclass with a message (issue 11.9, 19.4, 11.8)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from dedupe import Config, Index
from dedupe.cli import main
from dedupe.errors import ConfigError, DedupeError, IndexStoreError, InputError

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
