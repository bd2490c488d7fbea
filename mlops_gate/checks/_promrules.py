"""Prometheus rule files validated the way `promtool check rules` does, without Prometheus.

Pure: a parsed YAML document in, problems with key paths out. PromQL and Go templates get a
light structural parser (tokens, brackets, selectors, function names, range-vector arguments),
not a full type checker; `tests/test_promtool_oracle.py` measures agreement with promtool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_DURATION_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNIT_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
GROUP_KEYS = {"name", "interval", "limit", "rules"}
RULE_KEYS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
MAX_DURATION_S = (1 << 63) / 1e9


@dataclass(frozen=True)
class Problem:
    message: str
    path: tuple[object, ...]  # key path inside the document, for the line


@dataclass(frozen=True)
class Rule:
    """A rule as read: `kind` is alert or record; `for_s` is 0 without `for`, None when it is invalid."""

    kind: str
    name: str
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]
    for_s: float | None
    has_for: bool
    path: tuple[object, ...]


def parse_duration(value: object) -> float | None:
    """Seconds of a Prometheus duration (`1h30m`, `0`, `10ms`), or None when it is not one."""
    text = scalar(value)
    if text is None or text == "":
        return None
    if text == "0":
        return 0.0
    m = _DURATION_RE.fullmatch(text)
    if not m or not any(m.groups()):
        return None
    seconds = sum(int(g) * unit for g, unit in zip(m.groups(), _UNIT_S, strict=True) if g)
    return seconds if seconds <= MAX_DURATION_S else None


def scalar(value: object) -> str | None:
    """The string a Go YAML decoder would put in a string field; None for mappings and lists."""
    if isinstance(value, (dict, list)):
        return None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate(doc: Any) -> list[Problem]:
    """Every problem promtool would report in a rule file's first YAML document."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        return [Problem(f"top level is a {_kind(doc)}, not a mapping with `groups`", ())]
    problems = [
        Problem(f"unknown field {k!r} at the top level (only `groups`)", (k,)) for k in doc if k != "groups"
    ]
    groups = doc.get("groups")
    if groups is None:
        return problems
    if not isinstance(groups, list):
        return [*problems, Problem(f"`groups` is a {_kind(groups)}, not a list", ("groups",))]
    seen: dict[str, int] = {}
    for gi, group in enumerate(groups):
        if group is not None:
            problems += _group(group, ("groups", gi), seen)
    return problems


def _group(group: Any, path: tuple[object, ...], seen: dict[str, int]) -> list[Problem]:
    if not isinstance(group, dict):
        return [Problem(f"group {path[-1]} is a {_kind(group)}, not a mapping", path)]
    out = [Problem(f"unknown field {k!r} in group", (*path, k)) for k in group if k not in GROUP_KEYS]
    name = scalar(group.get("name"))
    label = f"group {name!r}" if name else f"group {path[-1]}"
    if name is None:
        out.append(Problem(f"{label}: `name` is a {_kind(group['name'])}, not a string", (*path, "name")))
    elif not name:
        out.append(Problem("group name must not be empty", path))
    elif name in seen:
        out.append(Problem(f"group name {name!r} is repeated in the same file", (*path, "name")))
    else:
        seen[name] = 1
    if "interval" in group and parse_duration(group["interval"]) is None:
        out.append(
            Problem(
                f"{label}: interval {_show(group['interval'])} is not a valid duration", (*path, "interval")
            )
        )
    limit = group.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        out.append(Problem(f"{label}: limit {_show(limit)} is not an integer", (*path, "limit")))
    rules = group.get("rules")
    if rules is not None and not isinstance(rules, list):
        return [*out, Problem(f"{label}: `rules` is a {_kind(rules)}, not a list", (*path, "rules"))]
    for ri, rule in enumerate(rules or []):
        if rule is not None:
            out += _rule(rule, (*path, "rules", ri), f"{label}, rule {ri + 1}")
    return out


