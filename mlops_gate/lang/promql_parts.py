"""The token stream under the PromQL parser, and the parts of PromQL that do not nest expressions: selectors
(`{...}` with UTF-8 quoted names from 3.0), grouping labels, and the durations of ranges, subqueries and
offsets (arithmetic duration expressions from 3.4 behind promql-duration-expr, by default from 3.14)."""

from __future__ import annotations

from mlops_gate.lang import regexes
from mlops_gate.lang.promql_lex import PREC, Dialect, PromQLError, duration_seconds

_DURATION_FUNCS = ("step", "range", "min_of", "max_of")


class Stream:
    def __init__(self, tokens: list[tuple[str, str]], dialect: Dialect) -> None:
        self.toks, self.i, self.d = tokens, 0, dialect
        self.selector = False  # the last primary was a bare vector selector (a range may follow)

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.toks[j][1] if j < len(self.toks) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise PromQLError("unexpected end of input")
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise PromQLError(f"unexpected {tok[1]!r}, expected {want!r}")
        self.i += 1
        return tok

    def duration(self, offset: bool = False) -> None:
        """A range, subquery step or offset: a duration; a number of seconds (2.54); an arithmetic duration
        expression with step(), range(), min_of(), max_of() (3.4 behind promql-duration-expr, 3.14)."""
        if self.d.duration_expressions:  # an offset's arithmetic needs parentheses: `x offset 5m - y` subtracts y
            self.duration_term(offset) if offset else self.duration_expr(offset)
            return
        if offset and self.peek() == "-":
            self.take()
        kind, text = self.take()
        if kind == "dur" and duration_seconds(text) is not None:
            return
        if kind == "num" and self.d.duration_numbers:
            return
        raise PromQLError(f"bad duration {text!r}")

    def duration_expr(self, offset: bool, min_prec: int = 4) -> None:
        self.duration_term(offset)
        while self.peek() in ("+", "-", "*", "/", "%", "^") and PREC[self.peek()] >= min_prec:
            op = self.take()[1]
            self.duration_expr(False, PREC[op] if op == "^" else PREC[op] + 1)

    def duration_term(self, offset: bool) -> None:
        if self.peek() in ("+", "-"):
            self.take()
            self.duration_term(offset)
            return
        if self.peek() == "(":
            self.take()
            self.duration_expr(False)
            self.take(")")
            return
        if self.peek() in _DURATION_FUNCS and self.peek(1) == "(":
            name = self.take()[1]
            self.take("(")
            if name in ("min_of", "max_of"):
                self.duration_expr(False)
                self.take(",")
                self.duration_expr(False)
            self.take(")")
            return
        kind, text = self.take()
        if not (kind == "num" or (kind == "dur" and duration_seconds(text) is not None)):
            raise PromQLError(f"bad duration {text!r}")

    def labels(self) -> int:
        self.take("(")
        count = 0
        while self.peek() != ")":
            kind, text = self.take()
            if kind == "str" and self.d.utf8_names:
                if text[1:-1] == "":
                    raise PromQLError('invalid label name for grouping: ""')
            elif kind != "id":
                raise PromQLError("expected a label name in grouping")
            count += 1
            if self.peek() != ",":
                break
            self.take()
        self.take(")")
        return count

    def matchers(self, named: bool = False) -> bool:
        """A `{...}` selector; whether it has a name or a matcher that does not match the empty string."""
        self.take("{")
        nonempty = named
        while self.peek() != "}":
            kind, text = self.take()
            if kind == "str" and self.d.utf8_names and self.peek() not in ("=", "!=", "=~", "!~"):
                if named:
                    raise PromQLError("metric name must not be set twice")
                named = nonempty = True  # `{"http.server.duration"}`: the metric name
            elif kind != "id" and not (kind == "str" and self.d.utf8_names):
                raise PromQLError(f"unexpected {text!r} in label matching, expected identifier or '}}'")
            else:
                if self.peek() not in ("=", "!=", "=~", "!~"):
                    raise PromQLError("expected a label matching operator")
                op = self.take()[1]
                kind, value = self.take()
                if kind != "str":
                    raise PromQLError(f"unexpected {value!r} in label matching, expected string")
                empty = _matches_empty(op, _unquote(value))  # refuses an invalid regex too
                nonempty = nonempty or not empty
            if self.peek() != ",":
                break
            self.take()
        self.take("}")
        return nonempty


def _unquote(token: str) -> str:
    """A PromQL string literal's value (Go's strconv.Unquote for the escapes rule files use)."""
    body = token[1:-1]
    if token[0] == "`" or "\\" not in body:
        return body
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return body


def _matches_empty(op: str, value: str) -> bool:
    """Whether a matcher matches the empty label value (a selector needs one that does not)."""
    if op in ("=", "!="):
        return (value == "") == (op == "=")
    hit = regexes.fullmatch(value, "")
    if hit is None:
        raise PromQLError(f"error parsing regexp: {value!r}")
    return hit == (op == "=~")
