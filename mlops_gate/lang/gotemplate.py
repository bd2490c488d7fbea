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

from mlops_gate.lang.gotemplate_funcs import GO_FUNCS, PLAIN, TYPES, Flavour, alertmanager, prometheus
from mlops_gate.lang.gotemplate_lex import TemplateError, tokens

__all__ = [
    "GO_FUNCS",
    "PLAIN",
    "TYPES",
    "Checked",
    "Flavour",
    "alertmanager",
    "check",
    "prometheus",
    "template_problem",
]


@dataclass
class _Parser:
    """Go's text/template parser over one template's tokens, keeping the variables in scope, what `.` holds, and
    the fields used that the data does not have."""

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
        names: list[str] = []
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
    """What `check()` found in one template: why it does not parse, or the fields it uses that its data lacks."""

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
