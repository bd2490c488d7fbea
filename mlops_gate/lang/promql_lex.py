"""PromQL's vocabulary: tokens, durations, operators, and function and aggregation signatures.

Argument kinds are scalar `s`, instant vector `v`, range vector (matrix) `m` and string `S`; in a
signature a trailing `?` marks optional arguments and `*` repeats the last kind. The grammar that
uses these is in `_promql.py`.
"""

from __future__ import annotations

import re

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


TOKEN = re.compile(
    r"""(?P<ws>\s+|\#[^\n]*)
    |(?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
    |(?P<dur>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
    |(?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<id>[a-zA-Z_][a-zA-Z0-9_:]*)
    |(?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=,()\[\]{}@:])""",
    re.X,
)
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
FUNCTIONS: dict[str, tuple[str, str]] = {
    **{f: ("v", "v") for f in _MATH.split()},
    **{f: ("m", "v") for f in _OVER_TIME.split()},
    **{f: ("v?", "v") for f in _CALENDAR.split()},
    "quantile_over_time": ("sm", "v"),
    "predict_linear": ("ms", "v"),
    "holt_winters": ("mss", "v"),
    "clamp": ("vss", "v"),
    "clamp_max": ("vs", "v"),
    "clamp_min": ("vs", "v"),
    "round": ("vs?", "v"),
    "histogram_quantile": ("sv", "v"),
    "histogram_fraction": ("ssv", "v"),
    "label_replace": ("vSSSS", "v"),
    "label_join": ("vSSS*", "v"),
    "scalar": ("v", "s"),
    "vector": ("s", "v"),
    "time": ("", "s"),
    "pi": ("", "s"),
}
AGGREGATIONS = {
    **dict.fromkeys(("sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"), ""),
    "topk": "s",
    "bottomk": "s",
    "quantile": "s",
    "count_values": "S",
}
PREC = {  # binary operators by precedence, loosest first
    op: prec
    for prec, ops in enumerate(("or", "and unless", "== != > < >= <=", "+ -", "* / % atan2", "^"), 1)
    for op in ops.split()
}
BINOPS = set(PREC)
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
METRIC_WORDS = {"by", "without", "and", "or", "unless", "offset"}  # promtool takes these as metric names
CASELESS = KEYWORDS | BINOPS | set(AGGREGATIONS)
KINDS = {"s": "scalar", "v": "instant vector", "m": "range vector", "S": "string"}


class PromQLError(Exception):
    pass


def tokenize(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise PromQLError("unterminated quoted string" if expr[pos] in "\"'`" else f"unexpected {expr[pos]!r}")
        kind, text = m.lastgroup or "", m.group()
        if kind == "id" and text.lower() in CASELESS:
            text = text.lower()  # PromQL keywords and aggregations are case-insensitive; functions are not
        if kind != "ws":
            out.append((kind, text))
        pos = m.end()
    return out
