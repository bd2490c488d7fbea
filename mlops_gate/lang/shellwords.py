"""The word lexer BuildKit's Dockerfile frontend uses (its `shell` package), as far as finding images needs:
splitting a line into words (quotes and escapes kept or removed), finding `<<` heredoc words, and expanding
`$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}`, `${VAR?msg}` against build args.

An expansion the gate does not evaluate (`${VAR#pattern}`, `${VAR%pattern}`, `${VAR/a/b}`) or a variable
without a value makes the result unknown: `Words.unknown` says why, so the image is never taken as known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)  # Go's unicode.IsSpace
_SPECIAL = "@*#?-$!0"
MAX_EXPANSION = 1 << 16  # characters variables may add to one word (`ARG B=$A$A` doubles at each line)


class LexError(ValueError):
    """BuildKit refuses the text (an unterminated quote, a bad substitution): the build fails."""


@dataclass
class Words:
    """Text with its build args expanded: the words, the whole result, and, when the result cannot be known, why."""

    words: list[str] = field(default_factory=list)
    result: str = ""
    unknown: list[str] = field(default_factory=list)  # why the result is not known


class _Lexer:
    def __init__(self, text: str, escape: str, raw: bool, env: Mapping[str, str | None] | None) -> None:
        self.s, self.pos, self.escape, self.raw_quotes = text, 0, escape, raw
        self.raw_escapes = raw
        self.env = env  # None: leave every variable as written (BuildKit's SkipUnsetEnv with no env)
        self.unknown: list[str] = []
        self.room = MAX_EXPANSION

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def until(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        """processStopOn: text up to `stop` ("" = the end), and its words."""
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        result: list[str] = []
        buf: list[str] = []
        words: list[str] = []
        state = {"in_word": False}

        def raw_add(text: str) -> None:
            buf.append(text)
            state["in_word"] = True

        def add(ch: str) -> None:
            if ch in GO_SPACE:
                if state["in_word"] and "".join(buf):
                    words.append("".join(buf))
                    buf.clear()
                    state["in_word"] = False
            else:
                raw_add(ch)

        ended = False  # at `stop`
        try:
            while self.peek():
                ch = self.peek()
                if stop and ch == stop:
                    self.next()
                    ended = True
                    break
                if ch in "$<'\"":
                    tmp = {"$": self.dollar, "<": self.heredoc_start, "'": self.single, '"': self.double}[ch]()
                    result.append(tmp)
                    if ch == "$":
                        for c in tmp:
                            add(c)
                    else:
                        raw_add(tmp)
                    continue
                ch = self.next()
                if ch == self.escape:
                    if self.raw_escapes:
                        raw_add(ch)
                        result.append(ch)
                    ch = self.next()
                    if not ch:
                        break
                    raw_add(ch)
                else:
                    add(ch)
                result.append(ch)
        finally:
            self.raw_escapes = saved
        if stop and not ended:
            raise LexError(f"unexpected end of statement while looking for matching {stop}")
        if "".join(buf):
            words.append("".join(buf))
        return "".join(result), words

    def single(self) -> str:
        quote = self.next()
        out = [quote] if self.raw_quotes else []
        while True:
            ch = self.next()
            if not ch:
                raise LexError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                return "".join(out) + ("'" if self.raw_quotes else "")
            out.append(ch)

    def double(self) -> str:
        quote = self.next()
        out = [quote] if self.raw_quotes else []
        while True:
            ch = self.peek()
            if not ch:
                raise LexError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                return "".join(out) + ('"' if self.raw_quotes else "")
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if self.raw_escapes:
                    out.append(ch)
                if not self.peek():
                    continue
                if self.peek() in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def heredoc_start(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        space = ""
        while self.peek() and self.peek() in "\t\r ":
            space += self.next()
        return "<<" + space

    def name(self) -> str:
        out = ""
        while self.peek():
            ch = self.peek()
            if not out and ch.isdecimal():
                while self.peek() and self.peek().isdecimal():
                    out += self.next()
                return out
            if not out and ch in _SPECIAL:
                return self.next()
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            out += self.next()
        return out

    def lookup(self, name: str, written: str) -> tuple[str, bool] | None:
        """(value, set) of a variable; None to leave `written` in place (no env)."""
        if self.env is None:
            return None
        value = self.get(name)
        if value is None:
            why = "has no default value" if name in self.env else "is not declared before the first FROM"
            self.unknown.append(f"build arg {name} {why}")
        return (value or "", value is not None)

    def get(self, name: str) -> str | None:
        """A variable's value, counted against MAX_EXPANSION (past it, the word is unknown)."""
        value = self.env.get(name) if self.env is not None else None
        if value is not None:
            self.room -= len(value)
            if self.room < 0:
                if self.room + len(value) >= 0:  # said once
                    self.unknown.append(f"expands to more than {MAX_EXPANSION} characters")
                return ""
        return value

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            found = self.lookup(name, "$" + name)
            return "$" + name if found is None else found[0]
        self.next()
        if not self.peek():
            raise LexError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise LexError("syntax error: bad substitution")
        name = self.name()
        op = self.next()
        if not op:
            raise LexError("syntax error: missing '}'")
        if op == "}":
            found = self.lookup(name, f"${{{name}}}")
            return f"${{{name}}}" if found is None else found[0]
        if op == "/":
            return self.replace(name)
        if op not in ":+-?#%":
            raise LexError(f"unsupported modifier ({op}) in substitution")
        null_is_unset = op == ":"
        if null_is_unset:
            op += self.next()
        mod = op[-1]
        if null_is_unset and mod in "#%":
            raise LexError(f"unsupported modifier ({op}) in substitution")
        word, _ = self.until("}", mod in "#%")
        if self.env is None:
            return f"${{{name}{op}{word}}}"
        value = self.get(name)
        is_set = value is not None and not (null_is_unset and value == "")
        if mod == "-":
            return value if is_set and value is not None else word
        if mod == "+":
            return word if is_set else ""
        if mod == "?" and is_set and value is not None:
            return value
        self.lookup(name, "")  # records why it is unknown, when it has no value
        self.unknown.append(f"${{{name}{op}{word}}} is not evaluated by the gate")
        return ""

    def replace(self, name: str) -> str:
        if self.peek() == "/":
            self.next()
        pattern, _ = self.until("/", True)
        replacement, _ = self.until("}", True)
        if self.env is None:
            return f"${{{name}/{pattern}/{replacement}}}"
        self.unknown.append(f"${{{name}/{pattern}/{replacement}}} is not evaluated by the gate")
        return ""


def split(text: str, *, raw: bool, escape: str = "\\") -> list[str]:
    """Words as BuildKit's ProcessWords sees them, variables left as written; LexError when it refuses."""
    return _Lexer(text, escape, raw, None).until("", raw)[1]


def expand(text: str, env: Mapping[str, str | None], escape: str = "\\") -> Words:
    """One word with build args expanded (quotes and escapes processed), and what made it unknown."""
    lexer = _Lexer(text, escape, False, env)
    try:
        result, words = lexer.until("", False)
    except LexError as exc:
        return Words([], "", [f"BuildKit refuses it: {exc}"])
    return Words(words, result, lexer.unknown)
