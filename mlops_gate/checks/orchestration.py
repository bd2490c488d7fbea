"""orchestration checks: training / prediction workflows are declared and valid."""

from __future__ import annotations

import fnmatch
import graphlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from mlops_gate.checks._common import error_loc, file_subject, glob_match, loc, problem, repo_subject
from mlops_gate.checks._workflows import Workflow, airflow, first_mapping, stepfunctions
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import NOT_READ, RepoFiles, SourceFile
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target

Kind = Literal["databricks", "airflow", "stepfunctions"]
LABEL = {"databricks": "Databricks bundle", "airflow": "Airflow DAG file", "stepfunctions": "Step Functions"}


@dataclass(frozen=True)
class Params:
    kinds: tuple[Kind, ...] = ()  # empty: any kind
    paths: tuple[str, ...] = ()  # globs over workflow files; empty: every discovered one
    required_tasks: tuple[str, ...] = ()  # task names (globs) some workflow must define


@check(
    "orchestration.workflow-defined",
    title="Training and prediction workflows are defined and valid",
    severity=Severity.MEDIUM,
    needs=("workflow_files",),
    params=Params,
)
def workflow_defined(facts: Facts, params: Params, target: Target) -> Iterator[Outcome]:
    """Training and prediction run as declared workflows, and those definitions are valid.

    Workflows found in the repository (or only those under `paths`, globs) of `kinds`
    (`databricks`, `airflow`, `stepfunctions`; default any):
    - Databricks Asset Bundles: `databricks.yml` with the files its `include:` names, and the
      `resources` of its `targets`. Each job has tasks; each task has a `task_key`, a task type
      (`notebook_task`, `spark_python_task`, `python_wheel_task`, ...), and `depends_on` names
      tasks of the same job, without cycles.
    - Airflow DAG files, read with Python's `ast` (Airflow is never imported): the file compiles,
      defines a DAG (`DAG(...)`, `with DAG(...)` or an `@dag` function) and at least one task; task
      ids come from `task_id="..."` and `@task` functions.
    - Step Functions ASL (JSON or YAML): `StartAt` names a state; every `Next`, `Default`,
      `Choices[].Next` and `Catch[].Next` resolves; every state is reachable and has a valid `Type`;
      at least one terminal state (`End: true`, `Succeed`, `Fail`); `Parallel` branches and `Map`
      `ItemProcessor`/`Iterator` are checked the same way. State names count as tasks.

    One result per workflow file (subject `file:<path>`), plus one for the repository that fails
    when no workflow is found or when the workflows together lack one of `required_tasks`.

    Fix: declare the training/prediction pipeline as a bundle job, a DAG or a state machine, and
    run `databricks bundle validate`, `python -c 'import dag_file'` or `aws stepfunctions
    validate-state-machine-definition` to see the same problems.
    """
    files = facts.workflow_files
    found = [
        w
        for w in _discover(files)
        if (not params.kinds or w.kind in params.kinds) and (not params.paths or glob_match(w.file.path, params.paths))
    ]
    tasks: list[str] = []
    for w in found:
        if not w.violations:  # only a valid workflow counts towards the repository's verdict
            tasks += w.tasks
        summary = f"{LABEL[w.kind]}: {len(w.tasks)} tasks"
        message = f"{summary}; {len(w.violations)} problems" if w.violations else f"{summary}, valid"
        yield Outcome(file_subject(w.file), message, tuple(w.violations), tuple(w.evidence))
    subject = repo_subject(target, files)
    invalid = [w for w in found if w.violations]
    found = [w for w in found if not w.violations]
    if not found:
        where = "".join(
            [
                f" of kinds {', '.join(params.kinds)}" if params.kinds else "",
                f" under {', '.join(params.paths)}" if params.paths else "",
            ]
        )
        msg = f"no valid training/prediction workflow found{where}" + (
            f" ({len(invalid)} invalid: {', '.join(w.file.path for w in invalid)})" if invalid else ""
        )
        yield Outcome(
            subject,
            msg,
            (Violation(msg + ": declare one (Databricks bundle, Airflow DAG, Step Functions state machine)"),),
        )
        return
    missing = [r for r in params.required_tasks if not any(fnmatch.fnmatchcase(t, r) for t in tasks)]
    kinds = ", ".join(sorted({w.kind for w in found}))
    head = f"{len(found)} workflows ({kinds}) define {len(set(tasks))} tasks"
    if missing:
        yield Outcome(
            subject,
            f"{head}; required tasks missing: {', '.join(missing)}",
            tuple(Violation(f"no workflow defines required task {r!r}") for r in missing),
        )
    else:
        tail = f"; all {len(params.required_tasks)} required tasks present" if params.required_tasks else ""
        yield Outcome(subject, head + tail, evidence=tuple(f"{w.file.path}: {w.kind}" for w in found))


def _name(f: SourceFile) -> str:
    return f.path.rsplit("/", 1)[-1].lower()


def _discover(files: RepoFiles) -> Iterator[Workflow]:
    paths = [f.path for f in files.files]
    included: set[str] = set()
    bundles = []
    for f in files.files:
        if _name(f) in ("databricks.yml", "databricks.yaml"):
            base = f.path.rsplit("/", 1)[0] + "/" if "/" in f.path else ""
            patterns = first_mapping(f).get("include") or []
            patterns = [str(p) for p in patterns] if isinstance(patterns, list) else []
            inc = [
                g for g in files.files if any(fnmatch.fnmatch(g.path, base + p) for p in patterns) and g.path != f.path
            ]
            included.update(g.path for g in inc)
            bundles.append(
                (
                    f,
                    inc,
                    [(n, p) for n, p in enumerate(patterns) if not any(fnmatch.fnmatch(q, base + p) for q in paths)],
                )
            )
    for f in files.files:
        bundle = next((b for b in bundles if b[0] is f), None)
        if bundle is not None:
            yield _databricks(*bundle)
        elif f.path in included:
            continue
        elif f.format == "python":
            yield airflow(f)
        else:
            yield stepfunctions(f)


# --- Databricks bundles ---------------------------------------------------------------------------

TaskRef = tuple[SourceFile, tuple[object, ...], Any]  # file, key path, task


def _databricks(bundle: SourceFile, includes: list[SourceFile], unmatched: list[tuple[int, str]]) -> Workflow:
    w = Workflow("databricks", bundle)
    if bundle.error:
        w.bad(problem(bundle), error_loc(bundle))
        return w
    top = first_mapping(bundle)
    if not isinstance(top.get("bundle"), dict) or not top["bundle"].get("name"):
        w.bad("bundle.name is missing", loc(bundle, "bundle"))
    for n, pattern in unmatched:
        w.bad(f"include {pattern!r} matches no file", loc(bundle, "include", n))
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
    if not jobs:
        w.bad("the bundle defines no job under resources.jobs", loc(bundle, "resources"))
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
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return [str(n) for n in exc.args[1]]
    return []
