"""ci.pr-pipeline does not count a test job whose failure cannot fail the pipeline, however the CI file says so:
GitLab `allow_failure` as GitLab reads it (YAML 1.1 booleans, `exit_codes:`, set by the matching rule), GitHub
`continue-on-error` on the job or on its test steps (expressions included), Azure `continueOnError`. Each case
is one repository judged through the CLI with the real files provider; the message names the job and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_gate.cli import main
from mlops_gate.lang.failure_allowed import why_not_blocking
from tests.support.trees import write_tree

GL_RULES = '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n'
GH_HEAD = "on: pull_request\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
AZ_HEAD = "pr:\n  branches: {include: [main]}\njobs:\n  - job: tests\n"


def gl(extra: str) -> dict[str, str]:
    return {".gitlab-ci.yml": "test:\n  script: pytest\n" + GL_RULES + extra}


def gh(body: str) -> dict[str, str]:
    return {".github/workflows/ci.yml": GH_HEAD + body}


def az(body: str) -> dict[str, str]:
    return {"azure-pipelines.yml": AZ_HEAD + body}


def judge(tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    write_tree(tmp_path, files)
    code = main(["check", "--repo", str(tmp_path), "--only", "ci.pr-pipeline", "--format", "json"], env={})
    (result,) = json.loads(capsys.readouterr().out)["results"]
    return code, result


NOT_BLOCKING = {
    "gl-true": (
        gl("  allow_failure: true\n"),
        "job test allows failure (allow_failure: true), so a failing test does not block",
    ),
    "gl-exit-codes": (
        gl("  allow_failure:\n    exit_codes: [1]\n"),
        "job test allows failure on exit codes [1] (allow_failure: exit_codes), so a failing test does not block",
    ),
    "gl-yaml11-yes": (
        gl("  allow_failure: yes\n"),
        "job test allows failure (allow_failure: yes, true in YAML 1.1), so a failing test does not block",
    ),
    "gl-rule-sets-it": (
        {
            ".gitlab-ci.yml": 'test:\n  script: pytest\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n      allow_failure: true\n'
        },
        "job test allows failure (allow_failure: true), so a failing test does not block",
    ),
    "gh-expression": (
        gh("    continue-on-error: ${{ true }}\n    steps: [{run: pytest}]\n"),
        "job test continues on error (continue-on-error: ${{ true }}), so a failing test does not block",
    ),
    "gh-unknowable-expression": (
        gh("    continue-on-error: ${{ matrix.experimental }}\n    steps: [{run: pytest}]\n"),
        "job test continues on error (continue-on-error: ${{ matrix.experimental }}), which the gate cannot know "
        "before the run: it does not count as blocking",
    ),
    "gh-step-level": (
        gh("    steps:\n      - run: pytest\n        continue-on-error: true\n"),
        "job test runs its tests in a step that continues on error (continue-on-error: true), so a failing test "
        "does not block",
    ),
    "az-job-level": (
        az("    continueOnError: true\n    steps: [{script: pytest}]\n"),
        "job tests continues on error (continueOnError: true), so a failing test does not block",
    ),
    "az-step-macro": (
        az("    steps:\n      - script: pytest\n        continueOnError: $(allowFlaky)\n"),
        "job tests runs its tests in a step that continues on error (continueOnError: $(allowFlaky)), which the "
        "gate cannot know before the run: it does not count as blocking",
    ),
}


@pytest.mark.parametrize("case", list(NOT_BLOCKING))
def test_a_test_job_that_cannot_fail_the_pipeline_is_not_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    files, why = NOT_BLOCKING[case]
    code, result = judge(tmp_path, files, capsys)
    assert (code, result["status"]) == (1, "failed")
    messages = [v["message"] for v in result["violations"]]
    requests = "merge requests" if case.startswith("gl-") else "pull requests"  # GitLab's own word (issue 15)
    assert messages[0].startswith(f"no CI job runs tests on {requests} into main")
    assert why in messages, messages


BLOCKING = {
    "gl-false": gl("  allow_failure: false\n"),
    "gl-yaml11-no": gl("  allow_failure: no\n"),
    "gl-rule-overrides-the-job": {
        ".gitlab-ci.yml": "test:\n  script: pytest\n  allow_failure: true\n  rules:\n"
        '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n      allow_failure: false\n'
    },
    "gh-false-expression": gh("    continue-on-error: ${{ false }}\n    steps: [{run: pytest}]\n"),
    "gh-only-a-setup-step-continues": gh(
        "    steps:\n      - run: pip install -e .\n        continue-on-error: true\n      - run: pytest\n"
    ),
    "az-false": az("    continueOnError: false\n    steps: [{script: pytest}]\n"),
}


@pytest.mark.parametrize("case", list(BLOCKING))
def test_control_a_test_job_that_fails_the_pipeline_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    code, result = judge(tmp_path, BLOCKING[case], capsys)
    assert (code, result["status"]) == (0, "passed"), result["violations"]


def test_a_job_not_counted_beside_one_that_is_is_named_in_the_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = gh(
        "    steps: [{run: pytest}]\n  flaky-test:\n    runs-on: x\n    continue-on-error: true\n    steps: [{run: pytest}]\n"
    )
    code, result = judge(tmp_path, files, capsys)
    assert (code, result["status"]) == (0, "passed")
    assert (
        ".github/workflows/ci.yml:6: job flaky-test not counted: continues on error (continue-on-error: true), "
        "so a failing test does not block"
    ) in result["evidence"]


def test_the_rule_reads_each_systems_booleans() -> None:
    assert why_not_blocking("yes", "allow_failure", yaml11=True) is not None
    assert why_not_blocking("off", "allow_failure", yaml11=True) is None
    # GitHub takes a boolean or an expression: any other string is not a false it would read
    assert why_not_blocking("no", "continue-on-error", yaml11=False) is not None
    assert why_not_blocking("${{ false }}", "continue-on-error", yaml11=False) is None
    assert why_not_blocking({"exit_codes": 137}, "allow_failure", yaml11=True) is not None
