"""Keep credentials out of every output: the last line of defence when anything is written."""

from __future__ import annotations

import re
from collections.abc import Mapping

TOKEN_VARS = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "AZURE_DEVOPS_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "MLOPS_GATE_REGISTRY_PASSWORD",
    "MLOPS_GATE_PROMETHEUS_TOKEN",
    "MLOPS_GATE_PROMETHEUS_PASSWORD",
    "MLOPS_GATE_ADMIN_TOKEN",
    "MLOPS_GATE_ALERTMANAGER_TOKEN",
    "MLOPS_GATE_ALERTMANAGER_PASSWORD",
)
_PATTERNS = re.compile(
    r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,})"
)


def secret_values(env: Mapping[str, str]) -> list[str]:
    found = [env[v] for v in TOKEN_VARS if len(env.get(v, "")) >= 6]
    found += [v for k, v in env.items() if k.endswith(("_TOKEN", "_PASSWORD", "_SECRET")) and len(v) >= 8]
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, env: Mapping[str, str]) -> str:
    for value in secret_values(env):
        text = text.replace(value, "***")
    return _PATTERNS.sub("***", text)