def _rule(rule: Any, path: tuple[object, ...], where: str) -> list[Problem]:
    if not isinstance(rule, dict):
        return [Problem(f"{where}: a {_kind(rule)}, not a mapping", path)]
    alert, record = scalar(rule.get("alert")) or "", scalar(rule.get("record")) or ""
    if alert or record:
        where = f"{where} ({'alert' if alert else 'record'} {alert or record})"
    out = [Problem(f"{where}: unknown field {k!r}", (*path, k)) for k in rule if k not in RULE_KEYS]
    if alert and record:
        out.append(Problem(f"{where}: only one of 'record' and 'alert' may be set", path))
    elif not alert and not record:
        out.append(Problem(f"{where}: one of 'record' or 'alert' must be set", path))
    if record and not METRIC_RE.fullmatch(record):
        out.append(Problem(f"{where}: invalid recording rule name {record!r}", (*path, "record")))
    expr = scalar(rule.get("expr")) or ""
    if not expr.strip():
        out.append(Problem(f"{where}: field 'expr' must be set", (*path, "expr")))
    else:
        err = promql_problem(expr)
        if err:
            out.append(Problem(f"{where}: could not parse expression: {err}", (*path, "expr")))
    for key in ("for", "keep_firing_for"):
        if key not in rule:
            continue
        if parse_duration(rule[key]) is None:
            out.append(Problem(f"{where}: {key!r} {_show(rule[key])} is not a valid duration", (*path, key)))
        elif record:
            out.append(Problem(f"{where}: invalid field {key!r} in recording rule", (*path, key)))
    if record and "annotations" in rule:
        out.append(Problem(f"{where}: invalid field 'annotations' in recording rule", (*path, "annotations")))
    for key in ("labels", "annotations"):
        out += _pairs(rule.get(key), (*path, key), where, key, templated=bool(alert))
    return out


def _pairs(value: Any, path: tuple[object, ...], where: str, key: str, templated: bool) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [Problem(f"{where}: `{key}` is a {_kind(value)}, not a mapping", path)]
    out = []
    what = key[:-1]
    for name, text in value.items():
        if not LABEL_RE.fullmatch(name) or (key == "labels" and name == "__name__"):
            out.append(Problem(f"{where}: invalid {what} name {name!r}", (*path, name)))
        string = scalar(text)
        if string is None:
            out.append(Problem(f"{where}: {what} {name!r} is a {_kind(text)}, not a string", (*path, name)))
        elif templated:
            err = template_problem(string)
            if err:
                out.append(Problem(f"{where}: {what} {name!r}: template: {err}", (*path, name)))
    return out


def rules_of(doc: Any) -> list[Rule]:
    """The well-formed rules of a document (alert or record set, mapping-shaped), in order."""
    out: list[Rule] = []
    groups = doc.get("groups") if isinstance(doc, dict) else None
    for gi, group in enumerate(groups if isinstance(groups, list) else []):
        rules = group.get("rules") if isinstance(group, dict) else None
        for ri, rule in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(rule, dict):
                continue
            alert, record = scalar(rule.get("alert")) or "", scalar(rule.get("record")) or ""
            if not (alert or record):
                continue
            out.append(
                Rule(
                    kind="alert" if alert else "record",
                    name=alert or record,
                    expr=scalar(rule.get("expr")) or "",
                    labels=_strings(rule.get("labels")),
                    annotations=_strings(rule.get("annotations")),
                    for_s=parse_duration(rule["for"]) if "for" in rule else 0.0,
                    has_for="for" in rule,
                    path=("groups", gi, "rules", ri),
                )
            )
    return out


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: s for k, v in value.items() if (s := scalar(v)) is not None}


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _show(value: Any) -> str:
    text = scalar(value)
    return repr(text) if text is not None else f"(a {_kind(value)})"


# --- PromQL: tokens, structure, function names and argument kinds (scalar s, vector v, matrix m,
# string S; a trailing `?` marks optional arguments, `*` repeats the last kind) ---------------------

