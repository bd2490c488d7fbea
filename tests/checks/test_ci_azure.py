"""ci.pr-pipeline over Azure pipelines that live anywhere and use local templates (shapes as in Microsoft's
MLOpsPython `.pipelines/` and the MLOps project template's `mlops/devops-pipelines/`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_gate.checks import ci
from mlops_gate.model import Outcome
from mlops_gate.target import Target
from tests.support.trees import read_facts, write_tree

MAIN = Target(base_branch="master")

PR = """trigger: none
pr:
  branches:
    include:
    - master
pool:
  vmImage: 'ubuntu-latest'
variables:
- template: vars-template.yml
- group: devopsforai-aml-vg
steps:
- template: code-quality-template.yml
"""
QUALITY = """steps:
- script: |
   flake8 --output-file=lint-testresults.xml --format junit-xml
  displayName: 'Run lint tests'
- script: |
   python -m pytest . --cov=src --junitxml=unit-testresults.xml
  condition: succeededOrFailed()
  displayName: 'Run unit tests'
"""


def run(tmp_path: Path, files: dict[str, str], **params: Any) -> Outcome:
    write_tree(tmp_path, files)
    scope = frozenset(f"azure:{g}" for g in params.get("azure_pipelines", ()))
    facts = read_facts(tmp_path, "ci_config", scope=scope)
    outcomes = list(ci.pr_pipeline.spec.func(facts, ci.Params(**params), MAIN))  # type: ignore[attr-defined]
    assert len(outcomes) == 1
    return outcomes[0]


def test_a_pipeline_under_dot_pipelines_with_a_steps_template_runs_tests(tmp_path: Path) -> None:
    o = run(
        tmp_path,
        {
            ".pipelines/pr.yml": PR,
            ".pipelines/code-quality-template.yml": QUALITY,
            ".pipelines/vars-template.yml": "variables:\n  SOURCES_DIR_GET: src\n",
        },
    )
    assert not o.violations, o.violations
    assert o.message == "1 test job runs on pull requests into master"
    assert ".pipelines/pr.yml:11: job steps runs on pr into master (runs pytest)" in o.evidence
    assert "read .pipelines/code-quality-template.yml" in o.evidence


def test_job_and_stage_templates_with_parameters(tmp_path: Path) -> None:
    pipeline = (
        "pr: [master]\nstages:\n- template: stages/ci.yml\n  parameters:\n    runTests: true\n"
        "    testCommand: pytest tests/unit\n"
    )
    stage = (
        "parameters:\n- name: runTests\n  type: boolean\n  default: false\n- name: testCommand\n  default: echo\n"
        "stages:\n- stage: CI\n  jobs:\n  - ${{ if eq(parameters.runTests, true) }}:\n"
        "    - template: ../jobs/test.yml\n      parameters:\n        command: ${{ parameters.testCommand }}\n"
    )
    job = "parameters:\n  command: ''\njobs:\n- job: unit\n  steps:\n  - script: ${{ parameters.command }}\n"
    files = {"mlops/devops-pipelines/ci.yml": pipeline, "mlops/stages/ci.yml": stage, "mlops/jobs/test.yml": job}
    files["mlops/devops-pipelines/ci.yml"] = pipeline.replace("stages/ci.yml", "../stages/ci.yml")
    o = run(tmp_path, files)
    assert not o.violations, o.violations
    assert any("job unit runs on pr into master (runs pytest)" in e for e in o.evidence)
    # the condition is false: the job template is not inserted, and nothing runs tests
    files["mlops/devops-pipelines/ci.yml"] = files["mlops/devops-pipelines/ci.yml"].replace("true", "false")
    o = run(tmp_path, files)
    assert o.message == "0 test jobs run on pull requests into master"


def test_template_from_another_repository_is_named_not_guessed(tmp_path: Path) -> None:
    o = run(tmp_path, {"azure-pipelines.yml": "pr: [master]\nsteps:\n- template: ci/test.yml@templates\n"})
    assert o.message == "0 test jobs run on pull requests into master"
    assert (
        "azure-pipelines.yml: template ci/test.yml@templates from another repository or named by an expression, not read offline"
        in o.evidence
    )


def test_azure_ml_jobs_and_kubernetes_files_are_not_pipelines(tmp_path: Path) -> None:
    aml = (
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\ntype: pipeline\n"
        "jobs:\n  prep:\n    type: command\n    command: pytest\n"
    )
    o = run(tmp_path, {"mlops/azureml/train/pipeline.yml": aml, "README.md": "x"})
    assert o.message == "no CI configuration found"


def test_policy_names_the_azure_pipelines(tmp_path: Path) -> None:
    files = {
        "build/ci.yml": "pr: [master]\njobs:\n- job: unit\n  steps:\n  - script: pytest\n",
        "build/other.yml": "pr: [master]\njobs:\n- job: lint\n  steps:\n  - script: flake8\n",
    }
    assert not run(tmp_path, files, azure_pipelines=("build/other.yml",)).evidence[-1].endswith("(runs pytest)")
    o = run(tmp_path, files, azure_pipelines=("build/ci.yml",))
    assert not o.violations
    assert o.evidence[-1] == "build/ci.yml:3: job unit runs on pr into master (runs pytest)"


def test_a_broken_github_workflow_outside_dot_github_is_not_a_ci_file(tmp_path: Path) -> None:
    broken = "on:\n  workflow_dispatch:\njobs:\n  x:\n    steps:\n    - run: [\n"
    o = run(
        tmp_path,
        {
            "mlops/github-actions/train.yml": broken,
            ".pipelines/pr.yml": PR.replace("- template: code-quality-template.yml", "- script: pytest"),
        },
    )
    assert "could not be parsed" not in o.message


def test_extends_template_with_a_step_list_parameter(tmp_path: Path) -> None:
    """The secure-pipeline shape: `extends:` a template that runs the caller's steps with `${{ each }}`."""
    files = {
        "azure-pipelines.yml": "pr: [master]\nextends:\n  template: build/secure.yml\n  parameters:\n"
        "    buildSteps:\n    - script: python -m pytest tests\n      displayName: unit tests\n",
        "build/secure.yml": "parameters:\n- name: buildSteps\n  type: stepList\n  default: []\n"
        "jobs:\n- job: secure\n  steps:\n  - checkout: self\n  - ${{ each step in parameters.buildSteps }}:\n"
        "    - ${{ step }}\n",
    }
    o = run(tmp_path, files)
    assert not o.violations, o.violations
    assert o.evidence[-1] == "azure-pipelines.yml:1: job secure runs on pr into master (runs pytest)"
