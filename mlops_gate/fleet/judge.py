"""One repository of the fleet: its default branch head, its own policy file over the fleet policy, then the
engine with the checks that need no checkout (platform settings, runs, environments, registry, images, live
monitoring) — the same checks, the same providers, the same rule for every platform as `check`.

Checks that read repository files run only with `--files`, on the archive of the default branch head fetched
through the API (fleet/archive.py); without it they are listed as not run, never passed. `policy.unchanged`
never runs (it compares a pull request with its target branch; there is none here).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_gate import engine
from mlops_gate.catalogue import catalogue
from mlops_gate.errors import GateError
from mlops_gate.fleet import archive, overrides, platforms
from mlops_gate.fleet.exchange import FleetExchange
from mlops_gate.fleet.platforms import Repo
from mlops_gate.policy import Policy
from mlops_gate.providers import Context, RunInputs
from mlops_gate.reporters._safe import safe
from mlops_gate.reporters.json_report import result_data
from mlops_gate.target import Target

# fact kinds read through an API, not from a checkout
REMOTE_KINDS = frozenset(
    {
        "branch_protection",
        "commit_runs",
        "environments",
        "mlflow_model",
        "oci_image",
        "prometheus_state",
        "alertmanager_state",
    }
)


@dataclass(frozen=True)
class Setup:
    """What every repository of the run shares."""

    policy_ref: str  # the fleet policy as `extends` takes it: an absolute path or a built-in profile's name
    policy: Policy
    env: Mapping[str, str]
    api_url: str | None
    root: Path  # an empty directory: nothing is read from a checkout
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    image_registries: frozenset[str] = frozenset()
    files: bool = False  # also the checks that read files, on the archive of the default branch head
    archive_max_bytes: int = archive.DEFAULT_MAX_BYTES


def remote_checks(files: bool = False) -> list[str]:
    if files:
        return [cid for cid, spec in catalogue().checks.items() if "policy_file" not in spec.needs]
    return [cid for cid, spec in catalogue().checks.items() if set(spec.needs) <= REMOTE_KINDS]


def selected_checks(policy: Policy, setup: Setup) -> list[str]:
    return [
        cid
        for cid in remote_checks(setup.files)
        if policy.checks[cid].enabled and engine.selected(cid, setup.only, setup.skip)
    ]


def _error(repo: Repo, reason: str, exchange: FleetExchange, **extra: Any) -> dict[str, Any]:
    return {
        **entry_head(repo),
        **extra,
        "status": "judged",
        "verdict": "error",
        "reason": reason,
        "results": [],
        **_requests(exchange),
    }


def not_judged(repo: Repo, reason: str, exchange: FleetExchange | None = None, **extra: Any) -> dict[str, Any]:
    return {
        **entry_head(repo),
        **extra,
        "status": "not_judged",
        "verdict": None,
        "reason": reason,
        **_requests(exchange),
    }


def entry_head(repo: Repo) -> dict[str, Any]:
    return {"name": repo.name, "platform": repo.platform, "url": repo.url, "default_branch": repo.default_branch}


def _requests(exchange: FleetExchange | None) -> dict[str, Any]:
    c = exchange.counter if exchange is not None else None
    return {
        "requests": {
            "sent": c.sent if c else 0,
            "counted": c.counted if c else 0,
            "not_modified": c.not_modified if c else 0,
        }
    }


def judge(repo: Repo, setup: Setup, exchange: FleetExchange) -> dict[str, Any]:
    start = time.perf_counter()
    if not repo.default_branch:
        return not_judged(repo, "no default branch (an empty repository)", exchange)
    branch = repo.default_branch
    inputs = RunInputs(exchange=exchange)
    base = Target(platform=repo.platform, repository=repo.name, branch=branch, api_url=setup.api_url)
    ctx = Context(root=setup.root, target=base, env=setup.env, inputs=inputs)
    notes: list[str] = []
    try:
        commit = platforms.HEAD[repo.platform](ctx, repo, branch)
        found = platforms.POLICY[repo.platform](ctx, repo, branch)
        if found is None:
            pol, model, image = setup.policy, setup.policy.target.model, setup.policy.target.image
            policy_file = None
        else:
            applied = overrides.apply(setup.policy_ref, setup.policy, found[0], found[1], setup.image_registries)
            pol, model, image, policy_file = applied.policy, applied.model, applied.image, found[0]
            notes.extend(applied.notes)
    except GateError as exc:
        if exchange.stopped:
            return not_judged(repo, exchange.stopped, exchange)
        return _error(repo, exc.diagnostics(), exchange)
    target = Target(
        platform=repo.platform,
        repository=repo.name,
        branch=branch,
        commit=commit,
        api_url=setup.api_url,
        model=model,
        image=image,
        prometheus_url=setup.policy.target.prometheus_url,
        alertmanager_url=setup.policy.target.alertmanager_url,
    )
    ids = selected_checks(pol, setup)
    files = Path(tempfile.mkdtemp(prefix="files-", dir=setup.root)) if setup.files else None
    try:
        if files is not None:
            try:
                count = archive.fetch(ctx, repo, commit, files, setup.archive_max_bytes)
            except GateError as exc:
                if exchange.stopped:
                    return not_judged(repo, exchange.stopped, exchange, commit=commit)
                return _error(repo, exc.diagnostics(), exchange, commit=commit)
            notes.append(f"files: {count} read from the archive of {branch} at {commit[:12]}")
        root = files or setup.root
        report, _ = engine.run(pol, catalogue().checks, target, root, env=setup.env, only=ids, inputs=inputs)
    finally:
        if files is not None:
            shutil.rmtree(files, ignore_errors=True)
    if exchange.stopped:  # a request was refused midway: what was read is not enough to judge on
        return not_judged(repo, exchange.stopped, exchange, commit=commit)
    report = safe(report)
    blocking = {id(r) for r in report.blocking()}
    return {
        **entry_head(repo),
        "commit": commit,
        "status": "judged",
        "verdict": report.verdict.value,
        "reason": None,
        "fail_on": report.fail_on.value,
        "policy": {"file": policy_file, "digest": pol.digest, "notes": notes},
        "results": [result_data(r, blocking=id(r) in blocking) for r in report.results],
        "errors": list(report.errors),
        "duration_s": round(time.perf_counter() - start, 3),
        **_requests(exchange),
    }
