"""Branch filters of CI triggers: GitHub `on:` events and globs, Azure `include`/`exclude` lists."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from mlops_gate.lang.pipelines import as_list


def gh_glob(pattern: str, name: str) -> bool:
    """GitHub filter glob: `*` stops at `/`, `**` does not, `?`/`+` quantify the previous character."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 1
        elif c == "*":
            out.append("[^/]*")
        elif c in "?+" and out:
            out.append(c)
        elif c == "[" and "]" in pattern[i + 1 :]:
            j = pattern.index("]", i + 1)
            out.append(pattern[i : j + 1])
            i = j
        elif c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.fullmatch("".join(out), name) is not None
    except re.error:
        return pattern == name


def gh_branch_ok(spec: Mapping[str, Any], branch: str) -> bool:
    """`branches` patterns apply in order (a later `!pattern` excludes); `branches-ignore` excludes."""
    if "branches" in spec:
        ok = False
        for p in map(str, as_list(spec["branches"])):
            if gh_glob(p.removeprefix("!"), branch):
                ok = not p.startswith("!")
        return ok
    return not any(gh_glob(str(p), branch) for p in as_list(spec.get("branches-ignore")))


def az_branch_ok(include: list[Any], exclude: list[Any], branch: str) -> bool:
    def hit(pats: list[Any]) -> bool:
        return any(fnmatch.fnmatchcase(branch, str(p).removeprefix("refs/heads/")) for p in pats)

    return hit(include) and not hit(exclude)


def gh_events(on: Any) -> dict[str, Any]:
    """`on:` as {event: config}, from its string, list and mapping forms."""
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {str(e): {} for e in on}
    return {str(k): v if isinstance(v, dict) else {} for k, v in on.items()} if isinstance(on, dict) else {}
