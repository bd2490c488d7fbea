"""The Dockerfile parser, as BuildKit's frontend reads a file (moby/buildkit frontend/dockerfile/parser):
lines, a BOM, parser directives, line continuations, comments, builder flags and heredocs. See _dockerfile
for what is read from it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mlops_gate.lang.shellwords import GO_SPACE, LexError, split

_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.*)$")  # value: rstrip()ped after
_HEREDOC_WORD = re.compile(r"^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$")
WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC_KEYWORDS = ("RUN", "COPY", "ADD")


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword, builder flags and arguments, and the line it starts on."""

    line: int  # 1-based line where the instruction starts
    keyword: str  # upper case
    args: str  # the rest, after the flags
    flags: tuple[str, ...] = ()  # leading `--name=value` words, quotes and escapes removed


@dataclass(frozen=True)
class Parsed:
    """A Dockerfile as BuildKit parses it: its instructions and `# syntax=` directive and, when BuildKit refuses the
    file, why (the instructions then stop there)."""

    instructions: tuple[Instruction, ...]
    syntax: tuple[int, str] | None = None  # the frontend image a `# syntax=` directive names, and its line
    error: str | None = None  # BuildKit refuses the file: the build fails (nothing after this is read)


def _lstrip(text: str) -> str:
    return text.lstrip(GO_SPACE)


def parse(text: str) -> Parsed:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.rstrip("\r") for line in lines]
    if lines:
        lines[0] = lines[0].removeprefix("\ufeff")
    escape, i = "\\", 0
    out: list[Instruction] = []
    directives: dict[str, str] | None = {}
    while i < len(lines):
        token = _lstrip(lines[i])
        i += 1
        if directives is not None:
            found = _directive(token)
            if found is None:
                directives = None
            elif found[0] in directives:
                return Parsed(tuple(out), error=f"line {i}: only one {found[0]} parser directive can be used")
            else:
                directives[found[0]] = found[1]
                if found[0] == "escape":
                    if found[1] not in ("`", "\\"):
                        return Parsed(tuple(out), error=f"line {i}: invalid escape token {found[1]!r}")
                    escape = found[1]
        start = i
        part, ended = _continued("" if token.startswith("#") else token, escape)
        if ended and not part:
            continue
        parts = [part]
        while not ended and i < len(lines):
            raw = lines[i]
            i += 1
            if _lstrip(raw).startswith("#") or not _lstrip(raw):
                continue  # comments and blank lines inside a continuation vanish
            part, ended = _continued(raw, escape)
            parts.append(part)
        ins = _instruction(start, "".join(parts), escape)
        out.append(ins)
        try:
            delimiters = _heredocs(ins, "".join(parts), escape)
        except LexError as exc:
            return Parsed(tuple(out), error=f"line {start}: {exc}")
        for name, chomp in delimiters:
            while i < len(lines) and (lines[i].lstrip("\t") if chomp else lines[i]) != name:
                i += 1
            if i >= len(lines):
                return Parsed(tuple(out), error=f"line {start}: unterminated heredoc {name}")
            i += 1
    return Parsed(tuple(out), syntax=_syntax(text))


def _directive(token: str, prefix: str = "#") -> tuple[str, str] | None:
    """(name, value) of a parser directive line (`# escape=\\``), or None."""
    if not token.startswith(prefix):
        return None
    m = _DIRECTIVE.match(_lstrip(token[len(prefix) :]))
    value = m.group(2).rstrip("\t\n\f\r ") if m else ""  # no lazy regex: linear on a long line
    if m is None or not value or m.group(1).lower() not in ("syntax", "escape", "check"):
        return None
    return m.group(1).lower(), value


def _continued(line: str, escape: str) -> tuple[str, bool]:
    """(the line without a trailing continuation, whether the instruction ends here)."""
    e = re.escape(escape)
    m = re.search(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$", line)
    if m is None:
        return line, True
    return line[: m.start()] + (m.group(1) or ""), False


def _instruction(start: int, line: str, escape: str) -> Instruction:
    parts = WHITESPACE.split(line.strip(GO_SPACE), maxsplit=1)
    flags, args = _flags(parts[1], escape) if len(parts) == 2 else ((), "")
    return Instruction(start, parts[0].upper(), args.strip(GO_SPACE), flags)


def _flags(line: str, escape: str) -> tuple[tuple[str, ...], str]:
    """BuildKit's extractBuilderFlags: leading words that start with `--` (quotes, escapes removed)."""
    words: list[str] = []
    pos = 0
    while True:
        while pos < len(line) and line[pos] in GO_SPACE:
            pos += 1
        if not line.startswith("--", pos):
            return tuple(words), line[pos:]
        word, quote, blank_ok = [], "", False
        while pos < len(line):
            ch = line[pos]
            pos += 1
            if quote:
                if ch == quote:
                    quote = ""
                    continue
            elif ch in GO_SPACE:
                break
            elif ch in "'\"":
                quote, blank_ok = ch, True
                continue
            if ch == escape:
                if pos == len(line):
                    continue
                ch = line[pos]
                pos += 1
            word.append(ch)
        text = "".join(word)
        if text == "--" and not quote:
            return tuple(words), line[pos:]
        if text or blank_ok:
            words.append(text)
        if pos >= len(line):
            return tuple(words), ""


def _heredocs(ins: Instruction, line: str, escape: str) -> list[tuple[str, bool]]:
    """The heredoc delimiters an instruction opens, in order, each with whether `<<-` strips tabs."""
    target = ins
    if ins.keyword == "ONBUILD":
        target = _instruction(ins.line, ins.args, escape)
    if target.keyword not in _HEREDOC_KEYWORDS or "<<" not in line or _is_json(target.args):
        return []
    try:
        words = split(line, raw=True)
    except LexError:
        return []  # BuildKit ignores the error here: no heredoc
    found = []
    for word in words:
        m = _HEREDOC_WORD.match(word)
        if m is None or not m.group(3):
            continue
        names = split(m.group(3), raw=False)  # a LexError here fails the build
        if len(names) == 1:
            found.append((names[0], m.group(2) == "-"))
    return found


def _is_json(args: str) -> bool:
    rest = _lstrip(args)
    if not rest.startswith("["):
        return False
    try:
        return isinstance(json.loads(rest), list)
    except ValueError:
        return False


def _syntax(text: str) -> tuple[int, str] | None:
    """The frontend image, as BuildKit's DetectSyntax finds it: `# syntax=`, else `// syntax=` directives at
    the top (after a BOM and a `#!` line), else a JSON document's "syntax" key."""
    lines = text.removeprefix("\ufeff").split("\n")
    first = 1
    if lines and lines[0].startswith("#!"):
        lines, first = lines[1:], 2
    text = "\n".join(lines)
    for prefix in ("#", "//"):
        for n, line in enumerate(lines):
            found = _directive(line.rstrip("\r"), prefix)
            if found is None:
                break
            if found[0] == "syntax":
                return first + n, found[1].split(" ", 1)[0]
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    value = doc.get("syntax") if isinstance(doc, dict) else None
    return (first, value.split(" ", 1)[0]) if isinstance(value, str) else None
