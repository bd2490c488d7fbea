"""A simulated organisation for `mlops-gate fleet` on the replay server: N repositories answered by a resolver in
the shapes GitHub's and GitLab's REST documentation give (the same shapes the provider tests replay by hand):
repository listings with pagination, repositories, branches, branch protection, rulesets, check runs, commit
statuses, environments, repository contents. Repository i varies with i so the fleet has passes and failures:

- i % 5 == 0: the default branch is not protected; otherwise protected with one approving review
- i % 4 == 3: no `production` environment; otherwise one with a reviewer
- i % 10 == 1: a policy file on the default branch: it asks for 3 approvals (so the repository fails where its
  neighbours pass) and tries to redirect the API, which the fleet refuses
- i % 25 == 24: archived; i % 40 == 39: a fork

GitHub sends no ETag with a 404, so a repository without protection or without the environment costs one
counted request for each even with a warm cache: with this mix (20% and 25%), about 0.45 a repository.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from tests.support import fleet_files

Reply = tuple[int, Any, dict[str, str]]
POLICY = {
    "version": 1,
    "target": {"api_url": "https://evil.example/api"},
    "checks": {"vcs.reviews-required": {"params": {"min_approvals": 3}}},
}


def sha(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def names(n: int, org: str = "acme") -> list[str]:
    return [f"{org}/model-{i:04d}" for i in range(n)]


def judged_names(n: int, org: str = "acme") -> list[str]:
    return [name for i, name in enumerate(names(n, org)) if i % 25 != 24 and i % 40 != 39]


def _page(items: list[Any], query: dict[str, str], path: str) -> Reply:
    page, per = int(query.get("page", "1")), int(query.get("per_page", "30"))
    chunk = items[(page - 1) * per : page * per]
    headers = {}
    if page * per < len(items):
        rest = "&".join(f"{k}={v}" for k, v in {**query, "page": str(page + 1)}.items())
        headers["Link"] = f'<{{url}}{path}?{rest}>; rel="next"'
    return 200, chunk, headers


def github(
    n: int, org: str = "acme", unprotected: int = 5, policy: dict[str, Any] | None = None, codeload: str = "{url}"
) -> Callable[[str, str, dict[str, str]], Reply | None]:
    """`unprotected`: every how many repositories one has no branch protection (the scorecard example shows a
    fleet improving from 3 to 5); `policy`: the repositories' own policy file (default POLICY); `codeload`: the
    origin a tarball request is redirected to (GitHub's is codeload.github.com), serving `/_codeload/...`."""
    own_policy = json.dumps(policy or POLICY).encode()
    repos = names(n, org)
    index = {r: i for i, r in enumerate(repos)}
    listing = [
        {
            "id": i,
            "name": r.split("/")[1],
            "full_name": r,
            "html_url": f"https://github.example/{r}",
            "default_branch": "main",
            "archived": i % 25 == 24,
            "fork": i % 40 == 39,
            "topics": ["ml"] if i % 2 else ["ml", "churn"],
            "language": "Python" if i % 5 else "Jupyter Notebook",
        }
        for i, r in enumerate(repos)
    ]

    def resolve(method: str, path: str, query: dict[str, str]) -> Reply | None:
        if path == f"/orgs/{org}/repos":
            return _page(listing, query, path)
        if path.startswith("/_codeload/"):  # where GitHub redirects a tarball request (codeload.github.com)
            owner, repo, _, commit = path.split("/")[2:6]
            i = index[f"{owner}/{repo}"]
            top = f"{owner}-{repo}-{commit[:7]}"
            return 200, fleet_files.tarball(top, commit, fleet_files.files(i)), {"Content-Type": "application/x-gzip"}
        parts = path.split("/")
        if len(parts) < 4 or parts[1] != "repos":
            return None
        name = f"{parts[2]}/{parts[3]}"
        i = index.get(name)
        if i is None:
            return 404, {"message": "Not Found"}, {}
        rest = "/".join(parts[4:])
        head = sha(name)
        if rest == "":
            return 200, {**listing[i], "private": True}, {}
        if rest == "branches/main":
            return 200, {"name": "main", "commit": {"sha": head}, "protected": i % unprotected != 0}, {}
        if rest == "branches/main/protection":
            if i % unprotected == 0:
                return 404, {"message": "Branch not protected"}, {}
            return 200, _protection(), {}
        if rest == "branches/main/protection/required_signatures":
            return 200, {"enabled": False}, {}
        if rest == "rules/branches/main":
            return 200, [], {}
        if rest == f"commits/{head}/check-runs":
            run = {
                "id": i,
                "name": "test",
                "status": "completed",
                "conclusion": "success",
                "app": {"slug": "github-actions"},
            }
            return 200, {"total_count": 1, "check_runs": [run]}, {}
        if rest == f"commits/{head}/statuses":
            return 200, [], {}
        if rest == f"tarball/{head}":
            return 302, b"", {"Location": f"{codeload}/_codeload/{name}/legacy.tar.gz/{head}"}
        if rest == "environments/production":
            if i % 4 == 3:
                return 404, {"message": "Not Found"}, {}
            reviewer = {"type": "User", "reviewer": {"login": "lead"}}
            rules = [{"type": "required_reviewers", "prevent_self_review": True, "reviewers": [reviewer]}]
            env = {
                "name": "production",
                "protection_rules": rules,
                "deployment_branch_policy": {"protected_branches": True},
            }
            return 200, {**env, "html_url": f"https://github.example/{name}/deployments"}, {}
        if rest == "contents/":
            files = [{"name": "README.md", "type": "file"}] + (
                [{"name": ".mlops-gate.yml", "type": "file"}] if i % 10 == 1 else []
            )
            return 200, files, {}
        if rest == "contents/.mlops-gate.yml" and i % 10 == 1:
            text = own_policy
            return (
                200,
                {
                    "name": ".mlops-gate.yml",
                    "size": len(text),
                    "encoding": "base64",
                    "content": base64.b64encode(text).decode(),
                },
                {},
            )
        return 404, {"message": "Not Found"}, {}

    return resolve


def _protection() -> dict[str, Any]:
    return {
        "required_status_checks": {
            "strict": True,
            "contexts": ["test"],
            "checks": [{"context": "test", "app_id": None}],
        },
        "required_pull_request_reviews": {
            "dismiss_stale_reviews": True,
            "require_code_owner_reviews": True,
            "required_approving_review_count": 1,
            "require_last_push_approval": False,
        },
        "required_signatures": {"enabled": False},
        "enforce_admins": {"enabled": True},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
    }


def gitlab_names(n: int, group: str = "acme") -> list[str]:
    """Projects spread over three subgroups (and the group itself)."""
    return [f"{group}/team-{i % 3}/model-{i:04d}" if i % 4 else f"{group}/model-{i:04d}" for i in range(n)]


def gitlab(n: int, group: str = "acme") -> Callable[[str, str, dict[str, str]], Reply | None]:
    """A GitLab group with subgroups, under /api/v4, in the same mix as `github` (protection, environment, policy
    file, archived, forks)."""
    repos = gitlab_names(n, group)
    index = {r: i for i, r in enumerate(repos)}
    listing = [
        {
            "id": 1000 + i,
            "path_with_namespace": r,
            "web_url": f"https://gitlab.example/{r}",
            "default_branch": "main",
            "archived": i % 25 == 24,
            **({"forked_from_project": {"id": 1}} if i % 40 == 39 else {}),
            "topics": ["ml"],
            "only_allow_merge_if_pipeline_succeeds": True,
            "only_allow_merge_if_all_discussions_are_resolved": True,
            "merge_method": "ff",
        }
        for i, r in enumerate(repos)
    ]
    maintainers = {"id": 1, "access_level": 40, "access_level_description": "Maintainers"}
    nobody = {"id": 2, "access_level": 0, "access_level_description": "No one"}
    approvals = {
        "approvals_before_merge": 1,
        "reset_approvals_on_push": True,
        "merge_requests_author_approval": False,
        "merge_requests_disable_committers_approval": True,
        "disable_overriding_approvers_per_merge_request": True,
    }

    def resolve(method: str, path: str, query: dict[str, str]) -> Reply | None:
        from urllib.parse import unquote

        if path == f"/api/v4/groups/{group}/projects":
            return _page(listing, query, path)
        prefix = "/api/v4/projects/"
        if not path.startswith(prefix):
            return None
        encoded, _, rest = path[len(prefix) :].partition("/")
        name = unquote(encoded)
        i = index.get(name)
        if i is None:
            return 404, {"message": "404 Project Not Found"}, {}
        head = sha(name)
        if rest == "":
            return 200, listing[i], {}
        if rest == "repository/branches/main":
            return 200, {"name": "main", "commit": {"id": head}, "protected": i % 5 != 0, "default": True}, {}
        if rest == "protected_branches":
            main = {
                "id": 11,
                "name": "main",
                "push_access_levels": [nobody],
                "merge_access_levels": [maintainers],
                "allow_force_push": False,
                "code_owner_approval_required": True,
            }
            return 200, [] if i % 5 == 0 else [main], {}
        if rest == "approvals":
            return 200, approvals, {}
        if rest == "approval_rules":
            rule = {
                "id": 1,
                "name": "leads",
                "rule_type": "regular",
                "approvals_required": 1,
                "users": [],
                "groups": [],
            }
            return 200, [{**rule, "applies_to_all_protected_branches": True, "protected_branches": []}], {}
        if rest == "push_rule":
            return 200, None, {}
        if rest == "pipelines" and query.get("sha") == head:
            return 200, [{"id": 5000 + i, "sha": head, "status": "success", "ref": "main", "source": "push"}], {}
        if rest == f"pipelines/{5000 + i}/jobs":
            job = {"id": 9000 + i, "name": "test", "status": "success", "stage": "test"}
            return 200, [{**job, "web_url": f"https://gitlab.example/{name}/-/jobs/{9000 + i}"}], {}
        if rest == "environments":
            return 200, [] if i % 4 == 3 else [{"id": 7, "name": "production", "state": "available"}], {}
        if rest == "protected_environments":
            rule = {"id": 3, "access_level": 40, "required_approvals": 1, "group_inheritance_type": 0}
            protected = {"name": "production", "deploy_access_levels": [maintainers], "approval_rules": [rule]}
            return 200, [] if i % 4 == 3 else [protected], {}
        if rest == "repository/archive.tar.gz" and query.get("sha") == head:
            top = f"{name.rsplit('/', 1)[1]}-{head}-{head}"
            return 200, fleet_files.tarball(top, head, fleet_files.files(i)), {"Content-Type": "application/x-gzip"}
        if rest == "repository/tree":
            files = [{"name": "README.md", "type": "blob"}]
            return 200, files + ([{"name": ".mlops-gate.yml", "type": "blob"}] if i % 10 == 1 else []), {}
        if rest == "repository/files/.mlops-gate.yml" and i % 10 == 1:
            text = json.dumps(POLICY).encode()
            return (
                200,
                {"file_name": ".mlops-gate.yml", "size": len(text), "content": base64.b64encode(text).decode()},
                {},
            )
        return 404, {"message": "404 Not Found"}, {}

    return resolve


def azure_names(n: int, org: str = "contoso", project: str = "ml") -> list[str]:
    return [f"{org}/{project}/model-{i:04d}" for i in range(n)]


def azure(n: int, org: str = "contoso", project: str = "ml") -> Callable[[str, str, dict[str, str]], Reply | None]:
    """An Azure DevOps project (serve tests.support.azure_devops.serve_discovery on the same server first)."""
    repos = azure_names(n, org, project)
    ids = {f"{i:08d}-0000-4000-8000-000000000000": i for i in range(n)}
    by_id = {v: k for k, v in ids.items()}
    index = {r.rsplit("/", 1)[1]: i for i, r in enumerate(repos)}
    listing = [
        {
            "id": by_id[i],
            "name": r.rsplit("/", 1)[1],
            "project": {"id": "eb6e4656-77fc-42a1-9181-4c6d8e9da5d1", "name": project},
            "defaultBranch": "refs/heads/main",
            "webUrl": f"https://dev.azure.com/{r.replace('/' + project + '/', '/' + project + '/_git/')}",
            "isDisabled": i % 25 == 24,
            **({"isFork": True} if i % 40 == 39 else {}),
            "size": 1024,
        }
        for i, r in enumerate(repos)
    ]
    base = f"/{org}/{project}/_apis"

    def collection(items: list[Any]) -> Reply:
        return 200, {"count": len(items), "value": items}, {}

    def resolve(method: str, path: str, query: dict[str, str]) -> Reply | None:
        if path in (f"{base}/git/repositories", f"/{org}/_apis/git/repositories"):  # the project's, the organisation's
            return collection(listing)
        if path.startswith(f"{base}/git/repositories/"):
            key, _, rest = path[len(f"{base}/git/repositories/") :].partition("/")
            i = ids.get(key, index.get(key))
            if i is None:
                return 404, {"message": "TF401019: repository not found"}, {}
            head = sha(repos[i])
            if rest == "":
                return 200, listing[i], {}
            if rest == "refs":
                return collection([{"name": "refs/heads/main", "objectId": head}])
            if rest == f"commits/{head}/statuses":
                return collection([])
            if rest == "items":
                return _azure_items(i, head, query)
            return None
        if path == f"{base}/policy/configurations":
            return collection(_azure_policies(listing, ids))
        if path == f"{base}/build/builds":
            i = next((v for k, v in ids.items() if k == query.get("repositoryId")), None)
            if i is None:
                return collection([])
            build = {"id": 100 + i, "status": "completed", "result": "succeeded", "sourceVersion": sha(repos[i])}
            return collection([{**build, "definition": {"id": 1, "name": "test"}, "reason": "individualCI"}])
        if path == f"{base}/distributedtask/environments":
            return collection([])
        return None

    return resolve


def _azure_policies(listing: list[dict[str, Any]], ids: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for r in listing:
        i = ids[r["id"]]
        if i % 5 == 0:
            continue
        scope = [{"refName": "refs/heads/main", "matchKind": "Exact", "repositoryId": r["id"]}]
        settings = {"minimumApproverCount": 1, "creatorVoteCounts": False, "resetOnSourcePush": True, "scope": scope}
        out.append(
            {
                "id": 1000 + i,
                "isEnabled": True,
                "isBlocking": True,
                "isDeleted": False,
                "settings": settings,
                "type": {"id": "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd", "displayName": "Minimum number of reviewers"},
            }
        )
    return out


def _azure_items(i: int, head: str, query: dict[str, str]) -> Reply | None:
    """The items API: the zip of a commit, the root folder's listing, one file's content."""
    if query.get("$format") == "zip" and query.get("versionDescriptor.version") == head:
        return 200, fleet_files.zipball(fleet_files.files(i)), {"Content-Type": "application/zip"}
    own = i % 10 == 1
    if query.get("scopePath") == "/" and query.get("recursionLevel", "").lower() == "onelevel":
        items = [{"path": "/", "isFolder": True}, {"path": "/README.md", "gitObjectType": "blob"}]
        items += [{"path": "/.mlops-gate.yml", "gitObjectType": "blob"}] if own else []
        return 200, {"count": len(items), "value": items}, {}
    if query.get("path") == "/.mlops-gate.yml" and own:
        return 200, {"path": "/.mlops-gate.yml", "content": json.dumps(POLICY)}, {}
    return 404, {"message": "TF401174: The item could not be found"}, {}
