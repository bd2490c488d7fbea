"""The three platforms as the fleet reads them: the repositories of an owner, a repository's default branch
head, and its policy file on that branch. Each goes through the providers' own clients (PyGithub,
python-gitlab, the azure-devops SDK) on the bounded transport, so the same limits, redirect rules and
credential handling apply as for `check`."""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.policies import DISCOVERED_NAMES
from mlops_gate.providers import Context

MAX_POLICY_BYTES = 1 << 20


@dataclass(frozen=True)
class Repo:
    """One repository of the owner, as the platform lists it: what the filters, the judging and the report need."""

    platform: str
    name: str  # owner/name, group/sub/project, org/project/repo: what `check --repository` takes
    default_branch: str | None
    url: str = ""
    archived: bool = False
    fork: bool = False
    topics: tuple[str, ...] = ()
    language: str | None = None
    id: str = ""  # the platform's id (GitLab project id, Azure DevOps repository id)


def _status(exc: FactError) -> int | None:
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    return 404 if "404" in exc.message else None


# --- GitHub -------------------------------------------------------------------------------------------


def _github(ctx: Context, slug: str) -> Any:
    from mlops_gate.providers import _github_api

    base = (ctx.target.api_url or ctx.env.get("GITHUB_API_URL") or _github_api.DEFAULT_API).rstrip("/")
    return _github_api._create(base, slug, ctx)


def github_repos(ctx: Context, owner: str) -> list[Repo]:
    api = _github(ctx, owner)
    quoted = urllib.parse.quote(owner, safe="")
    try:
        items = api.paginate(ctx.meter, f"/orgs/{quoted}/repos", {"type": "all"}, what=f"repositories of {owner}")
    except FactError as exc:
        if _status(exc) != 404:
            raise
        items = api.paginate(ctx.meter, f"/users/{quoted}/repos", {"type": "owner"}, what=f"repositories of {owner}")
    return [
        Repo(
            "github",
            str(r["full_name"]),
            r.get("default_branch"),
            str(r.get("html_url") or ""),
            bool(r.get("archived") or r.get("disabled")),
            bool(r.get("fork")),
            tuple(str(t) for t in r.get("topics") or ()),
            r.get("language"),
            str(r.get("id", "")),
        )
        for r in items
        if isinstance(r, dict) and isinstance(r.get("full_name"), str)
    ]


def github_head(ctx: Context, repo: Repo, branch: str) -> str:
    api = _github(ctx, repo.name)
    path = f"/repos/{repo.name}/branches/{urllib.parse.quote(branch, safe='')}"
    data = api.get(ctx.meter, path, what=f"branch {branch} of {repo.name}").data
    sha = data.get("commit", {}).get("sha") if isinstance(data, dict) else None
    if not isinstance(sha, str):
        raise FactError(f"branch {branch} of {repo.name}: no commit sha in {api.url(path)}")
    return sha


def github_policy(ctx: Context, repo: Repo, branch: str) -> tuple[str, str] | None:
    api = _github(ctx, repo.name)
    listing = api.get(
        ctx.meter, f"/repos/{repo.name}/contents/", {"ref": branch}, what=f"files of {repo.name}", allow=(404,)
    )
    names = {e.get("name") for e in listing.data if isinstance(e, dict)} if isinstance(listing.data, list) else set()
    name = next((n for n in DISCOVERED_NAMES if n in names), None)
    if name is None:
        return None
    data = api.get(
        ctx.meter, f"/repos/{repo.name}/contents/{name}", {"ref": branch}, what=f"{name} of {repo.name}"
    ).data
    return name, _decoded(data, f"{repo.name}:{name}")


def _decoded(data: Any, what: str) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("content"), str):
        raise FactError(f"{what}: the API did not answer the file's content")
    size = data.get("size")
    if isinstance(size, int) and size > MAX_POLICY_BYTES:
        raise FactError(f"{what}: the policy is larger than 1 MiB; it is not read")
    try:
        return base64.b64decode(data["content"]).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise FactError(f"{what}: cannot decode the file: {exc}") from None


# --- GitLab -------------------------------------------------------------------------------------------


def _gitlab(ctx: Context) -> Any:
    from mlops_gate.providers import _gitlab_api

    return _gitlab_api.connect(ctx)


def gitlab_repos(ctx: Context, group: str) -> list[Repo]:
    api = _gitlab(ctx)
    path = "/groups/" + urllib.parse.quote(group, safe="")
    items = api.list(f"{path}/projects", f"projects of {group}", {"include_subgroups": "true", "with_shared": "false"})
    return [
        Repo(
            "gitlab",
            str(p["path_with_namespace"]),
            p.get("default_branch"),
            str(p.get("web_url") or ""),
            bool(p.get("archived")),
            p.get("forked_from_project") is not None,
            tuple(str(t) for t in (p.get("topics") or p.get("tag_list") or ())),
            None,  # GitLab lists no language: read per project when --language asks (gitlab_language)
            str(p.get("id", "")),
        )
        for p in items
        if isinstance(p.get("path_with_namespace"), str)
    ]


def _project(repo: Repo) -> str:
    return "/projects/" + urllib.parse.quote(repo.name, safe="")  # as the providers address it


def gitlab_language(ctx: Context, repo: Repo) -> str | None:
    data = _gitlab(ctx).get(f"{_project(repo)}/languages", f"languages of {repo.name}")
    if not isinstance(data, dict) or not data:
        return None
    return str(max(data.items(), key=lambda kv: float(kv[1]))[0])


