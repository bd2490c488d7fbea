"""The versions promtool and amtool said are remembered between runs for as long as the binary is the same
file (providers/_tool_cache.py): asked once per binary, asked again when it changes, never for a script, never
on a pull/merge request unless a folder is named, and never taken from a cache someone else could have written
(another user's, a FIFO, a link, a folder inside the repository) or one that is malformed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_gate.providers import Context, Shared, _tool_cache, _tools
from mlops_gate.target import Target

CC = shutil.which("cc") or shutil.which("gcc")

C_TOOL = r"""
#include <stdio.h>
int main(void) {
    FILE *log = fopen("%s", "a");
    if (log) { fputs("version\n", log); fclose(log); }
    puts("promtool, version %s (branch: test)");
    return 0;
}
"""


def binary_tool(folder: Path, asked: Path, version: str = "2.42.0") -> Path:
    """A compiled promtool (the cache remembers only compiled programs) that notes each run in `asked`."""
    if CC is None:
        pytest.skip("no C compiler to build a fake promtool binary (Debian: gcc; .ci/run installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    source, tool = folder / "promtool.c", folder / "promtool"
    source.write_text(C_TOOL % (asked, version), encoding="utf-8")
    subprocess.run([str(CC), "-o", str(tool), str(source)], check=True, capture_output=True)
    return tool


def find(root: Path, tool: Path, cache: str | None, event: str | None = None) -> _tools.Tool:
    """One run's lookup (a fresh Shared: nothing kept in memory from the last one)."""
    env = {"PATH": os.environ["PATH"], "MLOPS_GATE_PROMTOOL": str(tool), "HOME": str(root.parent / "home")}
    if cache is not None:
        env[_tool_cache.ENV_VAR] = cache
    return _tools.find(Context(root=root, target=Target(event=event), env=env, shared=Shared()), "promtool")


def asked_times(asked: Path) -> int:
    return asked.read_text().count("version") if asked.exists() else 0


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo"


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    """A compiled promtool saying 2.42.0, and the file that counts its runs."""
    asked = tmp_path / "asked"
    return binary_tool(tmp_path / "tools", asked), asked


def test_a_binary_is_asked_its_version_once_across_runs_and_again_when_it_changes(tmp_path: Path, repo: Path) -> None:
    asked = tmp_path / "asked"
    tool = binary_tool(tmp_path / "tools", asked)
    cache = str(tmp_path / "cache")
    first, second = find(repo, tool, cache), find(repo, tool, cache)
    assert (first.version, second.version, second.path) == ("2.42.0", "2.42.0", str(tool))
    assert asked_times(asked) == 1
    saved = json.loads((tmp_path / "cache" / _tool_cache.FILE).read_text())
    assert list(saved.values()) == ["2.42.0"] and str(tool) in next(iter(saved))
    assert stat.S_IMODE((tmp_path / "cache" / _tool_cache.FILE).stat().st_mode) == 0o600
    # an upgrade in place: the same path, another build (another file identity)
    tool = binary_tool(tmp_path / "tools", asked, "2.53.10")
    assert find(repo, tool, cache).version == "2.53.10"
    assert asked_times(asked) == 2
    # the same program at another path (another machine's cache, a copy) is another binary
    twin = tmp_path / "elsewhere" / "promtool"
    twin.parent.mkdir()
    shutil.copy2(tool, twin)
    assert find(repo, twin, cache).version == "2.53.10"
    assert asked_times(asked) == 3


def test_a_cache_folder_an_earlier_release_left_group_writable_is_made_private(
    tmp_path: Path, repo: Path, built: tuple[Path, Path]
) -> None:
    tool, asked = built
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o775)
    cache.chmod(0o775)  # as made under umask 002
    assert find(repo, tool, str(cache)).version == find(repo, tool, str(cache)).version == "2.42.0"
    assert asked_times(asked) == 1 and stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_a_script_is_asked_every_time(tmp_path: Path, repo: Path) -> None:
    """A shim or a wrapper stays the same file while the program it runs changes."""
    asked = tmp_path / "asked"
    script = tmp_path / "tools" / "promtool"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho version >> {asked}\necho 'promtool, version 2.42.0'\n", encoding="utf-8")
    script.chmod(0o755)
    for _ in range(2):
        assert find(repo, script, str(tmp_path / "cache")).version == "2.42.0"
    assert asked_times(asked) == 2 and not (tmp_path / "cache" / _tool_cache.FILE).exists()


