"""lang/pr_tests.py: one host-neutral answer to "which jobs run tests on a pull request into branch B", the
same shape for GitHub Actions, GitLab CI and Azure Pipelines (ci.pr-pipeline judges it)."""

from __future__ import annotations

from pathlib import Path

from mlops_gate.lang.pr_tests import PrQuestion, PrRun, pipelines, pr_tests
from tests.support.trees import read_facts, write_tree

QUESTION = PrQuestion(test_jobs=("test*",), test_commands=("pytest",))

THREE_SYSTEMS = {
    ".github/workflows/ci.yml": """
        on:
          pull_request:
            branches: [main]
        jobs:
          test:
            runs-on: ubuntu-latest
            steps: [{run: pytest}]
    """,
    ".gitlab-ci.yml": """
        include: [{local: ci/tests.yml}]
        workflow:
          rules: [{if: '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    """,
    "ci/tests.yml": """
        unit:
          script: [pytest -q]
    """,
    "azure-pipelines.yml": """
        pr:
          branches: {include: [main]}
        jobs:
          - job: tests
            steps: [{script: pytest}]
    """,
}


def test_each_ci_system_answers_in_the_same_shape(tmp_path: Path) -> None:
    files = read_facts(write_tree(tmp_path, THREE_SYSTEMS), "ci_config").ci_config.files
    pls = pipelines(files, "main")
    assert [f.path for f in pls.own] == [".github/workflows/ci.yml", ".gitlab-ci.yml", "azure-pipelines.yml"]
    assert pls.gitlab_main is not None and pls.gitlab_main.path == ".gitlab-ci.yml"
    answer = pr_tests(pls, "main", QUESTION)
    assert answer.branch == "main"
    assert [(r.path, r.job, r.trigger, r.problem) for r in answer.runs] == [
        (".github/workflows/ci.yml", "test", "pull_request", None),
        ("ci/tests.yml", "unit", "merge request pipelines", None),  # where GitLab's winning definition is
        ("azure-pipelines.yml", "tests", "pr", None),
    ]
    assert all(isinstance(r.line, int) for r in answer.runs)


def test_another_branch_gets_no_test_job_and_a_reason_where_one_applies(tmp_path: Path) -> None:
    files = read_facts(write_tree(tmp_path, THREE_SYSTEMS), "ci_config").ci_config.files
    answer = pr_tests(pipelines(files, "main"), "release", QUESTION)
    # GitHub's and Azure's filters leave `release` out; GitLab runs its merge request pipeline for any branch
    assert [(r.path, r.job, r.problem) for r in answer.runs] == [("ci/tests.yml", "unit", None)]


def test_a_file_that_cannot_gate_says_why(tmp_path: Path) -> None:
    tree = {
        ".github/workflows/ci.yml": """
            on:
              pull_request:
                paths: [src/**]
            jobs:
              test: {runs-on: ubuntu-latest, steps: [{run: pytest}]}
        """
    }
    files = read_facts(write_tree(tmp_path, tree), "ci_config").ci_config.files
    (run,) = pr_tests(pipelines(files, "main"), "main", QUESTION).runs
    assert run == PrRun(
        ".github/workflows/ci.yml",
        run.line,
        "",
        "pull_request",
        "runs on pull_request only when changed files match its paths filter (allow_path_filters)",
    )
    assert run.violation().message.startswith("the file runs on pull_request only when")
