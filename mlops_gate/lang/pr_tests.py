"""Which jobs run tests on a pull/merge request into a branch: one host-neutral answer over every CI system's
files, for ci.pr-pipeline (as BranchProtection is for the vcs checks).

- GitHub Actions: `pull_request`/`pull_request_target` triggers whose branch filters admit the branch, or
  `merge_group` where one of those admits it; jobs whose `if:` keeps them off pull requests do not count;
  a job calling a local reusable workflow counts when that workflow has a test job.
- GitLab CI: the merge request pipeline (and, with `accept_branch_pipelines`, the branch pipeline) built
  from `.gitlab-ci.yml` and its local includes, jobs in it by their `rules`/`only`/`except`.
- Azure Pipelines: the `pr:` trigger and its branch filters (`azure_implicit_pr` without one).

Each answer names where it was found and, for a job or file that cannot gate every pull request (path
filters, `types` without `synchronize`, manual jobs, allowed failures and jobs or test steps that continue on
error — see failure_allowed), why.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlops_gate.facts.files import SourceFile
from mlops_gate.lang.azure_templates import expand_all
from mlops_gate.lang.branch_filters import az_branch_ok, gh_branch_ok, gh_events
from mlops_gate.lang.failure_allowed import why_not_blocking
from mlops_gate.lang.gitlab_includes import left_out_note, pipeline
from mlops_gate.lang.gitlab_rules import any_scope, gl_env, gl_job_runs, gl_rules, gl_workflow, pr_scope
from mlops_gate.lang.pipelines import (
    PR_EVENTS,
    Job,
    as_list,
    is_test_job,
    jobs_of,
    named_like_test,
    platform_of,
    skips_pull_requests,
    test_reason,
    test_steps,
    top,
)
from mlops_gate.lang.source import loc
from mlops_gate.model import Location, Violation


@dataclass(frozen=True)
class PrQuestion:
    """What counts as a test job on a pull request (ci.pr-pipeline's params)."""

    test_jobs: tuple[str, ...]  # job id/name globs
    test_commands: tuple[str, ...]
    allow_path_filters: bool = False
    accept_branch_pipelines: bool = True
    azure_implicit_pr: bool = False

    def is_test(self, job: Job) -> bool:
        return is_test_job(job, self.test_jobs, self.test_commands)

    def how(self, job: Job) -> str:
        return test_reason(job, self.test_commands) or "calls a workflow that runs tests"


@dataclass(frozen=True)
class PrRun:
    """A test job found running on pull requests into one branch, or (`job` \"\") a file that runs on them
    without one; `problem`: why it cannot gate them (None: it does)."""

    path: str
    line: int | None
    job: str  # "" when the file runs on pull requests but has no test job
    trigger: str
    problem: str | None = None
    how: str = ""  # what makes the job a test job: `runs pytest`, `publishes a test report (...)`

    def violation(self) -> Violation:
        who = f"job {self.job}" if self.job else "the file"
        return Violation(f"{who} {self.problem}", Location(self.path, self.line))


@dataclass(frozen=True)
class Pipelines:
    """The CI files read as pipelines: each file on its own, except GitLab's local includes, which are part of
    `.gitlab-ci.yml`'s pipeline (never a pipeline of their own)."""

    files: tuple[SourceFile, ...]  # every CI file, readable or not, includes too
    own: tuple[SourceFile, ...]  # one pipeline each: readable, and not included by another
    include_problems: tuple[Violation, ...]  # includes that break some pipeline (one matching no file, ...)
    gitlab_main: SourceFile | None = None  # `.gitlab-ci.yml`, read with its includes
    azure_notes: tuple[str, ...] = ()  # Azure templates not read or expanded (another repository, ...)


def pipelines(files: Sequence[SourceFile], default_branch: str, azure_named: Sequence[str] = ()) -> Pipelines:
    """`azure_named`: globs naming the Azure pipelines (empty: every Azure file no other uses as a template)."""
    gl = pipeline(files)  # every include, whatever its rules: none is a CI file of its own
    any_pl = pipeline(files, any_scope(default_branch))
    problems = any_pl.problems if any_pl else ()  # an include no pipeline applies cannot fail one
    own = [f for f in files if not f.error and not (gl and f.path in gl.included)]
    azure, templates = expand_all([f for f in own if platform_of(f.path) == "azure"])
    own = [
        azure[f.path].file if f.path in azure else f
        for f in own
        if f.path not in azure
        or (any(fnmatch.fnmatch(f.path, g) for g in azure_named) if azure_named else f.path not in templates)
    ]
    notes = tuple(dict.fromkeys(n for e in azure.values() for n in e.notes))
    return Pipelines(tuple(files), tuple(own), tuple(problems), gl.main if gl else None, notes)


@dataclass(frozen=True)
class PrTests:
    """The answer for one branch: every test job found (and every file that runs on pull requests without
    one), what the answer could not see (GitLab includes not read offline, or left out by their rules), and
    the note to add when nothing gates the branch."""

    branch: str
    runs: tuple[PrRun, ...]
    evidence: tuple[str, ...] = ()
    note: str = ""


def pr_tests(pls: Pipelines, branch: str, q: PrQuestion) -> PrTests:
    by_path = {f.path: f for f in pls.own}
    runs: list[PrRun] = []
    evidence: tuple[str, ...] = ()
    note = ""
    for f in pls.own:
        if f is pls.gitlab_main:
            found, gl_evidence, note = _gitlab(pls.files, branch, q)
            runs += found
            evidence = tuple(gl_evidence)
        elif platform_of(f.path) == "github":
            runs += _github(f, branch, q, by_path)
        else:
            runs += _azure(f, branch, q, by_path)
    return PrTests(branch, tuple(runs), evidence, note)


def _no_test_job(jobs: Sequence[Job], q: PrQuestion) -> str:
    named = [j.id for j in jobs if named_like_test(j, q.test_jobs)]
    n = len(jobs)
    msg = f"none of its {n} job{'s' if n != 1 else ''} runs a test command or publishes a test report"
    if named:
        msg += (
            f" (job {', '.join(named[:3])} is named like a test job but tests nothing:"
            " add its command to test_commands if it does run tests)"
        )
    return msg


def _github(f: SourceFile, branch: str, q: PrQuestion, files: Mapping[str, SourceFile]) -> list[PrRun]:
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
            elif ("paths" in spec or "paths-ignore" in spec) and not q.allow_path_filters:
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
    tests = [j for j in jobs if not skips_pull_requests(j.condition) and (q.is_test(j) or _calls_tests(j, q, files))]
    if problem or not tests:
        return [PrRun(f.path, line, "", ev, problem or "runs on pull requests but " + _no_test_job(jobs, q))]
    return [
        PrRun(f.path, loc(f, *j.keys).line, j.id, ev, _continues(j, q, "continue-on-error", False), q.how(j))
        for j in tests
    ]


def _continues(job: Job, q: PrQuestion, key: str, yaml11: bool) -> str | None:
    """Why a failing test in this job does not fail the run (GitHub `continue-on-error`, Azure `continueOnError`,
    on the job, or on every step that runs a test command), or None."""
    why = why_not_blocking(job.body.get(key), key, yaml11=yaml11)
    if why:
        return f"continues on error {why}"
    steps = test_steps(job, q.test_commands)
    reasons = [why_not_blocking(s.get(key), key, yaml11=yaml11) for s in steps]
    if steps and all(reasons):
        which = "a step that continues" if len(steps) == 1 else f"{len(steps)} steps that continue"
        return f"runs its tests in {which} on error {reasons[0]}"
    return None


def _calls_tests(job: Job, q: PrQuestion, files: Mapping[str, SourceFile]) -> bool:
    """A job calling a local reusable workflow that holds a test job (one level)."""
    called = files.get(str(job.body.get("uses", "")).removeprefix("./"))
    return called is not None and any(q.is_test(j) for j in jobs_of(called))


def _azure(f: SourceFile, branch: str, q: PrQuestion, files: Mapping[str, SourceFile]) -> list[PrRun]:
    doc = top(f)
    pr, problem, line = doc.get("pr"), None, loc(f, "pr").line
    if "pr" not in doc:
        if not q.azure_implicit_pr:
            return [
                PrRun(
                    f.path,
                    1,
                    "",
                    "pr",
                    "declares no pr: trigger (set azure_implicit_pr if Azure "
                    "validates pull requests by default here, or by a build-validation branch policy)",
                )
            ]
    elif pr in (None, "none", False):
        return [PrRun(f.path, line, "", "pr", "turns pull request builds off (pr: none)")]
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
        if pr.get("paths") and not q.allow_path_filters:
            problem, line = (
                "runs on pull requests only when changed files match pr.paths (allow_path_filters)",
                loc(f, "pr", "paths").line,
            )
    jobs = jobs_of(f)
    tests = [j for j in jobs if q.is_test(j) and not skips_pull_requests(j.condition)]
    if problem or not tests:
        return [PrRun(f.path, line, "", "pr", problem or "runs on pull requests but " + _no_test_job(jobs, q))]
    return [
        PrRun(f.path, loc(f, *j.keys).line, j.id, "pr", _continues(j, q, "continueOnError", True), q.how(j))
        for j in tests
    ]


def _gitlab(files: Sequence[SourceFile], branch: str, q: PrQuestion) -> tuple[list[PrRun], list[str], str]:
    """The test jobs of the pipeline GitLab builds for a merge request into `branch` (and, with
    `accept_branch_pipelines`, for a push to its source branch), an include its rules may leave out of it
    left out; the evidence of those pipelines; and a note naming the includes not read or left out, when no
    test job is found."""
    branch_pipelines = q.accept_branch_pipelines
    scopes = [(mr, pr_scope(branch, mr)) for mr in ((True, False) if branch_pipelines else (True,))]
    modes = [(mr, pl) for mr, scope in scopes if (pl := pipeline(files, scope)) is not None]
    pls = [pl for _, pl in modes]
    runs: dict[str, PrRun] = {}
    tests: dict[str, Location] = {}
    for mr, pl in modes:
        env, wf_rules = gl_env(pl.doc, branch, mr), gl_workflow(pl.doc)
        jobs = [j for j in pl.jobs() if q.is_test(j)]
        tests |= {j.id: pl.loc(*j.keys) for j in jobs if j.id not in tests}
        if wf_rules is not None and gl_rules(wf_rules, env)[0] in (None, "never"):
            continue
        label = "merge request pipelines" if mr else "branch pipelines"
        for j in jobs:
            ok, problem = gl_job_runs(j.body, env, wf_rules is not None)
            if ok and (j.id not in runs or (runs[j.id].problem and not problem)):
                at = pl.loc(*j.keys)
                runs[j.id] = PrRun(at.path, at.line, j.id, label, problem, q.how(j))
    evidence = list(dict.fromkeys(e for pl in pls for e in pl.evidence()))
    note = "" if tests else pls[0].unreadable_note() + left_out_note(pls)
    if runs:
        return list(runs.values()), evidence, note
    where = "merge request pipelines" + (" or branch pipelines" if branch_pipelines else "")
    problem = (
        f"has test jobs ({', '.join(tests)}) but none runs in {where}"
        if tests
        else "runs no test job: " + _no_test_job(pls[0].jobs(), q) + note
    )
    at = next(iter(tests.values()), None) or (
        pls[0].loc("workflow") if gl_workflow(pls[0].doc) is not None else Location(pls[0].main.path, 1)
    )
    return [PrRun(at.path, at.line, "", "merge requests", problem)], evidence, note
