"""The versions promtool and amtool said, remembered between runs on one machine.

`promtool --version` costs 15-35 ms of CPU (the Go runtime and every package of the binary start up), as much
as judging a small repository's rule files; and a binary says the same version for as long as it is the same
file. So each version is kept in `<cache>/tool-versions.json`, keyed by the binary's real path and its stat
identity (device, inode, size, mtime, ctime): an upgraded, replaced or touched binary changes the key (no
program can set a file's ctime back), and a cache copied to another machine (actions/cache) matches nothing
there. Only a compiled program under its own name is remembered: a shim (a version manager's script, or a
link to its own binary as mise and aqua make) or a wrapper that runs a container stays the same file while the
program it runs changes, so it is asked every time.

The cache is a convenience for repeated runs on one machine (a pre-commit hook, a developer's audits), and the
version decides how the tool's verdict is weighed (checks/_authority.py), so what could be planted is not used:
- in CI (CI, TF_BUILD or JENKINS_URL set) only a folder MLOPS_GATE_TOOL_CACHE names is used, and on a
  pull/merge request not even that unless it is named: an earlier step or job of a change, run as the same
  user on a persistent runner, could have written the default one;
- the folder and the file must belong to this user and be writable by nobody else (a shared volume, another
  account), the file must be a regular file (never a FIFO or a link), and a folder inside the repository is
  never used;
- reads are bounded (MAX_BYTES) and non-blocking; an unreadable or malformed file, or an entry that is not a
  version, is ignored (the tool is asked, the file rewritten); writes go to a new private file renamed over
  the old one (threads of one run write one at a time; two runs at once may lose an entry, which costs one
  question), and their failures are ignored: the cache only saves time.

`<cache>` is MLOPS_GATE_TOOL_CACHE, else $XDG_CACHE_HOME/mlops-gate, else ~/.cache/mlops-gate; `off` turns it
off.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "MLOPS_GATE_TOOL_CACHE"
FILE = "tool-versions.json"
MAX_BYTES = 64 << 10
MAX_ENTRIES = 32
MAX_KEY = 1024  # a longer key (as JSON) is not remembered: MAX_ENTRIES keys and versions always fit in MAX_BYTES
NAMES = ("promtool", "amtool")  # the real file's name starts with one (Debian's, Homebrew's, a release's)
CI_VARS = ("CI", "TF_BUILD", "JENKINS_URL")
_BINARY = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"MZ")  # ELF, Mach-O, PE
_VERSION = re.compile(r"\d{1,6}\.\d{1,6}(?:\.\d{1,6})?")
_LOCK = threading.Lock()  # promtool's and amtool's lookups of one run write at once


def folder(env: Mapping[str, str], root: Path, pull_request: bool = False) -> Path | None:
    """Where the cache is kept, or None (turned off, CI or a pull/merge request without the variable, no home,
    or inside the repository)."""
    given = env.get(ENV_VAR, "").strip()
    in_ci = pull_request or any(env.get(v, "").strip().lower() not in ("", "0", "false") for v in CI_VARS)
    if given.lower() in ("off", "none", "false", "0") or (in_ci and not given):
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
    """The binary's identity: its real path and what its stat says; None if it cannot be read, is not a compiled
    program under its own name, or has other names (a hard-linked multi-call binary)."""
    try:
        real = os.path.realpath(tool)
        if not os.path.basename(real).startswith(NAMES):
            return None
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or not os.read(fd, 4).startswith(_BINARY):
            return None
    except OSError:
        return None
    finally:
        os.close(fd)
    found = f"{real}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"
    return found if len(json.dumps(found)) <= MAX_KEY else None


def recall(env: Mapping[str, str], root: Path, tool: str, pull_request: bool = False) -> str | None:
    """The version `tool` said on an earlier run, if it is still the same file."""
    where = folder(env, root, pull_request)
    k = key(tool) if where is not None else None
    if where is None or k is None:
        return None
    found = _entries(where).get(k)
    return found if isinstance(found, str) and _VERSION.fullmatch(found) else None


def remember(env: Mapping[str, str], root: Path, tool: str, version: str, pull_request: bool = False) -> None:
    """Keep what `tool` said, for the next run (the newest MAX_ENTRIES binaries)."""
    where = folder(env, root, pull_request)
    k = key(tool) if where is not None else None
    if where is None or k is None or not _VERSION.fullmatch(version):
        return
    with _LOCK:
        try:
            where.mkdir(mode=0o700, parents=True, exist_ok=True)
            if where.stat().st_uid != os.getuid():
                return  # never read (not this user's): no use writing it
            where.chmod(0o700)  # an earlier release made it with the umask's mode (0775 under umask 002)
        except OSError:
            return
        entries = {n: v for n, v in _entries(where).items() if n != k and isinstance(v, str)}
        kept = dict(list(entries.items())[-(MAX_ENTRIES - 1) :])
        kept[k] = version
        try:
            fd, tmp = tempfile.mkstemp(dir=where, prefix=f".{FILE}.")  # a new file of its own, mode 0600
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(kept, fh, indent=0)
            os.replace(tmp, where / FILE)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _mine(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _entries(where: Path) -> dict[str, object]:
    """The cache's entries; {} when it is missing, not this user's own, or not what it should be."""
    try:
        if not _mine(os.stat(where)):
            return {}
        fd = os.open(where / FILE, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _mine(st):
            return {}
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_BYTES + 1)
        found = json.loads(data) if len(data) <= MAX_BYTES else None
    except (OSError, ValueError, RecursionError):
        return {}
    finally:
        os.close(fd)
    return found if isinstance(found, dict) else {}
