"""cd checks: production is reached only through deploy jobs bound to the protected environment."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from mlops_gate.checks._common import repo_subject
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles
from mlops_gate.lang.azure_templates import expand_all
from mlops_gate.lang.branch_filters import gh_events
from mlops_gate.lang.gitlab_includes import Pipeline, left_out_note, pipeline
from mlops_gate.lang.gitlab_rules import any_scope, gl_env, gl_job_runs, gl_rules, gl_workflow, pr_scope
from mlops_gate.lang.pipelines import CI_GLOBS, PR_EVENTS, Job, jobs_of, platform_of, top
from mlops_gate.lang.source import error_loc, loc
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class Unit:
    """One pipeline: a CI file, or `.gitlab-ci.yml` merged with the local includes some pipeline could
    include (`mr`: those a merge request pipeline could)."""

    platform: str
    doc: dict[str, Any]
    at: Callable[..., Location]  # key path -> where it is written
    jobs: list[Job]
    mr: Pipeline | None = None


def _units(files: RepoFiles, branch: str) -> tuple[list[Unit], Pipeline | None]:
    """The pipelines to judge, and the GitLab one for any pipeline (None without `.gitlab-ci.yml`)."""
    every = pipeline(files.files)  # every include, whatever its rules: none is a CI file of its own
    gl = pipeline(files.files, any_scope(branch))
    mr = pipeline(files.files, pr_scope(branch, mr=True, keep_uncertain=True))
    own = [f for f in files.files if not f.error and not (every and f.path in every.included)]
    azure, templates = expand_all([f for f in own if platform_of(f.path) == "azure"])
    own = [azure[f.path].file if f.path in azure else f for f in own if f.path not in templates]
    units = [
        Unit("gitlab", gl.doc, gl.loc, gl.jobs(), mr)
        if gl is not None and f is gl.main
        else Unit(platform_of(f.path), top(f), partial(loc, f), jobs_of(f))
        for f in own
    ]
    return units, gl


@dataclass(frozen=True)
class Params:
    """The params of cd.deploy-via-pipeline.

    deploy_jobs: globs (case-insensitive) over CI job ids and names that make a job a deploy job.
        e.g. ["deploy*", "release*", "publish-model"]
    environment: the protected environment every deploy job must target.
        e.g. prod
    other_environments: other environments a deploy job may target instead (globs).
        e.g. [staging, "review/*"]
    allow_pr_deploys: accept production deploy jobs that run on pull/merge requests.
    """

    deploy_jobs: tuple[str, ...] = ("deploy*", "release*")
    environment: str = "production"
    other_environments: tuple[str, ...] = ()
    allow_pr_deploys: bool = False


def env_name(value: Any, platform: str) -> str | None:
    """`environment:` as a string or `{name: ...}`; Azure's `env.resource` names the environment."""
    name = value.get("name") if isinstance(value, dict) else value
    if name is None or name == "":
        return None
    return str(name).split(".", 1)[0] if platform == "azure" else str(name)


def _on_pull_requests(u: Unit, job: Job, branch: str) -> bool:
    """Whether the job runs in pull/merge request builds (any condition on it counts as a guard)."""
    doc = u.doc
    if u.platform == "github":
        return job.condition is None and any(e in PR_EVENTS for e in gh_events(doc.get("on")))
    if u.platform == "azure":
        return job.condition is None and doc.get("pr") not in (None, "none", False)
    if u.mr is not None:  # the job as a merge request pipeline could include it, if at all
        doc = u.mr.doc
        found = next((j for j in u.mr.jobs() if j.id == job.id), None)
        if found is None:
            return False
        job = found
    env = gl_env(doc, branch, mr=True)
    rules = gl_workflow(doc)
    if rules is not None and gl_rules(rules, env)[0] in (None, "never"):
        return False
    return gl_job_runs(job.body, env, rules is not None)[0]


def _judge(u: Unit, job: Job, p: Params, branch: str) -> tuple[bool, list[Violation]] | None:
    """(targets the protected environment, violations) for one deploy job; None: not a deploy."""
    platform, where = u.platform, f"job {job.id}"
    if platform == "github" and "uses" in job.body:
        uses = str(job.body["uses"])
        if uses.startswith("./"):
            return None  # the called workflow's own jobs are judged in their file
        return False, [Violation(f"{where} calls {uses}: its environment cannot be verified", u.at(*job.keys))]
    if platform == "azure" and "deployment" not in job.body:
        msg = f"{where} is a plain job, not a deployment job: it targets no environment"
        return False, [Violation(msg, u.at(*job.keys))]
    raw = job.body.get("environment")
    if platform == "gitlab" and isinstance(raw, dict) and raw.get("action") in ("stop", "prepare", "access", "verify"):
        return None
    name = env_name(raw, platform)
    at = u.at(*job.keys, "environment") if raw is not None else u.at(*job.keys)
    if name is None:
        return False, [Violation(f"{where} deploys without an environment, so no approvals apply", at)]
    if name.casefold() == p.environment.casefold():
        if _on_pull_requests(u, job, branch) and not p.allow_pr_deploys:
            word = "merge requests" if platform == "gitlab" else "pull requests"
            msg = f"{where} deploys to {name} on {word} (add a condition that keeps it off them)"
            return True, [Violation(msg, at)]
        return True, []
    if any(fnmatch.fnmatchcase(name, g) for g in p.other_environments):
        return False, []
    if "$" in name:
        return False, [Violation(f"{where} deploys to {name}, decided at run time: cannot verify it", at)]
    return False, [Violation(f"{where} deploys to environment {name}, not {p.environment}", at)]


