"""ci.pr-pipeline: a test job runs on every pull/merge request (GitHub Actions, GitLab CI, Azure Pipelines).

One rule over the host-neutral answer of lang/pr_tests.py ("which jobs run tests on a pull request into
branch B", for every CI system); `cd.deploy-via-pipeline` reads the same files through the same lang/ modules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.checks._common import repo_subject, request_word, skipped
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.lang.pipelines import CI_GLOBS
from mlops_gate.lang.pr_tests import PrQuestion, pipelines, pr_tests
from mlops_gate.lang.source import error_loc
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class Params:
    """The params of ci.pr-pipeline.

    branches: the branches pull/merge requests into which must run tests; empty means the request's target
        branch when known, else main or master.
        e.g. [main, "release/*"]
    test_jobs: globs (case-insensitive) over job ids and names of jobs meant to be test jobs; a job still
        counts only when it runs a test command or publishes a test report, and one named like a test job
        that does neither is named in the finding.
        e.g. ["test*", "*-tests", "unit*"]
    test_commands: commands that make a job a test job when its script runs one.
        e.g. [pytest, tox, "make check"]
    allow_path_filters: accept triggers filtered by paths (`paths:`, `rules:changes`), which skip the tests
        for some changes.
    accept_branch_pipelines: on GitLab, count jobs of branch pipelines (run on every push, shown on the merge
        request) as well as merge request pipelines.
    azure_implicit_pr: on Azure Pipelines, count a pipeline without `pr:` (GitHub-hosted code, or an Azure
        Repos build-validation policy runs it).
    azure_pipelines: globs naming the Azure pipeline files (the YAML files pipelines are registered with);
        empty means every YAML file of Azure's shape that no other uses as a template.
        e.g. [".pipelines/*-ci.yml", "mlops/devops-pipelines/*.yml"]
    """

    branches: tuple[str, ...] = ()
    test_jobs: tuple[str, ...] = (
        "test*",
        "*[-_ :]test",
        "*[-_ :]tests",
        "*[-_ :]test[-_ :(]*",
        "*[-_ :]tests[-_ :(]*",
        "pytest*",
        "unit*",
    )
    test_commands: tuple[str, ...] = (
        "pytest",
        "py.test",
        "tox",
        "nox",
        "python -m unittest",
        "make test",
        "hatch test",
        "hatch run test",
        "make check",
        "coverage run",
        "nosetests",
        "behave",
        "npm test",
        "go test",
        "cargo test",
        "dotnet test",
        "mvn test",
        "gradle test",
        "./gradlew test",
    )
    allow_path_filters: bool = False
    accept_branch_pipelines: bool = True
    azure_implicit_pr: bool = False
    azure_pipelines: tuple[str, ...] = ()


def _scope(params: Params, target: Target) -> Mapping[str, Any]:
    """Files the policy names as Azure pipelines are read whatever their shape."""
    return {"ci_config": tuple(f"azure:{g}" for g in params.azure_pipelines)}


@check(
    "ci.pr-pipeline",
    title="Tests run on every pull/merge request",
    severity=Severity.HIGH,
    needs=("ci_config",),
    params=Params,
    scope=_scope,
)
def pr_pipeline(facts: Facts, params: Params, target: Target) -> Iterator[Outcome]:
    """A test job runs on every pull/merge request into the protected branches.

    Reads `.github/workflows/*`, `.gitlab-ci.yml` and Azure pipelines (below). Passes when, for each
    branch in `branches` (default: the pull request's base branch when known, else `main` or
    `master`), some file runs a **test job** on every pull request into it:

    - GitHub: a `pull_request` or `pull_request_target` trigger (string, list or mapping `on:`)
      whose `branches` / `branches-ignore` filters admit the branch (GitHub globs: `*` stops at `/`,
      `**` does not, a later `!pattern` excludes), or a `merge_group` trigger (the merge queue)
      on a branch a pull request trigger also admits.
      Jobs whose `if:` only allows push events or a `github.ref` never run on pull requests and do
      not count.
    - GitLab: `.gitlab-ci.yml` and the local files its `include:` names (recursively; globs: `*`
      within a folder, `**` across), merged into one pipeline as GitLab does (a later definition of
      a job deep-merges over an earlier one; `extends:` and hidden jobs work across files). An
      include matching no file fails. An include's `rules:` are judged for the pipeline like a job's;
      one they leave out adds no job, nor does one whose rules cannot be decided offline (project or
      pipeline variables, `changes:`, `exists:`): the evidence names both. A file opening with a
      `spec: inputs:` header is read from the document after it (`$[[ inputs.x ]]` is not
      interpolated). Project, remote, template and component includes cannot be read offline: the
      evidence always lists them (they can add `workflow:rules` or override jobs), the message when
      no test job is found. A job in merge request pipelines
      (`workflow:rules`, job `rules` with `$CI_PIPELINE_SOURCE == "merge_request_event"`,
      `$CI_MERGE_REQUEST_IID`, target-branch filters, `only`/`except: [merge_requests]`), or with
      `accept_branch_pipelines` (default true) in branch pipelines on every push, which GitLab shows
      on the merge request. Hidden `.jobs` are templates; `extends:` is merged. Unset variables are
      null; `$CI_DEFAULT_BRANCH` is the branch checked.
    - Azure Pipelines: a `pr:` trigger (list or `branches: include/exclude`; `*` spans `/`). Without
      `pr:` a pipeline counts only with `azure_implicit_pr` (GitHub-hosted code, or an Azure Repos
      build-validation policy); `pr: none` is off.

    A job is a test job when it runs one of `test_commands` (pytest, tox, nox, `python -m unittest`,
    `make test`, ...) or a test task (Azure VSTest, `dotnet test`), or publishes a test report (Azure
    PublishTestResults, a GitLab `artifacts:reports:junit`, GitHub's test-reporter actions); the evidence
    says which. A name alone is not enough: a job named `test` that only runs `echo` tests nothing, and
    the finding names it (`test_jobs` globs say which names to point out). A job calling a local reusable
    workflow counts when that workflow has a test job.

    Azure pipelines are found wherever they live: Azure runs any YAML file a pipeline is registered
    with, so every YAML file of Azure's shape (`stages`/`jobs`/`steps` lists of Azure items, or
    `extends: template:`) is one, unless another uses it as a template; `azure_pipelines` (globs) names
    them instead. Local `template:` references of stages, jobs, steps and variables, and `extends:`, are
    expanded as Azure does (recursively, with `${{ parameters.x }}` substituted and `${{ if }}` decided
    over parameters); a template from another repository or named by an expression cannot be read
    offline, and the evidence says so.

    Not a gate, and reported when nothing else covers the branch (in the evidence when something does):
    triggers filtered by `paths` or `rules:changes` (the tests would not run on every change;
    `allow_path_filters: true` accepts them), GitHub `types` without `synchronize`, manual jobs, and jobs
    whose failure cannot fail the pipeline — GitLab `allow_failure` other than false (`true`, YAML 1.1's
    `yes`/`on`, `exit_codes:`, also when the matching rule sets it), GitHub `continue-on-error` and Azure
    `continueOnError` other than false on the job or on every step that runs tests (an expression such as
    `${{ matrix.experimental }}` cannot be known before the run and does not count). A shell construct that
    swallows the exit code (`pytest || true`) is not read: keep test commands plain. No CI file, or an
    unparsable one, fails. Fix: add a job named e.g. `test` that runs your test suite, triggered by
    pull requests into the branch.
    """
    files = facts.ci_config
    subject = repo_subject(target, files)
    broken = [Violation(f.error, error_loc(f)) for f in files.files if f.error]
    pls = pipelines(files.files, target.base_branch or "main", params.azure_pipelines)
    evidence = tuple(f"read {f.path}" for f in files.files)
    if not files.files:
        yield Outcome(subject, "no CI configuration found", (Violation(f"no CI configuration found ({CI_GLOBS})"),))
        return
    wanted = params.branches or ((target.base_branch,) if target.base_branch else ())
    fallback = ("main", "master") if not wanted else ()
    question = PrQuestion(
        params.test_jobs,
        params.test_commands,
        params.allow_path_filters,
        params.accept_branch_pipelines,
        params.azure_implicit_pr,
    )
    answers = {b: pr_tests(pls, b, question) for b in wanted or fallback}
    runs = {b: a.runs for b, a in answers.items()}
    good = {b: [r for r in rs if not r.problem] for b, rs in runs.items()}
    missing = [b for b in runs if not good[b]] if wanted else ([] if any(good.values()) else ["main or master"])
    violations = [*broken, *pls.include_problems]
    word = request_word(target.platform, (f.path for f in files.files))
    for b in missing:
        violations.append(
            Violation(
                f"no CI job runs tests on {word}s into {b}",
                Location(pls.own[0].path) if len(pls.own) == 1 else None,
            )
        )
        near = [r for key, rs in runs.items() if key in b.split(" or ") for r in rs if r.problem]
        violations.extend(dict.fromkeys(r.violation() for r in near))
    covered = [b for b in good if good[b]][: None if wanted else 1]
    jobs = len({(r.path, r.job) for b in covered for r in good[b]})
    evidence += tuple(
        f"{r.path}:{r.line}: job {r.job} runs on {r.trigger} into {b} ({r.how})" for b in covered for r in good[b]
    )
    evidence += tuple(
        dict.fromkeys(
            f"{r.path}:{r.line}: job {r.job} not counted: {r.problem}"
            for b in covered
            for r in runs[b]
            if r.problem and r.job
        )
    )
    evidence += tuple(dict.fromkeys(e for a in answers.values() for e in a.evidence))
    evidence += pls.azure_notes + skipped(files)[1]
    into = " and ".join(covered) if covered else " or ".join(wanted or fallback)
    msg = f"{jobs} test {'job runs' if jobs == 1 else 'jobs run'} on {word}s into {into}"
    if missing and wanted and covered:
        msg += f"; none into {', '.join(missing)}"
    if not wanted:
        msg += " (no base branch given: main or master accepted)"
    if broken:
        msg += f"; {len(broken)} CI file{'s' if len(broken) != 1 else ''} could not be parsed"
    if missing:
        msg += "".join(dict.fromkeys(a.note for a in answers.values() if a.note))
    if pls.include_problems:
        n = len(pls.include_problems)
        msg += f"; {n} GitLab include{'s' if n != 1 else ''} failed"
    yield Outcome(subject, msg, tuple(violations), evidence)
