"""Running Prometheus's and Alertmanager's own tools (promtool, amtool) on repository files, bounded.

What a pull request controls — the files, their names, what a rule test file's `rule_files` names — must
not decide which program runs, what it reads outside the repository, or how long and how much memory it
takes. So:

- the tool is `MLOPS_GATE_PROMTOOL` / `MLOPS_GATE_AMTOOL` (an absolute path; `off` turns it off) or the
  first on PATH in a folder outside the repository (a PR's `./promtool` never runs);
- it runs with a minimal environment (no tokens), in its own process group, under RLIMIT_AS (2 GiB),
  RLIMIT_CPU and RLIMIT_FSIZE (its output goes to a file capped at 1 MiB), killed when it overruns;
- every run of one gate run draws on one time budget (RUN_BUDGET_S, shared by all tools and files): a run
  gets at most RUN_TIMEOUT_S and what is left of it; past the budget nothing more runs, and the files not
  run say so (`--version`, read while the files are checked, has its own VERSION_TIMEOUT_S; what it said is
  remembered between runs for as long as the binary is the same file: providers/_tool_cache.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from mlops_gate.providers import Context
from mlops_gate.providers.git import PR_EVENTS
from mlops_gate.threads import Background

RUN_TIMEOUT_S = 60.0
RUN_BUDGET_S = 120.0
MAX_MEMORY = 2 << 30  # address space: Go's runtime needs ~1 GiB reserved to start
MAX_OUTPUT = 1 << 20
VERSION_TIMEOUT_S = 5.0
MIN_GRANT_S = 1.0  # less of the budget left than this: nothing more runs
ENV_VARS = {"promtool": "MLOPS_GATE_PROMTOOL", "amtool": "MLOPS_GATE_AMTOOL"}
# promtool and amtool are Go programs that live for a few ms, and most of a short run's garbage collection is
# wasted on a heap that dies with the process (a fifth of their CPU on small files): the heap may grow to 5x
# what is live before a collection (2x by default), but from Go 1.19 on not past a soft 256 MiB, so the peak is
# at most the larger of 256 MiB and what it was before; one core, like the rest of their work. A tool that runs
# out of memory anyway (an older Go, a huge input) ends without a verdict, never with an acceptance.
GO_ENV = {"GOGC": "400", "GOMEMLIMIT": "256MiB", "GOMAXPROCS": "1"}
T = TypeVar("T")
_VERSION = re.compile(r"version (v?\d+\.\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Tool:
    """promtool or amtool as found for this run: its path and version, or why it is not available."""

    name: str
    path: str | None  # None: not available (note says why)
    version: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Ran:
    """One bounded run of a tool: its exit code (None: it did not finish) and what it printed."""

    code: int | None  # None: did not finish (note says why)
    out: str
    err: str = ""
    note: str = ""

    @property
    def output(self) -> str:
        return (self.out + self.err).strip()


class Budget:
    """The seconds every tool run of one gate run may still take together."""

    def __init__(self, seconds: float | None = None) -> None:
        self.left = RUN_BUDGET_S if seconds is None else seconds
        self.lock = threading.Lock()

    def take(self, most: float) -> float:
        with self.lock:
            grant = max(0.0, min(most, self.left))
            self.left -= grant
            return grant

    def give_back(self, seconds: float) -> None:
        with self.lock:
            self.left += max(0.0, seconds)


def budget(ctx: Context) -> Budget:
    with ctx.shared.lock:
        found = ctx.shared.cache.get("tool-budget")
        if not isinstance(found, Budget):
            found = Budget()
            ctx.shared.cache["tool-budget"] = found
    return found


def find(ctx: Context, name: str) -> Tool:
    """The tool to run, from its environment variable or PATH (outside the repository), with its version;
    looked up once per run, however many kinds ask at once (rule tests and rule checks read concurrently)."""
    with ctx.shared.lock:
        one_lookup = ctx.shared.cache.setdefault(f"tool-lookup:{name}", threading.Lock())
    assert isinstance(one_lookup, type(ctx.shared.lock))
    with one_lookup:
        with ctx.shared.lock:
            cached = ctx.shared.cache.get(f"tool:{name}")
        if isinstance(cached, Tool):
            return cached
        tool = _find(ctx, name)
        with ctx.shared.lock:
            ctx.shared.cache[f"tool:{name}"] = tool
    return tool


def _find(ctx: Context, name: str) -> Tool:
    from mlops_gate.providers import _tool_cache

    tool = locate(ctx, name)
    if tool.path is None:
        return tool
    pull_request = ctx.target.event in PR_EVENTS  # the cache is not used there (providers/_tool_cache.py)
    known = _tool_cache.recall(ctx.env, ctx.root, tool.path, pull_request)
    if known:
        return Tool(name, tool.path, known)
    # its own 5 s, apart from the run's budget: the version is read while the files are checked
    ran = run(ctx, [tool.path, "--version"], Path(tempfile.gettempdir()), pool=Budget(VERSION_TIMEOUT_S))
    m = _VERSION.search(ran.output)
    if ran.code != 0 or not m:
        return Tool(name, None, note=f"{tool.path} --version did not say its version: {ran.note or ran.output[:200]}")
    version = m.group(1).lstrip("v")
    _tool_cache.remember(ctx.env, ctx.root, tool.path, version, pull_request)
    return Tool(name, tool.path, version)


def locate(ctx: Context, name: str) -> Tool:
    """Where the tool is (its environment variable, else PATH outside the repository), without running it."""
    var = ENV_VARS[name]
    configured = ctx.env.get(var, "").strip()
    if configured.lower() in ("off", "none", "false", "0"):
        return Tool(name, None, note=f"{var}={configured}: not used")
    if configured:
        path = Path(configured)
        if not path.is_absolute() or not os.access(path, os.X_OK) or _inside(path, ctx.root):
            return Tool(name, None, note=f"{var} must be an absolute path to an executable outside the repository")
        return Tool(name, str(path))
    safe = _path_outside(ctx)
    which = shutil.which(name, path=safe) if safe else None
    if which is None:
        return Tool(name, None, note=f"{name} is not on PATH (or {var} names it)")
    return Tool(name, which)


def _path_outside(ctx: Context) -> str:
    """The PATH folders outside the repository, joined: worked out once per run (each folder is resolved,
    and every tool is located twice)."""
    dirs = [d for d in ctx.env.get("PATH", os.environ.get("PATH", "")).split(os.pathsep) if d]
    key = "tool-path:" + os.pathsep.join(dirs)
    with ctx.shared.lock:
        cached = ctx.shared.cache.get(key)
    if isinstance(cached, str):
        return cached
    safe = os.pathsep.join(d for d in dirs if Path(d).is_absolute() and not _inside(Path(d), ctx.root))
    with ctx.shared.lock:
        ctx.shared.cache[key] = safe
    return safe


def alongside(ctx: Context, name: str, work: Callable[[str], T]) -> tuple[Tool, T | None]:
    """Run `work(path)` with the tool while its version is read: two processes at once, not one after the
    other. The work's result is None when the tool is not there or does not say its version."""
    where = locate(ctx, name)
    if where.path is None:
        return where, None
    path = where.path
    version = Background(lambda: find(ctx, name))
    try:
        result = work(path)
    except BaseException:
        version.wait()  # the version's process ends before the work's error goes up
        raise
    tool = version.result()
    return tool, result if tool.path else None


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return True


