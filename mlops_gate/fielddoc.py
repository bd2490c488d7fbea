"""What each field of a typed dataclass means, written once in the class's docstring and read by `explain`, the
policy's JSON Schema (descriptions and examples for editors) and docs/checks.md.

The convention: after any prose, one entry per field, starting at the docstring's left margin with the field's
name and a colon; indented lines continue it; an indented line starting `e.g. ` is an example value, in YAML
flow style as a policy would write it:

    @dataclass(frozen=True)
    class Params:
        \"\"\"
        branches: the branches to check: names, globs (`release/*`), `@default` for the default branch.
            e.g. ["@default", "release/*"]
        strict: the branch must be up to date before merging.
        \"\"\"

        branches: tuple[str, ...] = ()
        strict: bool = True

Only names that are fields count, so prose can mention `name:` freely. Nothing here runs on a gate run: it is
read when documentation is asked for.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

_ENTRY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): (.+)$")
_NO_EXAMPLE = object()


@dataclass(frozen=True)
class FieldDoc:
    """One field's entry in its class's docstring: what the field means and, where given, an example value."""

    text: str  # what the field means
    example: Any = _NO_EXAMPLE  # a value as a policy writes it (has_example says whether there is one)

    @property
    def has_example(self) -> bool:
        return self.example is not _NO_EXAMPLE


@functools.cache
def field_docs(cls: type) -> dict[str, FieldDoc]:
    """The documented fields of a dataclass (a field without an entry is absent)."""
    names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    out: dict[str, FieldDoc] = {}
    current: str | None = None
    text: list[str] = []
    example: Any = _NO_EXAMPLE

    def flush() -> None:
        if current is not None:
            out[current] = FieldDoc(" ".join(text), example)

    for line in inspect.cleandoc(cls.__doc__ or "").splitlines():
        entry = _ENTRY.match(line)
        if entry and entry.group(1) in names:
            flush()
            current, text, example = entry.group(1), [entry.group(2).strip()], _NO_EXAMPLE
        elif current is not None and line[:1] in (" ", "\t") and line.strip():
            stripped = line.strip()
            if stripped.startswith("e.g. "):
                example = _example(cls, current, stripped[5:])
            else:
                text.append(stripped)
        else:
            flush()
            current = None
    flush()
    return out


def _example(cls: type, name: str, written: str) -> Any:
    import yaml  # only when documentation is read

    try:
        return yaml.safe_load(written)
    except yaml.YAMLError as exc:
        raise ValueError(f"{cls.__qualname__}.{name}: the example {written!r} is not YAML: {exc}") from None


def type_name(tp: Any) -> str:
    """A field's type in words, as a policy author writes it: `list of strings`, `mapping of string to number`."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return "any value"
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        item = typing.get_args(tp)[0]
        if typing.get_origin(item) is typing.Literal:
            return "list of " + ", ".join(repr(a) for a in typing.get_args(item))
        return "list of " + _plural(type_name(item))
    if origin is dict:
        key, value = typing.get_args(tp)
        return f"mapping of {type_name(key)} to {type_name(value)}"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in tp)
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return {type(None): "null", bool: "true/false", int: "integer", float: "number", str: "string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _plural(name: str) -> str:
    return name if name.startswith(("list", "mapping", "one of", "any")) or " or " in name else f"{name}s"
