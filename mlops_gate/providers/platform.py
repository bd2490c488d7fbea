"""Source-control platform facts: dispatch to the provider of the target's platform.

Each platform module (github, gitlab, azure) exposes the same three functions, so every platform
check is written once over the host-neutral facts in `mlops_gate.facts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from mlops_gate.errors import FactError
from mlops_gate.facts.platform import BranchProtections, CommitRuns, Environments, Run
from mlops_gate.providers import Context
from mlops_gate.target import PLATFORMS


class Host(Protocol):
    """What each platform module (github, gitlab, azure) offers: the same three readers."""

    def branch_protection(self, ctx: Context) -> BranchProtections: ...
    def commit_runs(self, ctx: Context) -> CommitRuns: ...
    def environments(self, ctx: Context) -> Environments: ...


def _host(ctx: Context) -> Host:
    """The module of the target's platform, imported only then (each brings its SDK)."""
    platform = ctx.target.platform
    if platform not in PLATFORMS:
        raise FactError("no source-control platform to read", "set --platform github|gitlab|azure or target.platform")
    if not ctx.target.repository:
        raise FactError("no repository to read", "set --repository or target.repository")
    if platform == "github":
        from mlops_gate.providers import github

        return github
    if platform == "gitlab":
        from mlops_gate.providers import gitlab

        return gitlab
    from mlops_gate.providers import azure

    return azure


def branch_protection(ctx: Context) -> BranchProtections:
    return _host(ctx).branch_protection(ctx)


def commit_runs(ctx: Context) -> CommitRuns:
    if not ctx.target.commit:
        raise FactError("no commit to read runs for", "set --commit or target.commit (detected in CI)")
    return without_current_job(_host(ctx).commit_runs(ctx), ctx.env)


def without_current_job(runs: CommitRuns, env: Mapping[str, str]) -> CommitRuns:
    """Drop the still-running CI work the gate itself is: it cannot wait for its own job (nor, on GitLab,
    for the pipeline containing it), so counting it would block every run. Sibling jobs still running
    keep counting (their result is not known yet); what was dropped is noted. On GitHub the job is the
    check run of this workflow run named MLOPS_GATE_JOB_NAME, else GITHUB_JOB (the job's key: set
    MLOPS_GATE_JOB_NAME when the job has a different `name:`)."""
    job = (env.get("MLOPS_GATE_JOB_NAME") or env.get("GITHUB_JOB") or "").lower()

    def current(run: Run) -> bool:
        if run.conclusion is not None:
            return False
        gh_run = env.get("GITHUB_RUN_ID")
        if gh_run and run.url and f"/actions/runs/{gh_run}/" in run.url:
            return bool(job) and run.name.lower() == job
        if run.source == "pipeline" and run.id == env.get("CI_PIPELINE_ID"):
            return True
        if run.source == "job" and run.id == env.get("CI_JOB_ID"):
            return True
        return run.source == "build" and run.id == env.get("BUILD_BUILDID")

    dropped = [r for r in runs.runs if current(r)]
    if not dropped:
        return runs
    note = "not counted (the gate's own pipeline, still running): " + ", ".join(sorted({r.name for r in dropped}))
    return replace(runs, runs=tuple(r for r in runs.runs if not current(r)), notes=(*runs.notes, note))


def environments(ctx: Context) -> Environments:
    return _host(ctx).environments(ctx)
