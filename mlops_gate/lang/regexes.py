"""Regular expressions written in repository files, evaluated as the tools that read those files evaluate
them: Alertmanager (Go's regexp) and GitLab CI rules (RE2) both use RE2 syntax, in linear time. Python's
backtracking `re` would accept patterns they refuse, and a hostile pattern (`(a|aa)+$` against a long label
value) would stall the gate for hours; RE2 (google-re2) cannot."""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str, ignore_case: bool) -> Any:
    """The compiled pattern, or None when RE2 refuses it."""
    import re2  # type: ignore[import-untyped]  # imported only by a run that evaluates a regex

    options = re2.Options()
    options.log_errors = False  # RE2 would print the error to stderr: the caller reports it
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(pattern, options)
    except re2.error:
        return None


def valid(pattern: str) -> bool:
    return _compiled(pattern, False) is not None


def fullmatch(pattern: str, text: str) -> bool | None:
    """Whether `text` matches `pattern` as a whole (Alertmanager's anchored matchers); None if invalid."""
    compiled = _compiled(pattern, False)
    return None if compiled is None else compiled.fullmatch(text) is not None


def search(pattern: str, text: str, ignore_case: bool = False) -> bool | None:
    """Whether `pattern` matches somewhere in `text` (GitLab's `=~`); None if invalid."""
    compiled = _compiled(pattern, ignore_case)
    return None if compiled is None else compiled.search(text) is not None