def gitlab_head(ctx: Context, repo: Repo, branch: str) -> str:
    path = f"{_project(repo)}/repository/branches/{urllib.parse.quote(branch, safe='')}"
    data = _gitlab(ctx).get(path, f"branch {branch} of {repo.name}")
    sha = data.get("commit", {}).get("id") if isinstance(data, dict) else None
    if not isinstance(sha, str):
        raise FactError(f"branch {branch} of {repo.name}: no commit id in the answer")
    return sha


def gitlab_policy(ctx: Context, repo: Repo, branch: str) -> tuple[str, str] | None:
    api = _gitlab(ctx)
    tree = api.get(f"{_project(repo)}/repository/tree", f"files of {repo.name}", {"ref": branch, "per_page": "100"})
    names = {e.get("name") for e in tree if isinstance(e, dict)} if isinstance(tree, list) else set()
    name = next((n for n in DISCOVERED_NAMES if n in names), None)
    if name is None:
        return None
    path = f"{_project(repo)}/repository/files/{urllib.parse.quote(name, safe='')}"
    return name, _decoded(api.get(path, f"{name} of {repo.name}", {"ref": branch}), f"{repo.name}:{name}")


# --- Azure DevOps ---------------------------------------------------------------------------------------


def _azure(ctx: Context, org: str, project: str, repo: str = "") -> Any:
    from mlops_gate.providers import _azure_api, _azure_rest, http, netpolicy

    base = ctx.target.api_url or f"https://dev.azure.com/{org}"
    netpolicy.require_secure(base, ctx.env, "Azure DevOps", "--api-url (or SYSTEM_COLLECTIONURI)")
    token = http.first_env(ctx.env, *_azure_rest.TOKEN_VARS)
    return _azure_api.once(
        ctx,
        f"azure:api:{base}:{org}/{project}/{repo}",
        lambda: _azure_api.AzureApi(base, org, project, repo, token, ctx),
    )


def azure_repos(ctx: Context, owner: str) -> list[Repo]:
    """`ORG/PROJECT`: the project's repositories; `ORG`: every project's."""
    from mlops_gate.providers import _azure_api, _azure_rest

    org, _, project = owner.partition("/")
    api = _azure(ctx, org, project)
    body, _, url = api.get(_azure_rest.REPOSITORY, f"repositories of {owner}", {"project": project})
    out = []
    for r in _azure_api.values(body, f"repositories of {owner}", url):
        if not isinstance(r, dict) or not r.get("name"):
            continue
        proj = (r.get("project") or {}).get("name") or project
        ref = r.get("defaultBranch")
        out.append(
            Repo(
                "azure",
                f"{org}/{proj}/{r['name']}",
                ref[len("refs/heads/") :] if isinstance(ref, str) and ref.startswith("refs/heads/") else None,
                str(r.get("webUrl") or ""),
                bool(r.get("isDisabled")),
                bool(r.get("isFork")),
                id=str(r.get("id", "")),
            )
        )
    return out


def azure_head(ctx: Context, repo: Repo, branch: str) -> str:
    from mlops_gate.providers import _azure_api, _azure_rest

    org, project, name = repo.name.split("/", 2)
    api = _azure(ctx, org, project, name)
    route = {"repositoryId": repo.id or name}
    body, _, url = api.get(_azure_rest.REFS, f"branch {branch} of {repo.name}", route, {"filter": f"heads/{branch}"})
    for ref in _azure_api.values(body, "refs", url):
        if isinstance(ref, dict) and ref.get("name") == f"refs/heads/{branch}" and isinstance(ref.get("objectId"), str):
            return str(ref["objectId"])
    raise FactError(f"branch {branch} of {repo.name}: not found ({url})")


def azure_policy(ctx: Context, repo: Repo, branch: str) -> tuple[str, str] | None:
    """The items API: the root folder's listing on the branch, then the first policy name found, with content."""
    from mlops_gate.providers import _azure_api, _azure_rest

    org, project, name = repo.name.split("/", 2)
    api = _azure(ctx, org, project, name)
    route = {"repositoryId": repo.id or name}
    version = {"versionDescriptor.version": branch, "versionDescriptor.versionType": "branch"}
    query = {"scopePath": "/", "recursionLevel": "OneLevel", **version}
    body, _, url = api.get(_azure_rest.ITEMS, f"files of {repo.name}", route, query)
    items = _azure_api.values(body, f"files of {repo.name}", url)
    names = {str(i.get("path", "")).lstrip("/") for i in items if isinstance(i, dict) and not i.get("isFolder")}
    found = next((n for n in DISCOVERED_NAMES if n in names), None)
    if found is None:
        return None
    query = {"path": f"/{found}", "includeContent": "true", **version}
    body, _, url = api.get(_azure_rest.ITEMS, f"{found} of {repo.name}", route, query)
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str):
        raise FactError(f"{repo.name}:{found}: the API did not answer the file's content ({url})")
    if len(content.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise FactError(f"{repo.name}:{found}: the policy is larger than 1 MiB; it is not read")
    return found, content


LIST = {"github": github_repos, "gitlab": gitlab_repos, "azure": azure_repos}
HEAD = {"github": github_head, "gitlab": gitlab_head, "azure": azure_head}
POLICY = {"github": github_policy, "gitlab": gitlab_policy, "azure": azure_policy}
