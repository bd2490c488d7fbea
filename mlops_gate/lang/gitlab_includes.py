"""GitLab `include:`: which files `.gitlab-ci.yml` pulls in, and the one pipeline they make together.

`resolve` is pure over a loader and the repository's paths: the files provider uses it to collect
every local include, the checks use it again over the collected files, for the pipelines they judge
(a `Scope`): an include whose `rules` leave it out of them is left out, one whose rules cannot be
decided offline is kept or left out as the scope says, and an include that matches no file (GitLab
rejects such a pipeline) is reported where it is written. Includes from other projects, URLs,
templates and components cannot be read offline: they are listed, never guessed at. A file opening
with a `spec:` header is read from its second document; `$[[ inputs.x ]]` is not interpolated.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mlops_gate.facts.files import SourceFile
from mlops_gate.lang.gitlab_rules import Scope
from mlops_gate.lang.pipelines import Job, as_list, deep_merge, gitlab_jobs, has_spec, top, top_index
from mlops_gate.lang.source import loc
from mlops_gate.model import Location, Violation

GITLAB_CI = ".gitlab-ci.yml"
MAX_DEPTH = 100  # GitLab's limits: nesting depth and included files per pipeline
MAX_FILES = 150
NON_LOCAL = ("project", "remote", "template", "component")


@dataclass(frozen=True)
class Include:
    """One `include:` entry: local (a path or glob) or one that cannot be read (`kind` says why)."""

    kind: str  # local | project | remote | template | component | variable
    value: str
    keys: tuple[object, ...]  # key path in the including file
    rules: Any = field(default=None, compare=False)  # its `rules:` (None: always included)
    where: Location | None = field(default=None, compare=False)  # set by `resolve`

    def describe(self) -> str:
        return f"{self.kind} {self.value}"

    def at(self) -> str:
        return f"{self.where.path}:{self.where.line}: " if self.where else ""


def includes_of(doc: dict[str, Any]) -> Iterator[Include]:
    raw = doc.get("include")
    items = [(("include", i), v) for i, v in enumerate(raw)] if isinstance(raw, list) else [(("include",), raw)]
    for keys, item in items:
        if isinstance(item, str):
            remote = item.startswith(("http://", "https://"))
            yield _local(item, keys) if not remote else Include("remote", item, keys)
        elif isinstance(item, dict) and "local" in item:
            yield _local(str(item["local"]), (*keys, "local"), item.get("rules"))
        elif isinstance(item, dict) and "project" in item:
            for name in as_list(item.get("file")) or [""]:
                yield Include("project", f"{item['project']}:{name}", (*keys, "project"), item.get("rules"))
        elif isinstance(item, dict):
            kind = next((k for k in NON_LOCAL if k in item), None)
            if kind is not None:
                yield Include(kind, str(item[kind]), (*keys, kind), item.get("rules"))


def _local(path: str, keys: tuple[object, ...], rules: Any = None) -> Include:
    return Include("variable" if "$" in path else "local", path, keys, rules)


def expand(pattern: str, paths: Sequence[str]) -> list[str]:
    """The YAML files a local include names: relative to the root (a leading `/` is the root), `*`
    within one folder, `**` across folders, as GitLab expands them."""
    rel = pattern.lstrip("/")
    if "*" not in rel:
        return [rel] if rel in paths and rel.endswith((".yml", ".yaml")) else []
    regex = re.compile(re.escape(rel).replace(r"\*\*", ".*").replace(r"\*", "[^/]*") + r"\Z")
    return sorted(p for p in paths if regex.match(p) and p.endswith((".yml", ".yaml")))


@dataclass
class Resolution:
    """The files of one pipeline in merge order (each after the files it includes; the main file last)."""

    files: list[SourceFile] = field(default_factory=list)
    unreadable: list[Include] = field(default_factory=list)
    problems: list[Violation] = field(default_factory=list)
    left_out: list[tuple[Include, bool]] = field(default_factory=list)  # (include, its rules were decided)
    conditional: list[Include] = field(default_factory=list)  # kept, though its rules may not apply


def resolve(
    main: SourceFile, load: Callable[[str], SourceFile | None], paths: Sequence[str], scope: Scope | None = None
) -> Resolution:
    """Without a scope every include is followed, whatever its `rules` (what the provider collects)."""
    res, seen = Resolution(), {main.path}

    def visit(f: SourceFile, depth: int) -> None:
        for inc in includes_of(top(f)):
            where = loc(f, *inc.keys, doc=top_index(f))
            inc = replace(inc, where=where)
            if scope is not None and isinstance(inc.rules, list):
                applies = scope.includes(inc.rules)
                if applies is False or (applies is None and not scope.keep_uncertain):
                    res.left_out.append((inc, applies is False))
                    continue
                if applies is None:
                    res.conditional.append(inc)
            if inc.kind != "local":
                res.unreadable.append(inc)
                continue
            if depth >= MAX_DEPTH or len(seen) > MAX_FILES:  # checked before matching: the provider stopped here
                limit = f"nests deeper than {MAX_DEPTH} levels" if depth >= MAX_DEPTH else f"exceeds {MAX_FILES} files"
                res.problems.append(Violation(f"include {inc.value!r} {limit}, GitLab's limit", where))
                continue
            found = expand(inc.value, paths)
            if not found:
                res.problems.append(Violation(f"include {inc.value!r} matches no YAML file in the repository", where))
            for rel in found:
                if rel in seen:
                    continue  # GitLab ignores a file included twice
                seen.add(rel)
                g = load(rel)
                if g is None:
                    continue
                if not g.error:
                    visit(g, depth + 1)
                res.files.append(g)

    visit(main, 1)
    res.files.append(main)
    return res


@dataclass(frozen=True)
class Pipeline:
    """`.gitlab-ci.yml` merged with its local includes: later definitions of a key deep-merge over
    earlier ones, the including file over what it includes (`extends:` then resolves across files)."""

    main: SourceFile
    files: tuple[SourceFile, ...]  # readable, in merge order
    included: frozenset[str]
    unreadable: tuple[Include, ...]
    problems: tuple[Violation, ...]
    doc: dict[str, Any]
    scope: Scope | None = None
    left_out: tuple[tuple[Include, bool], ...] = ()
    conditional: tuple[Include, ...] = ()

    def jobs(self) -> list[Job]:
        return [Job((k,), k, None, body) for k, body in gitlab_jobs(self.doc).items()]

    def loc(self, *keys: object) -> Location:
        """The line in the file whose definition wins: the last one holding the whole key path, else
        the last one holding its first key."""
        having = [f for f in self.files if _has(top(f), keys[:1])]
        deepest = [f for f in having if _has(top(f), keys)]
        f = (deepest or having or [self.main])[-1]
        return loc(f, *keys, doc=top_index(f))

    def unreadable_note(self) -> str:
        n = len(self.unreadable)
        if not n:
            return ""
        names = ", ".join(i.describe() for i in self.unreadable)
        return f"; {n} include{'s' if n != 1 else ''} could not be read offline ({names})"

    def evidence(self) -> list[str]:
        """What the verdict cannot see or left out: always listed, on a pass too."""
        label = self.scope.label if self.scope else "the pipeline"
        out = [
            f"{i.at()}include {i.describe()} not read offline: it can add workflow:rules or override jobs"
            for i in self.unreadable
        ]
        out += [
            f"{f.path}: jobs read from the document after its spec: header; $[[ inputs.* ]] are not interpolated"
            for f in self.files
            if has_spec(f)
        ]
        out += [
            f"{i.at()}include {i.describe()} left out of {label}: its rules "
            + (
                "do not apply"
                if decided
                else "cannot be decided offline (project or pipeline variables, "
                "changes, exists), so its jobs do not count"
            )
            for i, decided in self.left_out
        ]
        out += [f"{i.at()}include {i.describe()} kept for {label}: its rules may apply" for i in self.conditional]
        return out


def left_out_note(pipelines: Sequence[Pipeline]) -> str:
    """`; N includes left out by their rules (...)` over some pipelines, for a verdict finding nothing."""
    names = list(dict.fromkeys(i.describe() for pl in pipelines for i, _ in pl.left_out))
    n, their = len(names), "their" if len(names) != 1 else "its"
    return f"; {n} include{'s' if n != 1 else ''} left out by {their} rules ({', '.join(names)})" if n else ""


def _has(node: Any, keys: Sequence[object]) -> bool:
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return False
        node = node[k]
    return True


_CACHE: dict[tuple[object, ...], tuple[tuple[SourceFile, ...], Pipeline | None]] = {}
_CACHE_SIZE = 16
_LOCK = threading.Lock()


def pipeline(files: Sequence[SourceFile], scope: Scope | None = None) -> Pipeline | None:
    """The GitLab pipeline of these CI files for `scope` (None: every include, whatever its rules;
    None without a parsable `.gitlab-ci.yml`). Cached: the ci and cd checks ask for the same ones. The
    key holds the files' ids and the entry the files themselves, so an id cannot be reused meanwhile."""
    key = (tuple((f.path, id(f)) for f in files), scope)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit[1]
    result = _pipeline(files, scope)
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (tuple(files), result)
    return result


def _pipeline(files: Sequence[SourceFile], scope: Scope | None) -> Pipeline | None:
    main = next((f for f in files if f.path == GITLAB_CI and not f.error), None)
    if main is None:
        return None
    by_path = {f.path: f for f in files}
    res = resolve(main, by_path.get, list(by_path), scope)
    readable = tuple(f for f in res.files if not f.error)
    doc: dict[str, Any] = {}
    for f in readable:
        doc = deep_merge(doc, {k: v for k, v in top(f).items() if k != "include"})
    included = frozenset(f.path for f in res.files) - {main.path}
    return Pipeline(
        main,
        readable,
        included,
        tuple(res.unreadable),
        tuple(res.problems),
        doc,
        scope,
        tuple(res.left_out),
        tuple(res.conditional),
    )
