"""Everything the CLI prints on stderr outside a report goes through here while the gate runs: each line
redacted (mlops_gate.secrets) and made printable (mlops_gate.printable), so no form of a credential and no CI
command from a policy, a file name or a server reaches the log. The live status line draws through a redacting
pass-through (its own text is made printable by mlops_gate.display)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO, cast

from mlops_gate import printable
from mlops_gate.secrets import redact


class _GuardedStream:
    """A text stream that writes whole lines, each redacted and then made printable (mlops_gate.printable: no
    control character, and no CI command — `::` at a line start, `##vso[` — from a policy, a file name or a
    server); everything else goes to the wrapped stream. A line is held until it ends (or the guard does), so
    neither a secret nor a command can be split across two writes."""

    def __init__(self, inner: TextIO, env: Mapping[str, str]) -> None:
        self._inner, self._env = inner, env
        self._pending = ""
        # re-entrant: what runs while a line is cleaned may write to stderr (`python -v` reports the imports
        # redaction makes); that write is held with the rest, never a deadlock
        self._lock = threading.RLock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self._inner.write(self._clean(lines + "\n"))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def close_line(self) -> None:
        with self._lock:
            if self._pending:
                self._inner.write(self._clean(self._pending))
                self._pending = ""
        self._inner.flush()

    def _clean(self, text: str) -> str:
        return printable.text(redact(text, self._env))

    def for_terminal(self) -> TextIO:
        """The stream the live status line draws on: its cursor moves and colours pass (the display makes its
        own text printable first), but every write is still redacted, and it is only used on a terminal."""
        return cast(TextIO, _RedactingStream(self._inner, self._env))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _RedactingStream:
    """Writes through with every form of a credential replaced; control sequences pass untouched."""

    def __init__(self, inner: TextIO, env: Mapping[str, str]) -> None:
        self._inner, self._env = inner, env

    def write(self, text: str) -> int:
        self._inner.write(redact(text, self._env))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def guard_stderr(env: Mapping[str, str]) -> Iterator[None]:
    """While the gate runs, whatever reaches sys.stderr (diagnostics, warnings, -v tracebacks and fact errors,
    the logs of the SDKs) is redacted and made printable: the one way text reaches the CI log outside a report."""
    saved = sys.stderr
    guarded = _GuardedStream(saved, env)
    sys.stderr = guarded
    try:
        yield
    finally:
        guarded.close_line()
        sys.stderr = saved
