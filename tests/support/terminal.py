"""The gate run the way a person runs it: `python -m mlops_gate ...` in a pseudo-terminal (stdout and stderr both
on it, a window of a given size), its output read as it comes, so a test can assert what is on the screen while
the run is still going (a progress line) and after it ends (the report). `plain` strips the terminal's control
sequences (colours, cursor moves) to leave the text a person reads.

`tmux` runs a command in a detached tmux pane and returns the screen as tmux renders it: what is left on the
screen after the live status line has been erased."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\x1b[=>]")


def plain(text: str) -> str:
    """What the screen says: control sequences removed, carriage-return rewrites reduced to their last text."""
    text = _CONTROL.sub("", text).replace("\r\n", "\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def frames(text: str) -> str:
    """Everything that was on the screen at some point: each carriage-return rewrite of a line (a live status
    line redrawn in place) kept as a line of its own."""
    return _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class Terminal:
    """A finished (or killed) run: its exit code, everything it wrote, and what it had written by the time each
    `when` predicate first held (in order)."""

    code: int
    raw: str
    seen: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return plain(self.raw)

    @property
    def frames(self) -> str:
        return frames(self.raw)


def gate_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the gate: no CI variables, no tokens, this checkout importable."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "AZURE_DEVOPS_CACHE_DIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update({"PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "GIT_CONFIG_NOSYSTEM": "1"})
    env.update(extra or {})
    return env


def run(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    columns: int = 120,
    rows: int = 50,
    cwd: Path | None = None,
    timeout: float = 120,
    when: Sequence[Callable[[str], bool]] = (),
) -> Terminal:
    """Run `python -m mlops_gate ARGS` on a fresh pseudo-terminal of `columns` x `rows`."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_gate", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(env),
        cwd=cwd,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    seen: list[str] = []
    pending = list(when)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the gate did not finish in {timeout} s; screen so far:\n{plain(_text(chunks))}")
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its side
                    data = b""
                if not data:
                    if proc.poll() is not None:
                        break
                    continue
                chunks.append(data)
                while pending and pending[0](plain(_text(chunks))):
                    pending.pop(0)
                    seen.append(_text(chunks))
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    return Terminal(proc.wait(), _text(chunks), seen)


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", errors="replace")


def tmux(
    command: str, env: Mapping[str, str], *, columns: int = 120, rows: int = 60, done: str, timeout: float = 120
) -> str:
    """Run a shell command in a detached tmux pane; return the pane's screen once it shows `done`."""
    binary = shutil.which("tmux")
    assert binary is not None
    socket = f"mlops-gate-test-{uuid.uuid4().hex[:8]}"
    base = [binary, "-L", socket, "-f", "/dev/null"]
    subprocess.run(
        [*base, "new-session", "-d", "-x", str(columns), "-y", str(rows), f"{command}; sleep 60"],
        env=dict(env),
        check=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            screen = subprocess.run(
                [*base, "capture-pane", "-p", "-J"], capture_output=True, text=True, check=True
            ).stdout
            if done in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"tmux pane never showed {done!r}:\n{screen}")
            time.sleep(0.2)
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True, check=False)
