"""A structural PromQL parser: why Prometheus (and `promtool check rules`) would refuse an expression.

Tokens, brackets, selectors (UTF-8 quoted names from 3.0), modifiers, duration expressions, function
names and argument kinds by release (`promql_lex.Dialect`), and which kinds a binary operator may
combine; not a full type checker. `tests/lang/test_promtool_oracle.py` measures agreement with promtool.
"""

from __future__ import annotations

from mlops_gate.lang.promql_lex import (
    AGGREGATIONS,
    BINOPS,
    COMPARISONS,
    KEYWORDS,
    KINDS,
    METRIC_WORDS,
    PREC,
    Dialect,
    PromQLError,
    tokenize,
)
from mlops_gate.lang.promql_parts import Stream
from mlops_gate.lang.versions import PROMETHEUS_DEFAULT, parse

DEFAULT = Dialect(parse(PROMETHEUS_DEFAULT))


def promql_problem(expr: str, dialect: Dialect = DEFAULT) -> str | None:
    """Why Prometheus would refuse this PromQL expression, or None when it looks valid."""
    try:
        tokens = tokenize(expr)
        parser = _Parser(tokens, dialect)
        parser.expr()
        if parser.i < len(tokens):
            raise PromQLError(f"unexpected {tokens[parser.i][1]!r}")
    except PromQLError as exc:
        return f"parse error: {exc}"
    except RecursionError:
        return "parse error: expression nested too deeply"
    return None


