"""orchestration checks: training / prediction workflows are declared and valid."""

from __future__ import annotations

import ast
import fnmatch
import graphlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_gate.checks._common import error_loc, file_subject, glob_match, loc, repo_subject
from mlops_gate.facts import RepoFiles, SourceFile
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.registry import check
from mlops_gate.target import Target

Kind = Literal["databricks", "airflow", "stepfunctions"]
LABEL = {"databricks": "Databricks bundle", "airflow": "Airflow DAG file", "stepfunctions": "Step Functions"}


@dataclass(frozen=True)
class Params:
    kinds: tuple[Kind, ...] = ()  # empty: any kind
    paths: tuple[str, ...] = ()  # globs over workflow files; empty: every discovered one
    required_tasks: tuple[str, ...] = ()  # task names (globs) some workflow must define


@dataclass
class Workflow:
    kind: str
    file: SourceFile
    tasks: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def bad(self, message: str, where: Location) -> None:
        self.violations.append(Violation(message, where))


@check(
    "orchestration.workflow-defined",
    title="Training and prediction workflows are defined and valid",
    severity=Severity.MEDIUM,
    needs=("workflow_files",),
    params=Params,
)
def workflow_defined(facts: Mapping[str, Any], params: Params, target: Target) -> Iterator[Outcome]:
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
    files: RepoFiles = facts["workflow_files"]
    found = [
        w
        for w in _discover(files)
        if (not params.kinds or w.kind in params.kinds)
        and (not params.paths or glob_match(w.file.path, params.paths))
    ]
    tasks: list[str] = []
    for w in found:
        tasks += w.tasks
        summary = f"{LABEL[w.kind]}: {len(w.tasks)} tasks"
        message = f"{summary}; {len(w.violations)} problems" if w.violations else f"{summary}, valid"
        yield Outcome(file_subject(w.file), message, tuple(w.violations), tuple(w.evidence))
    subject = repo_subject(target, files)
    if not found:
        where = "".join(
            [
                f" of kinds {', '.join(params.kinds)}" if params.kinds else "",
                f" under {', '.join(params.paths)}" if params.paths else "",
            ]
        )
        msg = f"no training/prediction workflow found{where}"
        yield Outcome(
            subject,
            msg,
            (
                Violation(
                    msg + ": declare one (Databricks bundle, Airflow DAG, Step Functions state machine)"
                ),
            ),
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


def _top(f: SourceFile) -> dict[str, Any]:
    doc = f.documents[0] if f.documents else None
    return doc if isinstance(doc, dict) else {}


def _discover(files: RepoFiles) -> Iterator[Workflow]:
    paths = [f.path for f in files.files]
    included: set[str] = set()
    bundles = []
    for f in files.files:
        if _name(f) in ("databricks.yml", "databricks.yaml"):
            base = f.path.rsplit("/", 1)[0] + "/" if "/" in f.path else ""
            patterns = _top(f).get("include") or []
            patterns = [str(p) for p in patterns] if isinstance(patterns, list) else []
            inc = [
                g
                for g in files.files
                if any(fnmatch.fnmatch(g.path, base + p) for p in patterns) and g.path != f.path
            ]
            included.update(g.path for g in inc)
            bundles.append(
                (
                    f,
                    inc,
                    [
                        (n, p)
                        for n, p in enumerate(patterns)
                        if not any(fnmatch.fnmatch(q, base + p) for q in paths)
                    ],
                )
            )
    for f in files.files:
        bundle = next((b for b in bundles if b[0] is f), None)
        if bundle is not None:
            yield _databricks(*bundle)
        elif f.path in included:
            continue
        elif f.format == "python":
            yield _airflow(f)
        else:
            yield _stepfunctions(f)


# --- Databricks bundles ---------------------------------------------------------------------------

TaskRef = tuple[SourceFile, tuple[object, ...], Any]  # file, key path, task


def _databricks(bundle: SourceFile, includes: list[SourceFile], unmatched: list[tuple[int, str]]) -> Workflow:
    w = Workflow("databricks", bundle)
    if bundle.error:
        w.bad(f"cannot parse: {bundle.error}", error_loc(bundle))
        return w
    top = _top(bundle)
    if not isinstance(top.get("bundle"), dict) or not top["bundle"].get("name"):
        w.bad("bundle.name is missing", loc(bundle, "bundle"))
    for n, pattern in unmatched:
        w.bad(f"include {pattern!r} matches no file", loc(bundle, "include", n))
    # job name -> scope (None: every target; else a target name) -> tasks
    jobs: dict[str, dict[str | None, list[TaskRef]]] = {}
    job_loc: dict[str, Location] = {}
    for f in (bundle, *includes):
        if f.error:
            w.bad(f"cannot parse {f.path}: {f.error}", error_loc(f))
            continue
        doc = _top(f)
        sections: list[tuple[str | None, tuple[object, ...], Any]] = [
            (None, ("resources",), doc.get("resources"))
        ]
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


# --- Airflow ----------------------------------------------------------------------------------------


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kwarg(call: ast.expr, name: str) -> ast.expr | None:
    if isinstance(call, ast.Call):
        return next((k.value for k in call.keywords if k.arg == name), None)
    return None


def _airflow(f: SourceFile) -> Workflow:
    w = Workflow("airflow", f)
    try:
        tree = ast.parse(f.text or "", filename=f.path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        msg = exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__
        w.bad(f"does not compile: {msg}", Location(f.path, getattr(exc, "lineno", None)))
        return w
    dags: list[str] = []
    dynamic = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name == "DAG" or name.endswith(".DAG"):
                first = node.args[0] if node.args else _kwarg(node, "dag_id")
                dags.append(
                    first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else "?"
                )
            task_id = _kwarg(node, "task_id")
            if isinstance(task_id, ast.Constant) and isinstance(task_id.value, str):
                w.tasks.append(task_id.value)
            elif task_id is not None:
                dynamic += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                name = _dotted(dec)
                if name == "dag" or name.endswith(".dag"):
                    dag_id = _kwarg(dec, "dag_id")
                    dags.append(
                        dag_id.value
                        if isinstance(dag_id, ast.Constant) and isinstance(dag_id.value, str)
                        else node.name
                    )
                elif (name == "task" or name.startswith("task.") or name.endswith(".task")) and _kwarg(
                    dec, "task_id"
                ) is None:
                    w.tasks.append(node.name)
    w.tasks = list(dict.fromkeys(w.tasks))
    if not dags:
        w.bad("defines no DAG (DAG(...), `with DAG(...)` or an @dag function)", Location(f.path, 1))
    elif not w.tasks and not dynamic:
        w.bad(f"DAG {', '.join(map(str, dags))} defines no task", Location(f.path, 1))
    w.evidence.append(f"{f.path}: DAG {', '.join(map(str, dags)) or '-'}: tasks {', '.join(w.tasks) or '-'}")
    return w


# --- Step Functions -------------------------------------------------------------------------------

STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")


def _stepfunctions(f: SourceFile) -> Workflow:
    w = Workflow("stepfunctions", f)
    if f.error:
        w.bad(f"cannot parse: {f.error}", error_loc(f))
    elif "StartAt" not in _top(f) or "States" not in _top(f):
        w.bad("not a state machine: StartAt and States are required", loc(f))
    else:
        _machine(w, _top(f), ())
        w.evidence.append(f"{f.path}: states {', '.join(w.tasks)}")
    return w


def _machine(w: Workflow, m: Any, path: tuple[object, ...]) -> None:
    f = w.file
    states = m.get("States") if isinstance(m, dict) else None
    if not isinstance(states, dict) or not states:
        w.bad("a state machine needs a non-empty States", loc(f, *path, "States"))
        return
    raw = m.get("StartAt")
    start = raw if isinstance(raw, str) else ""
    if start not in states:
        w.bad(f"StartAt {raw!r} names no state", loc(f, *path, "StartAt"))
    edges: dict[str, list[str]] = {}
    terminal = False
    for name, st in states.items():
        sp = (*path, "States", name)
        w.tasks.append(name)
        if not isinstance(st, dict):
            w.bad(f"state {name} is not an object", loc(f, *sp))
            continue
        kind = st.get("Type")
        if kind not in STATE_TYPES:
            w.bad(f"state {name} has Type {kind!r}; expected one of {', '.join(STATE_TYPES)}", loc(f, *sp))
        targets: list[tuple[Any, tuple[object, ...]]] = [(st["Next"], (*sp, "Next"))] if "Next" in st else []
        if kind == "Choice":
            choices = st.get("Choices")
            if not isinstance(choices, list) or not choices:
                w.bad(f"Choice state {name} has no Choices", loc(f, *sp))
            for n, c in enumerate(choices if isinstance(choices, list) else []):
                if isinstance(c, dict):
                    targets.append((c.get("Next"), (*sp, "Choices", n, "Next")))
            if "Default" in st:
                targets.append((st["Default"], (*sp, "Default")))
        catches = st.get("Catch")
        for n, c in enumerate(catches if isinstance(catches, list) else []):
            targets.append((c.get("Next") if isinstance(c, dict) else None, (*sp, "Catch", n, "Next")))
        for target, kp in targets:
            if not isinstance(target, str) or target not in states:
                field_name = "/".join(map(str, kp[len(sp) :]))
                w.bad(f"state {name}: {field_name} {target!r} names no state", loc(f, *kp))
        end = st.get("End") is True
        terminal = terminal or end or kind in ("Succeed", "Fail")
        if kind in STATE_TYPES and kind not in ("Choice", "Succeed", "Fail") and end == ("Next" in st):
            w.bad(f"state {name} needs exactly one of Next or End: true", loc(f, *sp))
        edges[name] = [str(t) for t, _ in targets]
        if kind == "Parallel":
            branches = st.get("Branches")
            if not isinstance(branches, list) or not branches:
                w.bad(f"Parallel state {name} has no Branches", loc(f, *sp))
            for n, b in enumerate(branches if isinstance(branches, list) else []):
                _machine(w, b, (*sp, "Branches", n))
        if kind == "Map":
            key = "ItemProcessor" if "ItemProcessor" in st else "Iterator"
            _machine(w, st.get(key), (*sp, key))
    if not terminal:
        w.bad("no terminal state (End: true, Succeed or Fail)", loc(f, *path, "States"))
    reached, todo = set(), [start] if start in states else []
    while todo:
        node = todo.pop()
        if node not in reached:
            reached.add(node)
            todo += [n for n in edges.get(node, []) if n in states]
    if start in states:
        for name in states:
            if name not in reached:
                w.bad(f"state {name} is unreachable from StartAt", loc(f, *path, "States", name))
