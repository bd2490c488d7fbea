"""plan -> collect only the needed facts (concurrently) -> judge -> apply waivers -> Report."""

from __future__ import annotations

import datetime as dt
import fnmatch
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlops_gate import __version__, progress, typed
from mlops_gate.checkspec import CheckSpec
from mlops_gate.errors import FactError, GateError
from mlops_gate.facts import FactRecord, Facts
from mlops_gate.model import Outcome, Report, Result, Severity, Status
from mlops_gate.policy import CheckConfig, Policy
from mlops_gate.providers import Context, Meter, RunInputs, Shared
from mlops_gate.providers.readers import READERS
from mlops_gate.target import Target
from mlops_gate.threads import map_threads
from mlops_gate.waivers import apply_waivers, today_utc

TARGET_HINTS = {
    "platform": "--platform or target.platform",
    "repository": "--repository or target.repository",
    "branch": "--branch or target.branch",
    "commit": "--commit or target.commit",
    "model": "--model or target.model (NAME@ALIAS or NAME/VERSION)",
    "image": "--image or target.image",
    "prometheus_url": "--prometheus-url or target.prometheus_url",
    "alertmanager_url": "--alertmanager-url or target.alertmanager_url",
    "release": "--release (audit)",
}


@dataclass(frozen=True)
class Planned:
    """A check the run selected, with its policy config and the target fields it needs but lacks (then it does
    not run: it ends in an error saying what to set)."""

    spec: CheckSpec
    config: CheckConfig
    missing_target: tuple[str, ...]


def plan(
    policy: Policy,
    checks: Mapping[str, CheckSpec],
    target: Target,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
) -> list[Planned]:
    only, skip = list(only), list(skip)
    out = []
    for cid, spec in checks.items():
        config = policy.checks[cid]
        if not selected(cid, only, skip, config.enabled):
            continue
        missing = tuple(f for f in spec.requires_target if not getattr(target, f))
        out.append(Planned(spec, config, missing))
    return out


def selected(check_id: str, only: Iterable[str] = (), skip: Iterable[str] = (), enabled: bool = True) -> bool:
    """Whether `plan` runs a check: named by --only (ids or globs) or, without --only, `enabled`; and not
    named by --skip. `enabled=True`: whether the selection alone lets it run, whatever a policy says."""
    only, skip = list(only), list(skip)
    return (_any(check_id, only) if only else enabled) and not _any(check_id, skip)


def _any(check_id: str, patterns: list[str]) -> bool:
    """--only/--skip take ids or globs (`vcs.*`)."""
    return any(fnmatch.fnmatchcase(check_id, p) for p in patterns)


def needed(planned: list[Planned], target: Target) -> dict[str, frozenset[str]]:
    """Fact kinds the runnable checks need, each with the items they asked for."""
    scopes: dict[str, set[str]] = {}
    for p in planned:
        if p.missing_target:
            continue
        for kind in p.spec.needs:
            scopes.setdefault(kind, set())
        if p.spec.scope is not None:
            for kind, items in p.spec.scope(p.config.params, target).items():
                scopes.setdefault(kind, set()).update(items)
    return {k: frozenset(v) for k, v in scopes.items()}


def _internal(what: str, exc: Exception, debug: bool) -> str:
    """A bug's message; with -v the traceback too (never a bare traceback on the terminal)."""
    text = f"internal error {what}: {type(exc).__name__}: {exc}"
    if not debug:
        return f"{text} (-v shows the traceback)"
    import traceback  # a bug's path only

    return f"{text}\n{traceback.format_exc()}"


