"""Just enough of the Dockerfile grammar to find the images a build pulls.

Logical instructions (parser directives, `escape`, line continuations, comments, heredocs), global
`ARG` substitution in `FROM` (`$A`, `${A}`, `${A:-default}`, `${A:+alt}`), stage names, and
`COPY --from=<image>`. Nothing is executed or fetched.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$|@sha512:[0-9a-f]{128}$")
_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC_RE = re.compile(r"<<-?\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line where the instruction starts
    keyword: str  # upper case
    args: str  # the rest, continuations joined


@dataclass(frozen=True)
class ImageUse:
    """One image the build pulls: `ref` after substitution, or `unresolved` saying why not."""

    line: int
    instruction: str  # FROM or COPY --from
    written: str
    ref: str | None
    unresolved: str | None = None


def instructions(text: str) -> list[Instruction]:
    """Logical instructions of a Dockerfile, each with its first line."""
    escape = "\\"
    lines = text.splitlines()
    i = 0
    while i < len(lines):  # parser directives: only at the very top, before anything else
        m = _DIRECTIVE_RE.match(lines[i].strip())
        if not m:
            break
        if m.group(1).lower() == "escape" and m.group(2) in ("`", "\\"):
            escape = m.group(2)
        i += 1
    out: list[Instruction] = []
    while i < len(lines):
        raw = lines[i].strip()
        i += 1
        if not raw or raw.startswith("#"):
            continue
        start, parts = i, []
        while raw.endswith(escape):
            parts.append(raw[: -len(escape)])
            raw = ""
            while i < len(lines) and not raw:  # comments and blank lines inside a continuation vanish
                candidate = lines[i].strip()
                i += 1
                if candidate and not candidate.startswith("#"):
                    raw = candidate
            if not raw:
                break
        parts.append(raw)
        keyword, _, args = " ".join(p.strip() for p in parts).partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
        for m in _HEREDOC_RE.finditer(args if keyword.upper() in ("RUN", "COPY", "ADD") else ""):
            # heredoc bodies are content, not instructions
            while i < len(lines) and lines[i].strip() != m.group(2):
                i += 1
            i += 1
    return out


def substitute(value: str, args: dict[str, str | None]) -> tuple[str | None, str | None]:
    """`value` with build args expanded, or (None, reason) when one has no value to expand."""
    problems: list[str] = []

    def expand(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        current = args.get(name)
        is_set = current is not None and (current != "" or not (op or "").startswith(":"))
        if op in (":-", "-"):
            return current if is_set and current is not None else word
        if op in (":+", "+"):
            return word if is_set else ""
        if current is None:
            why = "has no default value" if name in args else "is not declared before the first FROM"
            problems.append(f"build arg {name} {why}")
            return ""
        return current

    result = _VAR_RE.sub(expand, value)
    return (None, "; ".join(problems)) if problems else (result, None)


def _split(args: str) -> list[str]:
    try:
        return shlex.split(args, comments=False, posix=True)
    except ValueError:
        return args.split()


def _arg_defaults(args: str, known: dict[str, str | None]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for token in _split(args):
        name, eq, default = token.partition("=")
        if eq:
            value, _ = substitute(default, {**known, **found})
            found[name] = value
        else:
            found[name] = known.get(name)
    return found


def image_uses(text: str) -> tuple[list[ImageUse], int]:
    """Every external image a Dockerfile pulls (FROM and COPY --from), and the number of FROMs.

    Stage references (`FROM builder`, `COPY --from=0`) and `scratch` are not images and are left out.
    """
    global_args: dict[str, str | None] = {}
    stages: list[str] = []
    uses: list[ImageUse] = []
    froms = 0
    for ins in instructions(text):
        if ins.keyword == "ARG" and not froms:
            global_args.update(_arg_defaults(ins.args, global_args))
        elif ins.keyword == "FROM":
            froms += 1
            words = [w for w in _split(ins.args) if not w.startswith("--")]
            if not words:
                uses.append(ImageUse(ins.line, "FROM", ins.args, None, "FROM names no image"))
                continue
            written = words[0]
            ref, why = substitute(written, global_args)
            if ref is not None and ref.lower() not in stages and ref.lower() != "scratch":
                uses.append(ImageUse(ins.line, "FROM", written, ref))
            elif ref is None:
                uses.append(ImageUse(ins.line, "FROM", written, None, why))
            if len(words) >= 3 and words[1].lower() == "as":
                stages.append(words[2].lower())
        elif ins.keyword == "COPY" and froms:
            for word in _split(ins.args):
                if not word.startswith("--from="):
                    continue
                source = word[len("--from=") :]
                if source.lower() not in stages and not source.isdigit() and "$" not in source:
                    uses.append(ImageUse(ins.line, "COPY --from", source, source))
    return uses, froms


def is_digest_pinned(ref: str) -> bool:
    return DIGEST_RE.search(ref) is not None
