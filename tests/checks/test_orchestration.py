"""orchestration.workflow-defined over small fixture trees: Databricks bundles, Airflow, Step Functions."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_gate.checks.orchestration import Params, workflow_defined
from mlops_gate.model import Outcome
from mlops_gate.target import Target
from tests.support.trees import read_facts, write_tree


def run(tmp_path: Path, files: dict[str, str], **params: object) -> list[Outcome]:
    facts = read_facts(write_tree(tmp_path, files), "workflow_files")
    return list(workflow_defined(facts, Params(**params), Target()))  # type: ignore[arg-type]


def by_subject(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.subject.split(":", 1)[0] if o.subject.startswith("repo:") else o.subject: o for o in outcomes}


def where(o: Outcome) -> list[tuple[str, int | None]]:
    return [(v.location.path, v.location.line) for v in o.violations if v.location]


def messages(o: Outcome) -> list[str]:
    return [v.message for v in o.violations]


def pairs(o: Outcome) -> list[tuple[str, tuple[str, int | None]]]:
    return list(zip(messages(o), where(o), strict=True))


BUNDLE = """
bundle:
  name: churn
include:
  - resources/*.yml
resources:
  jobs:
    train:
      tasks:
        - task_key: ingest
          notebook_task: {notebook_path: ./ingest.ipynb}
        - task_key: fit
          depends_on: [{task_key: ingest}]
          spark_python_task: {python_file: ./fit.py}
"""

PREDICT = """
resources:
  jobs:
    predict:
      tasks:
        - task_key: score
          python_wheel_task: {package_name: churn, entry_point: score}
targets:
  prod:
    resources:
      jobs:
        train:
          tasks:
            - task_key: register
              depends_on: [{task_key: fit}]
              notebook_task: {notebook_path: ./register.ipynb}
"""


# --- repository level ------------------------------------------------------------------------------


def test_no_workflow_fails(tmp_path: Path) -> None:
    (o,) = run(tmp_path, {"src/model.py": "print('hi')\n"})
    assert o.subject.startswith("repo:")
    assert o.message == "no valid training/prediction workflow found"
    assert messages(o)[0].startswith("no valid training/prediction workflow found: declare one")


def test_kinds_and_paths_narrow_the_search(tmp_path: Path) -> None:
    files = {"databricks.yml": BUNDLE, "resources/predict.yml": PREDICT}
    (o,) = run(tmp_path, files, kinds=("airflow",))
    assert o.message == "no valid training/prediction workflow found of kinds airflow"
    out = run(tmp_path, files, paths=("pipelines/*",))
    assert out[-1].message == "no valid training/prediction workflow found under pipelines/*"


def test_required_tasks_across_workflows(tmp_path: Path) -> None:
    files = {
        "databricks.yml": BUNDLE,
        "resources/predict.yml": PREDICT,
        "dags/monitor.py": "from airflow import DAG\nwith DAG('m'):\n    Empty(task_id='drift')\n",
    }
    out = by_subject(run(tmp_path, files, required_tasks=("fit", "score", "dri*")))
    assert out["repo"].violations == ()
    assert out["repo"].message == ("2 workflows (airflow, databricks) define 5 tasks; all 3 required tasks present")
    out = by_subject(run(tmp_path, files, required_tasks=("fit", "evaluate")))
    assert out["repo"].message.endswith("; required tasks missing: evaluate")
    assert messages(out["repo"]) == ["no workflow defines required task 'evaluate'"]


# --- Databricks --------------------------------------------------------------------------------------


def test_valid_bundle_with_includes_and_target_overrides(tmp_path: Path) -> None:
    out = by_subject(run(tmp_path, {"databricks.yml": BUNDLE, "resources/predict.yml": PREDICT}))
    o = out["file:databricks.yml"]
    assert o.violations == ()
    assert o.message == "Databricks bundle: 4 tasks, valid"
    assert "databricks.yml: job train: 2 tasks (fit, ingest)" in o.evidence
    assert "resources/predict.yml" not in {x.removeprefix("file:") for x in out}


def test_bundle_task_problems(tmp_path: Path) -> None:
    (o, _) = run(
        tmp_path,
        {
            "databricks.yml": """
        bundle: {name: churn}
        resources:
          jobs:
            train:
              tasks:
                - task_key: fit
                  depends_on: [{task_key: ingest}]
                  notebook_task: {notebook_path: ./fit}
                - task_key: fit
                  existing_cluster_id: abc
                - notebook_task: {notebook_path: ./x}
            empty:
              max_concurrent_runs: 1
        """
        },
    )
    assert o.message == "Databricks bundle: 1 tasks; 5 problems"
    assert pairs(o) == [
        ("job train: task 'fit' depends on unknown task 'ingest'", ("databricks.yml", 7)),
        ("job train: duplicate task_key 'fit'", ("databricks.yml", 9)),
        (
            "job train: task 'fit' has no task type (notebook_task, spark_python_task, python_wheel_task, ...)",
            ("databricks.yml", 9),
        ),
        ("job train: a task has no task_key", ("databricks.yml", 11)),
        ("job empty has no tasks", ("databricks.yml", 12)),
    ]


def test_bundle_dependency_cycle(tmp_path: Path) -> None:
    (o, _) = run(
        tmp_path,
        {
            "databricks.yml": """
        bundle: {name: churn}
        resources:
          jobs:
            train:
              tasks:
                - {task_key: a, depends_on: [{task_key: b}], notebook_task: {notebook_path: ./a}}
                - {task_key: b, depends_on: [{task_key: a}], notebook_task: {notebook_path: ./b}}
        """
        },
    )
    assert messages(o) == ["job train: tasks depend on each other in a cycle: a -> b -> a"]
    assert where(o) == [("databricks.yml", 6)]


def test_target_task_depending_on_unknown_task(tmp_path: Path) -> None:
    (o, _) = run(
        tmp_path,
        {
            "databricks.yml": """
        bundle: {name: churn}
        resources:
          jobs:
            train:
              tasks: [{task_key: fit, notebook_task: {notebook_path: ./fit}}]
        targets:
          prod:
            resources:
              jobs:
                train:
                  tasks:
                    - task_key: fit
                      timeout_seconds: 60
                    - task_key: push
                      depends_on: [{task_key: evaluate}]
                      notebook_task: {notebook_path: ./push}
        """
        },
    )
    assert messages(o) == ["job train: task 'push' depends on unknown task 'evaluate'"]
    assert where(o) == [("databricks.yml", 15)]


def test_bundle_without_name_or_jobs_and_an_empty_glob_include(tmp_path: Path) -> None:
    (o, repo) = run(tmp_path, {"databricks.yml": "bundle: {}\ninclude: [jobs/*.yml]\n"})
    # a glob matching nothing is accepted, as the Databricks CLI does (process_root_includes.go)
    assert pairs(o) == [("bundle.name is missing", ("databricks.yml", 1))]
    (o, repo) = run(tmp_path, {"databricks.yml": "bundle: {name: x}\ninclude: [jobs/*.yml]\n"})
    assert o.message == "Databricks bundle: valid, but defines no job under resources.jobs: not a workflow"
    assert not o.violations
    assert repo.message.startswith("no valid training/prediction workflow found (1 without jobs: databricks.yml)")


def test_bundle_includes_follow_the_databricks_cli(tmp_path: Path) -> None:
    """Shapes from databricks/bundle-examples (knowledge_base/*, mlops_stacks): `./resources/...`, `../common/...`,
    and the CLI's errors for a plain path that matches nothing, an absolute path and a file that is not YAML."""
    files = {
        "proj/databricks.yml": "bundle: {name: x}\ninclude:\n  - ./resources/*.yml\n  - ../common/vars.yml\n",
        "proj/resources/job.yml": "resources:\n  jobs:\n    train:\n      tasks:\n        - task_key: t\n"
        "          notebook_task: {notebook_path: ./n.py}\n",
        "proj/resources/deep/other.yml": "resources:\n  jobs:\n    skipped: {}\n",  # `*` stops at `/`
        "common/vars.yml": "variables:\n  catalog: {default: main}\n",
    }
    (o, _) = run(tmp_path, files)
    assert not o.violations, o.violations
    assert o.message == "Databricks bundle: 1 tasks, valid"
    files["proj/databricks.yml"] += "  - resources/train.yml\n  - /abs/*.yml\n  - notes/*\n"
    files["proj/notes/readme.md"] = "x"
    (o, _) = run(tmp_path, files)
    assert messages(o) == [
        "resources/train.yml defined in 'include' section does not match any files",
        "/abs/*.yml: includes must be relative paths",
        "include 'notes/*' matches proj/notes/readme.md, which is not a YAML or JSON file",
    ]


def test_python_defined_resources_cannot_be_read_offline(tmp_path: Path) -> None:
    bundle = (
        "bundle:\n  name: pydabs\npython:\n  venv_path: .venv\n  resources:\n    - 'resources:load_resources'\n"
        "include:\n  - resources/*.yml\n"
    )
    (o, repo) = run(tmp_path, {"databricks.yml": bundle, "resources/__init__.py": "def load_resources(b): ...\n"})
    assert not o.violations
    assert repo.message == "1 workflows (databricks) define 0 tasks"
    assert (
        "databricks.yml: resources defined in Python (resources:load_resources) cannot be read offline: "
        "`databricks bundle validate` loads them"
    ) in o.evidence


def test_unparsable_bundle_and_include(tmp_path: Path) -> None:
    (o, _) = run(tmp_path, {"databricks.yml": "bundle: [\n"})
    assert messages(o)[0].startswith("cannot parse: invalid YAML")
    assert where(o) == [("databricks.yml", 2)]
    (o, _) = run(tmp_path, {"databricks.yml": BUNDLE, "resources/bad.yml": "resources: {jobs: [\n"})
    assert messages(o)[0].startswith("cannot parse resources/bad.yml: invalid YAML")
    assert where(o)[0][0] == "resources/bad.yml"


# --- Airflow -----------------------------------------------------------------------------------------


def test_airflow_dag_forms(tmp_path: Path) -> None:
    out = by_subject(
        run(
            tmp_path,
            {
                "dags/train.py": """
            from airflow import DAG
            from airflow.operators.bash import BashOperator
            with DAG(dag_id="train", schedule="@daily") as dag:
                a = BashOperator(task_id="extract", bash_command="x")
                b = BashOperator(task_id="fit", bash_command="y")
                a >> b
            """,
                "dags/predict.py": """
            import airflow
            from airflow.decorators import dag, task
            @dag(schedule=None)
            def predict():
                @task
                def load(): ...
                @task.python(task_id="score_batch")
                def score(x): ...
                score(load())
            predict()
            """,
                "dags/legacy.py": """
            from airflow import models
            dag = models.DAG("legacy")
            for i in range(3):
                PythonOperator(task_id=f"part_{i}", dag=dag, python_callable=print)
            """,
            },
            required_tasks=("fit", "score_batch", "load"),
        )
    )
    assert out["file:dags/train.py"].message == "Airflow DAG file: 2 tasks, valid"
    assert out["file:dags/predict.py"].message == "Airflow DAG file: 2 tasks, valid"
    assert out["file:dags/predict.py"].evidence == ("dags/predict.py: DAG predict: tasks load, score_batch",)
    assert out["file:dags/legacy.py"].violations == ()
    assert out["repo"].violations == ()


def test_airflow_syntax_error_at_its_line(tmp_path: Path) -> None:
    (o, _) = run(tmp_path, {"dags/broken.py": "from airflow import DAG\n\nwith DAG('x') as d\n    pass\n"})
    assert o.message == "Airflow DAG file: 0 tasks; 1 problems"
    assert messages(o)[0].startswith("does not compile: ")
    assert where(o) == [("dags/broken.py", 3)]


def test_airflow_file_without_dag_or_tasks(tmp_path: Path) -> None:
    out = by_subject(
        run(
            tmp_path,
            {
                "dags/helpers.py": "# builds airflow DAG( objects elsewhere\nimport airflow\n",
                "dags/empty.py": "from airflow import DAG\ndag = DAG('nothing')\n",
            },
        )
    )
    assert messages(out["file:dags/helpers.py"]) == ["defines no DAG (DAG(...), `with DAG(...)` or an @dag function)"]
    assert where(out["file:dags/helpers.py"]) == [("dags/helpers.py", 1)]
    assert messages(out["file:dags/empty.py"]) == ["DAG nothing defines no task"]


# --- Step Functions ----------------------------------------------------------------------------------

GOOD_ASL = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": "arn:x",
            "Next": "Fan",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
        },
        "Fan": {
            "Type": "Parallel",
            "Next": "Each",
            "Branches": [{"StartAt": "Train", "States": {"Train": {"Type": "Task", "Resource": "arn:t", "End": True}}}],
        },
        "Each": {
            "Type": "Map",
            "Next": "Gate",
            "ItemProcessor": {"StartAt": "Score", "States": {"Score": {"Type": "Pass", "End": True}}},
        },
        "Gate": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Failed",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail"},
    },
}


def test_valid_state_machine_json(tmp_path: Path) -> None:
    (o, repo) = run(
        tmp_path, {"sfn/training.asl.json": json.dumps(GOOD_ASL, indent=2)}, required_tasks=("Train", "Score")
    )
    assert o.violations == ()
    assert o.message == "Step Functions: 8 tasks, valid"
    assert repo.violations == ()


def test_state_machine_problems_yaml(tmp_path: Path) -> None:
    (o, _) = run(
        tmp_path,
        {
            "sfn/predict.asl.yaml": """
        StartAt: Begin
        States:
          Start:
            Type: Task
            Resource: arn:x
            Next: Missing
          Choose:
            Type: Choice
            Choices:
              - {Variable: $.x, IsPresent: true, Next: Nowhere}
            Default: Start
          Loop:
            Type: Map
            Iterator:
              StartAt: Inner
              States:
                Inner: {Type: Pass}
          Odd: {Type: Sleep, End: true}
        """
        },
    )
    assert pairs(o) == [
        ("StartAt 'Begin' names no state", ("sfn/predict.asl.yaml", 1)),
        ("state Start: Next 'Missing' names no state", ("sfn/predict.asl.yaml", 6)),
        ("state Choose: Choices/0/Next 'Nowhere' names no state", ("sfn/predict.asl.yaml", 10)),
        ("state Loop needs exactly one of Next or End: true", ("sfn/predict.asl.yaml", 12)),
        ("state Inner needs exactly one of Next or End: true", ("sfn/predict.asl.yaml", 17)),
        ("no terminal state (End: true, Succeed or Fail)", ("sfn/predict.asl.yaml", 16)),
        (
            "state Odd has Type 'Sleep'; expected one of Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map",
            ("sfn/predict.asl.yaml", 18),
        ),
    ]


def test_unreachable_state(tmp_path: Path) -> None:
    asl = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "C": {"Type": "Succeed"}},
    }
    (o, _) = run(tmp_path, {"machine.json": json.dumps(asl, indent=2)})
    assert messages(o) == ["state C is unreachable from StartAt"]
    assert where(o) == [("machine.json", 12)]


def test_parallel_branch_is_checked(tmp_path: Path) -> None:
    asl = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "X", "States": {"Y": {"Type": "Succeed"}}}]}
        },
    }
    (o, _) = run(tmp_path, {"p.json": json.dumps(asl)})
    assert messages(o) == ["StartAt 'X' names no state"]


def test_unparsable_asl(tmp_path: Path) -> None:
    (o, _) = run(tmp_path, {"sfn/bad.asl.json": '{"StartAt": "A",\n  "States": {\n'})
    assert messages(o)[0].startswith("cannot parse: ")
    assert where(o)[0][0] == "sfn/bad.asl.json"


def test_catch_and_default_targets_must_resolve(tmp_path: Path) -> None:
    (o, _) = run(
        tmp_path,
        {
            "sm.asl.yaml": """
        StartAt: Work
        States:
          Work:
            Type: Task
            Resource: arn:x
            Catch:
              - {ErrorEquals: [States.ALL], Next: Cleanup}
            Next: Route
          Route:
            Type: Choice
            Choices:
              - {Variable: $.ok, BooleanEquals: true, Next: Done}
            Default: Retry
          Done: {Type: Succeed}
        """
        },
    )
    assert pairs(o) == [
        ("state Work: Catch/0/Next 'Cleanup' names no state", ("sm.asl.yaml", 7)),
        ("state Route: Default 'Retry' names no state", ("sm.asl.yaml", 13)),
    ]


def test_dag_decorator_with_dag_id_and_paths_filter(tmp_path: Path) -> None:
    files = {
        "pipelines/train.py": """
            from airflow.decorators import dag, task
            @dag(dag_id="churn_train")
            def build():
                @task(task_id="train_model")
                def train(): ...
                train()
            build()
            """,
        "other/x.py": "from airflow import DAG\nDAG('x')\n",
    }
    out = run(tmp_path, files, paths=("pipelines/*",), required_tasks=("train_model",))
    assert out[0].subject == "file:pipelines/train.py"
    assert len(out) == 2
    assert out[0].evidence == ("pipelines/train.py: DAG churn_train: tasks train_model",)
    assert out[1].violations == ()


def test_repository_result_fails_when_every_workflow_is_invalid(tmp_path: Path) -> None:
    from mlops_gate.checks import orchestration

    write_tree(tmp_path, {"dags/train.py": "from airflow import DAG\nwith DAG('train') as d\n    pass\n"})
    facts = read_facts(tmp_path, "workflow_files")
    outcomes = list(orchestration.workflow_defined(facts, orchestration.Params(), Target()))
    repo = [o for o in outcomes if o.subject.startswith("repo:")]
    assert len(repo) == 1 and repo[0].violations
    assert repo[0].message == "no valid training/prediction workflow found (1 invalid: dags/train.py)"
