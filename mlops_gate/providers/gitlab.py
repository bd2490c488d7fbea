"""GitLab (gitlab.com or any self-managed instance) -> branch protection, commit runs, environments.

Reads through python-gitlab (imported lazily). Premium-only settings (approval rules, code owner
approval, push rules, protected environments) that a Free instance or CI_JOB_TOKEN cannot read are
left None with a note that names the tier or the token: never read as "off".
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote

from mlops_gate.errors import FactError
from mlops_gate.facts.platform import BranchProtections, CommitRuns, Environments, Run
from mlops_gate.providers import Context
from mlops_gate.providers._gitlab_api import JOB_TOKEN_HINT, Api, Unavailable, connect
from mlops_gate.providers._gitlab_environments import environments as _environments
from mlops_gate.providers._gitlab_protection import Settings, project_notes, protection

T = TypeVar("T")
GLOB = set("*?[")
DEFAULT = "@default"

# GitLab pipeline/job status -> (status, conclusion) of a Run
STATUSES: dict[str, tuple[str, str | None]] = {
    "success": ("completed", "success"),
    "failed": ("completed", "failure"),
    "canceled": ("completed", "cancelled"),
    "canceling": ("in_progress", None),
    "skipped": ("completed", "skipped"),
    "running": ("in_progress", None),
}  # created, pending, waiting_for_resource, preparing, scheduled, manual: queued, not decided yet


def _tier_note(what: str, feature: str, api: Api, missing: Unavailable) -> str:
    if api.job_token:
        return f"{what} not read: CI_JOB_TOKEN cannot read them ({missing}); {JOB_TOKEN_HINT}"
    return (
        f"{feature} need GitLab Premium; on this instance they could not be read ({missing}); "
        "on Premium, give the token read_api and the Maintainer role"
    )


def _optional(api: Api, fetch: Callable[[], T], what: str, feature: str) -> tuple[T | None, str | None]:
    try:
        return api.optional(fetch), None
    except Unavailable as missing:
        return None, _tier_note(what, feature, api, missing)


def branch_protection(ctx: Context) -> BranchProtections:
    api = connect(ctx, "the vcs.* checks")
    pid = api.project_path
    scope = sorted(ctx.scope) or [DEFAULT]
    globs = [name for name in scope if GLOB & set(name)]
    with ThreadPoolExecutor(max_workers=6) as pool:  # independent reads: wall time of the slowest, not the sum
        project = pool.submit(api.project)
        protected = pool.submit(api.list, f"{pid}/protected_branches", "protected branches")
        approvals = pool.submit(
            _optional,
            api,
            lambda: api.get(f"{pid}/approvals", "approval settings"),
            "merge request approval settings",
            "merge request approval settings",
        )
        rules = pool.submit(
            _optional,
            api,
            lambda: api.list(f"{pid}/approval_rules", "approval rules"),
            "merge request approval rules",
            "merge request approval rules",
        )
        push_rule = pool.submit(
            _optional,
            api,
            lambda: api.get(f"{pid}/push_rule", "push rules"),
            "push rules (signed commits)",
            "push rules (signed commits)",
        )
        branches: Future[list[dict[str, Any]]] | None = (
            pool.submit(api.list, f"{pid}/repository/branches", "branches") if globs else None
        )
        explicit = {name: pool.submit(_exists, api, name) for name in scope if name != DEFAULT and name not in globs}
        settings = _settings(
            api, project.result(), protected.result(), approvals.result(), rules.result(), push_rule.result()
        )
        names = [name for name in (branches.result() if branches else ())]
        absent = {name for name, found in explicit.items() if not found.result()}
    default = settings.project.get("default_branch")
    default = default if isinstance(default, str) and default else None
    requested = [default if name == DEFAULT else name for name in scope]
    notes = [] if default or DEFAULT not in scope else ["the project has no default branch (an empty repository?)"]
    chosen: list[str] = []
    for name in requested:
        if name is None or name in absent:
            continue  # the checks report a requested branch without facts as missing
        matches = (
            [str(b.get("name")) for b in names if fnmatch.fnmatchcase(str(b.get("name")), name)]
            if (GLOB & set(name))
            else [name]
        )
        chosen += [m for m in sorted(matches) if m not in chosen]
    return BranchProtections(
        platform="gitlab",
        repository=api.repository,
        default_branch=default,
        branches=tuple(protection(name, settings) for name in chosen),
        requested=tuple(name for name in requested if name),
        notes=tuple(notes),
    )


def _exists(api: Api, branch: str) -> bool:
    path = f"{api.project_path}/repository/branches/{quote(branch, safe='')}"
    try:
        api.optional(lambda: api.get(path, f"branch {branch}"))
    except Unavailable:
        return False
    return True


def _settings(
    api: Api,
    project: dict[str, Any],
    protected: list[dict[str, Any]],
    approvals: tuple[Any, str | None],
    rules: tuple[Any, str | None],
    push_rule: tuple[Any, str | None],
) -> Settings:
    notes = [note for _, note in (approvals, rules, push_rule) if note]
    if approvals[0] is not None and not isinstance(approvals[0], dict):
        raise FactError(f"GitLab approval settings: malformed response from {api.url(api.project_path)}/approvals")
    if push_rule[0] is not None and not isinstance(push_rule[0], dict):
        raise FactError(f"GitLab push rules: malformed response from {api.url(api.project_path)}/push_rule")
    return Settings(
        project=project,
        protected=tuple(protected),
        approvals=approvals[0],
        rules=None if rules[0] is None else tuple(rules[0]),
        push_rule=push_rule[0],  # null: no push rule configured, so unsigned commits are accepted
        push_rule_read=push_rule[1] is None,
        notes=(*project_notes(project), *notes),
        url=api.url(f"{api.project_path}/protected_branches"),
    )


def commit_runs(ctx: Context) -> CommitRuns:
    """The latest pipeline on the exact commit, and every attempt of each of its jobs."""
    api = connect(ctx, "ci.required-runs and release.traceability")
    sha = ctx.target.commit or ""
    pipelines = api.list(f"{api.project_path}/pipelines", "pipelines", {"sha": sha})
    if not pipelines:
        return CommitRuns("gitlab", api.repository, sha, notes=(f"no pipeline ran on commit {sha}",))
    latest = max(pipelines, key=lambda p: (_id(p), str(p.get("created_at") or "")))
    jobs = api.list(f"{api.project_path}/pipelines/{_id(latest)}/jobs", "pipeline jobs", {"include_retried": "true"})
    notes = (
        [f"{len(pipelines) - 1} older pipeline(s) on this commit ignored: the latest, #{_id(latest)}, decides"]
        if len(pipelines) > 1
        else []
    )
    return CommitRuns(
        platform="gitlab",
        repository=api.repository,
        sha=sha,
        runs=(_run("pipeline", "pipeline", latest), *(_run(str(j.get("name")), "job", j) for j in jobs)),
        notes=tuple(notes),
    )


def _id(item: dict[str, Any]) -> int:
    value = item.get("id")
    return value if isinstance(value, int) else 0


def _run(name: str, source: str, item: dict[str, Any]) -> Run:
    status, conclusion = STATUSES.get(str(item.get("status")), ("queued", None))
    return Run(
        name=name,
        status=status,
        conclusion=conclusion,
        source=source,
        url=item.get("web_url") if isinstance(item.get("web_url"), str) else None,
        started_at=str(item.get("started_at") or item.get("created_at") or "") or None,
        id=str(item.get("id", "")),
    )


def environments(ctx: Context) -> Environments:
    return _environments(connect(ctx, "cd.production-environment"), sorted(ctx.scope) or ["production"])
