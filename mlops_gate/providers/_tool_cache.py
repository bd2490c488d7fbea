"""The versions promtool and amtool said, remembered between runs on one machine.

`promtool --version` costs 15-35 ms of CPU (the Go runtime and every package of the binary start up), as much
as judging a small repository's rule files; and a binary says the same version for as long as it is the same
file. So each version is kept in `<cache>/tool-versions.json`, keyed by the binary's real path and its stat
identity (device, inode, size, mtime, ctime). An upgraded, replaced or touched binary changes the key (no
program can set a file's ctime back), and a cache copied to another machine (actions/cache, GitLab `cache:`)
matches nothing there, so a pull request's job that shares a cache folder cannot name a version for the
target branch's run.

`<cache>` is MLOPS_GATE_TOOL_CACHE, else $XDG_CACHE_HOME/mlops-gate, else ~/.cache/mlops-gate; `off` turns it
off. A folder inside the repository is never used. Reads are bounded (MAX_BYTES); an unreadable or malformed
file, or an entry that is not a version, is ignored (the tool is asked, and the file rewritten); writes are
atomic and their failures ignored: the cache only saves time, it never decides a verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "MLOPS_GATE_TOOL_CACHE"
FILE = "tool-versions.json"
MAX_BYTES = 64 << 10
MAX_ENTRIES = 32
_VERSION = re.compile(r"\d{1,6}\.\d{1,6}(?:\.\d{1,6})?")


def folder(env: Mapping[str, str], root: Path) -> Path | None:
    """Where the cache is kept, or None (turned off, no home, or inside the repository)."""
    given = env.get(ENV_VAR, "").strip()
    if given.lower() in ("off", "none", "false", "0"):
        return None
    if given:
        where = Path(given)
    elif env.get("XDG_CACHE_HOME", "").strip():
        where = Path(env["XDG_CACHE_HOME"].strip()) / "mlops-gate"
    elif env.get("HOME", "").strip():
        where = Path(env["HOME"].strip()) / ".cache" / "mlops-gate"
    else:
        return None
    if not where.is_absolute():
        return None
    try:
        if where.resolve().is_relative_to(root.resolve()):
            return None
    except (OSError, RuntimeError):
        return None
    return where


def key(tool: str) -> str | None:
    """The binary's identity: its real path and what its stat says; None if it cannot be read."""
    try:
        real = os.path.realpath(tool)
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    return f"{real}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"


def recall(env: Mapping[str, str], root: Path, tool: str) -> str | None:
    """The version `tool` said on an earlier run, if it is still the same file."""
    where, k = folder(env, root), key(tool)
    if where is None or k is None:
        return None
    found = _entries(where).get(k)
    return found if isinstance(found, str) and _VERSION.fullmatch(found) else None


def remember(env: Mapping[str, str], root: Path, tool: str, version: str) -> None:
    """Keep what `tool` said, for the next run (the newest MAX_ENTRIES binaries)."""
    where, k = folder(env, root), key(tool)
    if where is None or k is None or not _VERSION.fullmatch(version):
        return
    entries = {n: v for n, v in _entries(where).items() if n != k and isinstance(v, str)}
    kept = dict(list(entries.items())[-(MAX_ENTRIES - 1) :]) if MAX_ENTRIES > 1 else {}
    kept[k] = version
    tmp = where / f".{FILE}.{os.getpid()}.{threading.get_ident()}"
    try:
        where.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(kept, indent=0), encoding="utf-8")
        os.replace(tmp, where / FILE)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _entries(where: Path) -> dict[str, object]:
    try:
        with open(where / FILE, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        found = json.loads(data) if len(data) <= MAX_BYTES else None
    except (OSError, ValueError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}
