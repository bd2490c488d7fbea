"""One exception family; every message says what went wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable


class GateError(Exception):
    """Base of every error the gate reports to the user (never with a traceback unless -v)."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(GateError):
    """Bad command line: exit 2, nothing fetched."""


class PolicyError(GateError):
    """Invalid policy: exit 2, nothing fetched."""


class FactError(GateError):
    """A provider could not read its facts; the checks that need them end in `error`."""

    exit_code = 3


class PluginError(GateError):
    """A third-party check could not be loaded."""


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name most like a wrong one (difflib's ratio of at least 0.6), for a "did you mean" hint."""
    import difflib  # only once a name is wrong

    found = difflib.get_close_matches(word, list(known), n=1)
    return found[0] if found else None