class _Parser(Stream):
    def expr(self, min_prec: int = 1) -> str:
        """Precedence climbing: the kinds an operator combines depend on how it groups."""
        left = self.unary()
        while self.peek() in PREC and PREC[self.peek()] >= min_prec:
            op = self.take()[1]
            if not self.d.operator(op):
                raise PromQLError(f"unexpected {op!r}")
            is_bool = self.peek() == "bool"
            if is_bool:
                self.take()
            if is_bool and op not in COMPARISONS:
                raise PromQLError("bool modifier can only be used on comparison operators")
            matching = False  # with matching labels; `on()` is allowed between scalars too
            if self.peek() in ("on", "ignoring"):
                self.take()
                matching = self.labels() > 0
                if self.peek() in ("group_left", "group_right"):
                    if op in ("and", "or", "unless"):
                        raise PromQLError(f"no grouping allowed for {op!r} operation")
                    self.take()
                    if self.peek() == "(":
                        self.labels()
            self.fill()
            right = self.expr(PREC[op] if op == "^" else PREC[op] + 1)
            left = self.combine(op, left, right, is_bool, matching)
        return left

    def fill(self) -> None:
        """`fill(0)`, `fill_left(0) fill_right(1)` (3.10, behind promql-binop-fill-modifiers)."""
        seen = 0
        while self.peek() in ("fill", "fill_left", "fill_right") and self.peek(1) == "(" and seen < 2:
            if not self.d.version.at_least("3.10"):
                return  # a function call, refused as unknown
            if not self.d.fill_modifiers:
                raise PromQLError("binop fill modifiers are experimental and not enabled")
            self.take()
            self.take("(")
            if self.peek() in ("+", "-"):
                self.take()
            if self.take()[0] not in ("num", "dur"):
                raise PromQLError("fill modifier needs a number")
            self.take(")")
            seen += 1

    @staticmethod
    def combine(op: str, left: str, right: str, is_bool: bool, matching: bool) -> str:
        if {left, right} & {"m", "S"}:
            raise PromQLError("binary expression must contain only scalar and instant vector types")
        if matching and "s" in (left, right):
            raise PromQLError("vector matching only allowed between instant vectors")
        if op in ("and", "or", "unless") and "s" in (left, right):
            raise PromQLError(f"set operator {op!r} not allowed in binary scalar expression")
        if op in COMPARISONS and left == right == "s" and not is_bool:
            raise PromQLError("comparisons between scalars must use BOOL modifier")
        return "v" if "v" in (left, right) else "s"

    def unary(self) -> str:
        if self.peek() in ("+", "-"):
            self.take()
            kind = self.unary()
            if kind not in ("s", "v"):
                raise PromQLError("unary expression only allowed on expressions of type scalar or instant vector")
            return kind
        return self.postfix()

    def postfix(self) -> str:
        kind = self.primary()
        selector, self.selector = self.selector, False
        modifiable, seen = selector, set()
        while True:
            word = self.peek()
            if word in seen:
                raise PromQLError(f"{word} may not be set multiple times")
            if word in ("offset", "@", "anchored", "smoothed"):
                seen.add(word)
            if word in ("offset", "@") and not (modifiable or kind == "m"):
                raise PromQLError(f"{word} modifier must be preceded by a vector selector or a subquery")
            if word == "[":
                self.take()
                self.duration()
                if self.peek() == ":":
                    self.take()
                    if self.peek() != "]":
                        self.duration()
                    if kind != "v":
                        raise PromQLError("subquery is only allowed on instant vector")
                elif not selector:
                    raise PromQLError("ranges only allowed for vector selectors")
                self.take("]")
                kind = "m"
            elif word == "offset":
                self.take()
                self.duration(offset=True)
            elif word == "@":
                self.take()
                if self.peek() in ("start", "end"):
                    self.take()
                    self.take("(")
                    self.take(")")
                else:
                    if self.peek() in ("+", "-"):
                        self.take()
                    stamp = self.take()[0]
                    if stamp != "num" and not (stamp == "dur" and self.d.duration_numbers):
                        raise PromQLError("@ modifier needs a timestamp")
            elif word in ("anchored", "smoothed") and self.d.version.at_least("3.7") and kind in ("v", "m"):
                if not self.d.range_modifiers:
                    raise PromQLError(f"{word} modifier is experimental and not enabled")
                self.take()
            else:
                return kind
            selector = False

    def primary(self) -> str:
        kind, text = self.take()
        if kind == "num":
            return "s"
        if kind == "dur":
            if not self.d.duration_numbers:
                raise PromQLError(f"unexpected duration {text!r}")
            return "s"
        if kind == "str":
            return "S"
        if text == "(":
            inner = self.expr()
            self.take(")")
            self.selector = False
            return inner
        if text == "{":
            self.i -= 1
            if not self.matchers():
                raise PromQLError("vector selector must contain at least one non-empty matcher")
            self.selector = True
            return "v"
        if kind != "id" or (text in KEYWORDS | BINOPS and text not in METRIC_WORDS):
            raise PromQLError(f"unexpected {text!r}")
        if text.lower() in ("inf", "nan"):
            return "s"
        if text in AGGREGATIONS and self.peek() in ("(", "by", "without"):
            kind = self.aggregation(text)
        elif self.peek() == "(":
            kind = self.call(text)
        else:
            self.selector = True
            if self.peek() == "{":
                self.matchers(named=True)
            return "v"
        self.selector = False
        return kind

    def aggregation(self, name: str) -> str:
        why = self.d.aggregation(name)
        if why:
            raise PromQLError(why)
        grouped = False
        if self.peek() in ("by", "without"):
            self.take()
            self.labels()
            grouped = True
        self.take("(")
        kinds = self.args()
        if self.peek() in ("by", "without") and not grouped:
            self.take()
            self.labels()
        wanted = AGGREGATIONS[name] + "v"
        if not kinds:
            raise PromQLError("no arguments for aggregate expression provided")
        if len(kinds) != len(wanted):
            raise PromQLError(
                f"wrong number of arguments for aggregate expression provided, expected {len(wanted)}, got {len(kinds)}"
            )
        self.check_kinds(f"aggregation {name!r}", wanted, kinds)
        return "v"

    def call(self, name: str) -> str:
        sig, why = self.d.function(name)
        if sig is None:
            raise PromQLError(why or f"unknown function with name {name!r}")
        self.take("(")
        wanted, variadic, result = sig
        kinds = self.args()
        n = len(wanted)
        if variadic == 0 and len(kinds) != n:
            raise PromQLError(f"expected {n} argument(s) in call to {name!r}, got {len(kinds)}")
        if variadic and len(kinds) < n - 1:
            raise PromQLError(f"expected at least {n - 1} argument(s) in call to {name!r}, got {len(kinds)}")
        if variadic > 0 and len(kinds) > n - 1 + variadic:
            raise PromQLError(f"expected at most {n - 1 + variadic} argument(s) in call to {name!r}, got {len(kinds)}")
        self.check_kinds(f"call to function {name!r}", wanted, kinds[: n if not variadic else len(kinds)])
        return result

    def args(self) -> list[str]:
        kinds: list[str] = []
        while self.peek() != ")":
            kinds.append(self.expr())
            if self.peek() != ",":
                break
            self.take()
            if self.peek() == ")":
                raise PromQLError("trailing commas not allowed in function call args")
        self.take(")")
        return kinds

    @staticmethod
    def check_kinds(where: str, wanted: str, kinds: list[str]) -> None:
        for i, got in enumerate(kinds):
            want = wanted[min(i, len(wanted) - 1)]
            if got != want:
                raise PromQLError(f"expected type {KINDS[want]} in {where}, got {KINDS[got]}")
