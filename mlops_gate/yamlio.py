"""YAML loading that keeps line numbers and reads `on:` as a key, not as `true`.

CI files are YAML 1.2 in practice (GitHub's `on:`), so only true/false are booleans and dates stay
strings; every mapping key becomes a string. Lines are kept per key path ("jobs/test/steps/0").

Bounded: a file's documents together may expand (aliases and merge keys counted every time they are
used, long strings by their length) to at most FILE_UNITS units, nest at most MAX_DEPTH levels, and
draw on a per-run `Budget` shared by every file the run reads. The expansion is measured on the node
graph before anything is built, so an alias bomb is refused in time linear in its text.
"""

from __future__ import annotations

import operator
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlops_gate import yamlnodes
from mlops_gate.yamlnodes import FILE_UNITS as FILE_UNITS
from mlops_gate.yamlnodes import MAX_DEPTH as MAX_DEPTH
from mlops_gate.yamlnodes import YamlSyntaxError as YamlSyntaxError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RUN_UNITS = 4_000_000  # every YAML/JSON file of one run together: checks and the facts file walk them all
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Loader(_Base):  # type: ignore[misc]
    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        """BaseResolver.resolve without path resolvers (none are registered), with plain scalars' tags
        remembered: the composer asks for every node, and most plain scalars are the same few keys."""
        if kind is yaml.ScalarNode:
            if not implicit[0] or value is None:
                return _STR
            rules = _IMPLICIT.get(value[:1])
            if rules is None:  # most text: no implicit type starts with its first character
                return _STR
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = next((t for t, rx in rules if rx.match(value)), _STR)
                if len(value) <= 32 and len(_RESOLVED) < _RESOLVED_MAX:  # keys and numbers, not prose
                    _RESOLVED[value] = tag
            return tag
        return _SEQ if kind is yaml.SequenceNode else _MAP

    # no path resolvers: the composer's calls for every node need not look for them
    descend_resolver = staticmethod(operator.is_)  # (parent, index) -> ignored
    ascend_resolver = staticmethod(tuple)  # () -> ignored


_STR, _SEQ, _MAP = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG, "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_RESOLVED: dict[str, str] = {}  # a plain scalar's tag depends on its text alone
_RESOLVED_MAX = 1 << 16
_NOT_BUILT = object()

_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_IMPLICIT: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(resolvers) for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


def _untagged(loader: Any, suffix: str, node: yaml.Node) -> Any:
    """Application tags (GitLab's `!reference`, CloudFormation's `!Ref`) read as their plain value."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


def _boolean(loader: Any, node: yaml.Node) -> bool:
    """`!!bool x` as PyYAML reads it, but an unknown word is a YAML error with its line, not a KeyError."""
    text = loader.construct_scalar(node)
    value = loader.bool_values.get(str(text).lower())
    if value is None:
        raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not a boolean", node.start_mark)
    return bool(value)


_Loader.add_multi_constructor("!", _untagged)
_Loader.add_constructor("tag:yaml.org,2002:bool", _boolean)
# a bare `=` (YAML 1.1's value key, as CRD schemas spell an enum value) is a plain string to Go's YAML readers
_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


class Budget:
    """Units one run may still spend on YAML (thread-safe: providers read files concurrently)."""

    def __init__(self, units: int | None = None) -> None:
        self.total = RUN_UNITS if units is None else units
        self.left = self.total
        self._lock = threading.Lock()

    def take(self, units: int) -> int:
        with self._lock:
            got = max(0, min(units, self.left))
            self.left -= got
            return got

    def give_back(self, units: int) -> None:
        with self._lock:
            self.left += units


@dataclass(frozen=True)
class Loaded:
    """A file's YAML documents, the line of every key path in them, and the budget units they took."""

    documents: tuple[Any, ...]
    lines: dict[str, int] = field(default_factory=dict)
    units: int = 0  # what the documents took from the budget (a caller that releases them gives it back)


