"""Azure Pipelines template expressions, as far as they can be known before a run: `${{ parameters.x }}`
substituted, `${{ if }}` conditions over parameters and literals (eq, ne, not, and, or; None when a
condition reads anything else: variables, functions), and `${{ each x in parameters.list }}` walked."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

MAX_ITEMS = 2000  # items an `each` walks (a bound, not Azure's)


# compiled when an Azure template expression is first read (a run with no Azure pipeline does not pay)
@functools.cache
def _param() -> re.Pattern[str]:
    return re.compile(r"\$\{\{\s*parameters(?:\.([\w-]+)|\[\s*'([^']+)'\s*\])\s*\}\}")


@functools.cache
def _each() -> re.Pattern[str]:
    return re.compile(r"\$\{\{\s*each\s+([\w-]+)\s+in\s+parameters(?:\.([\w-]+)|\[\s*'([^']+)'\s*\])\s*\}\}")


@functools.cache
def _loop() -> re.Pattern[str]:
    return re.compile(r"\$\{\{\s*([\w-]+)((?:\.[\w-]+)*)\s*\}\}")


EACH = "each:"  # loop variables live in the parameters map under this prefix


def each_scopes(key: object, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The scopes a key's body is expanded in: one per item of the list (or entry of the mapping) an `each`
    walks, with the loop variable bound; once, unchanged, for any other key."""
    m = _each().fullmatch(str(key).strip())
    if m is None:
        return [params]
    items = params.get(m.group(2) or m.group(3))
    values = (
        list(items)
        if isinstance(items, list)
        else [{"key": k, "value": v} for k, v in items.items()]
        if isinstance(items, dict)
        else []
    )
    return [{**params, EACH + m.group(1): item} for item in values[:MAX_ITEMS]]


def _loop_value(m: re.Match[str], params: Mapping[str, Any]) -> Any:
    value: Any = params.get(EACH + m.group(1), _UNBOUND)
    for part in filter(None, m.group(2).split(".")):
        value = value.get(part, _UNBOUND) if isinstance(value, dict) else _UNBOUND
    return value


_UNBOUND = object()


def substitute(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and "${{" in value and any(k.startswith(EACH) for k in params):
        whole = _loop().fullmatch(value.strip())
        if whole and (got := _loop_value(whole, params)) is not _UNBOUND:
            return got
        value = _loop().sub(lambda m: m.group(0) if (v := _loop_value(m, params)) is _UNBOUND else str(v), value)
    if not isinstance(value, str) or "parameters" not in value:
        return value
    whole = _param().fullmatch(value.strip())
    if whole:
        name = whole.group(1) or whole.group(2)
        return params.get(name, value)

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        got = params.get(name)
        return str(got).lower() if isinstance(got, bool) else str(got) if got is not None else m.group(0)

    return _param().sub(one, value)


@functools.cache
def _token() -> re.Pattern[str]:
    return re.compile(r"\s*(?:(\w+)\(|(\))|(,)|'((?:[^']|'')*)'|parameters(?:\.([\w-]+)|\['([^']+)'\])|([\w.-]+))")


def evaluate(expr: str, params: Mapping[str, Any]) -> bool | None:
    """An `if` condition over parameters and literals: eq, ne, not, and, or; None when it reads anything else."""
    tokens = []
    pos = 0
    while pos < len(expr):
        m = _token().match(expr, pos)
        if m is None or m.end() == pos:
            return None
        tokens.append(m)
        pos = m.end()
    try:
        value, rest = _expr(tokens, params)
    except (IndexError, ValueError):
        return None
    return None if rest or value is _UNKNOWN else _truthy(value)


_UNKNOWN = object()


def _expr(tokens: list[re.Match[str]], params: Mapping[str, Any]) -> tuple[Any, list[re.Match[str]]]:
    m, rest = tokens[0], tokens[1:]
    func, _, _, text, dotted, quoted, bare = m.groups()
    if func is None:
        if text is not None:
            return text.replace("''", "'"), rest
        if dotted or quoted:
            return params.get(dotted or quoted, _UNKNOWN), rest
        if bare is None:
            raise ValueError(m.group(0))
        low = bare.lower()
        return {"true": True, "false": False}.get(low, _UNKNOWN if not _number(bare) else float(bare)), rest
    args: list[Any] = []
    while rest[0].group(2) is None:
        if rest[0].group(3):
            rest = rest[1:]
            continue
        value, rest = _expr(rest, params)
        args.append(value)
    rest = rest[1:]
    if any(a is _UNKNOWN for a in args) or func.lower() not in ("eq", "ne", "not", "and", "or"):
        return _UNKNOWN, rest
    low = func.lower()
    if low in ("eq", "ne") and len(args) == 2:
        same = _norm(args[0]) == _norm(args[1])
        return same if low == "eq" else not same, rest
    if low == "not" and len(args) == 1:
        return not _truthy(args[0]), rest
    if low == "and":
        return all(_truthy(a) for a in args), rest
    if low == "or":
        return any(_truthy(a) for a in args), rest
    return _UNKNOWN, rest


def _number(text: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", text) is not None


def _norm(value: Any) -> Any:
    """Azure compares case-insensitively, converting the right side to the left's type."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).lower()
    return {"true": True, "false": False}.get(text, float(text) if _number(text) else text)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0")
    return bool(value)
