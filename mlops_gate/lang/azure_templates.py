"""Azure Pipelines files and their templates, expanded as Azure does before a run.

`is_pipeline` tells an Azure pipeline (or template) by its shape, wherever it lives: Azure runs any YAML
file a pipeline is registered with, so `.pipelines/ci.yml` or `mlops/devops-pipelines/train.yml` count as
much as `azure-pipelines.yml`. `expand` puts each local `template:` reference of `stages`, `jobs`, `steps`
and `variables` (and `extends: template:`) in place, recursively, with its `parameters` (defaults, then the
values passed) substituted where written as `${{ parameters.NAME }}`. Conditional insertion
(`${{ if ... }}`) is decided when it tests parameters and literals (`eq`, `ne`, `not`, `and`, `or`);
otherwise its content is kept and a note says so. `${{ each x in parameters.list }}` is expanded once per
item, with `${{ x }}` and `${{ x.field }}` substituted.
A template from another repository (`path@alias`), or named by an expression, cannot be read offline: it is
listed, never guessed at. Paths are relative to the referencing file (a leading `/`: to the repository).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_gate.facts.files import SourceFile
from mlops_gate.lang.azure_expressions import each_scopes as _each
from mlops_gate.lang.azure_expressions import evaluate as _eval
from mlops_gate.lang.azure_expressions import substitute as _subst

MAX_DEPTH = 20  # Azure's limits: nesting levels and template files per pipeline
MAX_FILES = 100
MAX_EXPANSIONS = 2000  # template references expanded per pipeline (a bound on fan-out, not Azure's)
LIST_KEYS = ("stages", "jobs", "steps", "variables")
STEP_KEYS = frozenset(
    {"script", "bash", "pwsh", "powershell", "task", "checkout", "template", "download", "publish"}
    | {"downloadBuild", "getPackage", "reviewApp"}
)


def is_pipeline(doc: Any) -> bool:
    """An Azure Pipelines file or template: `stages`/`jobs`/`steps` lists in Azure's item shapes, or
    `extends: template:` (never an Azure ML, Kubernetes or GitHub Actions file that has a `jobs:` key)."""
    if not isinstance(doc, dict) or "on" in doc or True in doc or ("apiVersion" in doc and "kind" in doc):
        return False
    if "azureml" in str(doc.get("$schema", "")).lower():
        return False
    ext = doc.get("extends")
    if isinstance(ext, dict) and "template" in ext:
        return True
    return (
        _items(doc.get("stages"), {"stage", "template"})
        or _items(doc.get("jobs"), {"job", "deployment", "template"})
        or _items(doc.get("steps"), STEP_KEYS)
    )


def _items(value: Any, keys: set[str] | frozenset[str]) -> bool:
    if not isinstance(value, list) or not value:
        return False
    dicts = [v for v in value if isinstance(v, dict)]
    return bool(dicts) and all(keys & set(v) or any(_is_expr(k) for k in v) for v in dicts)


def _is_expr(key: object) -> bool:
    return isinstance(key, str) and key.strip().startswith("${{")


def template_path(ref: object, here: str) -> str | None:
    """The repository path a `template:` value names from file `here`, or None (another repository, an
    expression, not a string)."""
    if not isinstance(ref, str) or "${{" in ref or "$(" in ref:
        return None
    path, _, repo = ref.partition("@")
    if repo and repo != "self":
        return None
    base = "" if path.startswith("/") else posixpath.dirname(here)
    joined = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
    return None if joined.startswith("../") or joined == ".." else joined


def references(node: Any) -> Iterator[object]:
    """Every `template:` value in a document (at any depth: stages, jobs, steps, variables, extends)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "template":
                yield v
            else:
                yield from references(v)
    elif isinstance(node, list):
        for v in node:
            yield from references(v)


def collect(main: SourceFile, read: Callable[[str], SourceFile | None]) -> list[SourceFile]:
    """Every local template file `main` reaches (bounded as Azure bounds it), for the provider to keep."""
    out: dict[str, SourceFile] = {}
    todo = [(main, 0)]
    while todo and len(out) < MAX_FILES:
        f, depth = todo.pop()
        if depth >= MAX_DEPTH:
            continue
        for ref in references(list(f.documents)):
            rel = template_path(ref, f.path)
            if rel is None or rel in out or rel == main.path:
                continue
            got = read(rel)
            if got is not None:
                out[rel] = got
                todo.append((got, depth + 1))
    return list(out.values())


@dataclass(frozen=True)
class Expanded:
    """A pipeline with its templates in place (lines are the pipeline file's own), the template files it
    read, and what could not be expanded."""

    file: SourceFile
    templates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class _Run:
    """One pipeline's expansion under way: the files it may read, the templates used and the notes so far (in
    order, without repeats), and how many references it has expanded."""

    files: Mapping[str, SourceFile]
    used: dict[str, None] = field(default_factory=dict)
    notes: dict[str, None] = field(default_factory=dict)
    expansions: int = 0


