"""Walks over a YAML document's node graph (as PyYAML's composer gives it), before or instead of PyYAML's
constructor: what a document expands to (`measure`), the line of each key path (`index`), and `build`: the
document's Python value, lines and size in one walk, for the plain documents (no aliases) that make up almost
every repository file.

`build` gives exactly what `yamlio` gets from PyYAML's constructor followed by `_plain` (tests/test_yamlio.py
compares them on tricky and random documents); where a document holds anything but strings, numbers, booleans,
nulls, mappings, sequences and application tags (`!Ref`), or anything to refuse, it says so (`Slow`) and the
caller takes PyYAML's constructor and the walks above, so errors and their lines are theirs.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

MAX_DEPTH = 100
CHARS_PER_UNIT = 64  # a string costs one unit per 64 characters on top of its node
MAX_LINE_PATH = 512  # key paths longer than this get no line of their own (their parent's is used)
FILE_UNITS = 1_000_000  # a dense 1 MiB file is about 600 000: only aliases reach this


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int | None, bounded: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.bounded = bounded  # refused for its size or nesting, not for its syntax


def measure(root: yaml.Node, left: list[int], short: int | None) -> None:
    """Spend the document's expanded size (each alias counted where it is used) from `left`, computed once
    per distinct node; refuse recursive aliases and nesting deeper than MAX_DEPTH. `short`: the size of
    the run's budget, when what it had left was less than a file's share."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(
                f"invalid YAML: nested deeper than {MAX_DEPTH} levels", node.start_mark.line + 1, bounded=True
            )
        if id(node) in active:
            raise YamlSyntaxError(
                "invalid YAML: an alias refers to a node that contains it", node.start_mark.line + 1, bounded=True
            )
        active.add(id(node))
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item, depth + 1) for item in node.value)
        else:
            total = 1 + len(str(node.value)) // CHARS_PER_UNIT
        active.discard(id(node))
        sizes[id(node)] = total
        if total > left[0]:
            raise YamlSyntaxError(_too_large(short), node.start_mark.line + 1, bounded=True)
        return total

    left[0] -= size(root, 0)


def _too_large(short: int | None) -> str:
    if short is not None:
        return (
            f"not parsed: this run's YAML budget ({short:,} nodes for every file together) is spent; "
            "point --repo at the project, or move generated YAML out of it"
        )
    return (
        f"invalid YAML: expands to more than {FILE_UNITS:,} nodes (aliases count each time they are used; "
        "an alias bomb?)"
    )