def test_a_shim_under_another_name_or_a_multi_call_binary_is_asked_every_time(
    tmp_path: Path, repo: Path, built: tuple[Path, Path]
) -> None:
    """mise and aqua link `promtool` to their own binary; busybox-style binaries are hard links: the file stays
    the same while what it runs changes."""
    tool, asked = built
    shim_target = tmp_path / "mise" / "bin" / "mise"
    shim_target.parent.mkdir(parents=True)
    shutil.copy2(tool, shim_target)
    (tmp_path / "shims").mkdir()
    (tmp_path / "shims" / "promtool").symlink_to(shim_target)
    hard = tmp_path / "multi" / "promtool"
    hard.parent.mkdir()
    shutil.copy2(tool, tmp_path / "multi" / "promtool-real")
    os.link(tmp_path / "multi" / "promtool-real", hard)
    for path in (tmp_path / "shims" / "promtool", hard):
        assert find(repo, path, str(tmp_path / "cache")).version == "2.42.0"
        assert find(repo, path, str(tmp_path / "cache")).version == "2.42.0"
    assert asked_times(asked) == 4 and not (tmp_path / "cache" / _tool_cache.FILE).exists()


def test_no_cache_when_off_inside_the_repository_or_on_a_pull_request(
    tmp_path: Path, repo: Path, built: tuple[Path, Path]
) -> None:
    tool, asked = built
    for cache in ("off", str(repo / ".cache"), "relative/cache"):
        assert find(repo, tool, cache).version == "2.42.0"
        assert find(repo, tool, cache).version == "2.42.0"
    assert asked_times(asked) == 6
    assert not (repo / ".cache").exists() and not Path("relative/cache").exists()
    # a pull/merge request: the default folder (~/.cache) is neither read nor written
    for event in ("pull_request", "merge_request"):
        assert find(repo, tool, None, event).version == "2.42.0"
    assert asked_times(asked) == 8 and not (tmp_path / "home").exists()
    # unless the folder is named: then it is the user's choice
    named = str(tmp_path / "named")
    assert find(repo, tool, named, "pull_request").version == find(repo, tool, named, "pull_request").version
    assert asked_times(asked) == 9
    # on a push the default folder is used
    assert find(repo, tool, None, "push").version == find(repo, tool, None, "push").version == "2.42.0"
    assert asked_times(asked) == 10 and (tmp_path / "home" / ".cache" / "mlops-gate" / _tool_cache.FILE).is_file()
    # in CI the default folder is not used (a persistent runner's earlier job could have written it); a named one is
    for ci in ({"CI": "true"}, {"TF_BUILD": "True"}, {"JENKINS_URL": "https://ci.example"}):
        assert _tool_cache.folder({"HOME": "/home/u", **ci}, repo) is None
        assert _tool_cache.folder({"HOME": "/home/u", _tool_cache.ENV_VAR: "/c", **ci}, repo) == Path("/c")
    assert _tool_cache.folder({"HOME": "/home/u", "CI": "false"}, repo) == Path("/home/u/.cache/mlops-gate")
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
def test_a_malformed_cache_is_ignored_and_rewritten(
    tmp_path: Path, repo: Path, content: bytes, built: tuple[Path, Path]
) -> None:
    tool, asked = built
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / _tool_cache.FILE).write_bytes(content)
    assert find(repo, tool, str(cache)).version == "2.42.0"
    assert asked_times(asked) == 1
    assert list(json.loads((cache / _tool_cache.FILE).read_text()).values()) == ["2.42.0"]


def planted(cache: Path, tool: Path, version: object = "9.9.9") -> None:
    k = _tool_cache.key(str(tool))
    assert k is not None
    cache.mkdir(exist_ok=True)
    (cache / _tool_cache.FILE).write_text(json.dumps({k: version}), encoding="utf-8")


