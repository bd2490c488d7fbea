"""registry checks: the MLflow model version being released is ready, traced to the released commit,
documented, and good enough — judged over the `mlflow_model` fact, never by talking to MLflow."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.facts.mlflow_registry import MlflowModel
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target
from mlops_gate.typed import DataError

COMMIT_TAG = "mlflow.source.git.commit"
REPO_TAG = "mlflow.source.git.repoURL"
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


def _model(facts: Facts) -> MlflowModel:
    model = facts.mlflow_model
    return model


def _where(url: str) -> Location | None:
    return Location(url) if url else None


def _unread(model: MlflowModel, what: str) -> Outcome:
    notes = "; ".join(model.notes) or "see the facts"
    return Outcome(model.subject, "", error=f"could not read {what} from {model.tracking_uri}: {notes}")


@dataclass(frozen=True)
class VersionParams:
    required_alias: str | None = None  # e.g. "champion": the released version must hold it
    allow_archived: bool = False


@check(
    "registry.model-version",
    title="The model version is registered and ready",
    severity=Severity.CRITICAL,
    needs=("mlflow_model",),
    params=VersionParams,
    requires_target=("model",),
)
def model_version(facts: Facts, params: VersionParams, target: Target) -> Iterator[Outcome]:
    """The model being released (`--model NAME@ALIAS` or `NAME/VERSION`, or `target.model`) resolves in
    the MLflow model registry named by `MLFLOW_TRACKING_URI`, its status is READY (not
    PENDING_REGISTRATION or FAILED_REGISTRATION), it is not in the Archived stage (unless
    `allow_archived`), and it holds `required_alias` when one is set. An unknown model or alias, an
    unreachable server or missing credentials end in `error`.
    """
    model = _model(facts)
    mv = model.version
    if mv is None:
        yield _unread(model, "the model version")
        return
    violations = []
    if mv.status != "READY":
        why = f" ({mv.status_message})" if mv.status_message else ""
        violations.append(
            Violation(f"version {mv.version} is {mv.status or 'of unknown status'}, not READY{why}", _where(mv.url))
        )
    if mv.current_stage.lower() == "archived" and not params.allow_archived:
        violations.append(Violation(f"version {mv.version} is archived", _where(mv.url)))
    if params.required_alias and params.required_alias not in mv.aliases:
        holder = model.registered_model.aliases.get(params.required_alias) if model.registered_model else None
        violations.append(
            Violation(
                f"version {mv.version} does not hold alias {params.required_alias!r}"
                + (f" (version {holder} does)" if holder else " (no version does)"),
                _where(mv.url),
            )
        )
    aliases = ", ".join(mv.aliases) or "none"
    yield Outcome(
        model.subject,
        f"{mv.name} version {mv.version} is {mv.status} (aliases: {aliases})",
        violations=tuple(violations),
        evidence=(mv.url, *model.notes),
    )


@dataclass(frozen=True)
class LineageParams:
    require_dataset_inputs: bool = False  # the run logged the datasets it trained on (mlflow.log_input)
    match_repository: bool = True  # a run's mlflow.source.git.repoURL, where set, names target.repository


@check(
    "registry.lineage",
    title="The model version traces to the released commit",
    severity=Severity.HIGH,
    needs=("mlflow_model",),
    params=LineageParams,
    requires_target=("model", "commit"),
)
def lineage(facts: Facts, params: LineageParams, target: Target) -> Iterator[Outcome]:
    """The version's run exists and is FINISHED, and its `mlflow.source.git.commit` tag equals the commit
    being gated (`--commit`, detected in CI): exact match, no prefix. Where the run's
    `mlflow.source.git.repoURL` is set and `match_repository` holds, it names the gated repository.

    An MLflow 3 version registered from a logged model (`models:/m-...`) with no run of its own traces
    through the logged model's source run. With `require_dataset_inputs` the run must have logged its
    dataset inputs (`mlflow.log_input`). Fix: train from a clean checkout of the released commit
    (MLflow sets the tag itself when the code runs in a git work tree).
    """
    model = _model(facts)
    mv, run = model.version, model.run
    if mv is None:
        yield _unread(model, "the model version")
        return
    evidence = (run.url if run else mv.url, *model.notes)
    if run is None:
        why = f"run {model.run_id} not found" if model.run_id else "the version names no run"
        yield Outcome(
            model.subject,
            f"{mv.name} version {mv.version} has no run",
            evidence=evidence,
            violations=(Violation(f"{why}: the version cannot be traced to code", _where(mv.url)),),
        )
        return
    at = _where(run.url)
    violations = []
    if run.status != "FINISHED":
        violations.append(Violation(f"run {run.run_id} is {run.status or 'of unknown status'}, not FINISHED", at))
    if run.lifecycle_stage == "deleted":
        violations.append(Violation(f"run {run.run_id} is deleted", at))
    commit = run.tags.get(COMMIT_TAG, "")
    if not commit:
        violations.append(Violation(f"run {run.run_id} has no {COMMIT_TAG} tag", at))
    elif commit != target.commit:
        violations.append(
            Violation(f"run {run.run_id} was trained from commit {commit}, the release is commit {target.commit}", at)
        )
    repo_url = run.tags.get(REPO_TAG, "")
    if params.match_repository and repo_url and target.repository and not _same_repo(repo_url, target.repository):
        violations.append(Violation(f"run {run.run_id} came from {repo_url}, not {target.repository}", at))
    if params.require_dataset_inputs and not run.dataset_inputs:
        violations.append(Violation(f"run {run.run_id} logged no dataset inputs", at))
    datasets = f", {len(run.dataset_inputs)} dataset input(s)" if run.dataset_inputs else ""
    yield Outcome(
        model.subject,
        f"version {mv.version} <- run {run.run_id} ({run.status}) at commit {commit[:12] or 'unknown'}{datasets}",
        violations=tuple(violations),
        evidence=evidence,
    )


def _same_repo(url: str, slug: str) -> bool:
    path = re.sub(r"^[a-z+]+://[^/]+/|^[^@/]+@[^:]+:", "", url.strip().lower()).removesuffix("/")
    path = path.removesuffix(".git")
    want = slug.strip("/").lower()
    return path == want or path.endswith("/" + want) or path.replace("/_git/", "/") == want


@dataclass(frozen=True)
class MetadataParams:
    require_description: bool = True  # the registered model and the version are described
    # tag -> allowed values, or null for any non-empty value; the version's tag wins over the model's
    required_tags: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    require_signature: bool = True
    require_input_example: bool = True
    required_params: tuple[str, ...] = ()  # hyperparameters the run (or logged model) must have logged


@check(
    "registry.metadata",
    title="The model version carries its metadata",
    severity=Severity.MEDIUM,
    needs=("mlflow_model",),
    params=MetadataParams,
    requires_target=("model",),
)
def metadata(facts: Facts, params: MetadataParams, target: Target) -> Iterator[Outcome]:
    """The registered model and the version have non-empty descriptions; every tag in `required_tags`
    is set (on the version, else on the registered model) to one of its allowed values, or to any
    non-empty value when it allows null (e.g. `{owner: null, validation_status: [approved]}`); the
    MLmodel file declares a signature and an input example (read as YAML through the artifacts API,
    never by loading the model); and every name in `required_params` was logged as a parameter of the
    version's run or logged model.
    """
    model = _model(facts)
    mv, rm = model.version, model.registered_model
    if mv is None or rm is None:
        yield _unread(model, "the model version")
        return
    at = _where(mv.url)
    violations = []
    if params.require_description:
        for what, text in ((f"registered model {rm.name}", rm.description), (f"version {mv.version}", mv.description)):
            if not text.strip():
                violations.append(Violation(f"{what} has no description", at))
    for tag, allowed in sorted(params.required_tags.items()):
        value = mv.tags.get(tag) or rm.tags.get(tag) or ""
        if not value.strip():
            violations.append(Violation(f"tag {tag!r} is not set on version {mv.version} nor on {rm.name}", at))
        elif allowed is not None and value not in allowed:
            violations.append(Violation(f"tag {tag}={value!r}, policy allows {', '.join(allowed) or 'nothing'}", at))
    if params.require_signature or params.require_input_example:
        if model.mlmodel is None:
            yield Outcome(model.subject, "", error=f"could not read the MLmodel file: {model.mlmodel_error}")
            return
        ml = model.mlmodel
        if ml.error:
            violations.append(Violation(f"{ml.error} ({ml.source})", _where(ml.source)))
        else:
            if params.require_signature and not ml.has_signature:
                violations.append(Violation("the MLmodel has no signature (log the model with signature=...)", at))
            if params.require_input_example and not ml.has_input_example:
                violations.append(Violation("the MLmodel has no input example (log it with input_example=...)", at))
    if params.required_params:
        if model.run is None and model.logged_model is None:
            violations.append(Violation("no run or logged model to read parameters from", at))
        else:
            logged = {
                **(model.run.params if model.run else {}),
                **(model.logged_model.params if model.logged_model else {}),
            }
            missing = [p for p in params.required_params if p not in logged]
            if missing:
                violations.append(Violation(f"parameter(s) not logged: {', '.join(missing)}", at))
    yield Outcome(
        model.subject,
        f"{len(violations)} metadata problem(s) on {mv.name} version {mv.version}",
        violations=tuple(violations),
        evidence=(mv.url, *((model.mlmodel.source,) if model.mlmodel else ())),
    )


@dataclass(frozen=True)
class MetricsParams:
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
    model = _model(facts)
    mv = model.version
    if mv is None:
        yield _unread(model, "the model version")
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
    at = _where(model.run.url if model.run else mv.url)
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
