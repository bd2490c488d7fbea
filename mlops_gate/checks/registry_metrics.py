"""registry.metrics: the released model version meets its metric thresholds, and does not regress against the
version holding the `compare_to` alias."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from mlops_gate.checks.registry import unread, where
from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target
from mlops_gate.typed import DataError

_BOUND = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_OPS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}


def parse_bound(text: str) -> tuple[str, float]:
    """`">= 0.80"` -> (">=", 0.8); ValueError for anything else."""
    m = _BOUND.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a bound like '>= 0.80', '<= 50', '> 0' or '== 1'")
    return m.group(1), float(m.group(2))


@dataclass(frozen=True)
class MetricsParams:
    """The params of registry.metrics.

    thresholds: bounds each metric must meet: `>=`, `>`, `<=`, `<` or `==` and a number.
        e.g. {val_auc: ">= 0.80", latency_p95_ms: "<= 50"}
    compare_to: an alias whose version is the baseline for max_regression; empty means no comparison.
        e.g. champion
    max_regression: the largest worsening allowed per metric against the baseline, in the metric's units.
        e.g. {val_auc: 0.01}
    lower_is_better: metrics for which a rise is a regression (besides those bounded by `<=` or `<`).
        e.g. [log_loss]
    """

    thresholds: dict[str, str] = field(default_factory=dict)  # metric -> ">= 0.80", "<= 50", "> 0", "== 1"
    compare_to: str | None = None  # an alias, e.g. "champion": the version holding it is the baseline
    max_regression: dict[str, float] = field(default_factory=dict)  # metric -> largest allowed worsening
    lower_is_better: tuple[str, ...] = ()  # besides metrics whose threshold is an upper bound (<=, <)

    def __post_init__(self) -> None:
        base = "checks.registry.metrics.params"
        for metric, bound in self.thresholds.items():
            try:
                parse_bound(bound)
            except ValueError as exc:
                raise DataError(f"{base}.thresholds.{metric}", str(exc)) from None
        for metric, drop in self.max_regression.items():
            if drop < 0 or math.isnan(drop):
                raise DataError(f"{base}.max_regression.{metric}", f"must be a number >= 0, got {drop}")
        if self.max_regression and not self.compare_to:
            raise DataError(f"{base}.max_regression", "needs compare_to (the alias of the baseline version)")

    def lower_better(self, metric: str) -> bool:
        return metric in self.lower_is_better or self.thresholds.get(metric, "").lstrip().startswith("<")


def _metrics_scope(params: MetricsParams, target: Target) -> Mapping[str, tuple[str, ...]]:
    return {"mlflow_model": (f"alias:{params.compare_to}",)} if params.compare_to else {}


@check(
    "registry.metrics",
    title="The model version meets its metric thresholds",
    severity=Severity.HIGH,
    needs=("mlflow_model",),
    params=MetricsParams,
    requires_target=("model",),
    scope=_metrics_scope,
)
def metrics(facts: Facts, params: MetricsParams, target: Target) -> Iterator[Outcome]:
    """Every metric in `thresholds` (e.g. `val_auc: ">= 0.80"`, `latency_p95_ms: "<= 50"`) was logged,
    by the version's run or its MLflow 3 logged model (whose value wins), and meets its bound.

    With `compare_to` (an alias, e.g. `champion`), no metric in `max_regression` is worse than in the
    version holding that alias by more than its allowed amount (absolute, in the metric's units; a drop
    for higher-is-better metrics, a rise for those in `lower_is_better` or bounded by `<=`/`<`). The
    comparison is skipped, with a note, when the candidate holds the alias itself or no version does.
    A policy with neither thresholds nor compare_to ends in `error`: a metric gate with no bar cannot pass.
    """
    model = facts.mlflow_model
    mv = model.version
    if mv is None:
        yield unread(model, "the model version")
        return
    if not params.thresholds and not params.compare_to:
        yield Outcome(
            model.subject,
            "",
            error="not configured: set params.thresholds (and compare_to / "
            "max_regression) for registry.metrics, or disable the check",
        )
        return
    values = model.metrics()
    at = where(model.run.url if model.run else mv.url)
    violations = []
    for metric, bound in sorted(params.thresholds.items()):
        op, limit = parse_bound(bound)
        value = values.get(metric)
        if value is None:
            violations.append(Violation(f"{metric} was not logged (policy wants {op} {limit:g})", at))
        elif math.isnan(value) or not _OPS[op](value, limit):
            violations.append(Violation(f"{metric} = {value:g}, policy wants {op} {limit:g}", at))
    notes = [f"{m} = {values[m]:g}" for m in sorted(params.thresholds) if m in values]
    if params.compare_to:
        compared = model.compared.get(params.compare_to)
        if compared is None:
            yield Outcome(
                model.subject,
                "",
                error=f"the version holding {params.compare_to!r} was not read "
                "(facts collected without compare_to: collect them again)",
            )
            return
        if compared.version is None or compared.version == mv.version:
            why = (
                f"version {mv.version} is the {params.compare_to} itself"
                if compared.version == mv.version
                else f"no version holds {params.compare_to!r}"
            )
            if not params.thresholds:  # no bar and nothing to compare with: nothing was checked
                yield Outcome(
                    model.subject,
                    "no metric was checked",
                    error=f"{why} and no thresholds are set: set checks.registry.metrics.params.thresholds",
                )
                return
            notes.append("; ".join([f"comparison with {params.compare_to} skipped: {why}", *compared.notes]))
        else:
            found, compared_n = _regressions(params, values, compared.metrics, compared.version, at)
            violations += found
            notes.append(
                f"compared with version {compared.version} ({params.compare_to}): {compared_n} metric(s) compared"
            )
            if not params.thresholds and not found and not compared_n:
                yield Outcome(
                    model.subject,
                    "no metric was checked",
                    evidence=tuple(notes),
                    error=f"no threshold is set and no max_regression metric was logged by both "
                    f"version {mv.version} and version {compared.version}: set "
                    "checks.registry.metrics.params.thresholds or max_regression",
                )
                return
    yield Outcome(
        model.subject,
        f"{len(params.thresholds)} threshold(s), {len(violations)} violation(s) on version {mv.version}",
        violations=tuple(violations),
        evidence=tuple(notes),
    )


def _regressions(
    params: MetricsParams, values: Mapping[str, float], base: Mapping[str, float], version: str, at: Location | None
) -> tuple[list[Violation], int]:
    """Regressions beyond max_regression, and how many metrics were actually compared."""
    out = []
    compared = 0
    for metric, allowed in sorted(params.max_regression.items()):
        new, old = values.get(metric), base.get(metric)
        if new is None:
            out.append(Violation(f"{metric} was not logged, so it cannot be compared with version {version}", at))
            continue
        if old is None:
            continue  # the baseline never logged it: nothing to regress from
        compared += 1
        worse = (new - old) if params.lower_better(metric) else (old - new)
        if math.isnan(worse) or worse > allowed + 1e-12:
            out.append(
                Violation(
                    f"{metric} regressed from {old:g} (version {version}) to {new:g}: "
                    f"worse by {worse:g}, policy allows {allowed:g}",
                    at,
                )
            )
    return out, compared
