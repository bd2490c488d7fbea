"""Plain data <-> frozen dataclasses, driven by type hints.

One mechanism serves check params (from the policy), saved facts (`--facts-in`) and the JSON
Schema of the policy, so a field declared once is validated, loaded and documented alike.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar, Union

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
    return typing.get_type_hints(cls)


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
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and _NONE in args:
            return None
        errors = []
        for arg in args:
            if arg is _NONE:
                continue
            try:
                return from_data(arg, value, path)
            except DataError as exc:
                errors.append(exc)
        if len(errors) == 1 and errors[0].path != path:
            raise errors[0]  # `X | None` given an X with a bad part: name the part
        raise DataError(path, f"expected {_describe(tp)}, got {_show(value)}")
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in typing.get_args(tp)):  # True is not 1
            return value
        raise DataError(path, f"expected {_describe(tp)}, got {_show(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise DataError(path, f"expected a list, got {_show(value)}")
        (item,) = typing.get_args(tp)[:1]
        return tuple(from_data(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise DataError(path, f"expected a mapping, got {_show(value)}")
        ktp, vtp = typing.get_args(tp)
        return {from_data(ktp, k, path): from_data(vtp, v, _join(path, k)) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_from(tp, value, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise DataError(path, f"expected {_describe(tp)}, got {_show(value)}") from None
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (bool, int, str) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise DataError(path, f"expected {_describe(tp)}, got {_show(value)}")


def _dataclass_from(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise DataError(path, f"expected a mapping, got {_show(value)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in value if k not in fields]
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise DataError(_join(path, unknown[0]), f"unknown key (known keys: {known})")
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = from_data(hints(cls)[name], value[name], _join(path, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise DataError(_join(path, name), "required key is missing")
    return cls(**kwargs)


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
        props: dict[str, Any] = {}
        required = []
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            prop = schema_of(hints(tp)[f.name])
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
