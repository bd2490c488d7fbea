"""Go templates in alert labels and annotations: actions closed, blocks balanced, functions known.

What Go's text/template (with Prometheus's template functions) would reject, checked without Go.
"""

from __future__ import annotations

import re

_FUNCS = (
    "and or not len index print printf println html js urlquery call slice eq ne lt le gt ge "
    "query first label value strvalue args reReplaceAll safeHtml match title toUpper toLower graphLink "
    "tableLink sortByLabel humanize humanize1024 humanizeDuration humanizePercentage humanizeTimestamp "
    "pathPrefix externalURL parseDuration stripPort stripDomain toTime"
)
TEMPLATE_FUNCS = set(_FUNCS.split())
_ACTION = re.compile(
    r"""\{\{(-\s)?(
    (?:[^}"'`] | "(?:[^"\\]|\\.)*" | '(?:[^'\\]|\\.)*' | `[^`]*` | \}(?!\}))*?
    )(\s-)?\}\}""",
    re.S | re.X,
)
_OPENERS = {"if", "range", "with", "define", "block"}


def template_problem(text: str) -> str | None:
    """Why Go's text/template would reject an alert label or annotation, or None."""
    depth: list[str] = []
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        m = _ACTION.match(text, start)
        if not m:
            return "unclosed action"
        pos = m.end()
        body = m.group(2).strip()
        if body.startswith("/*"):
            continue
        words = body.split()
        if not words:
            return "missing value for command"
        head = words[0]
        if head in _OPENERS:
            if len(words) == 1:
                return f"missing value for {head}"
            depth.append(head)
        elif head == "end":
            if not depth:
                return "unexpected {{end}}"
            depth.pop()
        elif head == "else" and not depth:
            return "unexpected {{else}}"
        for part in re.split(r"\|", body):
            first = part.split()[:1]
            word = first[0].lstrip("(") if first else ""
            if re.fullmatch(r"[A-Za-z_]\w*", word) and word not in TEMPLATE_FUNCS | _OPENERS | {
                "end",
                "else",
                "template",
                "nil",
                "true",
                "false",
                "break",
                "continue",
            }:
                return f'function "{word}" not defined'
    return f"unexpected EOF (unclosed {{{{{depth[-1]}}}}})" if depth else None
