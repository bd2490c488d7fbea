"""Fact types read from an MLflow tracking server / model registry (filled in by the MLflow provider).

Plain, host-neutral data: they round-trip through JSON (`--facts-out` / `--facts-in`). A field that
is None was not read (the note in `notes` says why); an empty string or mapping was read and empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelVersionFacts:
    """One registered model version, as `get_model_version(_by_alias)` returns it."""

    name: str
    version: str
    aliases: tuple[str, ...] = ()
    status: str = ""  # READY | PENDING_REGISTRATION | FAILED_REGISTRATION
    status_message: str = ""
    current_stage: str = ""  # None | Staging | Production | Archived (stages are deprecated in MLflow 2.9+)
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str = ""  # empty when the version was registered from a logged model or a plain path
    source: str = ""  # runs:/..., models:/m-... (an MLflow 3 logged model), or a storage URI
    model_id: str = ""  # the MLflow 3 logged model, from the version or its `models:/m-...` source
    creation_timestamp: int | None = None  # milliseconds since the epoch
    url: str = ""  # the version's page in the MLflow UI


@dataclass(frozen=True)
class RegisteredModelFacts:
    """The registered model the version belongs to, as `get_registered_model` returns it."""

    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> version
    url: str = ""


@dataclass(frozen=True)
class DatasetInputFacts:
    """One dataset the run logged as an input (`mlflow.log_input`), with its context tag."""

    name: str
    digest: str = ""
    source_type: str = ""
    context: str = ""  # the `mlflow.data.context` input tag: training, validation, ...


@dataclass(frozen=True)
class RunFacts:
    """The run the version traces to, as `get_run` returns it: status, tags, params, latest metrics, dataset inputs."""

    run_id: str
    experiment_id: str = ""
    status: str = ""  # RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    lifecycle_stage: str = ""  # active | deleted
    tags: dict[str, str] = field(default_factory=dict)  # mlflow.source.git.commit, mlflow.source.git.repoURL, ...
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest value of each
    dataset_inputs: tuple[DatasetInputFacts, ...] = ()
    url: str = ""


@dataclass(frozen=True)
class LoggedModelFacts:
    """An MLflow 3 logged model (`models:/m-...`)."""

    model_id: str
    name: str = ""
    source_run_id: str = ""
    status: str = ""
    artifact_location: str = ""
    metrics: dict[str, float] = field(default_factory=dict)  # latest value of each
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MlmodelSummary:
    """What the version's MLmodel file declares (read as YAML; the model itself is never loaded)."""

    source: str  # the artifact URI read
    flavors: tuple[str, ...] = ()
    has_signature: bool = False
    has_input_example: bool = False
    error: str | None = None  # the file is missing, not YAML, or not an MLmodel


@dataclass(frozen=True)
class ComparedVersion:
    """The version holding an alias the checks compare against (`registry.metrics` compare_to)."""

    alias: str
    version: str | None = None  # None: no version holds the alias
    run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)  # run metrics, overridden by the logged model's
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MlflowModel:
    """The model version being released, as the registry describes it."""

    tracking_uri: str  # without credentials
    model: str  # NAME@ALIAS or NAME/VERSION as given
    version: ModelVersionFacts | None = None
    registered_model: RegisteredModelFacts | None = None
    run: RunFacts | None = None  # None: the version names no run, or it could not be read (see notes)
    run_id: str = ""  # the run the version traces to (its own, else its logged model's source run)
    logged_model: LoggedModelFacts | None = None
    mlmodel: MlmodelSummary | None = None  # None: the MLmodel file could not be read (see mlmodel_error)
    mlmodel_error: str | None = None
    compared: dict[str, ComparedVersion] = field(default_factory=dict)  # alias -> the version holding it
    notes: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return f"mlflow:{self.model}"

    def metrics(self) -> dict[str, float]:
        """The run's metrics, overridden by the logged model's own (they describe this very model)."""
        out = dict(self.run.metrics) if self.run else {}
        out.update(self.logged_model.metrics if self.logged_model else {})
        return out