def load(text: str, budget: Budget | None = None, max_documents: int | None = None) -> Loaded:
    """Parse every document of `text` (at most `max_documents`); raise YamlSyntaxError with the line on bad
    YAML, on a document past `max_documents`, and when the file expands beyond its or the run's budget."""
    limit = budget.take(FILE_UNITS) if budget is not None else FILE_UNITS
    left = [limit]
    try:
        loaded = _load(text, left, max_documents, budget.total if budget is not None and limit < FILE_UNITS else None)
        return Loaded(loaded.documents, loaded.lines, limit - left[0])
    finally:
        if budget is not None:
            budget.give_back(left[0])


def _load(text: str, left: list[int], max_documents: int | None, short: int | None) -> Loaded:
    loader = _Loader(text)
    anchored = "&" in text  # without an anchor there is no alias: each node is used once, and build() takes it
    lines: dict[str, int] = {}
    docs: list[Any] = []
    try:
        while loader.check_node():
            if max_documents is not None and len(docs) >= max_documents:
                mark = loader.peek_event().start_mark
                raise YamlSyntaxError(
                    f"document {max_documents + 1} starts here: only {max_documents} is allowed", mark.line + 1
                )
            node = loader.get_node()
            path = str(len(docs))
            if anchored:
                docs.append(_slow(loader, node, path, lines, left, short))
                continue
            units = [0]
            try:
                value = yamlnodes.build(node, path, lines, units)
            except Exception:  # Slow, or a value its tag cannot read: the old path says which error comes first
                value = _NOT_BUILT
            if value is _NOT_BUILT or units[0] > left[0]:
                docs.append(_slow(loader, node, path, lines, left, short))
            else:
                left[0] -= units[0]
                docs.append(value)
    except YamlSyntaxError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSyntaxError(f"invalid YAML: {problem}", line) from None
    except (ValueError, TypeError, RecursionError, LookupError, AttributeError, OverflowError) as exc:
        # PyYAML's constructors on a value their tag cannot read (`!!int ''`, `!!timestamp abc`)
        raise YamlSyntaxError(f"invalid YAML: {exc or type(exc).__name__}", None) from None
    finally:
        loader.dispose()
    return Loaded(tuple(docs), lines)


def _slow(loader: Any, node: yaml.Node, path: str, lines: dict[str, int], left: list[int], short: int | None) -> Any:
    """The document through PyYAML's constructor, after the walks that bound and index it (and raise what they
    refuse): for documents with aliases, and what `yamlnodes.build` does not build."""
    yamlnodes.measure(node, left, short)
    yamlnodes.index(node, path, lines, {})
    return _plain(loader.construct_document(node))


_LEAVES = (str, int, float, bool, type(None))


def _plain(value: Any, depth: int = 0) -> Any:
    """Keys to strings, sets and bytes to JSON-able forms, so facts serialize as they were read. Aliased values
    are copied where they are used: _measure bounded that copy already."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {_key(k): v if type(v) in _LEAVES else _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _LEAVES else _plain(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _key(k: Any) -> str:
    if isinstance(k, bytes):  # `? !!binary aW1hZ2U=` is the key `image` to kubectl: the same here
        return k.decode("latin-1")
    return "null" if k is None else k if type(k) is str else str(k)


def no_surrogates(text: str) -> str:
    """`text`, or ValueError when it holds a lone surrogate (a JSON `\\udcff` escape: not a character, and no
    UTF-8 writer can print it; libyaml refuses one in YAML)."""
    if _SURROGATE.search(text):
        raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff), which is not a character")
    return text


def line_of(lines: dict[str, int], *path: object, doc: int = 0) -> int | None:
    """Line of the deepest known prefix of the key path."""
    parts = [str(doc), *map(str, path)]
    while parts:
        found = lines.get("/".join(parts))
        if found is not None:
            return found
        parts.pop()
    return None