def test_an_entry_that_is_not_a_version_is_not_believed(tmp_path: Path, repo: Path, built: tuple[Path, Path]) -> None:
    tool, asked = built
    cache = tmp_path / "cache"
    for version in ("99.0.0; rm -rf /", {"v": 1}, "x" * 100):
        planted(cache, tool, version)
        assert find(repo, tool, str(cache)).version == "2.42.0"
    assert asked_times(asked) == 3


def test_a_cache_others_can_write_is_not_believed(tmp_path: Path, repo: Path, built: tuple[Path, Path]) -> None:
    """A folder or file writable by the group or others (a shared volume): what it says could be planted."""
    tool, asked = built
    cache = tmp_path / "cache"
    planted(cache, tool)
    assert find(repo, tool, str(cache)).version == "9.9.9"  # this user's own, private: believed
    planted(cache, tool)
    (cache / _tool_cache.FILE).chmod(0o666)
    assert find(repo, tool, str(cache)).version == "2.42.0"
    planted(cache, tool)
    (cache / _tool_cache.FILE).chmod(0o600)
    cache.chmod(0o777)
    assert find(repo, tool, str(cache)).version == "2.42.0"
    assert asked_times(asked) == 2


def unwritable(tmp_path: Path, tool: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "cache"


def fifo(tmp_path: Path, tool: Path) -> Path:
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / _tool_cache.FILE)
    return tmp_path / "fifo"


def link(tmp_path: Path, tool: Path) -> Path:
    planted(tmp_path / "other", tool)
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / _tool_cache.FILE).symlink_to(tmp_path / "other" / _tool_cache.FILE)
    return tmp_path / "link"


@pytest.mark.parametrize(("make", "asks"), [(unwritable, 2), (fifo, 1), (link, 1)])
def test_a_cache_that_is_not_a_plain_file_of_its_own_costs_only_the_question(
    tmp_path: Path, repo: Path, built: tuple[Path, Path], make: Callable[[Path, Path], Path], asks: int
) -> None:
    """A folder that cannot be made, a FIFO (reading it would block) or a link in place of the file: never read
    (the link's 9.9.9 is not believed); the answer is written over the FIFO or link, never through it."""
    tool, asked = built
    cache = make(tmp_path, tool)
    got: list[_tools.Tool] = []

    def look() -> None:
        got.extend(find(repo, tool, str(cache)) for _ in range(2))

    runner = threading.Thread(target=look, daemon=True)
    runner.start()
    runner.join(20)
    assert not runner.is_alive(), "looking the version up blocked"
    assert [t.version for t in got] == ["2.42.0", "2.42.0"]
    assert asked_times(asked) == asks
    if make is link:
        assert "9.9.9" in (tmp_path / "other" / _tool_cache.FILE).read_text()  # the file it named is untouched
        assert not (cache / _tool_cache.FILE).is_symlink()


def test_the_entries_are_bounded(tmp_path: Path) -> None:
    cache, env, repo = tmp_path / "cache", {_tool_cache.ENV_VAR: str(tmp_path / "cache")}, tmp_path / "repo"
    tools = []
    for i in range(_tool_cache.MAX_ENTRIES + 5):
        t = tmp_path / f"promtool-{i}"
        t.write_bytes(b"\x7fELF" + bytes(i))  # a compiled program's first bytes
        tools.append(t)
        _tool_cache.remember(env, repo, str(t), f"1.{i}.0")
    saved = json.loads((cache / _tool_cache.FILE).read_text())
    assert len(saved) == _tool_cache.MAX_ENTRIES
    assert _tool_cache.recall(env, repo, str(tools[-1])) == f"1.{_tool_cache.MAX_ENTRIES + 4}.0"
    assert _tool_cache.recall(env, repo, str(tools[0])) is None
    deep = tmp_path / ("d" * 200) / ("e" * 200) / ("f" * 200) / ("g" * 200) / ("h" * 200) / "promtool"
    deep.parent.mkdir(parents=True)
    deep.write_bytes(b"\x7fELF")
    assert _tool_cache.key(str(deep)) is None  # a path past MAX_KEY is not remembered (the file stays bounded)
