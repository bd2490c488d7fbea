"""cd.production-environment: production is reachable only through a protected CD environment."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.checks._platform import subject
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.model import Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class Params:
    """The params of cd.production-environment.

    name: the production environment's name on the platform.
        e.g. prod
    min_reviewers: how many approvals a deployment to it needs at least.
        e.g. 2
    forbid_self_review: the person who triggered a deployment cannot approve it.
    protected_branches_only: it deploys only from protected branches.
    allowed_branches: branch patterns acceptable when the platform limits deployments by pattern instead.
        e.g. [main, "release/*"]
    """

    name: str = "production"
    min_reviewers: int = 1
    forbid_self_review: bool = True
    protected_branches_only: bool = True
    allowed_branches: tuple[str, ...] = ()  # patterns acceptable when deploys are limited by pattern


def _scope(params: Params, target: Target) -> Mapping[str, Any]:
    return {"environments": (params.name,)}


@check(
    "cd.production-environment",
    title="Production is a protected environment",
    severity=Severity.HIGH,
    needs=("environments",),
    params=Params,
    requires_target=("platform", "repository"),
    scope=_scope,
)
def production_environment(facts: Facts, params: Params, target: Target) -> Iterator[Outcome]:
    """The environment `name` (production) exists, a deployment to it needs at least `min_reviewers`
    approvals, the person who triggered a deployment cannot approve it (`forbid_self_review`), and it
    deploys only from protected branches (`protected_branches_only`) — or, when the platform limits
    deployments by branch pattern, only from patterns matching `allowed_branches`.

    GitHub: environment protection rules and deployment branch policies; GitLab: protected
    environments with approval rules (Premium); Azure DevOps: environment approval and branch-control
    checks. Custom protection rules and other checks are listed in the evidence.
    """
    envs = facts.environments
    env = next((e for e in envs.environments if e.name == params.name), None)
    subj = subject(envs.platform, envs.repository, f"environment/{params.name}")
    if env is None or not env.exists:
        yield Outcome(
            subj,
            f"environment {params.name} does not exist",
            violations=(Violation(f"no environment named {params.name}: create it with protection rules"),),
            evidence=envs.notes,
        )
        return
    evidence = (*(f"rule: {r}" for r in env.other_rules), *((env.url,) if env.url else ()), *env.notes)
    violations, unknown = [], []
    if env.min_approvals is None:
        unknown.append("its required approvals")
    elif env.min_approvals < params.min_reviewers:
        violations.append(
            Violation(f"{params.name} needs {env.min_approvals} approval(s), policy wants {params.min_reviewers}")
        )
    if params.forbid_self_review:
        if env.self_review_allowed is None:
            unknown.append("whether self-review is allowed")
        elif env.self_review_allowed:
            violations.append(Violation(f"whoever triggers a deployment to {params.name} may approve it"))
    if params.protected_branches_only:
        if env.branch_policy is None:
            unknown.append("its deployment branch policy")
        elif env.branch_policy == "any":
            violations.append(Violation(f"{params.name} accepts deployments from any branch"))
        elif env.branch_policy == "patterns":
            stray = [
                p for p in env.branch_patterns if not any(fnmatch.fnmatchcase(p, a) for a in params.allowed_branches)
            ]
            if stray or not env.branch_patterns:
                violations.append(
                    Violation(
                        f"{params.name} accepts deployments from branch patterns "
                        f"{', '.join(stray) or '(none listed)'} not in allowed_branches"
                    )
                )
    message = (
        f"{params.name}: {env.min_approvals if env.min_approvals is not None else '?'} approval(s) "
        f"from {len(env.reviewers)} reviewer(s), branches: {env.branch_policy or '?'}"
    )
    if violations:
        yield Outcome(subj, message, violations=tuple(violations), evidence=evidence)
    elif unknown:
        yield Outcome(
            subj,
            message,
            evidence=evidence,
            error=f"could not read {', '.join(unknown)}: {'; '.join(env.notes) or 'not reported'}",
        )
    else:
        yield Outcome(subj, message, evidence=evidence)
