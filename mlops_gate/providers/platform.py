"""Source-control platform facts: dispatch to the provider of the target's platform.

Each platform module (github, gitlab, azure) exposes the same three functions, so every platform
check is written once over the host-neutral facts in `mlops_gate.facts`.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlops_gate.errors import FactError
from mlops_gate.facts import BranchProtections, CommitRuns, Environments
from mlops_gate.providers import Context
from mlops_gate.target import PLATFORMS


def _host(ctx: Context) -> Any:
    platform = ctx.target.platform
    if platform not in PLATFORMS:
        raise FactError("no source-control platform to read", "set --platform github|gitlab|azure or target.platform")
    if not ctx.target.repository:
        raise FactError("no repository to read", "set --repository or target.repository")
    return importlib.import_module(f"mlops_gate.providers.{platform}")


def branch_protection(ctx: Context) -> BranchProtections:
    result: BranchProtections = _host(ctx).branch_protection(ctx)
    return result


def commit_runs(ctx: Context) -> CommitRuns:
    if not ctx.target.commit:
        raise FactError("no commit to read runs for", "set --commit or target.commit (detected in CI)")
    result: CommitRuns = _host(ctx).commit_runs(ctx)
    return result


def environments(ctx: Context) -> Environments:
    result: Environments = _host(ctx).environments(ctx)
    return result
