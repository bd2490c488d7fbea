"""Databricks Asset Bundles: `databricks.yml` with the files its `include:` names, and the jobs and tasks of its
`resources` and `targets`, checked the way `databricks bundle validate` does."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any

from mlops_gate.facts.files import NOT_READ, SourceFile
from mlops_gate.lang.source import error_loc, first_mapping, loc, problem
from mlops_gate.lang.workflow import Workflow
from mlops_gate.model import Location

TaskRef = tuple[SourceFile, tuple[object, ...], Any]  # file, key path, task


def databricks(bundle: SourceFile, includes: list[SourceFile], rejected: list[tuple[int, str]]) -> Workflow:
    w = Workflow("databricks", bundle)
    if bundle.error:
        w.bad(problem(bundle), error_loc(bundle))
        return w
    top = first_mapping(bundle)
    if not isinstance(top.get("bundle"), dict) or not top["bundle"].get("name"):
        w.bad("bundle.name is missing", loc(bundle, "bundle"))
    for n, why in rejected:
        w.bad(why, loc(bundle, "include", n))
    # job name -> scope (None: every target; else a target name) -> tasks
    jobs: dict[str, dict[str | None, list[TaskRef]]] = {}
    job_loc: dict[str, Location] = {}
    for f in (bundle, *includes):
        if f.error:
            w.bad(
                f"{f.path}: {problem(f)}" if f.error.startswith(NOT_READ) else f"cannot parse {f.path}: {f.error}",
                error_loc(f),
            )
            continue
        doc = first_mapping(f)
        sections: list[tuple[str | None, tuple[object, ...], Any]] = [(None, ("resources",), doc.get("resources"))]
        targets = doc.get("targets")
        for t, body in targets.items() if isinstance(targets, dict) else ():
            if isinstance(body, dict):
                sections.append((t, ("targets", t, "resources"), body.get("resources")))
        for scope, prefix, resources in sections:
            defined = resources.get("jobs") if isinstance(resources, dict) else None
            for job, body in defined.items() if isinstance(defined, dict) else ():
                job_loc.setdefault(job, loc(f, *prefix, "jobs", job))
                raw = body.get("tasks") if isinstance(body, dict) else None
                refs = [
                    (f, (*prefix, "jobs", job, "tasks", n), t)
                    for n, t in enumerate(raw if isinstance(raw, list) else [])
                ]
                jobs.setdefault(job, {}).setdefault(scope, []).extend(refs)
    in_python = python_resources(top)
    if in_python:
        w.evidence.append(
            f"{bundle.path}: resources defined in Python ({', '.join(in_python)}) cannot be read offline: "
            "`databricks bundle validate` loads them"
        )
    elif not jobs:
        kinds = sorted({k for f in (bundle, *includes) for k in _resource_kinds(f)} - {"jobs"})
        w.jobless = "defines no job under resources.jobs" + (f" (only {', '.join(kinds)})" if kinds else "")
    for job, scopes in jobs.items():
        if not any(scopes.values()):
            w.bad(f"job {job} has no tasks", job_loc[job])
        base = scopes.get(None, [])
        for scope, refs in scopes.items():
            _job_tasks(w, job, scope, refs if scope is None else base + refs, len(base) if scope else 0)
    w.tasks = list(dict.fromkeys(w.tasks))
    return w


TASK_TYPES_HINT = "notebook_task, spark_python_task, python_wheel_task, ..."


def _job_tasks(w: Workflow, job: str, scope: str | None, refs: list[TaskRef], skip: int) -> None:
    """Validate the tasks of one job as one target sees it; the first `skip` were validated already."""
    keys = {t["task_key"] for _, _, t in refs if isinstance(t, dict) and isinstance(t.get("task_key"), str)}
    typed = {t["task_key"] for _, _, t in refs[:skip] if isinstance(t, dict) and _has_type(t)}
    graph: dict[str, list[str]] = {}
    seen: set[str] = set()
    for f, path, task in refs[skip:]:
        where = loc(f, *path)
        key = task.get("task_key") if isinstance(task, dict) else None
        if not isinstance(task, dict) or not isinstance(key, str):
            w.bad(f"job {job}: a task has no task_key", where)
            continue
        if key in seen:
            w.bad(f"job {job}: duplicate task_key {key!r}", loc(f, *path, "task_key"))
        seen.add(key)
        w.tasks.append(key)
        if not _has_type(task) and key not in typed:
            w.bad(f"job {job}: task {key!r} has no task type ({TASK_TYPES_HINT})", where)
        deps = task.get("depends_on") or []
        for n, dep in enumerate(deps if isinstance(deps, list) else []):
            name = dep.get("task_key") if isinstance(dep, dict) else None
            if not isinstance(name, str) or name not in keys:
                w.bad(
                    f"job {job}: task {key!r} depends on unknown task {name!r}",
                    loc(f, *path, "depends_on", n),
                )
            else:
                graph.setdefault(key, []).append(str(name))
    cycle = _cycle(graph)
    if cycle:
        w.bad(
            f"job {job}: tasks depend on each other in a cycle: {' -> '.join(cycle)}",
            loc(refs[skip][0], *refs[skip][1]),
        )
    if scope is None:
        w.evidence.append(f"{w.file.path}: job {job}: {len(seen)} tasks ({', '.join(sorted(seen))})")


def _has_type(task: dict[str, Any]) -> bool:
    return any(k.endswith("_task") and isinstance(v, dict) for k, v in task.items())


def _cycle(graph: dict[str, list[str]]) -> list[str]:
    import graphlib  # only bundles with task dependencies

    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return [str(n) for n in exc.args[1]]
    return []


def include_matches(
    bundle: str, patterns: object, paths: Iterable[str], every_match: bool = False
) -> tuple[list[str], list[tuple[int, str]]]:
    """The files a bundle's `include:` names, and the entries the Databricks CLI rejects (index, why), as its
    loader does (bundle/config/loader/process_root_includes.go): each entry is joined to the bundle's folder
    and cleaned (`./resources/*.yml`, `../common/x.yml`), matched as a Go `filepath.Glob` (`*` stops at `/`);
    an absolute entry fails, an entry without glob characters that matches nothing fails, a glob that
    matches nothing is accepted, and a match that is not YAML or JSON fails."""
    base = posixpath.dirname(bundle)
    every = list(paths)
    found: dict[str, None] = {}
    problems: list[tuple[int, str]] = []
    for n, entry in enumerate(patterns if isinstance(patterns, list) else []):
        if not isinstance(entry, str):
            problems.append((n, f"include {entry!r} is not a path"))
            continue
        if entry.startswith("/"):
            problems.append((n, f"{entry}: includes must be relative paths"))
            continue
        rx = _go_glob(posixpath.normpath(posixpath.join(base, entry)))
        matches = [p for p in every if rx.fullmatch(p)]
        if not matches and not any(c in entry for c in "*?["):
            problems.append((n, f"{entry} defined in 'include' section does not match any files"))
        for m in matches:
            if not m.endswith((".yml", ".yaml", ".json")):
                problems.append((n, f"include {entry!r} matches {m}, which is not a YAML or JSON file"))
            if every_match or m.endswith((".yml", ".yaml", ".json")):
                found[m] = None
    return [m for m in found if m != bundle], problems


def _go_glob(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match syntax: `*` and `?` never match `/`, `[...]` and `[^...]` classes, `\\` escapes."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in pattern[i + 1 :]:
            j = pattern.index("]", i + 1)
            body = pattern[i + 1 : j]
            neg = body.startswith("^")
            body = body[1:] if neg else body
            out.append("[" + ("^/" if neg else "") + body.replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = j
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def python_resources(top: dict[str, Any]) -> list[str]:
    """The loaders of resources defined in Python (`python: resources:`, formerly under `experimental:`)."""
    out: list[str] = []
    for section in (
        top.get("python"),
        (top.get("experimental") or {}).get("python") if isinstance(top.get("experimental"), dict) else None,
    ):
        loaders = section.get("resources") if isinstance(section, dict) else None
        out += [str(x) for x in loaders] if isinstance(loaders, list) else []
    return out


def _resource_kinds(f: SourceFile) -> list[str]:
    doc = first_mapping(f) if not f.error else {}
    sections = [doc.get("resources")]
    targets = doc.get("targets")
    sections += (
        [t.get("resources") for t in targets.values() if isinstance(t, dict)] if isinstance(targets, dict) else []
    )
    return [str(k) for r in sections if isinstance(r, dict) for k, v in r.items() if v]
