"""GitLab environments and protected environments (Premium) -> Environment.

How GitLab's protection becomes the host-neutral fields:
- Unprotected environment: anyone who can run a pipeline deploys, nobody approves: min_approvals 0,
  self_review_allowed True (the deployer alone decides), branch_policy "any".
- Protected environment: `deploy_access_levels` say who may deploy (listed in other_rules as
  "deployers: ..."). min_approvals = the largest of `required_approval_count` and the approval rules'
  `required_approvals` (every rule must be met; the largest is the guaranteed minimum of approvers);
  reviewers = the approval rules' users/groups/roles, or, with the older unified setting, the deployers.
- self_review_allowed: GitLab forbids the user who triggered a deployment from approving it unless the
  project enables `allow_pipeline_trigger_approve_deployment`; the project setting is read only when
  approvals are required.
- branch_policy: GitLab restricts who deploys, not from which branch. A protected environment whose
  deployers are Maintainers (or named users, groups or deploy keys, none of them the Developer role)
  is mapped to "protected": the same people who control the protected branches. If Developers may
  deploy, a pipeline from any branch they push can deploy: "any".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from mlops_gate.facts.platform import Environment, Environments
from mlops_gate.providers._gitlab_api import JOB_TOKEN_HINT, Api, Unavailable
from mlops_gate.providers._gitlab_protection import as_int, pushers, truthy

PREMIUM_NOTE = (
    "protected environments (deployment approvals and deploy access) need GitLab Premium; on this "
    "instance they could not be read ({missing}); on Premium, give the token read_api and the "
    "Maintainer role"
)


def environments(api: Api, names: list[str]) -> Environments:
    pid = api.project_path
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = {name: pool.submit(api.list, f"{pid}/environments", "environments", {"name": name}) for name in names}
        protected_future = pool.submit(_protected, api)
        existing = {name: [e for e in f.result() if e.get("name") == name] for name, f in found.items()}
        protected, note = protected_future.result()
    result = []
    for name in names:
        env = existing[name][0] if existing[name] else None
        url = (
            api.url(f"{pid}/environments/{env.get('id')}")
            if env
            else api.url(f"{pid}/environments?name={quote(name, safe='')}")
        )
        if protected is None:
            result.append(Environment(name, exists=env is not None, notes=(note or "",), url=url))
        elif name not in protected:
            result.append(
                Environment(
                    name,
                    exists=env is not None,
                    min_approvals=0,
                    self_review_allowed=True,
                    branch_policy="any",
                    url=url,
                )
            )
        else:
            result.append(_protected_environment(api, name, env is not None, protected[name], url))
    return Environments("gitlab", api.repository, tuple(result))


def _protected(api: Api) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    try:
        items = api.optional(lambda: api.list(f"{api.project_path}/protected_environments", "protected environments"))
    except Unavailable as missing:
        if api.job_token:
            return None, f"protected environments not read: CI_JOB_TOKEN cannot read them ({missing}); {JOB_TOKEN_HINT}"
        return None, PREMIUM_NOTE.format(missing=missing)
    return {str(item.get("name")): item for item in items}, None


def _who(level: dict[str, Any]) -> str:
    actors = pushers([level])
    return f"{actors[0].kind}:{actors[0].name}" if actors else "no one"


def _protected_environment(api: Api, name: str, exists: bool, item: dict[str, Any], url: str) -> Environment:
    deploy = [lv for lv in item.get("deploy_access_levels") or () if isinstance(lv, dict)]
    rules = [r for r in item.get("approval_rules") or () if isinstance(r, dict)]
    unified = as_int(item.get("required_approval_count"))
    min_approvals = max([unified, *(as_int(r.get("required_approvals")) for r in rules)])
    reviewers = [_who(r) for r in rules] or ([_who(lv) for lv in deploy] if unified else [])
    self_review: bool = True
    if min_approvals:
        allowed = api.project().get("allow_pipeline_trigger_approve_deployment")
        self_review = truthy(allowed)  # absent: GitLab's default, the deployer cannot approve
    developers = any(
        lv.get("access_level") == 30 and lv.get("user_id") is None and lv.get("group_id") is None for lv in deploy
    )
    return Environment(
        name=name,
        exists=exists,
        reviewers=tuple(dict.fromkeys(reviewers)),
        min_approvals=min_approvals,
        self_review_allowed=self_review,
        branch_policy="any" if developers else "protected",
        other_rules=(f"deployers: {', '.join(_who(lv) for lv in deploy) or 'no one'}",),
        url=url,
    )
