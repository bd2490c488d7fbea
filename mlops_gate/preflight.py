"""Said once, before anything is read: a credential or endpoint the planned checks will miss. A run without a
platform token does not find out check by check, after the timeouts: it is told up front which variable to
set, with which scope, and where that token will be sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mlops_gate.target import Target

PLATFORM_KINDS = frozenset({"branch_protection", "commit_runs", "environments"})


@dataclass(frozen=True)
class Token:
    """The credential one platform's checks need: the variables that hold it, its scope, and where it is sent."""

    variables: tuple[str, ...]  # first set wins
    scope: str  # what the token needs
    default_api: str  # where it goes unless --api-url, the policy or CI says otherwise
    api_variables: tuple[str, ...]  # the environment variables that name the API


TOKENS = {
    "github": Token(
        ("GITHUB_TOKEN", "GH_TOKEN"),
        "a fine-grained token with Metadata, Contents, Checks, Commit statuses and Actions read access "
        "(Administration read for classic branch protection), or a classic token with the repo scope",
        "https://api.github.com",
        ("GITHUB_API_URL",),
    ),
    "gitlab": Token(
        ("GITLAB_TOKEN",),
        "a token with the read_api scope, of a user with the Maintainer role (protection settings need it)",
        "https://gitlab.com",
        ("CI_API_V4_URL", "CI_SERVER_URL"),
    ),
    "azure": Token(
        ("AZURE_DEVOPS_TOKEN", "SYSTEM_ACCESSTOKEN"),
        "a personal access token with Code (Read), Build (Read) and Environment (Read & manage) scopes",
        "https://dev.azure.com/ORG",
        ("SYSTEM_COLLECTIONURI",),
    ),
}


def notes(
    kinds: Iterable[str], needed_by: Mapping[str, list[str]], target: Target, env: Mapping[str, str]
) -> list[str]:
    """What to tell the user before the run reads anything. `kinds`: the fact kinds the planned checks need;
    `needed_by`: kind -> the check ids that need it."""
    kinds = set(kinds)
    out: list[str] = []
    platform_checks = sorted({c for k in kinds & PLATFORM_KINDS for c in needed_by.get(k, [])})
    token = TOKENS.get(target.platform or "")
    if platform_checks and token is not None and not any(env.get(v) for v in token.variables):
        where = _api(target, token, env)
        named = " (or ".join(token.variables) + ")" * (len(token.variables) - 1)
        count = _plural(len(platform_checks), "check")
        if target.platform == "gitlab" and env.get("CI_JOB_TOKEN"):
            out.append(
                f"GITLAB_TOKEN is not set: {count} read {where} with CI_JOB_TOKEN, which cannot read protection "
                f"settings, approval rules or environments; set GITLAB_TOKEN to {token.scope}"
            )
        else:
            out.append(
                f"no {_name(target.platform)} token: {count} ({_short(platform_checks)}) read {where} anonymously, "
                f"which fails for a private repository or a protected setting; set {named} to {token.scope}. "
                f"The token is sent to {where} only"
            )
    if "mlflow_model" in kinds and not env.get("MLFLOW_TRACKING_URI"):
        registry = sorted(needed_by.get("mlflow_model", []))
        out.append(
            f"MLFLOW_TRACKING_URI is not set: {_plural(len(registry), 'check')} ({_short(registry)}) cannot read "
            "the model registry; set it to your MLflow server (and MLFLOW_TRACKING_USERNAME/PASSWORD or "
            "MLFLOW_TRACKING_TOKEN when it needs authentication)"
        )
    return out


def _api(target: Target, token: Token, env: Mapping[str, str]) -> str:
    if target.api_url:
        return target.api_url
    named = next((env[v] for v in token.api_variables if env.get(v)), None)
    if named:
        return named
    if target.platform == "azure" and target.repository:
        return token.default_api.replace("ORG", target.repository.split("/", 1)[0])
    return token.default_api


def _name(platform: str | None) -> str:
    return {"github": "GitHub", "gitlab": "GitLab", "azure": "Azure DevOps"}.get(platform or "", str(platform))


def _short(ids: list[str]) -> str:
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
