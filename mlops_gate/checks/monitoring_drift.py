"""monitoring.drift-monitor: something watches the model's inputs and predictions for drift."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlops_gate.checks._common import file_subject, repo_subject, skipped, unread
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.files import RepoFiles
from mlops_gate.lang import promrules as pr
from mlops_gate.lang.drift import DriftKind, drift_configs
from mlops_gate.lang.source import error_loc, loc, problem
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target

LOOKED_FOR = (
    "a Prometheus alert whose name or expr mentions drift",
    "an Azure ML monitor with a data_drift or prediction_drift signal",
    "a Databricks bundle quality monitor",
    "an Evidently, NannyML, alibi-detect or whylogs drift config or usage",
)


@dataclass(frozen=True)
class DriftMonitorParams:
    """The params of monitoring.drift-monitor.

    kinds: the kinds of drift monitor that count; empty means any.
        e.g. [prometheus, evidently]
    """

    kinds: tuple[DriftKind, ...] = ()


@check(
    "monitoring.drift-monitor",
    title="Drift monitoring is configured",
    severity=Severity.MEDIUM,
    needs=("drift_config", "rule_files"),
    params=DriftMonitorParams,
)
def drift_monitor(facts: Facts, params: DriftMonitorParams, target: Target) -> Iterator[Outcome]:
    """Something watches the model's inputs and predictions for drift.

    Any of these passes (narrowed by `kinds` when set): a Prometheus alert whose name or `expr`
    mentions drift (`prometheus`); an Azure ML model monitor whose `monitoring_signals` include a
    `data_drift`, `prediction_drift` or `feature_attribution_drift` signal (`azureml`); a Databricks
    bundle with `resources.quality_monitors` (`databricks`); a YAML/JSON config naming Evidently,
    NannyML, alibi-detect or whylogs and drift, or Python code importing one of them and mentioning
    drift (`evidently`, `nannyml`, `alibi-detect`, `whylogs`). One repository-wide result, and one
    failing result (`file:<path>`) for each file that mentions drift but could not be read or parsed.
    """
    drift = facts.drift_config
    for f in drift.files:
        if f.error:
            yield unread(f) or Outcome(
                file_subject(f), f"cannot parse {f.path}", (Violation(problem(f), error_loc(f)),)
            )
    found = [
        (kind, what, where)
        for kind, what, where in _drift_found(facts.rule_files, drift)
        if not params.kinds or kind in params.kinds
    ]
    subject = repo_subject(target, drift)
    if found:
        shown = "; ".join(
            f"{what} ({where.path}:{where.line})" if where.line else f"{what} ({where.path})"
            for _, what, where in found
        )
        yield Outcome(
            subject,
            f"{len(found)} drift monitor(s) found: {shown}",
            evidence=tuple(f"{kind}: {what} in {where.path}" for kind, what, where in found) + skipped(drift)[1],
        )
        return
    kinds = f" of kinds {', '.join(params.kinds)}" if params.kinds else ""
    yield Outcome(
        subject,
        f"no drift monitor{kinds} found" + skipped(drift)[0],
        (Violation(f"no drift monitor{kinds}; looked for {'; '.join(LOOKED_FOR)}"),),
        skipped(drift)[1],
    )


def _drift_found(rules: RepoFiles, drift: RepoFiles) -> Iterator[tuple[DriftKind, str, Location]]:
    for f in rules.files:
        for rule in pr.rules_of_file(f):
            if rule.kind == "alert" and ("drift" in rule.name.lower() or "drift" in rule.expr.lower()):
                yield "prometheus", f"alert {rule.name}", loc(f, *rule.path)
    yield from drift_configs(drift)
