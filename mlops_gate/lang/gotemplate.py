"""Go templates as Prometheus and Alertmanager read them: Go's text/template parser, with the functions and
variables each defines.

What the parser refuses (an unclosed action, a misplaced {{end}}, an undefined variable such as
`{{ $label.foo }}`, an undefined function such as `{{ humanise $value }}`) keeps Prometheus from loading
a rule file; in an Alertmanager notification it makes the notification fail. `check()` also follows the
data a template is executed with (Prometheus's alert data, Alertmanager's notification data) where it
knows it: `{{ .Lables.x }}` parses but fails every time it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlops_gate.lang.gotemplate_lex import TemplateError, tokens
from mlops_gate.lang.versions import Version

GO_FUNCS = frozenset(
    "and call html index slice js len not or print printf println urlquery eq ge gt le lt ne".split()  # noqa: SIM905
)
_PROM_FUNCS = (
    "query first label value strvalue args reReplaceAll safeHtml match title toUpper toLower graphLink tableLink "
    "sortByLabel stripPort stripDomain humanize humanize1024 humanizeDuration humanizePercentage "
    "humanizeTimestamp toTime pathPrefix externalURL parseDuration"
)
_PROM_SINCE = {"3.6": "now toDuration", "3.8": "urlQueryEscape"}
_AM_FUNCS = "toUpper toLower title join match safeHtml reReplaceAll stringSlice"
_AM_SINCE = {
    "0.26": "trimSpace",
    "0.28": "date humanizeDuration since tz",
    "0.30": "safeUrl toJson urlUnescape",
    "0.32": "append dict list",
    "0.33": "now",
    "0.34": "base64decode base64encode mustToDate routeLabels toDate",
}
# the fields of the data a template runs with; a map's keys are anything ("map")
TYPES: dict[str, dict[str, str]] = {
    "prometheus": {"Labels": "map", "ExternalLabels": "map", "ExternalURL": "", "Value": ""},
    "alertmanager": {
        **dict.fromkeys(("Receiver", "Status", "ExternalURL", "NotificationReason"), ""),
        **dict.fromkeys(("GroupLabels", "CommonLabels", "CommonAnnotations", "RouteLabels"), "map"),
        "Alerts": "alerts",
    },
    "alerts": {"Firing": "alerts", "Resolved": "alerts"},  # methods returning alert lists
    "alert": {
        **dict.fromkeys(("Status", "StartsAt", "EndsAt", "GeneratorURL", "Fingerprint"), ""),
        "Labels": "map",
        "Annotations": "map",
    },
}
_PROM_VARS = ("$labels", "$externalLabels", "$externalURL", "$value")


@dataclass(frozen=True)
class Flavour:
    """Who reads the template: the functions it defines, the variables it declares, the data it runs with."""

    label: str
    functions: frozenset[str]
    variables: tuple[str, ...] = ()
    root: str = ""  # a TYPES key, or "" when the data is unknown
    else_with: bool = True  # `{{else with}}` (Go 1.23)


def prometheus(version: Version) -> Flavour:
    """Alert labels and annotations: Prometheus's functions, `$labels`/`$value`/..., the alert data."""
    names = _PROM_FUNCS.split() + [
        f for since, fs in _PROM_SINCE.items() if version.at_least(since) for f in fs.split()
    ]
    return Flavour(f"Prometheus {version}", GO_FUNCS | set(names), _PROM_VARS, "prometheus", version.at_least("3.1"))


def alertmanager(version: Version) -> Flavour:
    """Notification texts: Alertmanager's functions and notification data."""
    names = _AM_FUNCS.split() + [f for since, fs in _AM_SINCE.items() if version.at_least(since) for f in fs.split()]
    return Flavour(f"Alertmanager {version}", GO_FUNCS | set(names), (), "alertmanager", version.at_least("0.28"))


PLAIN = Flavour("Go text/template", GO_FUNCS)  # a bare template.New("").Parse, as Alertmanager checks URLs


