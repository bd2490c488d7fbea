"""Reading the inputs of upstream Go tests where they live: the raw-string literals (`...`) of a Go test
function, in order. The conformance suites (tests/lang/test_conformance_*.py) name each case by its Go test and the
index of the literal; the test data itself is never copied into the project."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path


@cache
def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def body(path: Path, func: str) -> str:
    """The text of `func Name(...) { ... }` in a Go file (up to the closing brace at column 0)."""
    src = _source(path)
    m = re.search(rf"^func {re.escape(func)}\(.*?^\}}$", src, re.S | re.M)
    if not m:
        raise LookupError(f"{path.name}: no function {func}")
    return m.group(0)


def literals(path: Path, func: str) -> list[str]:
    """The raw-string literals of a Go function, in order (not the backquotes of its comments, nor of its
    double-quoted strings)."""
    text, out, i = body(path, func), [], 0
    while i < len(text):
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text[i] == '"':
            m = re.compile(r'"(?:[^"\\\n]|\\.)*"').match(text, i)
            i = m.end() if m else i + 1
        elif text[i] == "`":
            end = text.index("`", i + 1)
            out.append(text[i + 1 : end])
            i = end + 1
        else:
            i += 1
    return out


def literal(path: Path, func: str, index: int = 0) -> str:
    found = literals(path, func)
    if index >= len(found):
        raise LookupError(f"{path.name}: {func} has {len(found)} raw-string literal(s), not {index + 1}")
    return found[index]


def string_list(path: Path, func: str, name: str) -> list[str]:
    """The strings of `name := []string{"a", "b"}` in a Go function."""
    m = re.search(rf"{re.escape(name)} := \[\]string\{{([^}}]*)\}}", body(path, func))
    if not m:
        raise LookupError(f"{path.name}: {func} has no []string {name}")
    return re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
