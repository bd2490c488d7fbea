"""orchestration checks: training / prediction workflows are declared and valid."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from mlops_gate.checks._common import file_subject, glob_match, repo_subject, skipped
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.lang.orchestration import discover
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target

Kind = Literal["databricks", "airflow", "stepfunctions"]
LABEL = {"databricks": "Databricks bundle", "airflow": "Airflow DAG file", "stepfunctions": "Step Functions"}


@dataclass(frozen=True)
class Params:
    """The params of orchestration.workflow-defined.

    kinds: the workflow kinds that count: databricks, airflow, stepfunctions; empty means any.
        e.g. [databricks]
    paths: globs that narrow which workflow files are judged; empty means every discovered one.
        e.g. ["pipelines/**"]
    required_tasks: task names (globs) some workflow must define.
        e.g. [train, evaluate, "register*"]
    """

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
      tasks of the same job, without cycles. `include:` follows the Databricks CLI's loader: each entry
      is joined to the bundle's folder and cleaned (`./resources/*.yml`, `../common/x.yml`), matched as
      a Go glob (`*` stops at `/`); a glob matching nothing is accepted, a plain path matching nothing,
      an absolute path or a match that is not YAML/JSON fails. Resources defined in Python
      (`python: resources:`) cannot be read offline: the evidence says so, and that is no failure. A
      valid bundle without jobs (apps, pipelines, dashboards only) passes but is no workflow.
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
        for w in discover(files)
        if (not params.kinds or w.kind in params.kinds) and (not params.paths or glob_match(w.file.path, params.paths))
    ]
    tasks: list[str] = []
    for w in found:
        if not w.violations:  # only a valid workflow counts towards the repository's verdict
            tasks += w.tasks
        summary = f"{LABEL[w.kind]}: {len(w.tasks)} tasks"
        message = f"{summary}; {len(w.violations)} problems" if w.violations else f"{summary}, valid"
        if w.jobless and not w.violations:
            message = f"{LABEL[w.kind]}: valid, but {w.jobless}: not a workflow"
        yield Outcome(file_subject(w.file), message, tuple(w.violations), tuple(w.evidence))
    subject = repo_subject(target, files)
    invalid = [w for w in found if w.violations]
    jobless = [w for w in found if w.jobless and not w.violations]
    found = [w for w in found if not w.violations and not w.jobless]
    if not found:
        where = "".join(
            [
                f" of kinds {', '.join(params.kinds)}" if params.kinds else "",
                f" under {', '.join(params.paths)}" if params.paths else "",
            ]
        )
        msg = (
            f"no valid training/prediction workflow found{where}"
            + (f" ({len(invalid)} invalid: {', '.join(w.file.path for w in invalid)})" if invalid else "")
            + (f" ({len(jobless)} without jobs: {', '.join(w.file.path for w in jobless)})" if jobless else "")
        )
        yield Outcome(
            subject,
            msg + skipped(files)[0],
            (Violation(msg + ": declare one (Databricks bundle, Airflow DAG, Step Functions state machine)"),),
            skipped(files)[1],
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
        yield Outcome(
            subject, head + tail, evidence=tuple(f"{w.file.path}: {w.kind}" for w in found) + skipped(files)[1]
        )
