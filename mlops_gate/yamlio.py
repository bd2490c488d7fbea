"""YAML loading that keeps line numbers and reads `on:` as a key, not as `true`.

CI files are YAML 1.2 in practice (GitHub's `on:`), so only true/false are booleans and dates stay
strings; every mapping key becomes a string. Lines are kept per key path ("jobs/test/steps/0").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    pass


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _untagged(loader: Any, suffix: str, node: yaml.Node) -> Any:
    """Application tags (GitLab's `!reference`, CloudFormation's `!Ref`) read as their plain value."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _untagged)


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Loaded:
    documents: tuple[Any, ...]
    lines: dict[str, int] = field(default_factory=dict)


def load(text: str) -> Loaded:
    """Parse every document of `text`; raise YamlSyntaxError with the line on bad YAML."""
    loader = _Loader(text)
    lines: dict[str, int] = {}
    docs: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            prefix = str(len(docs))
            budget = [_BUDGET]
            _index(node, prefix, lines, budget)
            docs.append(_plain(loader.construct_document(node), budget))
    except YamlSyntaxError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSyntaxError(f"invalid YAML: {problem}", line) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise YamlSyntaxError(f"invalid YAML: {exc}", None) from None
    finally:
        loader.dispose()
    return Loaded(tuple(docs), lines)


_BUDGET = 200_000  # nodes visited per document: stops alias bombs ("billion laughs")


def _spend(budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("document too large (alias expansion?)")


def _index(node: yaml.Node, path: str, lines: dict[str, int], budget: list[int], depth: int = 0) -> None:
    _spend(budget)
    lines.setdefault(path, node.start_mark.line + 1)
    if depth > 50:
        return
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if name in seen and name != "<<":
                # PyYAML keeps the last silently; promtool, kubectl and GitHub reject the file
                raise YamlSyntaxError(f"invalid YAML: duplicate key {name!r}", key.start_mark.line + 1)
            seen.add(name)
            lines.setdefault(f"{path}/{name}", key.start_mark.line + 1)
            _index(value, f"{path}/{name}", lines, budget, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, f"{path}/{i}", lines, budget, depth + 1)


def _plain(value: Any, budget: list[int], depth: int = 0) -> Any:
    """Keys to strings, sets and bytes to JSON-able forms, so facts serialize as they were read."""
    _spend(budget)
    if depth > 100:
        raise ValueError("nesting too deep")
    if isinstance(value, dict):
        return {("null" if k is None else str(k)): _plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def line_of(lines: dict[str, int], *path: object, doc: int = 0) -> int | None:
    """Line of the deepest known prefix of the key path."""
    parts = [str(doc), *map(str, path)]
    while parts:
        found = lines.get("/".join(parts))
        if found is not None:
            return found
        parts.pop()
    return None