def _limits(cpu_s: int) -> None:  # runs in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY, MAX_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT, MAX_OUTPUT))


def run(ctx: Context, argv: Sequence[str], cwd: Path, most: float | None = None, pool: Budget | None = None) -> Ran:
    """Run `argv` bounded (by `pool`, else the run's budget); its output, trimmed to MAX_OUTPUT."""
    pool = pool or budget(ctx)
    grant = pool.take(RUN_TIMEOUT_S if most is None else most)
    if grant < MIN_GRANT_S:
        pool.give_back(grant)
        return Ran(None, "", note=f"the run's {RUN_BUDGET_S:.0f} s budget for promtool/amtool is spent")
    env: Mapping[str, str] = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C",
        "HOME": tempfile.gettempdir(),
        **GO_ENV,
    }
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=lambda: _limits(int(grant) + 1),
            )
        except OSError as exc:
            pool.give_back(grant)
            return Ran(None, "", note=f"could not start {argv[0]}: {exc}")
        note = ""
        try:
            status = proc.wait(timeout=grant)
        except subprocess.TimeoutExpired:
            _kill(proc)
            status, note = -1, f"did not finish within {grant:.0f} s: stopped"
        pool.give_back(grant - (time.monotonic() - start))
        if status < 0 and not note:
            note = f"stopped by signal {-status} (memory, CPU or output limit)"
        code = None if note else status
        return Ran(code, _read(out), _read(err), note)


def died(ran: Ran) -> tuple[bool, str]:
    """A Go tool that ended neither with a verdict nor with a refusal: whether it panicked (the input makes the
    tool's own code crash: what reads it would too, so it counts as refused) and the line that says why (its
    `panic:` or `fatal error:` line, not the goroutine dump after it)."""
    lines = [line.strip() for line in ran.output.splitlines()]
    panic = next((line for line in lines if line.startswith("panic:")), None)
    if panic:
        return True, panic
    fatal = next((line for line in lines if line.startswith(("fatal error:", "runtime:"))), None)
    return False, fatal or ran.output.strip()[-200:]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait()


def _read(fh: IO[bytes]) -> str:
    fh.seek(0)
    return fh.read(MAX_OUTPUT).decode("utf-8", "replace")
