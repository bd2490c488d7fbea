"""Whether a failing test job (or step) fails its pipeline: GitLab `allow_failure`, GitHub `continue-on-error`,
Azure `continueOnError`, read as each CI system reads them, failing closed: a job counts as blocking only when
its setting certainly stops the pipeline on a failure (absent, or false).

- GitLab (Ruby's YAML 1.1, as Azure): `true`, `yes`, `on`, `y` are true; `allow_failure: {exit_codes: [...]}`
  lets those exit codes through (pytest exits 1 on a failed test), so it does not block.
- GitHub: a boolean or an expression; `${{ false }}` blocks, any other expression (`${{ matrix.experimental
  }}`) cannot be known before the run and does not count as blocking.
- Azure: booleans, and template/runtime expressions and macros (`${{ }}`, `$[ ]`, `$(var)`), unknown likewise.
"""

from __future__ import annotations

import re
from typing import Any

_TRUE = {"true", "yes", "on", "y"}
_FALSE = {"false", "no", "off", "n"}
_GITHUB_EXPR = re.compile(r"\s*\$\{\{\s*(.*?)\s*\}\}\s*", re.S)
_AZURE_EXPR = re.compile(r"\$\{\{|\$\[|\$\(")


def why_not_blocking(value: Any, key: str, *, yaml11: bool) -> str | None:
    """None when a failure with this setting fails the pipeline (absent or false); else why it does not, in the
    words of a violation (`... so a failing test does not block`). `yaml11`: GitLab and Azure read yes/no/on/off
    as booleans; GitHub does not."""
    if value is None or value is False:
        return None
    if value is True:
        return f"({key}: true), so a failing test does not block"
    if isinstance(value, str):
        word = value.strip().lower()
        expr = _GITHUB_EXPR.fullmatch(value)
        if expr is not None:
            inner = expr.group(1).strip().lower()
            if inner == "false":
                return None
            if inner == "true":
                return f"({key}: {value.strip()}), so a failing test does not block"
            return f"({key}: {value.strip()}), which the gate cannot know before the run: it does not count as blocking"
        if yaml11 and word in _FALSE:
            return None
        if yaml11 and word in _TRUE:
            return f"({key}: {value.strip()}, true in YAML 1.1), so a failing test does not block"
        if _AZURE_EXPR.search(value):
            return f"({key}: {value.strip()}), which the gate cannot know before the run: it does not count as blocking"
        return f"({key}: {value.strip()!r} is not false), so it does not count as blocking"
    if isinstance(value, dict) and "exit_codes" in value:
        return f"on exit codes {value.get('exit_codes')} ({key}: exit_codes), so a failing test does not block"
    return f"({key}: {value!r} is not false), so it does not count as blocking"
