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


def github(n: int, org: str = "acme") -> Callable[[str, str, dict[str, str]], Reply | None]:
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
            return 200, {"name": "main", "commit": {"sha": head}, "protected": i % 5 != 0}, {}
        if rest == "branches/main/protection":
            if i % 5 == 0:
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
            text = json.dumps(POLICY).encode()
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
