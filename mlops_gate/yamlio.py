"""YAML loading that keeps line numbers and reads `on:` as a key, not as `true`.

CI files are YAML 1.2 in practice (GitHub's `on:`), so only true/false are booleans and dates stay
strings; every mapping key becomes a string. Lines are kept per key path ("jobs/test/steps/0").

Bounded: a file's documents together may expand (aliases and merge keys counted every time they are
used, long strings by their length) to at most FILE_UNITS units, nest at most MAX_DEPTH levels, and
draw on a per-run `Budget` shared by every file the run reads. The expansion is measured on the node
graph before anything is built, so an alias bomb is refused in time linear in its text.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FILE_UNITS = 1_000_000  # a dense 1 MiB file is about 600 000: only aliases reach this
RUN_UNITS = 4_000_000  # every YAML/JSON file of one run together: checks and the facts file walk them all
MAX_DEPTH = 100
CHARS_PER_UNIT = 64  # a string costs one unit per 64 characters on top of its node
MAX_LINE_PATH = 512  # key paths longer than this get no line of their own (their parent's is used)
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Loader(_Base):  # type: ignore[misc]
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
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
# a bare `=` (YAML 1.1's value key, as CRD schemas spell an enum value) is a plain string to Go's YAML readers
_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int | None, bounded: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.bounded = bounded  # refused for its size or nesting, not for its syntax


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
    documents: tuple[Any, ...]
    lines: dict[str, int] = field(default_factory=dict)
    units: int = 0  # what the documents took from the budget (a caller that releases them gives it back)


def load(text: str, budget: Budget | None = None, max_documents: int | None = None) -> Loaded:
    """Parse every document of `text` (at most `max_documents`); raise YamlSyntaxError with the line on bad
    YAML, on a document past `max_documents`, and when the file expands beyond its or the run's budget."""
    limit = budget.take(FILE_UNITS) if budget is not None else FILE_UNITS
    left = [limit]
    try:
        loaded = _load(text, left, max_documents, budget if limit < FILE_UNITS else None)
        return Loaded(loaded.documents, loaded.lines, limit - left[0])
    finally:
        if budget is not None:
            budget.give_back(left[0])


def _load(text: str, left: list[int], max_documents: int | None, short: Budget | None) -> Loaded:
    loader = _Loader(text)
    anchored = "&" in text  # without an anchor there is no alias: each node is used once, and one walk does
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
            if anchored:
                _measure(node, left, short)
                _index(node, str(len(docs)), lines, {})
            else:
                _measure_and_index(node, str(len(docs)), lines, left, short)
            docs.append(_plain(loader.construct_document(node)))
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


def _measure(root: yaml.Node, left: list[int], short: Budget | None) -> None:
    """Spend the document's expanded size (each alias counted where it is used) from `left`, computed once
    per distinct node; refuse recursive aliases and nesting deeper than MAX_DEPTH. `short`: the run's
    budget, when what it had left was less than a file's share."""
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


def _measure_and_index(
    root: yaml.Node, path: str, lines: dict[str, int], left: list[int], short: Budget | None
) -> None:
    """_measure and _index in one walk, for a document without aliases (every node used once, so its size is
    the sum of its nodes'). On anything to refuse, _measure and _index are run as they are, so the error and
    its line are theirs."""
    odd = [False]  # nested too deep, or a duplicate key
    total = _walk_tree(root, path, lines, 0, odd)
    if odd[0] or total > left[0]:
        _measure(root, left, short)  # raises what is too large or too deep
        _index(root, path, {}, {})  # raises the duplicate key
        return
    left[0] -= total


def _walk_tree(node: yaml.Node, path: str | None, lines: dict[str, int], depth: int, odd: list[bool]) -> int:
    """The node's expanded size (as _measure counts it), recording the line of each key path (as _index).
    Written for speed: it visits every node of every YAML file the run reads."""
    if depth > MAX_DEPTH:
        odd[0] = True
        return 0
    if path is not None:
        lines.setdefault(path, node.start_mark.line + 1)
    kind = type(node)
    if kind is yaml.ScalarNode:
        return 1 + len(str(node.value)) // CHARS_PER_UNIT
    total, deeper = 1, depth + 1
    sub: str | None
    if kind is yaml.MappingNode:
        names: set[str] = set()
        for key, value in node.value:
            if type(key) is yaml.ScalarNode:
                name = str(key.value)
                total += 1 + len(name) // CHARS_PER_UNIT
            else:
                name = "?"
                total += _walk_tree(key, None, lines, deeper, odd)
            if name in names and name != "<<":
                odd[0] = True
            names.add(name)
            if path is not None and len(path) + len(name) < MAX_LINE_PATH:
                sub = f"{path}/{name}"
                lines.setdefault(sub, key.start_mark.line + 1)
            else:
                sub = None
            total += _walk_tree(value, sub, lines, deeper, odd)
    else:
        for i, item in enumerate(node.value):
            name = str(i)
            sub = f"{path}/{name}" if path is not None and len(path) + len(name) < MAX_LINE_PATH else None
            total += _walk_tree(item, sub, lines, deeper, odd)
    return total


def _too_large(short: Budget | None) -> str:
    if short is not None:
        return (
            f"not parsed: this run's YAML budget ({short.total:,} nodes for every file together) is spent; "
            "point --repo at the project, or move generated YAML out of it"
        )
    return (
        f"invalid YAML: expands to more than {FILE_UNITS:,} nodes (aliases count each time they are used; "
        "an alias bomb?)"
    )


def _index(node: yaml.Node, path: str | None, lines: dict[str, int], seen: dict[int, None]) -> None:
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
            _index(value, sub, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, _child(path, str(i)), lines, seen)


def _child(path: str | None, name: str) -> str | None:
    if path is None or len(path) + len(name) >= MAX_LINE_PATH:
        return None
    return f"{path}/{name}"


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
