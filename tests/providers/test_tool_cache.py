"""The versions promtool and amtool said are remembered between runs for as long as the binary is the same
file (providers/_tool_cache.py): asked once per binary, asked again when the binary changes, and never kept
in the repository or taken from a malformed cache."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlops_gate.providers import Context, Shared, _tool_cache, _tools
from mlops_gate.target import Target

VERSION = "promtool, version 2.42.0 (branch: x)"


def counting_tool(folder: Path, asked: Path, says: str = VERSION) -> Path:
    """A promtool that notes each `--version` in `asked`."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "promtool"
    tool.write_text(
        f"#!/usr/bin/env python3\nopen({str(asked)!r}, 'a').write('version\\n')\nprint({says!r})\n", encoding="utf-8"
    )
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


def find(root: Path, tool: Path, cache: str) -> _tools.Tool:
    """One run's lookup (a fresh Shared: nothing kept in memory from the last one)."""
    env = {"PATH": os.environ["PATH"], "MLOPS_GATE_PROMTOOL": str(tool), _tool_cache.ENV_VAR: cache}
    return _tools.find(Context(root=root, target=Target(), env=env, shared=Shared()), "promtool")


def asked_times(asked: Path) -> int:
    return asked.read_text().count("version") if asked.exists() else 0


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo"


def test_a_binary_is_asked_its_version_once_across_runs_and_again_when_it_changes(tmp_path: Path, repo: Path) -> None:
    asked = tmp_path / "asked"
    tool = counting_tool(tmp_path / "tools", asked)
    cache = str(tmp_path / "cache")
    first, second = find(repo, tool, cache), find(repo, tool, cache)
    assert (first.version, second.version, second.path) == ("2.42.0", "2.42.0", str(tool))
    assert asked_times(asked) == 1
    saved = json.loads((tmp_path / "cache" / _tool_cache.FILE).read_text())
    assert list(saved.values()) == ["2.42.0"] and str(tool) in next(iter(saved))
    # an upgrade in place: the same path, another file identity (contents, size, times)
    tool.write_text(tool.read_text().replace("2.42.0", "2.53.1"), encoding="utf-8")
    assert find(repo, tool, cache).version == "2.53.1"
    assert asked_times(asked) == 2
    # the same program at another path (another machine's cache, a copy) is another binary
    twin = tmp_path / "elsewhere" / "promtool"
    twin.parent.mkdir()
    twin.write_bytes(tool.read_bytes())
    twin.chmod(0o755)
    assert find(repo, twin, cache).version == "2.53.1"
    assert asked_times(asked) == 3


def test_no_cache_when_off_or_inside_the_repository(tmp_path: Path, repo: Path) -> None:
    asked = tmp_path / "asked"
    tool = counting_tool(tmp_path / "tools", asked)
    for cache in ("off", str(repo / ".cache"), "relative/cache"):
        assert find(repo, tool, cache).version == "2.42.0"
        assert find(repo, tool, cache).version == "2.42.0"
    assert asked_times(asked) == 6
    assert not (repo / ".cache").exists() and not Path("relative/cache").exists()
    assert _tool_cache.folder({"HOME": "/home/u"}, repo) == Path("/home/u/.cache/mlops-gate")
    assert _tool_cache.folder({"HOME": "/home/u", "XDG_CACHE_HOME": "/c"}, repo) == Path("/c/mlops-gate")
    assert _tool_cache.folder({}, repo) is None


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[" * 100_000,  # nesting past the JSON reader's recursion limit
        b'["a list"]',
        b" " * (_tool_cache.MAX_BYTES + 1) + b"{}",  # larger than it may be
    ],
)
def test_a_malformed_cache_is_ignored_and_rewritten(tmp_path: Path, repo: Path, content: bytes) -> None:
    asked = tmp_path / "asked"
    tool = counting_tool(tmp_path / "tools", asked)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / _tool_cache.FILE).write_bytes(content)
    assert find(repo, tool, str(cache)).version == "2.42.0"
    assert asked_times(asked) == 1
    assert list(json.loads((cache / _tool_cache.FILE).read_text()).values()) == ["2.42.0"]


def test_an_entry_that_is_not_a_version_is_not_believed(tmp_path: Path, repo: Path) -> None:
    asked = tmp_path / "asked"
    tool = counting_tool(tmp_path / "tools", asked)
    cache = tmp_path / "cache"
    cache.mkdir()
    k = _tool_cache.key(str(tool))
    assert k is not None
    for planted in ("99.0.0; rm -rf /", {"v": 1}, "x" * 100):
        (cache / _tool_cache.FILE).write_text(json.dumps({k: planted}), encoding="utf-8")
        assert find(repo, tool, str(cache)).version == "2.42.0"
    assert asked_times(asked) == 3


def test_an_unwritable_cache_costs_nothing_but_the_question(tmp_path: Path, repo: Path) -> None:
    asked = tmp_path / "asked"
    tool = counting_tool(tmp_path / "tools", asked)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert find(repo, tool, str(blocker / "cache")).version == "2.42.0"
    assert find(repo, tool, str(blocker / "cache")).version == "2.42.0"
    assert asked_times(asked) == 2


def test_the_entries_are_bounded(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    tools = []
    for i in range(_tool_cache.MAX_ENTRIES + 5):
        t = tmp_path / f"t{i}"
        t.write_text("x")
        tools.append(t)
        _tool_cache.remember({_tool_cache.ENV_VAR: str(cache)}, tmp_path / "repo", str(t), f"1.{i}.0")
    saved = json.loads((cache / _tool_cache.FILE).read_text())
    assert len(saved) == _tool_cache.MAX_ENTRIES
    assert _tool_cache.recall({_tool_cache.ENV_VAR: str(cache)}, tmp_path / "repo", str(tools[-1])) == "1.36.0"
    assert _tool_cache.recall({_tool_cache.ENV_VAR: str(cache)}, tmp_path / "repo", str(tools[0])) is None