@dataclass
class _Parser:
    toks: list[tuple[str, str]]
    flavour: Flavour
    i: int = 0
    vars: list[str] = field(default_factory=list)
    range_depth: int = 0
    dots: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # fields the data does not have

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "")

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def peek_ns(self) -> tuple[str, str]:
        j = self.i
        while j < len(self.toks) and self.toks[j][0] == "space":
            j += 1
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def next_ns(self) -> tuple[str, str]:
        while self.peek()[0] == "space":
            self.i += 1
        return self.next()

    def parse(self) -> None:
        while self.peek()[0] != "eof":
            end = self.text_or_action()
            if end:
                raise TemplateError(f"unexpected {{{{{end}}}}}")

    def item_list(self) -> str:
        while self.peek_ns()[0] != "eof":
            end = self.text_or_action()
            if end:
                return end
        raise TemplateError("unexpected EOF")

    def text_or_action(self) -> str:
        kind, _ = self.next()
        if kind == "text":
            return ""
        return self.action()  # kind == "left"

    def action(self) -> str:
        kind, word = self.next_ns()
        if kind == "keyword":
            if word in ("if", "with", "range"):
                self.control(word)
                return ""
            if word in ("end", "else"):
                if word == "else" and self.peek_ns()[1] in ("if", "with"):
                    return f"else {self.peek_ns()[1]}"
                self.expect_right(word)
                return word
            if word in ("break", "continue"):
                if not self.range_depth:
                    raise TemplateError(f"{{{{{word}}}}} outside {{{{range}}}}")
                self.expect_right(word)
                return ""
            if word in ("template", "block"):
                self.template(word)
                return ""
            if word == "define":
                self.define()
                return ""
        self.i -= 1
        self.pipeline("command", "right")
        return ""

    def expect_right(self, context: str) -> None:
        kind, word = self.next_ns()
        if kind != "right":
            raise TemplateError(f"unexpected {word!r} in {context}")

    def control(self, context: str) -> None:
        depth = len(self.vars)
        kind = self.pipeline(context, "right")
        self.dots.append(self.element(kind) if context == "range" else kind if context == "with" else self.dot())
        self.range_depth += context == "range"
        end = self.item_list()
        self.range_depth -= context == "range"
        self.dots.pop()
        if end.startswith("else "):
            if end != f"else {context}" or (context == "with" and not self.flavour.else_with):
                raise TemplateError(f"unexpected {end!r}")
            self.next_ns()  # the `if`/`with` of `{{else if ...}}`: it closes this control too
            self.control(context)
        elif end == "else":
            end = self.item_list()
            if end != "end":
                raise TemplateError(f"expected end; found {{{{{end}}}}}")
        del self.vars[depth:]

    def template(self, context: str) -> None:
        kind, word = self.next_ns()
        if kind not in ("string", "raw"):
            raise TemplateError(f"unexpected {word!r} in {context} clause")
        if self.peek_ns()[0] != "right":
            self.pipeline(f"{context} clause", "right")
        else:
            self.next_ns()
        if context == "block":
            self.define(named=True)

    def define(self, named: bool = False) -> None:
        if not named:
            if self.next_ns()[0] not in ("string", "raw"):
                raise TemplateError("name of template is not a string")
            self.expect_right("define clause")
        saved, self.vars, self.dots = (self.vars, self.dots), [], [""]
        if self.item_list() != "end":
            raise TemplateError("unexpected {{else}} in define")
        self.vars, self.dots = saved

    def pipeline(self, context: str, end: str) -> str:
        """Declarations, then commands separated by `|`; the type of what it yields ("" when unknown)."""
        self.declarations(context)
        commands: list[str] = []
        while True:
            kind, word = self.next_ns()
            if kind == end:
                if not commands:
                    raise TemplateError(f"missing value for {context}")
                return commands[-1] if len(commands) == 1 else ""
            if kind in (
                "bool",
                "char_const",
                "dot",
                "field",
                "ident",
                "number",
                "nil",
                "raw",
                "string",
                "var",
                "lparen",
            ):
                self.i -= 1
                if commands and kind in ("bool", "dot", "nil", "number", "raw", "string"):
                    raise TemplateError(f"non executable command in pipeline stage {len(commands) + 1}")
                commands.append(self.command())
            else:
                raise TemplateError(f"unexpected {word!r} in {context}")

    def declarations(self, context: str) -> None:
        start = self.i
        if self.peek_ns()[0] != "var":
            return
        names = []
        while True:
            _, name = self.next_ns()
            nxt = self.peek_ns()
            if nxt[0] in ("declare", "assign"):
                self.next_ns()
                self.vars += [*names, name]
                return
            if nxt == ("char", ",") and context == "range" and not names:
                self.next_ns()
                names.append(name)
                if self.peek_ns()[0] != "var":
                    raise TemplateError("range can only initialize variables")
                continue
            if nxt == ("char", ","):
                raise TemplateError(f"too many declarations in {context}")
            self.i = start
            return

    def command(self) -> str:
        args: list[str] = []
        while True:
            kind = self.operand()
            if kind is not None:
                args.append(kind)
            tok = self.next()
            if tok[0] == "space":
                continue
            if tok[0] in ("right", "rparen"):
                self.i -= 1
            elif tok[0] != "pipe":  # a pipe ends the command: the next one follows
                raise TemplateError(f"unexpected {tok[1]!r} in operand")
            break
        if not args:
            raise TemplateError("empty command")
        return args[0] if len(args) == 1 else ""

    def operand(self) -> str | None:
        kind = self.term()
        if kind is None:
            return None
        while self.peek()[0] == "field":
            name = self.next()[1]
            if kind in ("bool", "string", "number", "nil"):
                raise TemplateError(f"unexpected . after term {name!r}")
            kind = self.field(kind, name[1:])
        return "" if kind in ("bool", "string", "number", "nil") else kind

    def term(self) -> str | None:
        kind, word = self.next_ns()
        if kind == "ident":
            if word not in self.flavour.functions:
                raise TemplateError(f'function "{word}" not defined')
            return ""
        if kind == "var":
            name = word.split(".", 1)[0]
            if name != "$" and name not in self.vars and name not in self.flavour.variables:
                raise TemplateError(f'undefined variable "{name}"')
            return self.flavour.root if name == "$" else "map" if name in ("$labels", "$externalLabels") else ""
        if kind == "dot":
            return self.dot()
        if kind == "field":
            return self.field(self.dot(), word[1:])
        if kind == "lparen":
            return self.pipeline("parenthesized pipeline", "rparen")
        if kind in ("bool", "number", "nil"):
            return kind
        if kind in ("string", "raw", "char_const"):
            return "string"
        self.i -= 1
        return None

    def dot(self) -> str:
        return self.dots[-1] if self.dots else self.flavour.root

    def field(self, of: str, name: str) -> str:
        fields = TYPES.get(of)
        if fields is None or of == "map":
            return ""
        if name not in fields:
            self.fields.append(f"can't evaluate field {name} in the {of} data")
            return ""
        return fields[name]

    @staticmethod
    def element(kind: str) -> str:
        return "alert" if kind == "alerts" else ""


@dataclass(frozen=True)
class Checked:
    error: str | None  # why the template does not parse: the tool refuses it
    fields: tuple[str, ...] = ()  # fields the data does not have: it parses, but fails when it runs


def check(text: str, flavour: Flavour) -> Checked:
    try:
        p = _Parser(tokens(text), flavour)
        p.parse()
    except TemplateError as exc:
        return Checked(str(exc))
    except RecursionError:
        return Checked("template nested too deeply")
    return Checked(None, tuple(dict.fromkeys(p.fields)))


def template_problem(text: str, flavour: Flavour | None = None) -> str | None:
    """Why Go's text/template (with the flavour's functions and variables) would refuse `text`, or None."""
    return check(text, flavour or PLAIN).error