def index(node: yaml.Node, path: str | None, lines: dict[str, int], seen: dict[int, None]) -> None:
    """Lines per key path, and duplicate keys refused. An aliased node is walked once, where it is defined;
    where it is used, its path gets the line of the alias (so the walk is linear in the text)."""
    if path is not None:
        lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen:
        return
    seen[id(node)] = None
    if isinstance(node, yaml.MappingNode):
        names: set[str] = set()
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if name in names and name != "<<":
                # PyYAML keeps the last silently; promtool, kubectl and GitHub reject the file
                raise YamlSyntaxError(f"invalid YAML: duplicate key {name!r}", key.start_mark.line + 1)
            names.add(name)
            sub = _child(path, name)
            if sub is not None:
                lines.setdefault(sub, key.start_mark.line + 1)
            index(value, sub, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index(item, _child(path, str(i)), lines, seen)


def _child(path: str | None, name: str) -> str | None:
    if path is None or len(path) + len(name) >= MAX_LINE_PATH:
        return None
    return f"{path}/{name}"


class Slow(Exception):
    """`build` cannot give this document: PyYAML's constructor and the walks above must."""


_T = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (f"{_T}{t}" for t in ("str", "null", "bool", "int", "float"))
_VALUE, _MAP, _SEQ = f"{_T}value", f"{_T}map", f"{_T}seq"
_BOOLS = {v: v.lower() == "true" for v in ("true", "True", "TRUE", "false", "False", "FALSE")}
_ScalarNode, _MappingNode, _SequenceNode = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


def build(node: yaml.Node, path: str, lines: dict[str, int], units: list[int]) -> Any:
    """The document's value as PyYAML's SafeConstructor and `yamlio._plain` make it (keys as strings), its
    lines recorded as `index` records them, its size added to `units[0]` as `measure` counts it.
    For a document without aliases; raises Slow for anything else (see the module's docstring)."""
    return _build(node, path, lines, 0, units)


def _build(node: Any, path: str | None, lines: dict[str, int], depth: int, units: list[int]) -> Any:
    # written for speed: it visits every node of almost every YAML file the run reads, so a scalar value or
    # item is built in its container's loop (most nodes are scalars), where its line is recorded as above
    if depth > MAX_DEPTH:
        raise Slow
    if path is not None:
        lines.setdefault(path, node.start_mark.line + 1)
    kind, tag = type(node), node.tag
    if kind is _ScalarNode:
        text = node.value
        units[0] += 1 + len(text) // CHARS_PER_UNIT
        return _scalar(node, tag, text)
    deeper = depth + 1
    if deeper > MAX_DEPTH and node.value:
        raise Slow
    size = 1
    sub: str | None
    if kind is _MappingNode:
        if tag != _MAP and tag[:1] != "!":
            raise Slow
        out: dict[str, Any] = {}
        names: set[str] = set()
        typed: set[Any] = set()
        for key, value in node.value:
            if type(key) is not _ScalarNode:
                raise Slow
            name = key.value
            if name in names and name != "<<":
                raise Slow  # a duplicate key: refused by `index`, with its line
            names.add(name)
            size += 1 + len(name) // CHARS_PER_UNIT
            if path is not None and len(path) + len(name) < MAX_LINE_PATH:
                sub = f"{path}/{name}"
                lines.setdefault(sub, key.start_mark.line + 1)  # the value's line is its key's
            else:
                sub = None
            k = name if key.tag == _STR else _scalar(key, key.tag, name)
            if type(k) is not str:  # 1 and 1.0, true and 1: one key to PyYAML's dict, two texts here
                if k in typed:
                    raise Slow
                typed.add(k)
            if type(value) is _ScalarNode:
                text = value.value
                size += 1 + len(text) // CHARS_PER_UNIT
                got = text if value.tag == _STR else _scalar(value, value.tag, text)
            else:
                got = _build(value, sub, lines, deeper, units)
            out[k if type(k) is str else "null" if k is None else str(k)] = got
        units[0] += size
        return out
    if kind is not _SequenceNode or (tag != _SEQ and tag[:1] != "!"):
        raise Slow
    items = []
    for i, item in enumerate(node.value):
        name = str(i)
        sub = f"{path}/{name}" if path is not None and len(path) + len(name) < MAX_LINE_PATH else None
        if type(item) is _ScalarNode:
            if sub is not None:
                lines.setdefault(sub, item.start_mark.line + 1)
            text = item.value
            size += 1 + len(text) // CHARS_PER_UNIT
            items.append(text if item.tag == _STR else _scalar(item, item.tag, text))
        else:
            items.append(_build(item, sub, lines, deeper, units))
    units[0] += size
    return items


_constructor = SafeConstructor()
# what int() and float() read as PyYAML's constructor does (which also takes 0x, 0o, 017, 1_000, 1:30, .inf, ...)
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)").fullmatch
_FLOAT_TEXT = re.compile(r"-?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?").fullmatch


def _scalar(node: yaml.ScalarNode, tag: str, text: str) -> Any:
    if tag in (_STR, _VALUE) or tag[:1] == "!":  # `!Ref x` and a bare `=` read as plain strings
        return text
    if tag == _NULL:
        return None
    if tag == _INT:
        return int(text) if _DECIMAL(text) else _constructor.construct_yaml_int(node)
    if tag == _FLOAT:
        return float(text) if _FLOAT_TEXT(text) else _constructor.construct_yaml_float(node)
    if tag == _BOOL and text in _BOOLS:
        return _BOOLS[text]
    raise Slow  # merge keys, binary, timestamps, sets, pairs, unknown tags
