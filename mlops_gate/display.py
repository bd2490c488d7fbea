"""The run as it happens, on stderr: on a terminal, one live status line naming what is being read and from
where (a rich Live line, gone once the report is printed); with -v, one line per request as it is made, retried
and answered (also in a CI log). Listens to mlops_gate.progress; prints nothing else, and nothing at all when
stderr is not a terminal and -v is not given."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from mlops_gate import printable, progress
from mlops_gate.secrets import redact


class _Status:
    """What the live line says: the oldest request in flight (the one keeping us waiting), else the fact kinds
    being read, else the last step."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[int, tuple[str, str, float, int]] = {}  # key -> (kind, "GET url", start, attempt)
        self.kinds: dict[str, float] = {}
        self.step = "starting"
        self.spinner: Any = None
        # every form of a credential masked before rich lays the line out: a line folded at the terminal's width
        # would split a secret over two writes, past the stream's own redaction
        self.redact: Any = lambda text: text

    def on(self, e: progress.Event) -> None:
        now = time.monotonic()
        with self.lock:
            if e.what == "step":
                self.step = e.text
            elif e.what == "fact":
                self.kinds[e.kind] = now
            elif e.what == "fact-done":
                self.kinds.pop(e.kind, None)
            elif e.what == "request":
                self.requests[e.key] = (e.kind, e.text, now, 1)
            elif e.what == "retry" and e.key in self.requests:
                kind, text, start, _ = self.requests[e.key]
                self.requests[e.key] = (kind, text, start, e.attempt)
            elif e.what in ("response", "failed"):
                self.requests.pop(e.key, None)

    def line(self) -> str:
        now = time.monotonic()
        with self.lock:
            if self.requests:
                kind, text, start, attempt = min(self.requests.values(), key=lambda r: r[2])
                more = len(self.requests) - 1
                tries = f", attempt {attempt}" if attempt > 1 else ""
                line = f"reading {kind or 'facts'}: {text} ({now - start:.1f} s{tries})"
                return line + (f" and {more} more request{'s' if more > 1 else ''}" if more else "")
            if self.kinds:
                oldest = min(self.kinds.values())
                return f"reading {', '.join(sorted(self.kinds))} ({now - oldest:.1f} s)"
            return self.step

    def __rich__(self) -> Any:
        self.spinner.update(text=printable.name(self.redact(self.line())))
        return self.spinner


def _verbose_line(e: progress.Event) -> str | None:
    kind = f"[{e.kind}] " if e.kind else ""
    if e.what == "request":
        return f"{kind}{e.text} ..."
    if e.what == "retry":
        return f"{kind}{e.text}: attempt {e.attempt}, {e.seconds:.1f} s since the first"
    if e.what == "response":
        tries = f", {e.attempt} attempts" if e.attempt > 1 else ""
        return f"{kind}{e.text} -> {e.status} ({e.seconds:.2f} s{tries})"
    if e.what == "failed":
        return f"{kind}{e.text} failed after {e.seconds:.1f} s: {e.error}"
    if e.what == "step":
        return e.text
    return None


@contextlib.contextmanager
def showing(env: Mapping[str, str], verbose: bool, stream: Any = None) -> Iterator[None]:
    """Show progress on `stream` (stderr) while the block runs."""
    stream = stream if stream is not None else sys.stderr
    tty = _isatty(stream) and env.get("TERM") != "dumb"
    if not tty and not verbose:
        yield
        return
    live: Any = None
    status = _Status()
    status.redact = lambda text: redact(text, env)
    if tty:
        from rich.console import Console
        from rich.live import Live
        from rich.spinner import Spinner

        terminal = getattr(stream, "for_terminal", None)  # the guarded stderr escapes control sequences
        console = Console(
            file=terminal() if terminal else stream, no_color=bool(env.get("NO_COLOR")), highlight=False, emoji=False
        )
        status.spinner = Spinner("dots", style="cyan")
        live = Live(status, console=console, refresh_per_second=8, transient=True)

    def on(e: progress.Event) -> None:
        status.on(e)
        said = _verbose_line(e) if verbose else None
        if said is None:
            return
        text = printable.name(redact(f"mlops-gate: {said}", env))
        if live is not None:
            live.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=stream, flush=True)

    stop = progress.listen(on)
    try:
        if live is not None:
            with live:
                yield
        else:
            yield
    finally:
        stop()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
