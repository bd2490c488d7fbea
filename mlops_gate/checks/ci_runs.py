"""ci.required-runs: the exact commit being released passed its required CI runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.checks._platform import selected, subject, target_ref
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.platform import Run
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target


@dataclass(frozen=True)
class Params:
    """The params of ci.required-runs.

    required: run names that must have succeeded on the commit; empty means the required status checks of the
        branch protection (every run on the commit when it requires none).
        e.g. [test, build]
    allow_neutral: a `neutral` conclusion counts as success.
    allow_skipped: a `skipped` conclusion counts as success.
    """

    required: tuple[str, ...] = ()  # run names; empty: the branch protection's required checks
    allow_neutral: bool = False
    allow_skipped: bool = False


def _scope(params: Params, target: Target) -> Mapping[str, Any]:
    return {"branch_protection": (target_ref(target),)}


def latest(runs: tuple[Run, ...]) -> dict[str, Run]:
    """The latest attempt of each name (by start time, then id): a re-run supersedes what came before."""
    out: dict[str, Run] = {}
    for run in sorted(runs, key=lambda r: (_when(r.started_at), _id_key(r.id))):
        out[run.name] = run
    return out


def _when(stamp: str | None) -> float:
    """ISO 8601 with any offset ('Z', '+02:00') as a comparable instant; unknown sorts first."""
    if not stamp:
        return float("-inf")
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).timestamp()


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)


@check(
    "ci.required-runs",
    title="The released commit passed its required CI runs",
    severity=Severity.HIGH,
    needs=("commit_runs", "branch_protection"),
    params=Params,
    requires_target=("platform", "repository", "commit"),
    scope=_scope,
)
def required_runs(facts: Facts, params: Params, target: Target) -> Iterator[Outcome]:
    """Every name in `required` has a successful latest run on the exact commit being gated.

    `required` defaults to the required status checks of the target branch's protection (the pull
    request's base branch, else the default branch); when that requires none, every run reported on
    the commit must have succeeded, and at least one must exist. The latest attempt of each name
    decides (a green re-run supersedes a red one, and the other way round). `success` passes;
    `neutral` and `skipped` pass only with `allow_neutral` / `allow_skipped`; a run still pending or
    missing fails with its name.
    """
    runs = facts.commit_runs
    bp = facts.branch_protection
    subj = subject(runs.platform, runs.repository, runs.sha[:12])
    by_name = latest(runs.runs)
    names = list(params.required)
    origin = "policy"
    if not names:
        branches, _ = selected(bp, (target_ref(target),))
        checks = [c for b in branches for c in (b.required_checks or ())]
        names, origin = sorted({c.name for c in checks}), "branch protection"
        if not names:
            names, origin = sorted(by_name), "every run on the commit"
    evidence = (f"required by {origin}: {', '.join(names) or 'none'}", *runs.notes)
    if not names:
        yield Outcome(
            subj,
            f"no CI run on {runs.sha[:12]}",
            evidence=evidence,
            violations=(Violation(f"no CI run reported on commit {runs.sha}"),),
        )
        return
    ok = {"success", *(["neutral"] if params.allow_neutral else []), *(["skipped"] if params.allow_skipped else [])}
    violations = []
    for name in names:
        run = by_name.get(name)
        if run is None:
            violations.append(Violation(f"{name}: no run on {runs.sha[:12]}"))
        elif run.conclusion is None:
            violations.append(Violation(f"{name}: still {run.status}", _where(run)))
        elif run.conclusion not in ok:
            violations.append(Violation(f"{name}: latest run {run.conclusion}", _where(run)))
    passed = len(names) - len(violations)
    yield Outcome(
        subj,
        f"{passed} of {len(names)} required run(s) succeeded on {runs.sha[:12]}",
        violations=tuple(violations),
        evidence=evidence,
    )


def _where(run: Run) -> Location | None:
    return Location(run.url) if run.url else None
