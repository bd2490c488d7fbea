"""What a run shows about itself besides its results: the target layer by layer (the checkout, CI detection, the
policy's target:, MLOPS_GATE_* variables, flags; later wins) with where each value came from, the policy as the
header names it, and the checks the run leaves out and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mlops_gate import checkout, engine, policy
from mlops_gate import target as targets
from mlops_gate.checkspec import CheckSpec
from mlops_gate.model import NotRun
from mlops_gate.request import CheckRequest


def target(
    req: CheckRequest,
    repo: Path,
    env: Mapping[str, str],
    pol: policy.Policy,
    detected: targets.Target,
    flags: targets.Target,
    live: bool,
) -> tuple[targets.Target, dict[str, str], tuple[str, ...]]:
    """The target, layer by layer (later wins): the checkout (live runs only: a replay reads nothing), CI
    detection, the policy's target:, the MLOPS_GATE_* variables, the flags; with where each value came from."""
    stated = targets.merge(detected, pol.target, flags)
    seen = checkout.infer(repo, stated, env) if live else checkout.Inferred()
    where = f"remote {seen.remote}" if seen.remote else "remote"
    from_env = {f for f in targets.FIELDS if getattr(req.env_flags, f) and not getattr(req.flags, f)}
    only_flags = replace(flags, **{f: None for f in from_env if getattr(flags, f) == getattr(req.env_flags, f)})
    layers = [
        ("checkout", seen.target),
        (f"CI ({ci_name(env)})", detected),
        (f"policy ({pol.source})", pol.target),
        ("env", req.env_flags),
        ("flag", only_flags),
    ]
    tgt, sources = checkout.layered(*layers)
    for name, label in list(sources.items()):
        if label == "env":
            sources[name] = f"MLOPS_GATE_{name.upper()}"
        elif label == "flag":
            sources[name] = f"--release {req.release}" if name in ("commit", "release") and req.release else "flag"
        elif label == "checkout":
            sources[name] = f"checkout: {'HEAD' if name in ('commit', 'branch') else where}"
    return tgt, sources, seen.notes


def shown_path(label: str) -> str:
    """A policy file as the header shows it: relative to the working directory when it is below it."""
    path = Path(label)
    if not path.is_absolute():
        return label
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return label


def ci_name(env: Mapping[str, str]) -> str:
    if env.get("GITHUB_ACTIONS") == "true":
        return "GitHub Actions"
    if env.get("GITLAB_CI") == "true":
        return "GitLab CI"
    return "Azure Pipelines"


def not_run(
    pol: policy.Policy, checks: Mapping[str, CheckSpec], only: list[str], skip: list[str]
) -> tuple[NotRun, ...]:
    """The checks this run leaves out, and why (the report lists them, one line per area)."""
    out = []
    for cid, spec in checks.items():
        config = pol.checks[cid]
        if engine.selected(cid, only, skip, config.enabled):
            continue
        if not engine.selected(cid, (), skip):
            why = "skipped"
        elif only and not engine.selected(cid, only, (), True):
            why = "not selected"
        else:
            why = "disabled"
        out.append(NotRun(cid, spec.area, why, pol.enabled_by.get(cid, ""), spec.requires_target))
    return tuple(out)
