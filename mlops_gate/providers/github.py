"""GitHub facts through PyGithub: branch protection in force, CI runs on the exact commit, environments.

The three facts share one client and one `GET /repos/{o}/{r}` per run (see `_github_api`); branch
protection merges classic protection with rulesets (see `_github_protection`). Every request is counted
into the fact's meter and every URL read is recorded as a source.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from mlops_gate.facts.platform import BranchProtection, BranchProtections, CommitRuns, Environment, Environments, Run
from mlops_gate.providers import Context
from mlops_gate.providers._github_api import Api, NotFound, api

_STATUS_STATES = {"success": "success", "failure": "failure", "error": "error"}


def branch_protection(ctx: Context) -> BranchProtections:
    from mlops_gate.providers import _github_protection as gp

    client = api(ctx)
    default = str(client.repo(ctx.meter)["default_branch"])
    names, requested = gp.expand(client, ctx.meter, default, ctx.scope)
    notes: list[str] = []
    rulesets: dict[int, dict[str, Any] | None] = {}
    branches: list[BranchProtection] = []
    for name in names:
        found = gp.protection(client, ctx.meter, name, rulesets, notes)
        if found is not None:
            branches.append(found)
    return BranchProtections("github", client.slug, default, tuple(branches), requested, tuple(notes))


def commit_runs(ctx: Context) -> CommitRuns:
    client = api(ctx)
    client.repo(ctx.meter)
    sha = str(ctx.target.commit)
    quoted = urllib.parse.quote(sha, safe="")
    hint = "the token needs Checks: read and Commit statuses: read (fine-grained), or repo scope"
    try:
        path = f"/repos/{client.slug}/commits/{quoted}/check-runs"
        checks = client.paginate(
            ctx.meter, path, {"filter": "all"}, key="check_runs", what=f"check runs of {sha}", hint_403=hint
        )
        ctx.meter.read(client.url(path))
        path = f"/repos/{client.slug}/commits/{quoted}/statuses"
        statuses = client.paginate(ctx.meter, path, what=f"commit statuses of {sha}", hint_403=hint)
        ctx.meter.read(client.url(path))
    except NotFound as exc:
        raise client.fail(
            f"commit {sha} not found in {client.slug}: {exc.message}",
            "check --commit, and that it was pushed to this repository",
        ) from None
    runs = [_check_run(c) for c in checks if isinstance(c, dict)]
    runs += [_status(s) for s in statuses if isinstance(s, dict)]
    return CommitRuns("github", client.slug, sha, tuple(runs))


def _check_run(c: dict[str, Any]) -> Run:
    app = c.get("app") if isinstance(c.get("app"), dict) else {}
    return Run(
        name=str(c.get("name", "")),
        status=str(c.get("status") or "queued"),
        conclusion=c.get("conclusion") if c.get("status") == "completed" else None,
        source="check-run",
        app=app.get("slug") if app else None,
        url=c.get("html_url"),
        started_at=c.get("started_at"),
        id=str(c.get("id", "")),
        app_id=str(app["id"]) if app and app.get("id") is not None else None,
    )


def _status(s: dict[str, Any]) -> Run:
    state = str(s.get("state", ""))
    conclusion = _STATUS_STATES.get(state)
    return Run(
        name=str(s.get("context") or "default"),  # GitHub's documented default context
        status="completed" if conclusion else "in_progress",
        conclusion=conclusion,
        source="status",
        app=None,
        url=s.get("target_url"),
        started_at=s.get("created_at"),
        id=str(s.get("id", "")),
    )


def environments(ctx: Context) -> Environments:
    client = api(ctx)
    client.repo(ctx.meter)
    envs = tuple(_environment(client, ctx, name) for name in sorted(ctx.scope or {"production"}))
    return Environments("github", client.slug, envs)


def _environment(client: Api, ctx: Context, name: str) -> Environment:
    quoted = urllib.parse.quote(name, safe="")
    path = f"/repos/{client.slug}/environments/{quoted}"
    hint = "the token needs Environments: read or Actions: read (fine-grained), or repo scope"
    reply = client.get(ctx.meter, path, what=f"environment {name}", hint_403=hint, allow=(404,))
    ctx.meter.read(client.url(path))
    if reply.status == 404:
        return Environment(name, exists=False, url=client.url(path))
    data = reply.data
    if not isinstance(data, dict):
        raise client.malformed(f"environment {name}", client.url(path), "expected an object")
    reviewers: list[str] = []
    self_review: bool | None = True  # nobody reviews: nothing stops the deployer approving their own run
    other: list[str] = []
    for rule in data.get("protection_rules") or ():
        if not isinstance(rule, dict):
            continue
        kind = rule.get("type")
        if kind == "required_reviewers":
            for r in rule.get("reviewers") or ():
                who = r.get("reviewer") if isinstance(r, dict) else None
                if isinstance(who, dict):
                    reviewers.append(str(who.get("login") or who.get("slug") or who.get("name") or who.get("id")))
            self_review = not rule.get("prevent_self_review", False)
        elif kind == "wait_timer":
            other.append(f"wait_timer: {rule.get('wait_timer')} min")
        elif kind != "branch_policy":  # branch_policy is deployment_branch_policy, read below
            app = rule.get("app") if isinstance(rule.get("app"), dict) else {}
            other.append(f"{kind}: {app.get('slug')}" if app and app.get("slug") else str(kind))
    if data.get("can_admins_bypass"):
        other.append("admins can bypass the protection rules (can_admins_bypass)")
    policy, patterns, notes = _branch_policy(client, ctx, name, quoted, data.get("deployment_branch_policy"))
    return Environment(
        name=str(data.get("name") or name),
        exists=True,
        reviewers=tuple(reviewers),
        min_approvals=1 if reviewers else 0,  # GitHub needs one approval from the listed reviewers
        self_review_allowed=self_review,
        branch_policy=policy,
        branch_patterns=patterns,
        other_rules=tuple(other),
        notes=notes,
        url=data.get("html_url") or client.url(path),
    )


def _branch_policy(
    client: Api, ctx: Context, name: str, quoted: str, policy: Any
) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    if policy is None:
        return "any", (), ()
    if not isinstance(policy, dict):
        return None, (), (f"deployment_branch_policy of {name} not understood: {policy!r}",)
    if policy.get("protected_branches"):
        return "protected", (), ()
    if not policy.get("custom_branch_policies"):
        return "any", (), ()
    path = f"/repos/{client.slug}/environments/{quoted}/deployment-branch-policies"
    items = client.paginate(ctx.meter, path, key="branch_policies", what=f"deployment branch policies of {name}")
    ctx.meter.read(client.url(path))
    patterns = tuple(
        (f"tag:{p['name']}" if p.get("type") == "tag" else str(p["name"]))
        for p in items
        if isinstance(p, dict) and p.get("name")
    )
    return "patterns", patterns, ()