def collect(
    kinds: Mapping[str, frozenset[str]],
    root: Path,
    target: Target,
    env: Mapping[str, str],
    debug: bool = False,
    inputs: RunInputs | None = None,
    workers: int = 8,
) -> dict[str, FactRecord]:
    """Run each kind's provider once, concurrently (network-bound providers overlap; the file kinds share one
    pass over the repository, providers/_pass.py); `workers=1` reads them one after another."""
    shared = Shared(kinds=frozenset(kinds))
    base = Context(root=root, target=target, env=env, inputs=inputs or RunInputs(), shared=shared)

    def one(kind: str) -> FactRecord:
        ctx = replace(base, kind=kind, scope=kinds[kind], meter=Meter())
        start = time.perf_counter()
        try:
            with progress.reading(kind):  # the CLI's display names the fact kind being read
                value = READERS[kind](ctx)
            error = None
        except GateError as exc:
            value, error = None, exc.diagnostics()
        except Exception as exc:  # fail closed: a provider bug is an error result, not a crash or a pass
            value, error = None, _internal(f"reading {kind}", exc, debug)
        return FactRecord(
            kind,
            value,
            error,
            ctx.meter.requests,
            round(time.perf_counter() - start, 4),
            tuple(ctx.meter.sources),
        )

    if len(kinds) <= 1 or workers <= 1:
        return {k: one(k) for k in kinds}
    names = list(kinds)
    return dict(zip(names, map_threads(one, names, workers), strict=True))


def judge(p: Planned, facts: Mapping[str, FactRecord], target: Target, debug: bool = False) -> list[Result]:
    spec, config = p.spec, p.config

    def result(status: Status, subject: str, message: str, **extra: Any) -> Result:
        return Result(
            spec.id,
            spec.title,
            spec.area,
            config.severity,
            status,
            subject,
            message,
            docs=spec.docs_url,
            **extra,
        )

    subject = f"check:{spec.id}"
    if p.missing_target:
        wanted = "; ".join(TARGET_HINTS.get(f, f) for f in p.missing_target)
        return [result(Status.ERROR, subject, f"not configured: set {wanted}, or disable the check")]
    problems = []
    for kind in spec.needs:
        record = facts.get(kind)
        if record is None:
            problems.append(f"{kind}: not in the facts given (collect it with --facts-out)")
        elif record.error:
            problems.append(f"{kind}: {record.error}")
    if problems:
        return [result(Status.ERROR, subject, "could not read facts: " + " | ".join(problems))]
    values = Facts({k: facts[k].value for k in spec.needs})
    try:
        outcomes = list(spec.func(values, config.params, target))
    except FactError as exc:
        return [result(Status.ERROR, subject, exc.diagnostics())]
    except Exception as exc:  # fail closed
        return [result(Status.ERROR, subject, _internal("in the check", exc, debug))]
    if not outcomes:
        return [result(Status.ERROR, subject, "the check produced no result (a bug in the check)")]
    return [_from_outcome(o, result) for o in outcomes]


def _from_outcome(o: Outcome, result: Any) -> Result:
    status = Status.ERROR if o.error else Status.FAILED if o.violations else Status.PASSED
    r: Result = result(status, o.subject, o.error or o.message, violations=o.violations, evidence=o.evidence)
    return r


def run(
    policy: Policy,
    checks: Mapping[str, CheckSpec],
    target: Target,
    root: Path,
    *,
    env: Mapping[str, str],
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    facts_in: Mapping[str, FactRecord] | None = None,
    fail_on: Severity | None = None,
    today: dt.date | None = None,
    errors: tuple[str, ...] = (),
    debug: bool = False,
    inputs: RunInputs | None = None,
    workers: int = 8,
) -> tuple[Report, dict[str, FactRecord]]:
    """`inputs`: what the providers are told besides the target (the policy loaded, where trust anchors are
    read, this run's own output files); `workers`: how many fact kinds are read at once."""
    start = time.perf_counter()
    planned = plan(policy, checks, target, only, skip)
    if not planned:
        errors = (*errors, "no check was selected (--only/--skip, or every check disabled): an empty gate cannot pass")
    kinds = needed(planned, target)
    if facts_in is not None:
        facts = {k: v for k, v in facts_in.items() if k in kinds}
    else:
        facts = collect(kinds, root, target, env, debug, inputs, workers)
    results = [r for p in planned for r in judge(p, facts, target, debug)]
    use = apply_waivers(results, policy.waivers, today or today_utc())
    report = Report(
        tool_version=__version__,
        target={k: v for k, v in typed.to_data(target).items() if v},
        fail_on=fail_on or policy.fail_on,
        results=use.results,
        waivers_applied=use.applied,
        waivers_expired=use.expired,
        waivers_unused=use.unused,
        duration_s=round(time.perf_counter() - start, 3),
        errors=errors,
    )
    return report, facts