def _is_deploy(job: Job, p: Params) -> bool:
    names = [n.lower() for n in (job.id, job.name) if n]
    return any(fnmatch.fnmatchcase(n, g.lower()) for n in names for g in p.deploy_jobs)


@check(
    "cd.deploy-via-pipeline",
    title="Deploy jobs target the protected production environment",
    severity=Severity.HIGH,
    needs=("ci_config",),
    params=Params,
)
def deploy_via_pipeline(facts: Facts, params: Params, target: Target) -> Iterator[Outcome]:
    """Every deploy job in CI targets the protected production environment.

    Reads `.github/workflows/*`, `.gitlab-ci.yml` and `azure-pipelines.yml`. A deploy job is a job
    whose id or name matches a `deploy_jobs` glob (default `deploy*`, `release*`, case-insensitive).
    Passes when at least one deploy job exists and every one targets `environment` (default
    `production`, compared case-insensitively) — or one of `other_environments` (globs, default none,
    e.g. `[staging, review/*]`) — through the platform's environment binding:

    - GitHub: job `environment:` (a string or `{name: ...}`); a job calling a local reusable
      workflow is judged through that workflow's jobs, one calling another repository's cannot be
      verified and fails.
    - GitLab: job `environment:` (string or `{name: ...}`, `extends:` merged); stop jobs are skipped.
      `.gitlab-ci.yml` is read with the local files its `include:` names, merged into one pipeline
      as in `ci.pr-pipeline`, with every include some pipeline could include: one whose `rules`
      apply to no pipeline (any `$CI_PIPELINE_SOURCE`, any ref) is left out, one whose rules cannot
      be decided offline is kept, so its deploy jobs must target production too; whether a job
      runs on merge requests is judged in the merge request pipeline. The evidence lists includes
      left out, kept on undecided rules, or not readable offline (project, remote, template,
      component); the message names the last when no deploy job is found.
    - Azure Pipelines: a `deployment:` job with `environment:` (`env.resource` names `env`); a plain
      `job:` named like a deploy job targets no environment and fails.

    Fails when no deploy job is found (the gate does not pass on nothing), when a deploy job has no
    environment, another one, or one decided at run time (`${{ inputs.env }}`, `$DEPLOY_ENV`), and
    when a job deploying to production runs on pull/merge requests: a GitHub workflow triggered by
    pull requests or an Azure pipeline with a `pr:` trigger whose job (and stage) has no `if:` /
    `condition:`, or a GitLab job its `rules`/`only` put in merge request pipelines
    (`allow_pr_deploys: true` accepts them). An unparsable CI file fails. Fix: bind each deploy job
    to the protected environment, and keep production deploys off pull request builds.
    """
    files = facts.ci_config
    subject = repo_subject(target, files)
    branch = target.base_branch or "main"
    units, gl = _units(files, branch)
    violations = [Violation(f.error, error_loc(f)) for f in files.files if f.error]
    violations += gl.problems if gl else ()
    found: list[str] = []
    to_env = 0
    for u in units:
        for job in u.jobs:
            judged = _judge(u, job, params, branch) if _is_deploy(job, params) else None
            if judged is not None:
                ok, bad = judged
                at = u.at(*job.keys)
                found.append(f"{at.path}:{at.line}: deploy job {job.id}")
                to_env += ok
                violations.extend(bad)
    globs = ", ".join(params.deploy_jobs)
    notes = tuple(gl.evidence()) if gl else ()
    if not found:
        where = f" in {len(files.files)} CI files" if files.files else f" (no CI configuration: {CI_GLOBS})"
        note = gl.unreadable_note() + left_out_note([gl]) if gl else ""
        violations.append(Violation(f"no deploy job found matching {globs}{where}{note}"))
        yield Outcome(subject, f"no deploy job found matching {globs}{note}", tuple(violations), notes)
        return
    if not to_env and not violations:
        violations.append(Violation(f"no deploy job targets {params.environment}"))
    msg = f"{to_env} of {len(found)} deploy jobs target {params.environment}"
    yield Outcome(subject, msg, tuple(violations), (*found, *notes))
