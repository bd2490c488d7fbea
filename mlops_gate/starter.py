"""`mlops-gate init`: a commented starter policy for the repository in front of it.

It reads the repository the way a run does (the files provider: CI files, Dockerfiles, deploy manifests, rule
files, Alertmanager configs, orchestration files, drift monitors) and the checkout (mlops_gate.checkout: the
platform and repository of the remote), then lists every built-in check: on where the repository has what the
check judges and the target it needs is known, off with what it needs otherwise. So the policy validates, and a
first `mlops-gate check` on it has no "not configured" error for a check it turned on.
"""

from __future__ import annotations

import fnmatch
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate import __version__, checkout, policies, remotes, target
from mlops_gate.catalogue import catalogue
from mlops_gate.errors import UsageError
from mlops_gate.facts.files import RepoFiles
from mlops_gate.preflight import TOKENS
from mlops_gate.reporters.console import AREAS

FILE_KINDS = (
    "ci_config",
    "dockerfiles",
    "deploy_manifests",
    "workflow_files",
    "rule_files",
    "alertmanager_config",
    "drift_config",
)
PLATFORM_CHECKS = ("vcs.", "ci.required-runs", "cd.production-environment")
DEPLOY_JOBS = ("deploy*", "release*")


@dataclass(frozen=True)
class Found:
    """What `init` found: the files by kind, the target and where each value came from, notes, the CI's deploy jobs."""

    files: dict[str, list[str]]  # kind -> the paths of the files read
    target: target.Target  # what the checkout and CI say
    sources: dict[str, str]
    notes: tuple[str, ...]
    deploy_jobs: list[str]


def init(repo: Path, output: str | None, force: bool, env: Mapping[str, str]) -> int:
    from mlops_gate.output import stdout

    if not repo.is_dir():
        raise UsageError(f"--repo {repo}: no such directory")
    existing = policies.discover(repo) if output is None else None
    path = Path(output) if output and output != "-" else repo / policies.DISCOVERED_NAMES[0]
    clash = existing if existing is not None else (path if output != "-" and path.exists() else None)
    if clash is not None and not force:
        raise UsageError(
            f"{clash} already exists: init does not overwrite a policy",
            "pass --force to replace it, or --output FILE to write the starter elsewhere",
        )
    found = look(repo, env)
    text = starter(repo, found)
    if output == "-":
        stdout(text)
        return 0
    path.write_text(text, encoding="utf-8")
    on = text.count("enabled: true")
    print(
        f"mlops-gate: wrote {path}: {on} checks on, {text.count('enabled: false')} off (each says why).\n"
        f"  next: `mlops-gate policy validate {path}` and `mlops-gate check --repo {repo}`",
        file=sys.stderr,
    )
    return 0


def look(repo: Path, env: Mapping[str, str]) -> Found:
    """What the repository has, read as a run reads it."""
    from mlops_gate.engine import collect

    records = collect({k: frozenset() for k in FILE_KINDS}, repo, target.Target(), env)
    files: dict[str, list[str]] = {}
    jobs: list[str] = []
    for kind, record in records.items():
        value = record.value if isinstance(record.value, RepoFiles) else None
        files[kind] = [f.path for f in value.files if not f.error] if value is not None else []
        if kind == "ci_config" and value is not None:
            jobs = sorted({j for f in value.files for doc in f.documents for j in _job_names(doc)})
    detected = target.detect(env)
    seen = checkout.infer(repo, detected, env)
    tgt, sources = checkout.layered(("checkout", seen.target), ("CI", detected))
    return Found(files, tgt, sources, seen.notes, jobs)


def _job_names(doc: Any, depth: int = 0) -> list[str]:
    """Names in a CI file that look like deploy jobs (GitHub `jobs:`, GitLab top-level jobs, Azure stages/jobs)."""
    if depth > 5:
        return []
    out: list[str] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        for name in (key, value.get("job"), value.get("deployment")) if isinstance(value, dict) else (key,):
            if isinstance(name, str) and any(fnmatch.fnmatch(name.lower(), g) for g in DEPLOY_JOBS):
                out.append(name)
        out += _job_names(value, depth + 1)
    return out


