"""registry checks: the MLflow model version being released is ready, traced to the released commit and
documented — judged over the `mlflow_model` fact, never by talking to MLflow (its metrics: registry_metrics)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlops_gate.checkspec import check
from mlops_gate.facts import Facts
from mlops_gate.model import Location, Outcome, Severity, Violation
from mlops_gate.target import Target

if TYPE_CHECKING:  # the type alone: the facts of a model are imported by the run that reads one
    from mlops_gate.facts.mlflow_registry import MlflowModel

COMMIT_TAG = "mlflow.source.git.commit"
REPO_TAG = "mlflow.source.git.repoURL"


def where(url: str) -> Location | None:
    return Location(url) if url else None


def unread(model: MlflowModel, what: str) -> Outcome:
    notes = "; ".join(model.notes) or "see the facts"
    return Outcome(model.subject, "", error=f"could not read {what} from {model.tracking_uri}: {notes}")


@dataclass(frozen=True)
class VersionParams:
    """The params of registry.model-version.

    required_alias: an alias the released version must hold; empty means none.
        e.g. champion
    allow_archived: accept a version in the Archived stage.
    """

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
    model = facts.mlflow_model
    mv = model.version
    if mv is None:
        yield unread(model, "the model version")
        return
    violations = []
    if mv.status != "READY":
        why = f" ({mv.status_message})" if mv.status_message else ""
        violations.append(
            Violation(f"version {mv.version} is {mv.status or 'of unknown status'}, not READY{why}", where(mv.url))
        )
    if mv.current_stage.lower() == "archived" and not params.allow_archived:
        violations.append(Violation(f"version {mv.version} is archived", where(mv.url)))
    if params.required_alias and params.required_alias not in mv.aliases:
        holder = model.registered_model.aliases.get(params.required_alias) if model.registered_model else None
        violations.append(
            Violation(
                f"version {mv.version} does not hold alias {params.required_alias!r}"
                + (f" (version {holder} does)" if holder else " (no version does)"),
                where(mv.url),
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
    """The params of registry.lineage.

    require_dataset_inputs: the run must have logged the datasets it trained on (`mlflow.log_input`).
    match_repository: where the run's `mlflow.source.git.repoURL` is set, it must name the gated repository.
    """

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
    model = facts.mlflow_model
    mv, run = model.version, model.run
    if mv is None:
        yield unread(model, "the model version")
        return
    evidence = (run.url if run else mv.url, *model.notes)
    if run is None:
        why = f"run {model.run_id} not found" if model.run_id else "the version names no run"
        yield Outcome(
            model.subject,
            f"{mv.name} version {mv.version} has no run",
            evidence=evidence,
            violations=(Violation(f"{why}: the version cannot be traced to code", where(mv.url)),),
        )
        return
    at = where(run.url)
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
    trace = f"version {mv.version} <- run {run.run_id} ({run.status}) at commit {commit[:12] or 'unknown'}{datasets}"
    yield Outcome(
        model.subject,
        f"{trace}: {_count(violations, 'lineage problem')}" if violations else trace,
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
    """The params of registry.metadata.

    require_description: the registered model and the version must be described.
    required_tags: tags that must be set (on the version, else the model): each to one of its allowed values,
        or null for any non-empty value.
        e.g. {owner: null, validation_status: [approved]}
    require_signature: the MLmodel must declare a signature.
    require_input_example: the MLmodel must have an input example.
    required_params: parameters the version's run (or logged model) must have logged.
        e.g. [learning_rate, max_depth]
    """

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
    model = facts.mlflow_model
    mv, rm = model.version, model.registered_model
    if mv is None or rm is None:
        yield unread(model, "the model version")
        return
    at = where(mv.url)
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
            violations.append(Violation(f"{ml.error} ({ml.source})", where(ml.source)))
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


def _count(items: list[Violation], what: str) -> str:
    return f"{len(items)} {what}{'' if len(items) == 1 else 's'}"
