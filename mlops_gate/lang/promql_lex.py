"""PromQL's vocabulary, by Prometheus release: tokens, durations, operators, functions and aggregations.

Argument kinds are scalar `s`, instant vector `v`, range vector (matrix) `m` and string `S`. A function is
(argument kinds, variadic, result kind) as Prometheus declares it (promql/parser/functions.go): variadic 0
takes exactly its arguments, n > 0 up to n more of the last kind (the last one optional), -1 any number.
What changed between releases says since when (`Dialect`); the grammar is in `promql.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlops_gate.lang.versions import Version

_DURATION_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNIT_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
MAX_DURATION_S = (1 << 63) / 1e9


def duration_seconds(text: str) -> float | None:
    """Seconds of a Prometheus duration (`1h30m`, `0`, `10ms`), or None when it is not one."""
    if text == "":
        return None
    if text == "0":
        return 0.0
    m = _DURATION_RE.fullmatch(text)
    if not m or not any(m.groups()):
        return None
    seconds = sum(int(g) * unit for g, unit in zip(m.groups(), _UNIT_S, strict=True) if g)
    return seconds if seconds <= MAX_DURATION_S else None


_COMMON = r"""(?P<ws>\s+|\#[^\n]*)
    |(?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
    |(?P<dur>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
    |(?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"""
_OPS = r"|(?P<op>==|!=|>=|<=|</|>/|=~|!~|[-+*/%^<>=,()\[\]{}@:])"
TOKEN = re.compile(_COMMON + r"|(?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*)" + _OPS, re.X)  # `:` starts a metric name
TOKEN_BRACKET = re.compile(_COMMON + r"|(?P<id>[a-zA-Z_][a-zA-Z0-9_]*)" + _OPS, re.X)  # `:` is a subquery's
TOKEN_BRACE = re.compile(_COMMON + r"|(?P<id>[a-zA-Z_][a-zA-Z0-9_]*)" + _OPS, re.X)  # label names have no `:`

_MATH = (
    "abs absent ceil exp floor ln log2 log10 sqrt sgn timestamp deg rad acos acosh asin asinh atan "
    "atanh cos cosh sin sinh tan tanh sort sort_desc histogram_count histogram_sum"
)
_CALENDAR = "day_of_month day_of_week day_of_year days_in_month hour minute month year"
_OVER_TIME = (
    "rate irate increase delta idelta deriv changes resets absent_over_time present_over_time "
    "avg_over_time min_over_time max_over_time sum_over_time count_over_time stddev_over_time "
    "stdvar_over_time last_over_time"
)
Func = tuple[str, int, str]  # argument kinds, variadic, result
BASE_FUNCTIONS: dict[str, Func] = {  # Prometheus 2.42
    **{f: ("v", 0, "v") for f in _MATH.split()},
    **{f: ("m", 0, "v") for f in _OVER_TIME.split()},
    **{f: ("v", 1, "v") for f in _CALENDAR.split()},
    "quantile_over_time": ("sm", 0, "v"),
    "predict_linear": ("ms", 0, "v"),
    "holt_winters": ("mss", 0, "v"),
    "clamp": ("vss", 0, "v"),
    "clamp_max": ("vs", 0, "v"),
    "clamp_min": ("vs", 0, "v"),
    "round": ("vs", 1, "v"),
    "histogram_quantile": ("sv", 0, "v"),
    "histogram_fraction": ("ssv", 0, "v"),
    "label_replace": ("vSSSS", 0, "v"),
    "label_join": ("vSSS", -1, "v"),
    "scalar": ("v", 0, "s"),
    "vector": ("s", 0, "v"),
    "time": ("", 0, "s"),
    "pi": ("", 0, "s"),
}
# name: (signature, since, experimental since (None: never), removed in)
CHANGES: dict[str, tuple[Func | None, str, str | None, str | None]] = {
    "histogram_stddev": (("v", 0, "v"), "2.47", None, None),
    "histogram_stdvar": (("v", 0, "v"), "2.47", None, None),
    "mad_over_time": (("m", 0, "v"), "2.49", "2.49", None),
    "sort_by_label": (("vS", -1, "v"), "2.49", "2.49", None),
    "sort_by_label_desc": (("vS", -1, "v"), "2.49", "2.49", None),
    "histogram_avg": (("v", 0, "v"), "2.51", None, None),
    "info": (("vv", 1, "v"), "2.55", "2.55", None),
    "holt_winters": (None, "2.42", None, "3.0"),
    "double_exponential_smoothing": (("mss", 0, "v"), "3.0", "3.0", None),
    "ts_of_last_over_time": (("m", 0, "v"), "3.5", "3.5", None),
    "ts_of_max_over_time": (("m", 0, "v"), "3.5", "3.5", None),
    "ts_of_min_over_time": (("m", 0, "v"), "3.5", "3.5", None),
    "first_over_time": (("m", 0, "v"), "3.7", "3.7", None),  # not experimental from 3.14 (below)
    "ts_of_first_over_time": (("m", 0, "v"), "3.7", "3.7", None),
    "histogram_quantiles": (("vSss", 9, "v"), "3.11", "3.11", None),
    "step": (("", 0, "s"), "3.12", "3.12", None),
    "range": (("", 0, "s"), "3.12", "3.12", None),
    "start": (("", 0, "s"), "3.12", "3.12", None),
    "end": (("", 0, "s"), "3.12", "3.12", None),
    "max_of": (("ss", 0, "s"), "3.13", "3.13", None),
    "min_of": (("ss", 0, "s"), "3.13", "3.13", None),
    "start_timestamp": (("v", 0, "v"), "3.14", "3.14", None),
}
NOT_EXPERIMENTAL_SINCE = {"first_over_time": "3.14"}
AGGREGATIONS = {
    **dict.fromkeys(("sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"), ""),
    "topk": "s",
    "bottomk": "s",
    "quantile": "s",
    "count_values": "S",
    "limitk": "s",  # 2.54, experimental
    "limit_ratio": "s",
}
EXPERIMENTAL_AGGREGATIONS = {"limitk", "limit_ratio"}
PREC = {  # binary operators by precedence, loosest first
    op: prec
    for prec, ops in enumerate(("or", "and unless", "== != > < >= <= </ >/", "+ -", "* / % atan2", "^"), 1)
    for op in ops.split()
}
BINOPS = set(PREC)
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
METRIC_WORDS = {"by", "without", "and", "or", "unless", "offset"}  # promtool takes these as metric names
CASELESS = KEYWORDS | BINOPS | set(AGGREGATIONS)
KINDS = {"s": "scalar", "v": "instant vector", "m": "range vector", "S": "string"}
FEATURES = (
    "promql-experimental-functions",
    "promql-duration-expr",
    "promql-extended-range-selectors",
    "promql-binop-fill-modifiers",
    "promql-delayed-name-removal",
)


@dataclass(frozen=True)
class Dialect:
    """PromQL as one Prometheus release reads it, with the feature flags (`--enable-feature`) it runs with."""

    version: Version
    features: frozenset[str] = frozenset()

    @property
    def experimental(self) -> bool:
        return "promql-experimental-functions" in self.features and self.version.at_least("2.49")

    @property
    def utf8_names(self) -> bool:
        return self.version.at_least("3.0")

    @property
    def duration_numbers(self) -> bool:  # `x > 5m`, `x[300]`
        return self.version.at_least("2.54")

    @property
    def duration_expressions(self) -> bool:  # `x[1m * 2]`, `offset (1h + 5m)`
        return self.version.at_least("3.14") or (
            self.version.at_least("3.4") and "promql-duration-expr" in self.features
        )

    @property
    def range_modifiers(self) -> bool:  # `anchored`, `smoothed`
        return self.version.at_least("3.7") and "promql-extended-range-selectors" in self.features

    @property
    def fill_modifiers(self) -> bool:  # `fill(0)`, `fill_left(0)`, `fill_right(0)`
        return self.version.at_least("3.10") and "promql-binop-fill-modifiers" in self.features

    def operator(self, op: str) -> bool:
        return op not in ("</", ">/") or self.version.at_least("3.11")

    def function(self, name: str) -> tuple[Func | None, str | None]:
        """The function's signature, or None with why (unknown, not enabled)."""
        sig = BASE_FUNCTIONS.get(name)
        change = CHANGES.get(name)
        if change:
            new, since, experimental, removed = change
            if removed and self.version.at_least(removed):
                return None, f"unknown function with name {name!r} (removed in Prometheus {removed})"
            if not self.version.at_least(since):
                return None, f"unknown function with name {name!r} (added in Prometheus {since})"
            sig = new or sig
            stable = NOT_EXPERIMENTAL_SINCE.get(name)
            if experimental and not (stable and self.version.at_least(stable)) and not self.experimental:
                return None, f"function {name!r} is not enabled (--enable-feature=promql-experimental-functions)"
        if sig is None:
            return None, f"unknown function with name {name!r}"
        return sig, None

    def aggregation(self, name: str) -> str | None:
        """Why this aggregation cannot be used, or None."""
        if name in EXPERIMENTAL_AGGREGATIONS:
            if not self.version.at_least("2.54"):
                return f"unexpected {name!r} (added in Prometheus 2.54)"
            if not self.experimental:
                return (
                    f"{name}() is experimental and must be enabled with --enable-feature=promql-experimental-functions"
                )
        return None


class PromQLError(Exception):
    pass


def tokenize(expr: str) -> list[tuple[str, str]]:
    """PromQL's tokens: inside `[...]` a `:` separates a subquery's range and step; inside `{...}` label
    names have no `:`; elsewhere a `:` starts a metric name (`:tensorflow:serving:request_count`)."""
    out: list[tuple[str, str]] = []
    pos, bracket, brace = 0, False, False
    while pos < len(expr):
        pattern = TOKEN_BRACKET if bracket else TOKEN_BRACE if brace else TOKEN
        m = pattern.match(expr, pos)
        if not m:
            raise PromQLError("unterminated quoted string" if expr[pos] in "\"'`" else f"unexpected {expr[pos]!r}")
        kind, text = m.lastgroup or "", m.group()
        if kind == "id" and text.lower() in CASELESS:
            text = text.lower()  # PromQL keywords and aggregations are case-insensitive; functions are not
        if kind == "op" and text in "[]{}":
            bracket = text == "[" or (bracket and text != "]")
            brace = text == "{" or (brace and text != "}")
        if kind != "ws":
            out.append((kind, text))
        pos = m.end()
    return out
