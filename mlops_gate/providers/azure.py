"""Azure DevOps: branch policies and branch permissions, builds and statuses on a commit, and environment checks.

Reads through the azure-devops SDK (see `_azure_api` for how it is configured and why lists go through
`Client._send`). The repository is ORG/PROJECT/REPO; the collection URL is `--api-url` /
SYSTEM_COLLECTIONURI, else https://dev.azure.com/ORG. The token is AZURE_DEVOPS_TOKEN, else
SYSTEM_ACCESSTOKEN. The SDK keeps resource locations in a file cache (AZURE_DEVOPS_CACHE_DIR, default
~/.azure-devops) and in memory per process, so a warm run skips the discovery requests.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.facts.platform import BranchProtections, CommitRuns, Environment, Environments, Run
from mlops_gate.providers import Context
from mlops_gate.providers import _azure_api as az
from mlops_gate.providers import _azure_rest as rest
from mlops_gate.providers import _azure_security as sec
from mlops_gate.providers._azure_map import build_run, environment, status_run
from mlops_gate.providers._azure_policy import build_definition_ids, protection

PLATFORM = "azure"
DEFAULT = "@default"  # in a scope: the repository's default branch
STATUS_PAGE = 1000
BUILD_PAGES = 5  # newest first: a released commit's builds are recent; an old one is noted, not hunted for


def _repository(ctx: Context, api: az.AzureApi) -> dict[str, Any]:
    repo = az.once(ctx, f"azure:repository:{api.base_url}:{api.project}/{api.repo}", api.repository)
    ctx.meter.read(str(repo["_source"]))
    return repo


def _branch(ref: Any) -> str | None:
    return ref[len("refs/heads/") :] if isinstance(ref, str) and ref.startswith("refs/heads/") else None


def _is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def _heads(ctx: Context, api: az.AzureApi, repo_id: str, prefix: str, notes: list[str]) -> list[str]:
    names: list[str] = []
    for page, url in api.pages(rest.REFS, "branches", {"repositoryId": repo_id}, {"filter": f"heads/{prefix}"}, notes):
        ctx.meter.read(url)
        names.extend(b for b in (_branch(r.get("name")) for r in page if isinstance(r, dict)) if b)
    return names


def _branches(ctx: Context, api: az.AzureApi, repo_id: str, default: str | None, notes: list[str]) -> list[str]:
    """The existing branches the scope names (exact names, globs, @default)."""
    wanted = [default if item == DEFAULT else item for item in (sorted(ctx.scope) or [DEFAULT])]
    if None in wanted:
        notes.append("the repository has no default branch (is it empty?)")
    asked = [w for w in wanted if w]
    if all(w == default for w in asked):
        return asked[:1]
    literal = [w.split("*")[0].split("?")[0].split("[")[0] for w in asked]
    heads = _heads(ctx, api, repo_id, os.path.commonprefix(literal), notes)  # noqa: RUF071 (a string prefix)
    found: dict[str, None] = {}
    for w in asked:
        if _is_glob(w):
            found.update(dict.fromkeys(h for h in heads if fnmatch.fnmatchcase(h, w)))
        else:  # Azure Repos branch names are case-insensitive: report the branch as it is spelled
            found.update(dict.fromkeys(h for h in heads if h.casefold() == w.casefold()))
    return list(found)


def _definition_names(ctx: Context, api: az.AzureApi, ids: list[int], notes: list[str]) -> dict[int, str]:
    if not ids:
        return {}
    try:
        body, _, url = api.get(rest.DEFINITIONS, "build definitions", {}, {"definitionIds": ",".join(map(str, ids))})
    except FactError as exc:
        notes.append(f"build validation names unresolved ({exc.message}); Build (Read) is needed")
        return {}
    ctx.meter.read(url)
    return {
        d["id"]: str(d["name"])
        for d in az.values(body, "build definitions", url)
        if isinstance(d, dict) and isinstance(d.get("id"), int) and d.get("name")
    }


def branch_protection(ctx: Context) -> BranchProtections:
    api = az.api(ctx)
    notes: list[str] = []
    with rest.metered(ctx.meter):
        repo = _repository(ctx, api)
        default = _branch(repo.get("defaultBranch"))
        branches = _branches(ctx, api, str(repo["id"]), default, notes)
        policies: list[Any] = []
        policy_url = None
        if branches:
            for page, url in api.pages(rest.POLICIES, "branch policies", {}, None, notes):
                ctx.meter.read(url)
                policy_url = policy_url or url
                policies.extend(p for p in page if isinstance(p, dict))
        ids = build_definition_ids(policies, str(repo["id"]), branches, default)
        names = _definition_names(ctx, api, ids, notes)
        security = sec.read(api, ctx.meter, repo, branches)
    return BranchProtections(
        platform=PLATFORM,
        repository=str(ctx.target.repository),
        default_branch=default,
        branches=tuple(
            protection(b, policies, str(repo["id"]), default, names, policy_url, security=security) for b in branches
        ),
        requested=tuple(sorted(ctx.scope) or [DEFAULT]),
        notes=tuple(notes),
    )


def commit_runs(ctx: Context) -> CommitRuns:
    api = az.api(ctx)
    sha = str(ctx.target.commit).lower()
    notes: list[str] = []
    runs: list[Run] = []
    with rest.metered(ctx.meter):
        repo_id = str(_repository(ctx, api)["id"])
        query = {"repositoryId": repo_id, "repositoryType": "TfsGit", "queryOrder": "queueTimeDescending"}
        # the API has no commit filter: walk the repository's builds newest first and match the sha here
        for page, url in api.pages(rest.BUILDS, "builds", {}, query, notes, newest=BUILD_PAGES):
            ctx.meter.read(url)
            runs.extend(
                build_run(b) for b in page if isinstance(b, dict) and str(b.get("sourceVersion")).lower() == sha
            )
        for skip in range(0, api.max_pages * STATUS_PAGE, STATUS_PAGE):
            route = {"repositoryId": repo_id, "commitId": sha}
            body, _, url = api.get(rest.STATUSES, "commit statuses", route, {"top": STATUS_PAGE, "skip": skip})
            ctx.meter.read(url)
            page = az.values(body, "commit statuses", url)
            runs.extend(status_run(s) for s in page if isinstance(s, dict))
            if len(page) < STATUS_PAGE:
                break
        else:
            raise FactError(
                f"commit statuses of {sha}: more than {api.max_pages} pages of {STATUS_PAGE}; the rest "
                "was not read, so it is not judged",
                "raise MLOPS_GATE_HTTP_MAX_PAGES",
            )
    if not runs:
        notes.append(f"no build or status reported on {sha} in {ctx.target.repository}")
    return CommitRuns(PLATFORM, str(ctx.target.repository), sha, tuple(runs), tuple(notes))


def _environment(ctx: Context, api: az.AzureApi, name: str) -> Environment:
    body, _, url = api.get(rest.ENVIRONMENTS, "environments", {}, {"name": name})
    ctx.meter.read(url)
    found = [
        e
        for e in az.values(body, "environments", url)
        if isinstance(e, dict) and str(e.get("name", "")).casefold() == name.casefold()
    ]
    if not found:
        return Environment(
            name,
            exists=False,
            url=url,
            notes=(
                f"no environment {name!r} in project {api.project}, or the token cannot see it (Environment: Read)",
            ),
        )
    env_id = str(found[0].get("id"))
    query = {"resourceType": "environment", "resourceId": env_id, "$expand": "settings"}
    body, _, checks_url = api.get(rest.CHECKS, f"checks of environment {name}", {}, query)
    ctx.meter.read(checks_url)
    checks = [c for c in az.values(body, "environment checks", checks_url) if isinstance(c, dict)]
    web = f"{api.base_url}/{api.project}/_environments/{env_id}"
    return environment(str(found[0].get("name") or name), checks, web)


def environments(ctx: Context) -> Environments:
    api = az.api(ctx)
    with rest.metered(ctx.meter):
        envs = tuple(_environment(ctx, api, name) for name in sorted(ctx.scope or {"production"}))
    return Environments(PLATFORM, str(ctx.target.repository), envs)