def decide(check_id: str, requires: tuple[str, ...], found: Found) -> tuple[bool, str]:
    """(on?, why) for one built-in check."""
    f, tgt = found.files, found.target
    missing = [r for r in requires if not getattr(tgt, r)]
    if check_id == "policy.unchanged":
        return True, "on a pull/merge request, the target branch's copy of this file judges it"
    if check_id.startswith(PLATFORM_CHECKS) or check_id == "vcs.signed-commits":
        if missing:
            cause = found.notes[0] if found.notes else "not a git checkout, and not in CI"
            return False, f"needs {' and '.join('target.' + m for m in missing)} ({cause}): set them above"
        if check_id == "vcs.signed-commits":
            return False, "signed commits: many teams are not there yet (on in the strict profile)"
        token = TOKENS[tgt.platform].variables[0] if tgt.platform in TOKENS else "a token"
        return (
            True,
            f"reads {tgt.repository} on {remotes.PLATFORM_NAMES.get(tgt.platform or '', tgt.platform)} with {token}",
        )
    rules = {
        "ci.pr-pipeline": ("ci_config", "no CI configuration (.github/workflows, .gitlab-ci.yml, azure-pipelines.yml)"),
        "orchestration.workflow-defined": (
            "workflow_files",
            "no Databricks bundle, Airflow DAG or Step Functions found",
        ),
        "image.base-pinned": ("dockerfiles", "no Dockerfile found"),
        "image.digest-pinned": (
            "deploy_manifests",
            "no deploy manifest found (Kubernetes, KServe, Helm values, compose)",
        ),
        "monitoring.alert-rules": ("rule_files", "no Prometheus rule file found"),
        "monitoring.alert-routing": ("alertmanager_config", "no Alertmanager configuration found"),
    }
    if check_id in rules:
        kind, absent = rules[check_id]
        return (True, f"found {_listed(f[kind])}") if f[kind] else (False, f"{absent}: turn it on when you add one")
    if check_id == "cd.deploy-via-pipeline":
        if found.deploy_jobs:
            return True, f"found deploy jobs in CI: {', '.join(found.deploy_jobs[:4])}"
        return False, "no deploy job (deploy*, release*) in CI: turn it on when CI deploys"
    if check_id == "monitoring.drift-monitor":
        watched = list(dict.fromkeys(f["rule_files"] + f["drift_config"]))
        if watched:
            return True, f"found monitoring in {_listed(watched)}: a drift alert or monitor must be among it"
        return False, "no monitoring found (rule files, drift monitors): turn it on when the model is monitored"
    if missing:
        return False, f"needs {', '.join(_flag(m) for m in missing)}"
    return False, "off in the default profile"


def starter(repo: Path, found: Found) -> str:
    tgt = found.target
    name = tgt.repository or repo.resolve().name
    lines = [
        f"# mlops-gate policy for {name}: a starter written by `mlops-gate init` (mlops-gate {__version__}).",
        "# Every built-in check is listed: on where this repository has what the check judges, off with what it",
        "# needs. `mlops-gate explain ID` documents a check and its params; `mlops-gate policy validate` checks this",
        "# file; `mlops-gate check` runs the gate. Found:",
        *(f"#   {line}" for line in _summary(found)),
        "",
        "version: 1",
        "extends: default",
        "fail_on: high  # the lowest severity that blocks: critical, high, medium, low or info",
        "",
        "# What is gated. A run reads it, highest first, from flags, MLOPS_GATE_* variables, this block, CI",
        "# detection, and the checkout (platform and repository from the git remote, commit from HEAD, the branch).",
        *(f"# {line}" for line in _target_lines(found)),
        "# target:",
        *(
            []
            if tgt.platform and tgt.repository
            else ["#   platform: github                       # github, gitlab or azure", "#   repository: OWNER/NAME"]
        ),
        "#   model: NAME@ALIAS                      # the MLflow model version released (registry checks)",
        "#   image: REGISTRY/REPO@sha256:DIGEST     # the image released (image.* and release checks)",
        "#   prometheus_url: https://prometheus.example.com   # the live Prometheus (monitoring.live)",
        "",
        "checks:",
    ]
    area = ""
    builtin = [s for s in catalogue().checks.values() if s.origin.startswith("mlops_gate.")]
    order = {a: i for i, a in enumerate(AREAS)}
    for spec in sorted(builtin, key=lambda s: (order.get(s.area, len(AREAS)), s.id)):
        if spec.area != area:
            area = spec.area
            lines.append(f"  # --- {area} " + "-" * (100 - len(area)))
        on, why = decide(spec.id, spec.requires_target, found)
        comment = f"{spec.title}. {'On' if on else 'Off'}: {why}."
        lines += textwrap.wrap(comment, 114, initial_indent="  # ", subsequent_indent="  #   ")
        lines += [f"  {spec.id}:", f"    enabled: {'true' if on else 'false'}"]
    lines += ["", "waivers: []", ""]
    return "\n".join(lines)


def _summary(found: Found) -> list[str]:
    names = {
        "ci_config": "CI files",
        "dockerfiles": "Dockerfiles",
        "deploy_manifests": "deploy manifests",
        "workflow_files": "orchestration files",
        "rule_files": "Prometheus rule files",
        "alertmanager_config": "Alertmanager configs",
        "drift_config": "drift monitor candidates",
    }
    out = [f"{names[k]}: {_listed(v) if v else 'none'}" for k, v in found.files.items()]
    return [textwrap.shorten(line, 112, placeholder=" ...") for line in out]


def _target_lines(found: Found) -> list[str]:
    tgt = found.target
    known = [
        f"{name} {getattr(tgt, name)} (from the {found.sources.get(name, '')})"
        for name in ("platform", "repository", "api_url")
        if getattr(tgt, name)
    ]
    notes = "; ".join(found.notes)
    if known:
        out = ["Now: " + "; ".join(known) + "." + (f" ({notes})" if notes else "")]
    else:
        out = [f"Now: no platform or repository is known{f' ({notes})' if notes else ''}."]
    return [w for line in out for w in textwrap.wrap(line, 114)]


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"{len(paths)} file{'' if len(paths) == 1 else 's'} ({shown})"


def _flag(field: str) -> str:
    return f"--{field.replace('_', '-')} (or target.{field})"
