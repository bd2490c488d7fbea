"""A light structural PromQL parser: why `promtool check rules` would reject an expression.

Tokens, brackets, selectors, modifiers, function names and argument kinds, and which kinds a binary
operator may combine; not a full type checker. `tests/lang/test_promtool_oracle.py` measures agreement
with promtool.
"""

from __future__ import annotations

from mlops_gate.lang.promql_lex import (
    AGGREGATIONS,
    BINOPS,
    COMPARISONS,
    FUNCTIONS,
    KEYWORDS,
    KINDS,
    METRIC_WORDS,
    PREC,
    PromQLError,
    duration_seconds,
    tokenize,
)


def promql_problem(expr: str) -> str | None:
    """Why promtool would reject this PromQL expression, or None when it looks valid."""
    try:
        tokens = tokenize(expr)
        parser = _Parser(tokens)
        parser.expr()
        if parser.i < len(tokens):
            raise PromQLError(f"unexpected {tokens[parser.i][1]!r}")
    except PromQLError as exc:
        return f"parse error: {exc}"
    except RecursionError:
        return "parse error: expression nested too deeply"
    return None


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks, self.i = tokens, 0
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

    def expr(self, min_prec: int = 1) -> str:
        """Precedence climbing: the kinds an operator combines depend on how it groups."""
        left = self.unary()
        while self.peek() in PREC and PREC[self.peek()] >= min_prec:
            op = self.take()[1]
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
            right = self.expr(PREC[op] if op == "^" else PREC[op] + 1)
            left = self.combine(op, left, right, is_bool, matching)
        return left

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
            if self.peek() in seen:
                raise PromQLError(f"{self.peek()} may not be set multiple times")
            if self.peek() in ("offset", "@"):
                seen.add(self.peek())
            if self.peek() in ("offset", "@") and not (modifiable or kind == "m"):
                raise PromQLError(f"{self.peek()} modifier must be preceded by a vector selector or a subquery")
            if self.peek() == "[":
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
            elif self.peek() == "offset":
                self.take()
                if self.peek() == "-":
                    self.take()
                self.duration()
            elif self.peek() == "@":
                self.take()
                if self.peek() in ("start", "end"):
                    self.take()
                    self.take("(")
                    self.take(")")
                else:
                    if self.peek() in ("+", "-"):
                        self.take()
                    if self.take()[0] != "num":
                        raise PromQLError("@ modifier needs a timestamp")
            else:
                return kind
            selector = False

    def duration(self) -> None:
        kind, text = self.take()
        if kind != "dur" or duration_seconds(text) is None:
            raise PromQLError(f"bad duration {text!r}")

    def primary(self) -> str:
        kind, text = self.take()
        if kind == "num":
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
            if not any(v not in ('""', "''", "``") for v in self.matchers()):
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
                self.matchers()
            return "v"
        self.selector = False
        return kind

    def aggregation(self, name: str) -> str:
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
        self.check_args(name, AGGREGATIONS[name] + "v", kinds)
        return "v"

    def call(self, name: str) -> str:
        if name not in FUNCTIONS:
            raise PromQLError(f"unknown function with name {name!r}")
        self.take("(")
        spec, result = FUNCTIONS[name]
        self.check_args(name, spec, self.args())
        return result

    def args(self) -> list[str]:
        kinds: list[str] = []
        while self.peek() != ")":
            kinds.append(self.expr())
            if self.peek() != ",":
                break
            self.take()
            if self.peek() == ")":
                raise PromQLError("unexpected ')' after ','")
        self.take(")")
        return kinds

    def check_args(self, name: str, spec: str, kinds: list[str]) -> None:
        wanted = [c for c in spec if c not in "?*"]
        required = len(wanted) - spec.count("?")
        if len(kinds) < required or ("*" not in spec and len(kinds) > len(wanted)):
            raise PromQLError(f"wrong number of arguments for {name}(): {len(kinds)}")
        for i, got in enumerate(kinds):
            want = wanted[min(i, len(wanted) - 1)]
            if got != want:
                raise PromQLError(f"{name}() argument {i + 1}: expected {KINDS[want]}, got {KINDS[got]}")

    def labels(self) -> int:
        self.take("(")
        count = 0
        while self.peek() != ")":
            if self.take()[0] != "id":
                raise PromQLError("expected a label name in grouping")
            count += 1
            if self.peek() != ",":
                break
            self.take()
        self.take(")")
        return count

    def matchers(self) -> list[str]:
        self.take("{")
        values = []
        while self.peek() != "}":
            if self.take()[0] != "id":
                raise PromQLError("expected a label matcher")
            if self.take()[1] not in ("=", "!=", "=~", "!~"):
                raise PromQLError("expected a label matching operator")
            kind, value = self.take()
            if kind != "str":
                raise PromQLError(f"unexpected {value!r} in label matching, expected string")
            values.append(value)
            if self.peek() != ",":
                break
            self.take()
        self.take("}")
        return values
