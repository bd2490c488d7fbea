"""ci.pr-pipeline over small fixture trees read by the real files provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlops_gate.checks import ci
from mlops_gate.lang.branch_filters import gh_glob
from mlops_gate.lang.gitlab_rules import gl_if
from mlops_gate.model import Location, Outcome, Violation
from mlops_gate.target import Target
from tests.support.trees import read_facts, write_tree

MAIN = Target(base_branch="main")


def run(tmp_path: Path, files: dict[str, str], target: Target = MAIN, **params: Any) -> Outcome:
    write_tree(tmp_path, files)
    facts = read_facts(tmp_path, "ci_config")
    outcomes = list(ci.pr_pipeline.spec.func(facts, ci.Params(**params), target))  # type: ignore[attr-defined]
    assert len(outcomes) == 1
    assert outcomes[0].error is None
    return outcomes[0]


def passed(o: Outcome) -> bool:
    return not o.violations


GH = ".github/workflows/ci.yml"
TEST_JOB = """
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pytest -q
"""


def gh(on: str, jobs: str = TEST_JOB) -> dict[str, str]:
    return {GH: on + jobs}


# --- GitHub ---------------------------------------------------------------------------------------


def test_merge_group_alone_does_not_gate_a_branch(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  merge_group:\n  pull_request:\n    branches: [release]\n"))
    assert not passed(o)
    assert run(tmp_path, gh("on:\n  merge_group:\n")).violations


@pytest.mark.parametrize(
    "on",
    [
        "on: pull_request\n",
        "on: [push, pull_request]\n",
        "on:\n  pull_request:\n",
        "on:\n  pull_request:\n    branches: [main]\n",
        "on:\n  pull_request_target:\n    branches: ['ma*']\n",
        "on:\n  merge_group:\n  pull_request:\n    branches: [main]\n",
        "on:\n  pull_request:\n    branches-ignore: ['release/**']\n",
        "on:\n  pull_request:\n    branches: ['**', '!gh-pages']\n",
    ],
)
def test_github_trigger_forms_pass(tmp_path: Path, on: str) -> None:
    o = run(tmp_path, gh(on))
    assert passed(o), o.violations
    assert o.message == "1 test job runs on pull requests into main"
    assert any(e.startswith(f"{GH}:") and "job test runs on" in e for e in o.evidence)


def test_github_prefers_pull_request_over_merge_group_in_evidence(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  merge_group:\n  pull_request:\n"), Target())
    assert o.evidence == (
        "read .github/workflows/ci.yml",
        f"{GH}:6: job test runs on pull_request into main (runs pytest)",
    )


def test_github_push_only_fails(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  push:\n    branches: [main]\n"))
    assert o.message == "0 test jobs run on pull requests into main"
    assert o.violations == (Violation("no CI job runs tests on pull requests into main", Location(GH)),)


def test_github_branch_filter_excludes_base(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  pull_request:\n    branches: [main]\n"), Target(base_branch="develop"))
    assert o.violations[0].message == "no CI job runs tests on pull requests into develop"


def test_github_branches_ignore_excludes(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  pull_request:\n    branches-ignore: [main]\n"))
    assert not passed(o)


@pytest.mark.parametrize(
    ("branch", "ok"),
    [("release/1.0", True), ("release/1.0/hotfix", True), ("release/old/1", False), ("feature/x", False)],
)
def test_github_negation_and_double_star(tmp_path: Path, branch: str, ok: bool) -> None:
    on = "on:\n  pull_request:\n    branches: ['release/**', '!release/old/**']\n"
    assert passed(run(tmp_path, gh(on), Target(base_branch=branch))) is ok


def test_policy_branches_all_required(tmp_path: Path) -> None:
    o = run(
        tmp_path,
        gh("on:\n  pull_request:\n    branches: [main, 'release/*']\n"),
        branches=("main", "release/*", "develop"),
    )
    assert o.message == "1 test job runs on pull requests into main and release/*; none into develop"
    assert [v.message for v in o.violations] == ["no CI job runs tests on pull requests into develop"]


@pytest.mark.parametrize(
    ("pattern", "name", "ok"),
    [
        ("feature/*", "feature/a", True),
        ("feature/*", "feature/a/b", False),
        ("feature/**", "feature/a/b", True),
        ("v[12].x", "v2.x", True),
        ("v[12].x", "v3.x", False),
        ("mai?n", "man", True),
        ("ma+in", "maaain", True),
        ("main", "main2", False),
    ],
)
def test_github_glob(pattern: str, name: str, ok: bool) -> None:
    assert gh_glob(pattern, name) is ok


def test_fallback_main_or_master(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  pull_request:\n    branches: [master]\n"), Target())
    assert passed(o)
    assert o.message == "1 test job runs on pull requests into master (no base branch given: main or master accepted)"
    o = run(tmp_path, gh("on:\n  pull_request:\n    branches: [dev]\n"), Target())
    assert o.violations[0].message == "no CI job runs tests on pull requests into main or master"


def test_github_paths_filter_is_not_a_gate(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  pull_request:\n    paths: ['src/**']\n"))
    assert o.violations[1] == Violation(
        "the file runs on pull_request only when changed files match its paths filter (allow_path_filters)",
        Location(GH, 3),
    )
    assert passed(run(tmp_path, gh("on:\n  pull_request:\n    paths: ['src/**']\n"), allow_path_filters=True))


def test_github_paths_filter_ok_when_another_workflow_covers(tmp_path: Path) -> None:
    files = gh("on:\n  pull_request:\n    paths: ['src/**']\n") | {
        ".github/workflows/all.yml": "on: pull_request\n" + TEST_JOB
    }
    assert passed(run(tmp_path, files))


def test_github_types_without_synchronize(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  pull_request:\n    types: [opened]\n"))
    assert o.violations[1].message == "the file runs on pull_request for types ['opened']: later pushes are not tested"


def test_github_branches_and_ignore_together_rejected(tmp_path: Path) -> None:
    o = run(tmp_path, gh("on:\n  pull_request:\n    branches: [main]\n    branches-ignore: [dev]\n"))
    assert "sets both branches and branches-ignore on pull_request" in o.violations[1].message


def test_github_workflow_without_test_job(tmp_path: Path) -> None:
    jobs = "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python -m build\n"
    o = run(tmp_path, gh("on:\n  pull_request:\n", jobs))
    assert o.violations[1] == Violation(
        "the file runs on pull requests but none of its 1 job runs a test command or publishes a test report",
        Location(GH, 2),
    )


@pytest.mark.parametrize(
    ("job_id", "extra", "ok"),
    [
        ("build", "      - run: python -m pytest tests\n", True),
        ("build", "      - run: tox -e py311\n", True),
        ("build", "      - run: pip install -e . && make test\n", True),
        ("build", "      - run: python -m build\n", False),
        ("unit-tests", "      - run: ./run.sh\n", False),  # named like a test job, tests nothing
        ("py-test", "      - run: ./run.sh\n", False),
        ("check", "      - uses: dorny/test-reporter@v1\n", True),  # publishes a test report
        ("attest", "      - run: ./run.sh\n", False),
        ("latest", "      - run: ./run.sh\n", False),
    ],
)
def test_github_test_job_detection(tmp_path: Path, job_id: str, extra: str, ok: bool) -> None:
    jobs = f"jobs:\n  {job_id}:\n    runs-on: ubuntu-latest\n    steps:\n{extra}"
    assert passed(run(tmp_path, gh("on: pull_request\n", jobs))) is ok


def test_github_job_named_like_a_test_job_must_run_tests(tmp_path: Path) -> None:
    jobs = "jobs:\n  test:\n    name: Unit Tests (3.11)\n    runs-on: x\n    steps:\n      - run: echo ok\n"
    o = run(tmp_path, gh("on: pull_request\n", jobs))
    assert not passed(o)
    assert o.violations[1].message == (
        "the file runs on pull requests but none of its 1 job runs a test command or publishes a test report "
        "(job test is named like a test job but tests nothing: add its command to test_commands if it does run tests)"
    )
    o = run(tmp_path, gh("on: pull_request\n", jobs.replace("echo ok", "./go")), test_commands=["./go"])
    assert passed(o)
    assert f"{GH}:3: job test runs on pull_request into main (runs ./go)" in o.evidence


@pytest.mark.parametrize(
    "cond",
    [
        "github.event_name == 'push'",
        "github.ref == 'refs/heads/main'",
        "startsWith(github.ref, 'refs/tags/')",
    ],
)
def test_github_job_skipped_on_pull_requests(tmp_path: Path, cond: str) -> None:
    jobs = TEST_JOB.replace("    runs-on", f"    if: {cond}\n    runs-on")
    assert not passed(run(tmp_path, gh("on: [push, pull_request]\n", jobs)))


def test_github_continue_on_error(tmp_path: Path) -> None:
    jobs = TEST_JOB.replace("    runs-on", "    continue-on-error: true\n    runs-on")
    o = run(tmp_path, gh("on: pull_request\n", jobs))
    assert (
        o.violations[1].message
        == "job test continues on error (continue-on-error: true), so a failing test does not block"
    )


def test_github_local_reusable_workflow(tmp_path: Path) -> None:
    files = {
        GH: "on: pull_request\njobs:\n  checks:\n    uses: ./.github/workflows/reusable.yml\n",
        ".github/workflows/reusable.yml": "on: workflow_call\n" + TEST_JOB,
    }
    o = run(tmp_path, files)
    assert passed(o)
    assert f"{GH}:3: job checks runs on pull_request into main (calls a workflow that runs tests)" in o.evidence


# --- files ----------------------------------------------------------------------------------------


def test_no_ci_files_fails(tmp_path: Path) -> None:
    o = run(tmp_path, {"README.md": "hi\n"})
    assert o.message == "no CI configuration found"
    assert o.violations[0].message.startswith("no CI configuration found (.github/workflows/*")


def test_unparsable_file_fails_even_when_another_passes(tmp_path: Path) -> None:
    files = gh("on: pull_request\n") | {".github/workflows/bad.yml": "on: [push\njobs: {}\n"}
    o = run(tmp_path, files)
    assert o.message == "1 test job runs on pull requests into main; 1 CI file could not be parsed"
    (v,) = o.violations
    assert v.message.startswith("invalid YAML")
    assert v.location is not None and v.location.path == ".github/workflows/bad.yml" and v.location.line


# --- GitLab ---------------------------------------------------------------------------------------

GL = ".gitlab-ci.yml"


def gl(text: str, target: Target = MAIN, tmp: Path | None = None, **params: Any) -> Outcome:
    assert tmp is not None
    return run(tmp, {GL: text}, target, **params)


def test_gitlab_plain_job_runs_in_branch_pipelines(tmp_path: Path) -> None:
    o = gl("test:\n  script: [pytest]\n", tmp=tmp_path)
    assert passed(o)
    assert f"{GL}:1: job test runs on branch pipelines into main (runs pytest)" in o.evidence
    o = gl("test:\n  script: [pytest]\n", tmp=tmp_path, accept_branch_pipelines=False)
    assert o.violations[1] == Violation(
        "the file has test jobs (test) but none runs in merge request pipelines", Location(GL, 1)
    )


@pytest.mark.parametrize(
    "rules",
    [
        '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
        "  rules:\n    - if: '$CI_MERGE_REQUEST_IID'\n",
        '  rules:\n    - if: $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == "main"\n',
        "  rules:\n    - if: $CI_MERGE_REQUEST_TARGET_BRANCH_NAME =~ /^(main|master)$/\n",
        "  rules:\n    - if: $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == $CI_DEFAULT_BRANCH && $CI_MERGE_REQUEST_IID\n",
        "  rules:\n    - if: $CI_COMMIT_BRANCH\n      when: never\n    - when: on_success\n",
        "  only: [merge_requests]\n",
        "  only:\n    refs: [merge_requests]\n",
    ],
)
def test_gitlab_merge_request_rules(tmp_path: Path, rules: str) -> None:
    o = gl("unit:\n  script: pytest\n" + rules, tmp=tmp_path, accept_branch_pipelines=False)
    assert passed(o), o.violations
    assert o.message == "1 test job runs on merge requests into main"


@pytest.mark.parametrize(
    "rules",
    [
        '  rules:\n    - if: $CI_MERGE_REQUEST_TARGET_BRANCH_NAME == "main"\n',
        '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n      when: never\n    - when: always\n',
        "  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n",
        "  only: [merge_requests]\n  except: [merge_requests]\n",
        "  except: [merge_requests]\n",
    ],
)
def test_gitlab_rules_that_miss_develop(tmp_path: Path, rules: str) -> None:
    o = gl(
        "test:\n  script: pytest\n" + rules,
        Target(base_branch="develop"),
        tmp_path,
        accept_branch_pipelines=False,
    )
    assert o.violations[0].message == "no CI job runs tests on merge requests into develop"


def test_gitlab_workflow_rules_enable_jobs_without_rules(tmp_path: Path) -> None:
    text = "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == 'merge_request_event'\ntest:\n  script: pytest\n"
    assert passed(gl(text, tmp=tmp_path, accept_branch_pipelines=False))


def test_gitlab_workflow_rules_block_merge_requests(tmp_path: Path) -> None:
    text = (
        "workflow:\n  rules:\n    - if: $CI_MERGE_REQUEST_IID\n      when: never\n    - when: always\n"
        "test:\n  script: pytest\n  rules:\n    - if: $CI_MERGE_REQUEST_IID\n"
    )
    o = gl(text, tmp=tmp_path)
    assert o.violations[1] == Violation(
        "the file has test jobs (test) but none runs in merge request pipelines or branch pipelines",
        Location(GL, 6),
    )


def test_gitlab_hidden_jobs_and_extends(tmp_path: Path) -> None:
    text = (
        ".tests:\n  script: [pytest]\n  rules:\n    - if: $CI_PIPELINE_SOURCE == 'merge_request_event'\n"
        "build:\n  extends: .tests\n  script: [make]\n"
        "suite:\n  extends: [.tests]\n"
    )
    o = gl(text, tmp=tmp_path, accept_branch_pipelines=False)
    assert passed(o)
    assert o.evidence[1:] == (f"{GL}:8: job suite runs on merge request pipelines into main (runs pytest)",)


@pytest.mark.parametrize(
    ("extra", "problem", "line"),
    [
        (
            "    - if: $CI_MERGE_REQUEST_IID\n      changes: [src/**/*]\n",
            "runs only when files change (rules:changes)",
            1,
        ),
        ("    - if: $CI_MERGE_REQUEST_IID\n      when: manual\n", "is manual (when: manual)", 1),
    ],
)
def test_gitlab_conditional_jobs_do_not_gate(tmp_path: Path, extra: str, problem: str, line: int) -> None:
    o = gl("test:\n  script: pytest\n  rules:\n" + extra, tmp=tmp_path, accept_branch_pipelines=False)
    assert o.violations[1] == Violation(f"job test {problem}", Location(GL, line))


def test_gitlab_job_level_manual(tmp_path: Path) -> None:
    o = gl("test:\n  script: [pytest]\n  when: manual\n", tmp=tmp_path)
    assert o.violations[1] == Violation("job test is manual (when: manual)", Location(GL, 1))


def test_gitlab_allow_failure(tmp_path: Path) -> None:
    o = gl("lint:\n  script: [pytest]\n  allow_failure: true\n", tmp=tmp_path)
    assert o.violations[1].message == "job lint allows failure (allow_failure: true), so a failing test does not block"


def test_gitlab_no_test_job(tmp_path: Path) -> None:
    o = gl("stages: [build]\nbuild:\n  script: [make]\n", tmp=tmp_path)
    assert (
        o.violations[1].message
        == "the file runs no test job: none of its 1 job runs a test command or publishes a test report"
    )


@pytest.mark.parametrize(
    ("expr", "ok"),
    [
        ('$A == "x"', True),
        ('$A != "x"', False),
        ("$A == 'x' && $B", False),
        ("$A == 'x' || $B", True),
        ("($B || $A) && $A =~ /^X$/i", True),
        ("$A !~ /y/", True),
        ("$B == null", True),
        ("$A == $C", True),
        ("$A ==", False),
        ("$A === 'x'", False),
    ],
)
def test_gitlab_if_expressions(expr: str, ok: bool) -> None:
    assert gl_if(expr, {"A": "x", "C": "x"}) is ok


# --- GitLab includes ------------------------------------------------------------------------------

MR_RULES = "  rules:\n    - if: $CI_PIPELINE_SOURCE == 'merge_request_event'\n"


@pytest.mark.parametrize(
    ("include", "path"),
    [
        ("include: ci/test.yml\n", "ci/test.yml"),
        ("include:\n  - local: ci/test.yml\n", "ci/test.yml"),
        ("include: {local: '/ci/*.yml'}\n", "ci/test.yml"),
        ("include: '/ci/**.yml'\n", "ci/unit/test.yml"),
        ("include:\n  - local: ci/**/*.yml\n", "ci/unit/test.yml"),
    ],
)
def test_gitlab_test_job_in_an_included_file(tmp_path: Path, include: str, path: str) -> None:
    o = run(tmp_path, {GL: include + "build:\n  script: [make]\n", path: "stages: [test]\ntest:\n  script: [pytest]\n"})
    assert passed(o), o.violations
    assert f"{path}:2: job test runs on branch pipelines into main (runs pytest)" in o.evidence
    assert f"read {path}" in o.evidence


def test_gitlab_includes_merge_into_one_pipeline(tmp_path: Path) -> None:
    files = {
        GL: "include: [ci/templates.yml, ci/jobs.yml]\n"
        "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == 'merge_request_event'\n",
        "ci/templates.yml": ".tests:\n  script: [pytest]\n" + MR_RULES,
        "ci/jobs.yml": "include: ci/nested.yml\nsuite:\n  extends: .tests\n",  # extends a job of another file
        "ci/nested.yml": "other:\n  script: [make]\n",
    }
    o = run(tmp_path, files, accept_branch_pipelines=False)
    assert passed(o), o.violations
    assert "ci/jobs.yml:2: job suite runs on merge request pipelines into main (runs pytest)" in o.evidence


def test_gitlab_main_file_overrides_an_included_job(tmp_path: Path) -> None:
    files = {
        GL: "include: ci/test.yml\nstages: [test]\ntest:\n  when: manual\n",
        "ci/test.yml": "test:\n  script: [pytest]\n",
    }
    o = run(tmp_path, files)
    assert o.violations[1] == Violation("job test is manual (when: manual)", Location(GL, 3))
    # a later include overrides an earlier one, and the including file overrides both
    files = {
        GL: "include: [ci/a.yml, ci/b.yml]\n",
        "ci/a.yml": "test:\n  script: [pytest]\n  when: manual\n",
        "ci/b.yml": "test:\n  when: on_success\n",
    }
    o = run(tmp_path, files)
    assert passed(o), o.violations
    assert "ci/b.yml:1: job test runs on branch pipelines into main (runs pytest)" in o.evidence


def test_gitlab_workflow_of_the_main_file_applies_to_included_jobs(tmp_path: Path) -> None:
    files = {
        GL: "include: ci/test.yml\nworkflow:\n  rules:\n    - if: $CI_MERGE_REQUEST_IID\n      when: never\n"
        "    - when: always\n",
        "ci/test.yml": "test:\n  script: [pytest]\n" + MR_RULES,
    }
    o = run(tmp_path, files)
    assert o.violations[1] == Violation(
        "the file has test jobs (test) but none runs in merge request pipelines or branch pipelines",
        Location("ci/test.yml", 1),
    )


def test_gitlab_include_matching_no_file_fails(tmp_path: Path) -> None:
    files = {
        GL: "include:\n  - local: ci/test.yml\n  - local: ci/missing/*.yml\n",
        "ci/test.yml": "test:\n  script: [pytest]\n",
    }
    o = run(tmp_path, files)
    assert o.violations == (
        Violation("include 'ci/missing/*.yml' matches no YAML file in the repository", Location(GL, 3)),
    )
    assert o.message == "1 test job runs on pull requests into main; 1 GitLab include failed"


def test_gitlab_unparsable_included_file_is_reported(tmp_path: Path) -> None:
    o = run(tmp_path, {GL: "include: ci/test.yml\n", "ci/test.yml": "test:\n  script: [pytest\n"})
    assert o.violations[0].message.startswith("invalid YAML")
    assert o.violations[0].location is not None and o.violations[0].location.path == "ci/test.yml"
    assert (
        o.violations[2].message
        == "the file runs no test job: none of its 0 jobs runs a test command or publishes a test report"
    )


def test_gitlab_includes_that_cannot_be_read_are_named(tmp_path: Path) -> None:
    text = (
        "include:\n  - project: group/ci\n    file: /test.yml\n  - remote: https://x.test/ci.yml\n"
        "  - template: Python.gitlab-ci.yml\n  - component: $CI_SERVER_FQDN/g/c/pytest@1\n"
        "  - local: ci/$ENV.yml\n"
        "build:\n  script: [make]\n"
    )
    o = gl(text, tmp=tmp_path)
    note = (
        "; 5 includes could not be read offline (project group/ci:/test.yml, remote https://x.test/ci.yml, "
        "template Python.gitlab-ci.yml, component $CI_SERVER_FQDN/g/c/pytest@1, variable ci/$ENV.yml)"
    )
    assert o.violations[1] == Violation(
        "the file runs no test job: none of its 1 job runs a test command or publishes a test report" + note,
        Location(GL, 1),
    )
    assert o.message == "0 test jobs run on merge requests into main" + note
    assert passed(gl(text + "test:\n  script: [pytest]\n", tmp=tmp_path))  # no verdict to explain


def test_gitlab_include_depth_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_gate.lang import gitlab_includes as _gitlab_includes

    monkeypatch.setattr(_gitlab_includes, "MAX_DEPTH", 3)
    files = {GL: "include: ci/1.yml\n"} | {f"ci/{n}.yml": f"include: ci/{n + 1}.yml\n" for n in range(1, 5)}
    o = run(tmp_path, files | {"ci/5.yml": "test:\n  script: [pytest]\n"})
    assert (
        Violation("include 'ci/3.yml' nests deeper than 3 levels, GitLab's limit", Location("ci/2.yml", 1))
        in o.violations
    )
    assert [e for e in o.evidence if e.startswith("read")] == ["read .gitlab-ci.yml", "read ci/2.yml", "read ci/1.yml"]


def test_gitlab_include_rules_are_judged_for_the_merge_request_pipeline(tmp_path: Path) -> None:
    files = {
        GL: "include:\n  - local: ci/test.yml\n    rules:\n      - if: $CI_COMMIT_TAG\n",
        "ci/test.yml": "unit-tests:\n  script: [pytest]\n",
    }
    o = run(tmp_path, files)  # the test job exists only in tag pipelines
    assert not passed(o)
    assert (
        o.message == "0 test jobs run on pull requests into main; 1 include left out by its rules (local ci/test.yml)"
    )
    assert (
        ".gitlab-ci.yml:2: include local ci/test.yml left out of merge request pipelines into main: its rules do not apply"
        in o.evidence
    )
    files[GL] = (
        "include:\n  - local: ci/test.yml\n    rules:\n      - if: $CI_PIPELINE_SOURCE == 'merge_request_event'\n"
    )
    o = run(tmp_path, files)  # included in merge request pipelines, but a job without rules is not in them
    assert o.violations[1].message.startswith("the file has test jobs (unit-tests) but none runs")
    files["ci/test.yml"] += MR_RULES
    o = run(tmp_path, files)
    assert passed(o), o.violations
    assert "ci/test.yml:1: job unit-tests runs on merge request pipelines into main (runs pytest)" in o.evidence
    # a first rule that does not match and a catch-all: included
    files[GL] = (
        "include:\n  - local: ci/test.yml\n    rules:\n      - if: $CI_COMMIT_TAG\n        when: never\n      - when: always\n"
    )
    assert passed(run(tmp_path, files, accept_branch_pipelines=False))
    files[GL] = "include:\n  - local: ci/test.yml\n    rules:\n      - if: $CI_PIPELINE_SOURCE == 'never'\n"
    assert not passed(run(tmp_path, files))


@pytest.mark.parametrize(
    "rules",
    [
        "      - if: $RUN_TESTS == 'true'\n",  # a project or pipeline variable
        "      - if: $SKIP_TESTS\n        when: never\n      - when: always\n",
        "      - changes: [src/**/*]\n",
        "      - exists: [pyproject.toml]\n",
        "      - if: $CI_PROJECT_PATH == 'group/project'\n",
    ],
)
def test_gitlab_include_rules_that_cannot_be_decided_do_not_count(tmp_path: Path, rules: str) -> None:
    files = {
        GL: "include:\n  - local: ci/test.yml\n    rules:\n" + rules + "build:\n  script: [make]\n",
        "ci/test.yml": "unit-tests:\n  script: [pytest]\n",
    }
    o = run(tmp_path, files)
    assert not passed(o)
    assert o.message.endswith("; 1 include left out by its rules (local ci/test.yml)")
    assert (
        ".gitlab-ci.yml:2: include local ci/test.yml left out of merge request pipelines into main: its rules "
        "cannot be decided offline (project or pipeline variables, changes, exists), so its jobs do not count"
    ) in o.evidence


def test_gitlab_include_rules_apply_to_nested_and_unreadable_includes(tmp_path: Path) -> None:
    files = {
        GL: "include: ci/a.yml\n",
        "ci/a.yml": "include:\n  - local: ci/test.yml\n    rules:\n      - if: $CI_MERGE_REQUEST_IID\n"
        "  - remote: https://x.test/ci.yml\n    rules:\n      - if: $CI_COMMIT_TAG\n",
        "ci/test.yml": "test:\n  script: [pytest]\n" + MR_RULES,
    }
    o = run(tmp_path, files)
    assert passed(o), o.violations
    assert "ci/test.yml:1: job test runs on merge request pipelines into main (runs pytest)" in o.evidence
    assert not any("not read offline" in e for e in o.evidence)  # a tag-only remote include is not in it
    assert (
        "ci/a.yml:5: include remote https://x.test/ci.yml left out of merge request pipelines into main: its rules do not apply"
        in o.evidence
    )


def test_gitlab_included_file_with_a_spec_header(tmp_path: Path) -> None:
    files = {
        GL: "include:\n  - local: ci/test.yml\n    inputs:\n      stage: test\n",
        "ci/test.yml": "spec:\n  inputs:\n    stage:\n      default: test\n---\n"
        "unit-tests:\n  stage: $[[ inputs.stage ]]\n  script: pytest\n" + MR_RULES,
    }
    o = run(tmp_path, files)
    assert passed(o), o.violations
    assert "ci/test.yml:6: job unit-tests runs on merge request pipelines into main (runs pytest)" in o.evidence
    assert (
        "ci/test.yml: jobs read from the document after its spec: header; $[[ inputs.* ]] are not interpolated"
        in o.evidence
    )


def test_gitlab_unreadable_includes_are_listed_on_a_pass(tmp_path: Path) -> None:
    files = {
        GL: "include:\n  - local: ci/test.yml\n  - remote: https://x.test/overrides.yml\n"
        "  - project: group/templates\n    file: /kill-mr-pipelines.yml\n",
        "ci/test.yml": "unit-tests:\n  script: [pytest]\n",
    }
    o = run(tmp_path, files)
    assert passed(o), o.violations
    assert o.message == "1 test job runs on pull requests into main"
    assert [e for e in o.evidence if "not read offline" in e] == [
        ".gitlab-ci.yml:3: include remote https://x.test/overrides.yml not read offline: it can add workflow:rules or override jobs",
        ".gitlab-ci.yml:4: include project group/templates:/kill-mr-pipelines.yml not read offline: "
        "it can add workflow:rules or override jobs",
    ]


def test_gitlab_pipelines_are_resolved_once_per_scope(tmp_path: Path) -> None:
    from mlops_gate.lang.gitlab_includes import pipeline
    from mlops_gate.lang.gitlab_rules import any_scope, pr_scope

    write_tree(tmp_path, {GL: "include: ci/test.yml\n", "ci/test.yml": "test:\n  script: [pytest]\n"})
    files = read_facts(tmp_path, "ci_config")["ci_config"].files
    assert pipeline(files) is pipeline(files)
    assert pipeline(files, pr_scope("main", True)) is pipeline(list(files), pr_scope("main", True))
    assert pipeline(files, any_scope("main")) is not pipeline(files, any_scope("dev"))
    again = read_facts(tmp_path, "ci_config")["ci_config"].files  # the same content, read again: new objects
    assert pipeline(again) is not pipeline(files)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("$X", None),
        ("$X == 'a'", None),
        ("$X || $CI_MERGE_REQUEST_IID", True),
        ("$X && $CI_COMMIT_TAG", False),
        ("($X || $Y) && $CI_PIPELINE_SOURCE == 'merge_request_event'", None),
        ("$CI_COMMIT_TAG =~ /^v/", False),
    ],
)
def test_gitlab_if_in_three_valued_logic(expr: str, value: bool | None) -> None:
    from mlops_gate.lang.gitlab_rules import gl_env, gl_if3

    env = gl_env({}, "main", mr=True)
    assert gl_if3(expr, env, lambda name: not name.startswith("CI_")) is value
    assert gl_if(expr, env) is bool(value)  # unset variables are null when no variable is unknown


# --- Azure Pipelines ------------------------------------------------------------------------------

AZ = "azure-pipelines.yml"
AZ_JOBS = "jobs:\n  - job: Test\n    steps:\n      - script: python -m pytest\n"


def test_azure_without_pr_trigger(tmp_path: Path) -> None:
    o = run(tmp_path, {AZ: "trigger: [main]\n" + AZ_JOBS})
    assert o.violations[1] == Violation(
        "the file declares no pr: trigger (set azure_implicit_pr if Azure validates pull requests "
        "by default here, or by a build-validation branch policy)",
        Location(AZ, 1),
    )
    assert passed(run(tmp_path, {AZ: "trigger: [main]\n" + AZ_JOBS}, azure_implicit_pr=True))


def test_azure_pr_none(tmp_path: Path) -> None:
    o = run(tmp_path, {AZ: "pr: none\n" + AZ_JOBS})
    assert o.violations[1] == Violation("the file turns pull request builds off (pr: none)", Location(AZ, 1))


@pytest.mark.parametrize(
    ("pr", "branch", "ok"),
    [
        ("pr: [main]\n", "main", True),
        ("pr: [main]\n", "develop", False),
        ("pr:\n  branches:\n    include: ['release/*']\n", "release/a/b", True),
        (
            "pr:\n  branches:\n    include: ['release/*']\n    exclude: ['release/old*']\n",
            "release/old1",
            False,
        ),
        ("pr:\n  branches:\n    exclude: [develop]\n", "main", True),
        ("pr:\n  autoCancel: true\n", "main", True),
        ("pr:\n  branches:\n    include: [refs/heads/main]\n", "main", True),
    ],
)
def test_azure_pr_forms(tmp_path: Path, pr: str, branch: str, ok: bool) -> None:
    assert passed(run(tmp_path, {AZ: pr + AZ_JOBS}, Target(base_branch=branch))) is ok


def test_azure_pr_paths(tmp_path: Path) -> None:
    o = run(tmp_path, {AZ: "pr:\n  paths:\n    include: [src]\n" + AZ_JOBS})
    assert o.violations[1] == Violation(
        "the file runs on pull requests only when changed files match pr.paths (allow_path_filters)",
        Location(AZ, 2),
    )


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ("steps:\n  - script: pytest -q\n", True),
        ("steps:\n  - script: echo hi\n", False),
        (
            "stages:\n  - stage: CI\n    jobs:\n      - job: build\n        steps:\n          - task: VSTest@2\n",
            True,
        ),
        (
            "jobs:\n  - job: build\n    steps:\n      - task: DotNetCoreCLI@2\n        inputs: {command: test}\n",
            True,
        ),
        (
            "jobs:\n  - job: build\n    steps:\n      - task: DotNetCoreCLI@2\n        inputs: {command: build}\n",
            False,
        ),
        (
            "stages:\n  - stage: CI\n    condition: ne(variables['Build.Reason'], 'PullRequest')\n"
            "    jobs:\n      - job: test\n        steps: [{bash: pytest}]\n",
            False,
        ),
    ],
)
def test_azure_jobs(tmp_path: Path, body: str, ok: bool) -> None:
    assert passed(run(tmp_path, {AZ: "pr: [main]\n" + body})) is ok


def test_all_three_platforms_counted(tmp_path: Path) -> None:
    files = gh("on: pull_request\n") | {GL: "test:\n  script: pytest\n", AZ: "pr: [main]\n" + AZ_JOBS}
    o = run(tmp_path, files)
    assert o.message == "3 test jobs run on pull requests into main"