def expand(f: SourceFile, files: Mapping[str, SourceFile]) -> Expanded:
    doc = f.documents[0] if f.documents else None
    if not isinstance(doc, dict):
        return Expanded(f)
    run = _Run(files)
    out = _node(doc, f.path, {}, run, 0, "")
    ext = doc.get("extends")
    if isinstance(ext, dict) and "template" in ext:
        base = _template(ext, f.path, {}, run, 0)
        body = base if isinstance(base, dict) else {}
        out = {
            **{k: v for k, v in out.items() if k != "extends"},
            **{k: v for k, v in body.items() if k != "parameters"},
        }
    expanded = SourceFile(f.path, f.format, documents=(out, *f.documents[1:]), lines=f.lines)
    return Expanded(expanded, tuple(run.used), tuple(run.notes))


def _template(item: Mapping[str, Any], here: str, params: Mapping[str, Any], run: _Run, depth: int) -> Any:
    """The expanded top document of the template an item names (None when it cannot be read)."""
    ref = item.get("template")
    rel = template_path(_subst(ref, params), here)
    got = run.files.get(rel) if rel is not None else None
    if got is None or got.error or depth >= MAX_DEPTH or run.expansions >= MAX_EXPANSIONS:
        why = (
            "from another repository or named by an expression, not read offline"
            if rel is None
            else "not found"
            if got is None
            else f"cannot be read: {got.error}"
            if got.error
            else "nested too deep"
        )
        run.notes[f"{here}: template {ref} {why}"] = None
        return None
    run.expansions += 1
    run.used[got.path] = None
    top = got.documents[0] if got.documents else None
    if not isinstance(top, dict):
        return None
    passed = item.get("parameters")
    values = {
        **_defaults(top.get("parameters")),
        **(_node(passed, here, params, run, depth, "") if isinstance(passed, dict) else {}),
    }
    return _node({k: v for k, v in top.items() if k != "parameters"}, got.path, values, run, depth + 1, "")


def _defaults(declared: Any) -> dict[str, Any]:
    if isinstance(declared, dict):  # the older `parameters: {name: default}` form
        return {str(k): v for k, v in declared.items()}
    out = {}
    for p in declared if isinstance(declared, list) else ():
        if isinstance(p, dict) and "name" in p and "default" in p:
            out[str(p["name"])] = p["default"]
    return out


def _node(node: Any, here: str, params: Mapping[str, Any], run: _Run, depth: int, key: str) -> Any:
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for k, v in _kept(node.items(), params, run, here):
            if _is_expr(k):  # an inserted or `each` body
                for scope in _each(k, params):
                    body = _node(v, here, scope, run, depth, key)
                    out.update(body if isinstance(body, dict) else {})
            else:
                out[k] = _node(v, here, params, run, depth, str(k))
        return out
    if isinstance(node, list):
        items: list[Any] = []
        for item in node:
            if isinstance(item, dict) and "template" in item and key in LIST_KEYS:
                got = _template(item, here, params, run, depth)
                items.extend(_as_list(got.get(key)) if isinstance(got, dict) else [])
            elif isinstance(item, dict) and item and all(_is_expr(k) for k in item):
                for k, v in _kept(item.items(), params, run, here):  # `- ${{ if ... }}:` inserts its items
                    for scope in _each(k, params):
                        body = _node(v, here, scope, run, depth, key)
                        items.extend(body if isinstance(body, list) else [body])
            else:
                items.append(_node(item, here, params, run, depth, key))
        return items
    return _subst(node, params)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _kept(pairs: Any, params: Mapping[str, Any], run: _Run, here: str) -> Iterator[tuple[Any, Any]]:
    """The entries an `${{ if }}` / `${{ elseif }}` / `${{ else }}` chain keeps (others pass through)."""
    taken: bool | None = None  # None: not in a chain
    for k, v in pairs:
        m = re.fullmatch(r"\$\{\{\s*(if|elseif|else)\b\s*(.*?)\s*\}\}", str(k).strip()) if _is_expr(k) else None
        if m is None:
            taken = None
            yield k, v
            continue
        kind, cond = m.groups()
        if kind == "if":
            taken = None
        if taken:
            continue
        value = True if kind == "else" else _eval(cond, params)
        if value is None:
            run.notes[f"{here}: condition {cond} not decided offline: its content is kept"] = None
            value = True
        taken = value
        if value:
            yield "${{ each }}", v  # an expression key: spliced into the enclosing mapping or list


def expand_all(files: Sequence[SourceFile]) -> tuple[dict[str, Expanded], frozenset[str]]:
    """Each readable Azure file expanded, and the files some other one uses as a template (part of that
    pipeline, never a pipeline of their own)."""
    by_path = {f.path: f for f in files}
    out = {f.path: expand(f, by_path) for f in files if not f.error}
    used = frozenset(t for path, e in out.items() for t in e.templates if t != path)
    return out, used
