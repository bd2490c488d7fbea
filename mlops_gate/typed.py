"""Plain data <-> frozen dataclasses, driven by type hints.

One mechanism serves check params (from the policy), saved facts (`--facts-in`) and the JSON
Schema of the policy, so a field declared once is validated, loaded and documented alike.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, Union

from mlops_gate.errors import closest

T = TypeVar("T")

_NONE = type(None)


class DataError(ValueError):
    """Data that does not fit its declared type; `path` names the bad key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    """The class's field types. A module that exports names lazily (a module `__getattr__`, as
    mlops_gate.facts.oci) is asked for the names its annotations use that it has not imported yet."""
    module = sys.modules.get(cls.__module__)
    if module is not None and "__getattr__" in vars(module):
        return typing.get_type_hints(cls, localns=_Attributes(module))
    return typing.get_type_hints(cls)


class _Attributes(Mapping[str, Any]):
    """A module's attributes as a namespace, its lazy ones included (a missing name falls through to the
    builtins)."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self.module, name)
        except AttributeError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(vars(self.module))

    def __len__(self) -> int:
        return len(vars(self.module))


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is Any:
        return "any value"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return "a list"
    if origin is dict or (dataclasses.is_dataclass(tp)):
        return "a mapping"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in tp)
    if typing.get_origin(tp) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return {_NONE: "null", bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def from_data(tp: Any, value: Any, path: str = "") -> Any:
    """Build a `tp` from JSON/YAML data, or raise DataError naming the path of the bad key."""
    return _build(tp, value, path, None)


def problems(tp: Any, value: Any, path: str = "") -> list[DataError]:
    """Every way `value` does not fit `tp` (empty: from_data will build it), in document order: a policy
    author sees all their mistakes in one run."""
    errors: list[DataError] = []
    _build(tp, value, path, errors)
    return errors


_INVALID: Any = object()  # what a part that did not fit builds to while problems() collects


def _fail(errors: list[DataError] | None, error: DataError) -> Any:
    if errors is None:
        raise error
    errors.append(error)
    return _INVALID


def _build(tp: Any, value: Any, path: str, errors: list[DataError] | None) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and _NONE in args:
            return None
        arms = [a for a in args if a is not _NONE]
        if len(arms) == 1:  # `X | None` given something: it is an X, and its bad parts are named
            whole = DataError(path, f"expected {_describe(tp)}, got {_show(value)}")
            before = len(errors) if errors is not None else 0
            try:
                found = _build(arms[0], value, path, errors)
            except DataError as exc:
                raise whole if exc.path == path else exc from None
            if errors is not None and len(errors) == before + 1 and errors[-1].path == path:
                errors[-1] = whole  # the value itself is not an X: say it may be null too
            return found
        for arg in arms:
            try:
                return _build(arg, value, path, None)
            except DataError:
                continue
        return _fail(errors, DataError(path, f"expected {_describe(tp)}, got {_show(value)}"))
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in typing.get_args(tp)):  # True is not 1
            return value
        return _fail(errors, DataError(path, f"expected {_describe(tp)}, got {_show(value)}"))
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return _fail(errors, DataError(path, f"expected a list, got {_show(value)}"))
        (item,) = typing.get_args(tp)[:1]
        items = tuple(_build(item, v, f"{path}[{i}]", errors) for i, v in enumerate(value))
        return _INVALID if _INVALID in items else items
    if origin is dict:
        if not isinstance(value, dict):
            return _fail(errors, DataError(path, f"expected a mapping, got {_show(value)}"))
        ktp, vtp = typing.get_args(tp)
        out = {_build(ktp, k, path, errors): _build(vtp, v, _join(path, k), errors) for k, v in value.items()}
        return _INVALID if _INVALID in out or _INVALID in out.values() else out
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_from(tp, value, path, errors)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            return _fail(errors, DataError(path, f"expected {_describe(tp)}, got {_show(value)}"))
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (bool, int, str) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    return _fail(errors, DataError(path, f"expected {_describe(tp)}, got {_show(value)}"))


def unknown_key(name: str, known: Iterable[str]) -> str:
    """The message for a key a mapping does not have: the closest known one, then all of them."""
    known = sorted(known)
    close = closest(name, known) if isinstance(name, str) else None
    listed = f"known keys: {', '.join(known) or 'none'}"
    return f"unknown key (did you mean {close}? {listed})" if close else f"unknown key ({listed})"


def _dataclass_from(cls: type, value: Any, path: str, errors: list[DataError] | None) -> Any:
    if not isinstance(value, dict):
        return _fail(errors, DataError(path, f"expected a mapping, got {_show(value)}"))
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    bad = False
    for key in value:
        if key not in fields:
            _fail(errors, DataError(_join(path, key), unknown_key(key, fields)))
            bad = True
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = _build(hints(cls)[name], value[name], _join(path, name), errors)
            bad = bad or kwargs[name] is _INVALID
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            _fail(errors, DataError(_join(path, name), "required key is missing"))
            bad = True
    return _INVALID if bad else cls(**kwargs)


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}" if value is not None else "null"


def to_data(obj: Any) -> Any:
    """The inverse of from_data: JSON-ready plain data."""
    if type(obj) in _LEAVES:  # most values are: return them before the slower tests
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    return obj


_LEAVES = (str, int, float, bool, type(None))


def schema_of(tp: Any) -> dict[str, Any]:
    """JSON Schema (draft 2020-12 subset) of a type, as from_data accepts it."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return {}
    if origin in (Union, types.UnionType):
        return {"anyOf": [schema_of(a) for a in typing.get_args(tp)]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin in (list, tuple):
        return {"type": "array", "items": schema_of(typing.get_args(tp)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(typing.get_args(tp)[1])}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        from mlops_gate.fielddoc import field_docs  # documentation: read only when a schema is made

        docs = field_docs(tp)
        props: dict[str, Any] = {}
        required = []
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            prop = schema_of(hints(tp)[f.name])
            doc = docs.get(f.name)
            if doc is not None:
                prop["description"] = doc.text
                if doc.has_example:
                    prop["examples"] = [doc.example]
            if f.default is not dataclasses.MISSING:
                prop["default"] = to_data(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                prop["default"] = to_data(f.default_factory())
            else:
                required.append(f.name)
            props[f.name] = prop
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        return out
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    return {
        _NONE: {"type": "null"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
    }[tp]
