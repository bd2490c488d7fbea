"""ci checks: a test job runs on every pull/merge request (GitHub Actions, GitLab CI, Azure Pipelines).

The job model and test-job recognition live in `_pipelines`, branch filters in `_branch_filters` and
GitLab `rules`/`only` evaluation in `_gitlab_rules`: `cd.deploy-via-pipeline` reads the same files the
same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from mlops_gate.checks._common import repo_subject
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import SourceFile
from mlops_gate.lang.branch_filters import az_branch_ok, gh_branch_ok, gh_events
from mlops_gate.lang.gitlab_includes import pipeline, pr_test_runs
from mlops_gate.lang.gitlab_rules import any_scope
from mlops_gate.lang.pipelines import (
    CI_GLOBS,
    PR_EVENTS,
    Job,
    as_list,
    is_test_job,
    jobs_of,
    platform_of,
    skips_pull_requests,
    top,
)
from mlops_gate.lang.source import error_loc, loc
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class Params:
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
    )
    allow_path_filters: bool = False
    accept_branch_pipelines: bool = True
    azure_implicit_pr: bool = False


@dataclass(frozen=True)
class Run:
    """A test job found running on pull requests into one branch; `problem`: why it cannot gate them."""

    path: str
    line: int | None
    job: str  # "" when the file runs on pull requests but has no test job
    trigger: str
    problem: str | None = None

    def violation(self) -> Violation:
        who = f"job {self.job}" if self.job else "the file"
        return Violation(f"{who} {self.problem}", Location(self.path, self.line))


def _is_test(job: Job, p: Params) -> bool:
    return is_test_job(job, p.test_jobs, p.test_commands)


def _no_test_job(n: int) -> str:
    return f"runs on pull requests but none of its {n} jobs matches test_jobs or runs a test command"


def _github(f: SourceFile, branch: str, p: Params, files: Mapping[str, SourceFile]) -> list[Run]:
    found = []
    events = gh_events(top(f).get("on"))
    # merge_group has no branch filter: it gates a branch only where a pull request trigger admits it too
    admitted = any(
        ev in PR_EVENTS and ev != "merge_group" and gh_branch_ok(spec, branch) for ev, spec in events.items()
    )
    for ev, spec in events.items():
        if ev in PR_EVENTS and admitted and (ev == "merge_group" or gh_branch_ok(spec, branch)):
            problem, key = None, None
            if "branches" in spec and "branches-ignore" in spec:
                problem, key = (
                    f"sets both branches and branches-ignore on {ev}, which GitHub rejects",
                    "branches",
                )
            elif ("paths" in spec or "paths-ignore" in spec) and not p.allow_path_filters:
                key = "paths" if "paths" in spec else "paths-ignore"
                problem = f"runs on {ev} only when changed files match its {key} filter (allow_path_filters)"
            elif ev != "merge_group" and "types" in spec and "synchronize" not in as_list(spec["types"]):
                problem, key = (
                    f"runs on {ev} for types {as_list(spec['types'])}: later pushes are not tested",
                    "types",
                )
            line = loc(f, "on", ev, *(key,) if key else ()).line
            found.append((problem is not None, PR_EVENTS.index(ev), ev, problem, line))
    if not found:
        return []
    _, _, ev, problem, line = min(found)
    jobs = jobs_of(f)
    tests = [j for j in jobs if not skips_pull_requests(j.condition) and (_is_test(j, p) or _calls_tests(j, p, files))]
    if problem or not tests:
        return [Run(f.path, line, "", ev, problem or _no_test_job(len(jobs)))]
    flaky = "continues on error, so a failing test does not block"
    return [
        Run(f.path, loc(f, *j.keys).line, j.id, ev, flaky if j.body.get("continue-on-error") is True else None)
        for j in tests
    ]


def _calls_tests(job: Job, p: Params, files: Mapping[str, SourceFile]) -> bool:
    """A job calling a local reusable workflow that holds a test job (one level)."""
    called = files.get(str(job.body.get("uses", "")).removeprefix("./"))
    return called is not None and any(_is_test(j, p) for j in jobs_of(called))


def _gitlab(files: Sequence[SourceFile], branch: str, p: Params) -> tuple[list[Run], list[str], str]:
    found, evidence, note = pr_test_runs(files, branch, lambda j: _is_test(j, p), p.accept_branch_pipelines)
    return [Run(at.path, at.line, job, trigger, problem) for at, job, trigger, problem in found], evidence, note


def _azure(f: SourceFile, branch: str, p: Params, files: Mapping[str, SourceFile]) -> list[Run]:
    doc = top(f)
    pr, problem, line = doc.get("pr"), None, loc(f, "pr").line
    if "pr" not in doc:
        if not p.azure_implicit_pr:
            return [
                Run(
                    f.path,
                    1,
                    "",
                    "pr",
                    "declares no pr: trigger (set azure_implicit_pr if Azure "
                    "validates pull requests by default here, or by a build-validation branch policy)",
                )
            ]
    elif pr in (None, "none", False):
        return [Run(f.path, line, "", "pr", "turns pull request builds off (pr: none)")]
    elif isinstance(pr, list) and not az_branch_ok(pr, [], branch):
        return []
    elif isinstance(pr, dict):
        br = pr.get("branches")
        inc, exc = (
            (br, [])
            if isinstance(br, list)
            else (as_list(br.get("include")) or ["*"], as_list(br.get("exclude")))
            if isinstance(br, dict)
            else (["*"], [])
        )
        if not az_branch_ok(inc, exc, branch):
            return []
        if pr.get("paths") and not p.allow_path_filters:
            problem, line = (
                "runs on pull requests only when changed files match pr.paths (allow_path_filters)",
                loc(f, "pr", "paths").line,
            )
    jobs = jobs_of(f)
    tests = [j for j in jobs if _is_test(j, p) and not skips_pull_requests(j.condition)]
    if problem or not tests:
        return [Run(f.path, line, "", "pr", problem or _no_test_job(len(jobs)))]
    return [Run(f.path, loc(f, *j.keys).line, j.id, "pr", problem) for j in tests]


ANALYSERS = {"github": _github, "azure": _azure}


@check(
    "ci.pr-pipeline",
    title="Tests run on every pull/merge request",
    severity=Severity.HIGH,
    needs=("ci_config",),
    params=Params,
)
def pr_pipeline(facts: Facts, params: Params, target: Target) -> Iterator[Outcome]:
    """A test job runs on every pull/merge request into the protected branches.

    Reads `.github/workflows/*`, `.gitlab-ci.yml` and `azure-pipelines.yml`. Passes when, for each
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

    A job is a test job when its id or name matches a `test_jobs` glob (case-insensitive), or it runs
    one of `test_commands` (pytest, tox, nox, `python -m unittest`, `make test`, ...), or, on Azure, a
    VSTest / PublishTestResults / `dotnet test` task. A job calling a local reusable workflow counts
    when that workflow has a test job.

    Not a gate, and reported when nothing else covers the branch: triggers filtered by `paths`
    or `rules:changes` (the tests would not run on every change; `allow_path_filters: true` accepts
    them), GitHub `types` without `synchronize`, manual jobs, and jobs allowed to fail. No CI file, or
    an unparsable one, fails. Fix: add a job named e.g. `test` that runs your test suite, triggered by
    pull requests into the branch.
    """
    files = facts.ci_config
    subject = repo_subject(target, files)
    broken = [Violation(f.error, error_loc(f)) for f in files.files if f.error]
    gl = pipeline(files.files)  # every include, whatever its rules: none is a CI file of its own
    any_pl = pipeline(files.files, any_scope(target.base_branch or "main"))
    problems = any_pl.problems if any_pl else ()  # an include no pipeline applies cannot fail one
    parsed = [f for f in files.files if not f.error and not (gl and f.path in gl.included)]
    evidence = tuple(f"read {f.path}" for f in files.files)
    if not files.files:
        yield Outcome(subject, "no CI configuration found", (Violation(f"no CI configuration found ({CI_GLOBS})"),))
        return
    wanted = params.branches or ((target.base_branch,) if target.base_branch else ())
    fallback = ("main", "master") if not wanted else ()
    by_path = {f.path: f for f in parsed}
    gl_notes: dict[str, tuple[list[str], str]] = {}  # branch -> (evidence, note) of the GitLab pipeline

    def analyse(f: SourceFile, b: str) -> list[Run]:
        if gl is None or f is not gl.main:
            return ANALYSERS[platform_of(f.path)](f, b, params, by_path)
        found, gl_evidence, note = _gitlab(files.files, b, params)
        gl_notes[b] = (gl_evidence, note)
        return found

    runs = {b: [r for f in parsed for r in analyse(f, b)] for b in wanted or fallback}
    good = {b: [r for r in rs if not r.problem] for b, rs in runs.items()}
    missing = [b for b in runs if not good[b]] if wanted else ([] if any(good.values()) else ["main or master"])
    violations = [*broken, *problems]
    for b in missing:
        violations.append(
            Violation(
                f"no CI job runs tests on pull requests into {b}",
                Location(parsed[0].path) if len(parsed) == 1 else None,
            )
        )
        near = [r for key, rs in runs.items() if key in b.split(" or ") for r in rs if r.problem]
        violations.extend(dict.fromkeys(r.violation() for r in near))
    covered = [b for b in good if good[b]][: None if wanted else 1]
    jobs = len({(r.path, r.job) for b in covered for r in good[b]})
    evidence += tuple(f"{r.path}:{r.line}: job {r.job} runs on {r.trigger} into {b}" for b in covered for r in good[b])
    evidence += tuple(dict.fromkeys(e for ev, _ in gl_notes.values() for e in ev))
    into = " and ".join(covered) if covered else " or ".join(wanted or fallback)
    msg = f"{jobs} test {'job runs' if jobs == 1 else 'jobs run'} on pull requests into {into}"
    if missing and wanted and covered:
        msg += f"; none into {', '.join(missing)}"
    if not wanted:
        msg += " (no base branch given: main or master accepted)"
    if broken:
        msg += f"; {len(broken)} CI file{'s' if len(broken) != 1 else ''} could not be parsed"
    if missing:
        msg += "".join(dict.fromkeys(note for _, note in gl_notes.values() if note))
    if problems:
        msg += f"; {len(problems)} GitLab include{'s' if len(problems) != 1 else ''} failed"
    yield Outcome(subject, msg, tuple(violations), evidence)
