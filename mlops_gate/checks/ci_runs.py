"""ci.required-runs: the exact commit being released passed its required CI runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_gate.checks._platform import selected, subject, target_ref
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.platform import CommitRuns, Run
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


ANY_APP = ("", "-1")  # GitHub: a required check with no app (or -1) accepts any source


def attempts(runs: tuple[Run, ...], name: str, app: str | None = None) -> list[Run]:
    """The latest attempt (by start time, then id: a re-run supersedes what came before) of each reporter of
    `name`, as GitHub requires them: the check runs of each app and the commit statuses are kept apart, and
    each must pass (a status cannot outrank a failed check run of the same name). `app` (a required check
    pinned to a GitHub App id, or a slug): only that app's check runs count."""
    pinned = app is not None and app not in ANY_APP
    out: dict[tuple[str, str | None], Run] = {}
    for run in sorted(runs, key=lambda r: (_when(r.started_at), _id_key(r.id))):
        if run.name != name or (pinned and not (run.source == "check-run" and app in (run.app_id, run.app))):
            continue
        out[(run.source, run.app_id or run.app)] = run
    return list(out.values())


def names(runs: tuple[Run, ...]) -> list[str]:
    return sorted({r.name for r in runs})


def reporter(run: Run) -> str:
    if run.source == "check-run":
        return f"check run of {run.app or 'app ' + (run.app_id or '?')}"
    return "commit status" if run.source == "status" else run.source


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
    missing fails with its name. As GitHub does, a required check pinned to an app counts only that app's
    check runs (a commit status or another app's run of the same name never does); unpinned, the check runs
    of each app and the commit statuses of that name are each judged by their latest attempt, and all must
    pass.
    """
    runs = facts.commit_runs
    bp = facts.branch_protection
    subj = subject(runs.platform, runs.repository, runs.sha[:12])
    wanted: list[tuple[str, str | None]] = [(n, None) for n in params.required]
    origin = "policy"
    if not wanted:
        branches, _ = selected(bp, (target_ref(target),))
        pinned = {
            (c.name, c.app if c.app not in ANY_APP else None) for b in branches for c in (b.required_checks or ())
        }
        wanted, origin = sorted(pinned, key=lambda c: (c[0], c[1] or "")), "branch protection"
        if not wanted:
            wanted, origin = [(n, None) for n in names(runs.runs)], "every run on the commit"
    shown = [f"{n} (app {a})" if a else n for n, a in wanted]
    evidence = (f"required by {origin}: {', '.join(shown) or 'none'}", *runs.notes)
    if not wanted:
        yield Outcome(
            subj,
            f"no CI run on {runs.sha[:12]}",
            evidence=evidence,
            violations=(Violation(f"no CI run reported on commit {runs.sha}"),),
        )
        return
    ok = {"success", *(["neutral"] if params.allow_neutral else []), *(["skipped"] if params.allow_skipped else [])}
    violations: list[Violation] = []
    passed = 0
    for name, app in wanted:
        problems = _problems(runs, name, app, ok)
        violations += problems
        passed += not problems
    yield Outcome(
        subj,
        f"{passed} of {len(wanted)} required run(s) succeeded on {runs.sha[:12]}",
        violations=tuple(violations),
        evidence=evidence,
    )


def _problems(runs: CommitRuns, name: str, app: str | None, ok: set[str]) -> list[Violation]:
    found = attempts(runs.runs, name, app)
    if not found:
        others = sum(1 for r in runs.runs if r.name == name)
        if app and others:
            return [
                Violation(
                    f"{name}: no check run from the required app {app} on {runs.sha[:12]} "
                    f"({others} report(s) of that name from other sources do not count)"
                )
            ]
        return [Violation(f"{name}: no run on {runs.sha[:12]}")]
    out = []
    for run in found:
        who = f"{name} ({reporter(run)})" if len(found) > 1 else name
        if run.conclusion is None:
            out.append(Violation(f"{who}: still {run.status}", _where(run)))
        elif run.conclusion not in ok:
            out.append(Violation(f"{who}: latest run {run.conclusion}", _where(run)))
    return out


def _where(run: Run) -> Location | None:
    return Location(run.url) if run.url else None
