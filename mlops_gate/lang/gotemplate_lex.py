"""Go's text/template lexer (text/template/parse/lex.go), for checking templates without Go.

Tokens are (kind, text) pairs; a lexing error is raised as TemplateError with Go's message. Kinds:
text, left, right, space, ident, keyword, bool, nil, field, var, dot, string, raw, char_const, number,
pipe, declare, assign, lparen, rparen, char.
"""

from __future__ import annotations

import functools
import re

KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
_SPACE = " \t\r\n"
_ALNUM = re.compile(r"[\w]*", re.UNICODE)  # Go: letter, digit or underscore (Unicode letters and digits)


# number literals: compiled when a template first has one (a run with no template number does not pay)
@functools.cache
def _number_re() -> re.Pattern[str]:
    return re.compile(
        r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?"
        r"|0[oO][0-7_]*|0[bB][01_]*|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)i?"
    )


@functools.cache
def _good_number_re() -> re.Pattern[str]:
    return re.compile(
        r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+(?:\.[0-9a-fA-F]*)?(?:[pP][+-]?\d+)?|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
        r"|(?:\d(?:_?\d)*)?(?:\.\d*)?(?:[eE][+-]?\d+)?)i?"
    )


class TemplateError(ValueError):
    pass


def tokens(text: str) -> list[tuple[str, str]]:
    """Every token of `text`, as Go's lexer emits them; TemplateError on what it refuses."""
    out: list[tuple[str, str]] = []
    pos, n = 0, len(text)
    while pos < n:
        start = text.find("{{", pos)
        if start < 0:
            out.append(("text", text[pos:]))
            break
        if start > pos:
            out.append(("text", text[pos:start]))
        pos = start + 2
        if text.startswith("-", pos) and pos + 1 < n and text[pos + 1] in _SPACE:
            pos += 2  # left trim marker
        if text.startswith("/*", pos):
            pos = _comment(text, pos)
            continue
        out.append(("left", "{{"))
        pos = _action(text, pos, out)
    return out


def _comment(text: str, pos: int) -> int:
    end = text.find("*/", pos + 2)
    if end < 0:
        raise TemplateError("unclosed comment")
    pos = end + 2
    if text.startswith(" -}}", pos):
        return pos + 4
    if text.startswith("}}", pos):
        return pos + 2
    raise TemplateError("comment ends before closing delimiter")


def _right_trim(text: str, pos: int) -> bool:
    return pos < len(text) and text[pos] in _SPACE and text.startswith("-}}", pos + 1)


def _action(text: str, pos: int, out: list[tuple[str, str]]) -> int:
    depth, n = 0, len(text)
    while True:
        if _right_trim(text, pos) or text.startswith("}}", pos):
            if depth:
                raise TemplateError("unclosed left paren")
            out.append(("right", "}}"))
            return pos + (4 if _right_trim(text, pos) else 2)
        if pos >= n:
            raise TemplateError("unclosed action")
        c = text[pos]
        if c in _SPACE:
            end = pos
            while end < n and text[end] in _SPACE and not _right_trim(text, end):
                end += 1
            if end == pos:  # this space starts the right trim marker
                out.append(("space", c))
                pos += 1
                continue
            out.append(("space", text[pos:end]))
            pos = end
        elif c == "=":
            out.append(("assign", "="))
            pos += 1
        elif c == ":":
            if not text.startswith(":=", pos):
                raise TemplateError("expected :=")
            out.append(("declare", ":="))
            pos += 2
        elif c == "|":
            out.append(("pipe", "|"))
            pos += 1
        elif c == '"':
            pos = _quoted(text, pos, '"', "string", "unterminated quoted string", out)
        elif c == "'":
            pos = _quoted(text, pos, "'", "char_const", "unterminated character constant", out)
        elif c == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise TemplateError("unterminated raw quoted string")
            out.append(("raw", text[pos : end + 1]))
            pos = end + 1
        elif c == "$":
            pos = _word(text, pos + 1, out, "var", "$")
        elif c == "." and pos + 1 < n and text[pos + 1].isdigit():
            pos = _number(text, pos, out)
        elif c == ".":
            after = _ALNUM.match(text, pos + 1)
            if after and after.group():
                pos = _word(text, pos + 1, out, "field", ".")
            else:
                out.append(("dot", "."))
                pos += 1
        elif c in "+-" or c.isdigit():
            pos = _number(text, pos, out)
        elif c.isalpha() or c == "_":
            found = _ALNUM.match(text, pos)
            word = found.group() if found else c
            kind = "keyword" if word in KEYWORDS else "bool" if word in ("true", "false") else "ident"
            out.append(("nil", word) if word == "nil" else (kind, word))
            pos += len(word)
            _check_end(text, pos)
        elif c == "(":
            depth += 1
            out.append(("lparen", c))
            pos += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise TemplateError("unexpected right paren")
            out.append(("rparen", c))
            pos += 1
        elif c.isascii() and c.isprintable():
            out.append(("char", c))
            pos += 1
        else:
            raise TemplateError(f"bad character U+{ord(c):04X} {c!r}")


def _quoted(text: str, pos: int, quote: str, kind: str, unterminated: str, out: list[tuple[str, str]]) -> int:
    i = pos + 1
    while True:
        if i >= len(text) or text[i] == "\n":
            raise TemplateError(unterminated)
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            out.append((kind, text[pos : i + 1]))
            return i + 1
        i += 1


def _word(text: str, pos: int, out: list[tuple[str, str]], kind: str, prefix: str) -> int:
    m = _ALNUM.match(text, pos)
    word = m.group() if m else ""
    out.append((kind, prefix + word))
    pos += len(word)
    _check_end(text, pos)
    return pos


def _check_end(text: str, pos: int) -> None:
    """What may follow a word (identifier, field, variable): Go's lexer refuses anything else."""
    if pos >= len(text) or text[pos] in _SPACE + ".,|:()" or text.startswith("}}", pos):
        return
    raise TemplateError(f"bad character U+{ord(text[pos]):04X} {text[pos]!r}")


def _number(text: str, pos: int, out: list[tuple[str, str]]) -> int:
    m = _number_re().match(text, pos)
    end = m.end() if m else pos
    word = text[pos:end]
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        raise TemplateError(f"bad number syntax: {text[pos : end + 1]!r}")
    if word in ("+", "-", "") or not _good_number_re().fullmatch(word):
        raise TemplateError(f"illegal number syntax: {word!r}")
    out.append(("number", word))
    return end