_TOKEN = re.compile(
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
_PREC = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, ">": 3, "<": 3, ">=": 3, "<=": 3, "+": 4, "-": 4,
         "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
_BINOPS = set(_PREC)
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
_COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
_METRIC_WORDS = {"by", "without", "and", "or", "unless", "offset"}  # promtool takes these as metric names
_CASELESS = _KEYWORDS | _BINOPS | set(AGGREGATIONS)
_KIND = {"s": "scalar", "v": "instant vector", "m": "range vector", "S": "string"}


class _Error(Exception):
    pass


def promql_problem(expr: str) -> str | None:
    """Why promtool would reject this PromQL expression, or None when it looks valid."""
    try:
        tokens = _tokens(expr)
        parser = _Parser(tokens)
        parser.expr()
        if parser.i < len(tokens):
            raise _Error(f"unexpected {tokens[parser.i][1]!r}")
    except _Error as exc:
        return f"parse error: {exc}"
    except RecursionError:
        return "parse error: expression nested too deeply"
    return None


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise _Error("unterminated quoted string" if expr[pos] in "\"'`" else f"unexpected {expr[pos]!r}")
        kind, text = m.lastgroup or "", m.group()
        if kind == "id" and text.lower() in _CASELESS:
            text = text.lower()  # PromQL keywords and aggregations are case-insensitive; functions are not
        if kind != "ws":
            out.append((kind, text))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks, self.i = tokens, 0
        self.selector = False  # the last primary was a bare vector selector (a range may follow)

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.toks[j][1] if j < len(self.toks) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise _Error("unexpected end of input")
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise _Error(f"unexpected {tok[1]!r}, expected {want!r}")
        self.i += 1
        return tok

    def expr(self, min_prec: int = 1) -> str:
        """Precedence climbing: the kinds an operator combines depend on how it groups."""
        left = self.unary()
        while self.peek() in _PREC and _PREC[self.peek()] >= min_prec:
            op = self.take()[1]
            is_bool = self.peek() == "bool"
            if is_bool:
                self.take()
            if is_bool and op not in _COMPARISONS:
                raise _Error("bool modifier can only be used on comparison operators")
            matching = False  # with matching labels; `on()` is allowed between scalars too
            if self.peek() in ("on", "ignoring"):
                self.take()
                matching = self.labels() > 0
                if self.peek() in ("group_left", "group_right"):
                    if op in ("and", "or", "unless"):
                        raise _Error(f"no grouping allowed for {op!r} operation")
                    self.take()
                    if self.peek() == "(":
                        self.labels()
            right = self.expr(_PREC[op] if op == "^" else _PREC[op] + 1)
            left = self.combine(op, left, right, is_bool, matching)
        return left

    @staticmethod
    def combine(op: str, left: str, right: str, is_bool: bool, matching: bool) -> str:
        if {left, right} & {"m", "S"}:
            raise _Error("binary expression must contain only scalar and instant vector types")
        if matching and "s" in (left, right):
            raise _Error("vector matching only allowed between instant vectors")
        if op in ("and", "or", "unless") and "s" in (left, right):
            raise _Error(f"set operator {op!r} not allowed in binary scalar expression")
        if op in _COMPARISONS and left == right == "s" and not is_bool:
            raise _Error("comparisons between scalars must use BOOL modifier")
        return "v" if "v" in (left, right) else "s"

    def unary(self) -> str:
        if self.peek() in ("+", "-"):
            self.take()
            kind = self.unary()
            if kind not in ("s", "v"):
                raise _Error("unary expression only allowed on expressions of type scalar or instant vector")
            return kind
        return self.postfix()

    def postfix(self) -> str:
        kind = self.primary()
        selector, self.selector = self.selector, False
        modifiable, seen = selector, set()
        while True:
            if self.peek() in seen:
                raise _Error(f"{self.peek()} may not be set multiple times")
            if self.peek() in ("offset", "@"):
                seen.add(self.peek())
            if self.peek() in ("offset", "@") and not (modifiable or kind == "m"):
                raise _Error(f"{self.peek()} modifier must be preceded by a vector selector or a subquery")
            if self.peek() == "[":
                self.take()
                self.duration()
                if self.peek() == ":":
                    self.take()
                    if self.peek() != "]":
                        self.duration()
                    if kind != "v":
                        raise _Error("subquery is only allowed on instant vector")
                elif not selector:
                    raise _Error("ranges only allowed for vector selectors")
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
                        raise _Error("@ modifier needs a timestamp")
            else:
                return kind
            selector = False

    def duration(self) -> None:
        kind, text = self.take()
        if kind != "dur" or parse_duration(text) is None:
            raise _Error(f"bad duration {text!r}")

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
                raise _Error("vector selector must contain at least one non-empty matcher")
            self.selector = True
            return "v"
        if kind != "id" or (text in _KEYWORDS | _BINOPS and text not in _METRIC_WORDS):
            raise _Error(f"unexpected {text!r}")
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
            raise _Error(f"unknown function with name {name!r}")
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
                raise _Error("unexpected ')' after ','")
        self.take(")")
        return kinds

    def check_args(self, name: str, spec: str, kinds: list[str]) -> None:
        wanted = [c for c in spec if c not in "?*"]
        required = len(wanted) - spec.count("?")
        if len(kinds) < required or ("*" not in spec and len(kinds) > len(wanted)):
            raise _Error(f"wrong number of arguments for {name}(): {len(kinds)}")
        for i, got in enumerate(kinds):
            want = wanted[min(i, len(wanted) - 1)]
            if got != want:
                raise _Error(f"{name}() argument {i + 1}: expected {_KIND[want]}, got {_KIND[got]}")

    def labels(self) -> int:
        self.take("(")
        count = 0
        while self.peek() != ")":
            if self.take()[0] != "id":
                raise _Error("expected a label name in grouping")
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
                raise _Error("expected a label matcher")
            if self.take()[1] not in ("=", "!=", "=~", "!~"):
                raise _Error("expected a label matching operator")
            kind, value = self.take()
            if kind != "str":
                raise _Error(f"unexpected {value!r} in label matching, expected string")
            values.append(value)
            if self.peek() != ",":
                break
            self.take()
        self.take("}")
        return values


# --- Go templates (alert labels and annotations): actions closed, blocks balanced, functions known ---

_FUNCS = (
    "and or not len index print printf println html js urlquery call slice eq ne lt le gt ge "
    "query first label value strvalue args reReplaceAll safeHtml match title toUpper toLower graphLink "
    "tableLink sortByLabel humanize humanize1024 humanizeDuration humanizePercentage humanizeTimestamp "
    "pathPrefix externalURL parseDuration stripPort stripDomain toTime"
)
TEMPLATE_FUNCS = set(_FUNCS.split())
_ACTION = re.compile(
    r"""\{\{(-\s)?(
    (?:[^}"'`] | "(?:[^"\\]|\\.)*" | '(?:[^'\\]|\\.)*' | `[^`]*` | \}(?!\}))*?
    )(\s-)?\}\}""",
    re.S | re.X,
)
_OPENERS = {"if", "range", "with", "define", "block"}


def template_problem(text: str) -> str | None:
    """Why Go's text/template would reject an alert label or annotation, or None."""
    depth: list[str] = []
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        m = _ACTION.match(text, start)
        if not m:
            return "unclosed action"
        pos = m.end()
        body = m.group(2).strip()
        if body.startswith("/*"):
            continue
        words = body.split()
        if not words:
            return "missing value for command"
        head = words[0]
        if head in _OPENERS:
            if len(words) == 1:
                return f"missing value for {head}"
            depth.append(head)
        elif head == "end":
            if not depth:
                return "unexpected {{end}}"
            depth.pop()
        elif head == "else" and not depth:
            return "unexpected {{else}}"
        for part in re.split(r"\|", body):
            first = part.split()[:1]
            word = first[0].lstrip("(") if first else ""
            if re.fullmatch(r"[A-Za-z_]\w*", word) and word not in TEMPLATE_FUNCS | _OPENERS | {
                "end",
                "else",
                "template",
                "nil",
                "true",
                "false",
                "break",
                "continue",
            }:
                return f'function "{word}" not defined'
    return f"unexpected EOF (unclosed {{{{{depth[-1]}}}}})" if depth else None
